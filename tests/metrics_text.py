"""Reading a Prometheus ``/metrics`` page in tests and benchmarks (prometheus_client's own parser)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a page: ``(name, sorted labels) -> value``."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return out


def metric_value(text: str, name: str, labels: str = "", **label_values: str) -> float:
    """One sample of a page: ``labels`` as printed (``reason="x"``) or as keyword arguments.

    Raises:
        KeyError: the page has no such sample.
    """
    wanted = dict(label_values)
    for part in filter(None, (p.strip() for p in labels.split(","))):
        key, _, value = part.partition("=")
        wanted[key.strip()] = value.strip().strip('"')
    key = (name, tuple(sorted(wanted.items())))
    found = samples(text)
    if key not in found:
        raise KeyError(f"{name}{{{labels}}}")
    return found[key]


def metric_sum(text: str, name: str) -> float:
    """The sum of every labelled sample of ``name`` (0 if there is none)."""
    return sum(v for (n, labels), v in samples(text).items() if n == name and labels)
