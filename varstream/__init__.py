"""varstream: a streaming classifier of variable stars for survey alert streams.

Sub-packages follow the data flow:

- :mod:`varstream.lightcurve` — the shared science core (LightCurve type, loaders, cleaning,
  Gaia normalisation, features). Offline training and the stream both call it, so they cannot drift.
- :mod:`varstream.offline` — batch work on whole datasets (feature tables, training, evaluation).
- :mod:`varstream.stream` — the Kafka consumer application.
- :mod:`varstream.api` — classify your own light curves: ``varstream.classify(times, mags, errors)``
  and ``varstream.classify_many(curves)`` (loaded on first use, so ``import varstream`` stays light).
"""

__version__ = "0.1.0"

_API = ("classify", "classify_many", "Classification", "to_lightcurve")


def __getattr__(name: str):
    """``varstream.classify`` and friends, imported from :mod:`varstream.api` on first use."""
    if name in _API:
        from varstream import api

        return getattr(api, name)
    raise AttributeError(f"module 'varstream' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_API))
