"""varstream: a streaming classifier of variable stars for survey alert streams.

Sub-packages follow the data flow:

- :mod:`varstream.lightcurve` — the shared science core (LightCurve type, loaders, cleaning,
  Gaia normalisation, features). Offline training and the stream both call it, so they cannot drift.
- :mod:`varstream.offline` — batch work on whole datasets (feature tables, training, evaluation).
- :mod:`varstream.stream` — the Kafka consumer application.
"""

__version__ = "0.1.0"
