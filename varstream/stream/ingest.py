"""Ingest: one alert message in, the star's state updated (or the message dead-lettered).

Read (varstream's Avro, :mod:`varstream.stream.wire`, or a survey's packet, :mod:`varstream.stream.formats`), check (:mod:`varstream.stream.validate`, under the
pipeline's own point rules), add the accepted observations to the star's state and write each
change to the compacted changelog. Nothing here raises for bad input: every rejected message goes
to the dead-letter topic with its origin and the reason, and the partition moves on.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Callable

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE

from varstream.lightcurve.sanitize import SanitizeConfig
from varstream.stream.codec import DecodeError, encode
from varstream.stream.delivery import Delivery
from varstream.stream.formats import AlertReader, NoObservations
from varstream.stream.kafka import Topics
from varstream.stream.metrics import StreamMetrics
from varstream.stream.state import (
    Observation,
    StarState,
    catalogue_change,
    catalogue_key,
    observation_change,
    observation_key,
)
from varstream.stream.store import PartitionStore
from varstream.stream.validate import Rejection, ValidAlert, validate_alert
from varstream.stream.wire import WireFormat

log = logging.getLogger(__name__)

#: Largest original value a dead letter carries whole (bytes); a larger one is cut to this prefix
#: and identified by its size and sha256 (the producer's own limit is about 1 MB).
MAX_ORIGINAL_BYTES = 256 * 1024
#: Longest message key a dead letter carries.
MAX_KEY_BYTES = 1024


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
                 limits: SanitizeConfig, metrics: StreamMetrics, on_changed: Callable[[StarState], None],
                 reader: AlertReader | None = None) -> None:
        self.stores = stores
        self.delivery = delivery
        self.topics = topics
        self.wire = wire
        self.reader = reader or AlertReader("varstream", wire)
        self.limits = limits
        self.metrics = metrics
        self.on_changed = on_changed

    def dead_letter(self, msg, code: str, reason: str) -> None:
        """Send the message to the dead-letter topic with its origin and reason: whole when it fits
        under :data:`MAX_ORIGINAL_BYTES`, else its first bytes with its size and sha256 (a poison
        pill must not become an undeliverable dead letter that stops the partition)."""
        log.warning("dead letter (%s): %s", code, reason)
        self.metrics.dead_letters.labels(code).inc()
        value, key = msg.value() or b"", msg.key()
        truncated = len(value) > MAX_ORIGINAL_BYTES
        record = {"original": value[:MAX_ORIGINAL_BYTES], "original_key": key[:MAX_KEY_BYTES] if key else key,
                  "original_size": len(value), "original_sha256": hashlib.sha256(value).hexdigest(),
                  "original_truncated": truncated, "topic": msg.topic(), "partition": msg.partition(),
                  "offset": msg.offset(), "reason": reason, "reason_code": code, "dead_letter_time": now_ms()}
        self.delivery.produce(self.topics.deadletter, self.wire.encode("deadletter", record, self.topics.deadletter),
                              key[:MAX_KEY_BYTES] if key else key)

    def handle(self, msg, now: float) -> None:
        """Decode, check and apply one alert message (never raises for bad input)."""
        self.metrics.alerts.inc()
        where = f"message {msg.topic()}[{msg.partition()}]@{msg.offset()}"
        start = time.perf_counter()
        try:
            packet = self.reader.read(msg.value())
        except DecodeError as exc:
            self.dead_letter(msg, exc.code, f"{where} (key {msg.key()!r:.80}): {exc}")
            return
        except NoObservations as exc:                   # e.g. only non-detections: nothing to add
            for reason, count in exc.skipped.items():
                self.metrics.points_dropped.labels(reason).inc(count)
            log.debug("%s: %s", where, exc)
            return
        finally:
            self.metrics.stage.labels("decode").observe(time.perf_counter() - start)
        alert = packet.alert
        for reason, count in packet.skipped.items():
            self.metrics.points_dropped.labels(reason).inc(count)
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
