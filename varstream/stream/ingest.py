"""Ingest: one alert message in, the star's state updated (or the message dead-lettered).

Decode (Avro, :mod:`varstream.stream.wire`), check (:mod:`varstream.stream.validate`, under the
pipeline's own point rules), add the accepted observations to the star's state and write each
change to the compacted changelog. Nothing here raises for bad input: every rejected message goes
to the dead-letter topic with its origin and the reason, and the partition moves on.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE

from varstream.lightcurve.sanitize import SanitizeConfig
from varstream.stream.codec import DecodeError, encode
from varstream.stream.delivery import Delivery
from varstream.stream.kafka import Topics
from varstream.stream.metrics import StreamMetrics
from varstream.stream.state import (
    Observation,
    PartitionStore,
    StarState,
    catalogue_change,
    catalogue_key,
    observation_change,
    observation_key,
)
from varstream.stream.validate import Rejection, ValidAlert, validate_alert
from varstream.stream.wire import WireFormat

log = logging.getLogger(__name__)


def now_ms() -> int:
    """Wall-clock time in milliseconds since the Unix epoch."""
    return int(time.time() * 1000)


class Ingest:
    """Applies alert messages to the per-partition stores (see the module notes).

    Args:
        stores: the local store of each assigned partition (shared with the application).
        on_changed: called with a star whose observations or catalogue data changed.
    """

    def __init__(self, stores: dict[int, PartitionStore], delivery: Delivery, topics: Topics, wire: WireFormat,
                 limits: SanitizeConfig, metrics: StreamMetrics, on_changed: Callable[[StarState], None]) -> None:
        self.stores = stores
        self.delivery = delivery
        self.topics = topics
        self.wire = wire
        self.limits = limits
        self.metrics = metrics
        self.on_changed = on_changed

    def dead_letter(self, msg, code: str, reason: str) -> None:
        """Send the message whole to the dead-letter topic with its origin and reason."""
        log.warning("dead letter (%s): %s", code, reason)
        self.metrics.dead_letters.labels(code).inc()
        record = {"original": msg.value() or b"", "original_key": msg.key(), "topic": msg.topic(),
                  "partition": msg.partition(), "offset": msg.offset(), "reason": reason, "reason_code": code,
                  "dead_letter_time": now_ms()}
        self.delivery.produce(self.topics.deadletter, self.wire.encode("deadletter", record, self.topics.deadletter),
                              msg.key())

    def handle(self, msg, now: float) -> None:
        """Decode, check and apply one alert message (never raises for bad input)."""
        self.metrics.alerts.inc()
        where = f"message {msg.topic()}[{msg.partition()}]@{msg.offset()}"
        start = time.perf_counter()
        try:
            alert = self.wire.decode("alert", msg.value())
        except DecodeError as exc:
            self.dead_letter(msg, exc.code, f"{where} (key {msg.key()!r:.80}): {exc}")
            return
        finally:
            self.metrics.stage.labels("decode").observe(time.perf_counter() - start)
        start = time.perf_counter()
        try:
            checked = validate_alert(alert, msg.key(), self.limits)
            if isinstance(checked, Rejection):
                self.dead_letter(msg, checked.code, f"{where}: {checked.reason}")
                return
            ts_type, ts = msg.timestamp()
            ingest_ms = ts if ts_type != TIMESTAMP_NOT_AVAILABLE and ts > 0 else now_ms()
            self.apply(msg.partition(), checked, ingest_ms, now)
        except Exception as exc:  # a bug must not stop the partition: keep the message and its reason
            log.exception("%s: internal error", where)
            self.dead_letter(msg, "internal_error", f"{where}: {type(exc).__name__}: {exc}")
        finally:
            self.metrics.stage.labels("state").observe(time.perf_counter() - start)

    def apply(self, partition: int, checked: ValidAlert, ingest_ms: int, now: float) -> bool:
        """Add a checked alert's observations to its star; True if the star changed."""
        store = self.stores[partition]
        star = store.star(checked.object_id)
        changelog = self.topics.changelog
        added = 0
        for reason, count in checked.dropped.items():
            self.metrics.points_dropped.labels(reason).inc(count)
        for mjd, band, mag, err in checked.sources:
            obs = Observation(mjd, band, mag, err, checked.alert_id, ingest_ms)
            if star.add(obs):
                added += 1
                self.metrics.observations.inc()
                self.delivery.produce(changelog, encode("state", observation_change(star.object_id, obs)),
                                      observation_key(star.object_id, mjd), partition)
            else:
                self.metrics.duplicates.inc()
        catalogue_changed = star.set_catalogue(checked.catalogue)   # a new distance changes the features
        if catalogue_changed:
            self.delivery.produce(changelog, encode("state", catalogue_change(star.object_id, star.catalogue)),
                                  catalogue_key(star.object_id), partition)
        if added or catalogue_changed:
            star.mark_pending(now, ingest_ms, checked.alert_id, added)
            self.on_changed(star)
            return True
        return False
