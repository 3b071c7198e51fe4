"""What the stream's science step hands its runtime: input records in, effects out.

The step (:mod:`.step`) never touches Kafka. It reads :class:`InputRecord` values (what a consumed
message carries) and returns :class:`Effects`: the records to produce — changelog changes, dead
letters, classifications, and the "classified" markers that may only follow the classifications
— plus the metric changes, which the runtime (:mod:`.app`) applies in the order that keeps
at-least-once (:meth:`~varstream.stream.app.StreamApp.finish`). Records are plain dicts of their
Avro schemas; the runtime encodes them (the registry wire format needs the network).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class InputRecord:
    """One consumed alert message: where it came from, its key and value bytes, and its Kafka
    timestamp (ms since the Unix epoch; None when the broker gave none)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None = None

    @property
    def where(self) -> str:
        return f"message {self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True)
class StateRecord:
    """A ``StateChange`` record for the changelog partition ``partition`` under ``key``."""

    partition: int
    key: bytes
    record: dict


@dataclass(frozen=True)
class DeadLetter:
    """A ``DeadLetter`` record, keyed by the original message's key."""

    key: bytes | None
    record: dict


@dataclass(frozen=True)
class Publication:
    """A ``Classification`` record to publish, keyed by object id, with the Kafka timestamps (ms) of
    the newest and the longest-waiting alert it newly includes (the latency metrics)."""

    key: bytes
    record: dict
    ingest_ms: int
    first_ingest_ms: int


@dataclass
class Effects:
    """Everything one execution of the step asks the runtime to do (see the module notes).

    ``counts``: increments of :class:`~varstream.stream.metrics.StreamMetrics` counters, keyed by
    ``(attribute, label)`` (label ``""`` for an unlabelled counter); ``timings``: ``(stage,
    seconds)`` observations of the stage histogram.
    """

    changelog: list[StateRecord] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    classifications: list[Publication] = field(default_factory=list)
    markers: list[StateRecord] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    timings: list[tuple[str, float]] = field(default_factory=list)

    def count(self, metric: str, label: str = "", n: int = 1) -> None:
        if n:
            self.counts[(metric, label)] += n

    def timing(self, stage: str, seconds: float) -> None:
        self.timings.append((stage, seconds))


class Clock(Protocol):
    """Where the step's time comes from: ``wall()`` seconds since the Unix epoch (publish times),
    ``monotonic()`` seconds for budgets and stage timings."""

    def wall(self) -> float: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clocks (``time.time``, ``time.perf_counter``)."""

    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.perf_counter()
