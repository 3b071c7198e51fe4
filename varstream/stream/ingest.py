"""Ingest: one alert message in, the star's state updated (or the message dead-lettered).

Read (varstream's Avro, :mod:`varstream.stream.wire`, or a survey's packet,
:mod:`varstream.stream.formats`), check (:mod:`varstream.stream.validate`, under the pipeline's own
point rules), add the accepted observations to the star's state and return each change as a
changelog record in the :class:`~varstream.stream.effects.Effects`. Nothing here raises for bad
input, and nothing here talks to Kafka: every rejected message becomes a dead letter with its
origin and the reason, and the partition moves on.
"""

from __future__ import annotations

import hashlib
import logging

from varstream.lightcurve.sanitize import SanitizeConfig
from varstream.stream.codec import DecodeError
from varstream.stream.effects import Clock, DeadLetter, Effects, InputRecord, StateRecord
from varstream.stream.formats import AlertReader, NoObservations
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

log = logging.getLogger(__name__)

#: Largest original value a dead letter carries whole (bytes); a larger one is cut to this prefix
#: and identified by its size and sha256 (the producer's own limit is about 1 MB).
MAX_ORIGINAL_BYTES = 256 * 1024
#: Longest message key a dead letter carries.
MAX_KEY_BYTES = 1024


def dead_letter(msg: InputRecord, code: str, reason: str, now_ms: int) -> DeadLetter:
    """The dead letter of ``msg`` with its origin and reason: whole when it fits under
    :data:`MAX_ORIGINAL_BYTES`, else its first bytes with its size and sha256 (a poison pill must
    not become an undeliverable dead letter that stops the partition)."""
    value, key = msg.value or b"", msg.key
    short_key = key[:MAX_KEY_BYTES] if key else key
    record = {"original": value[:MAX_ORIGINAL_BYTES], "original_key": short_key,
              "original_size": len(value), "original_sha256": hashlib.sha256(value).hexdigest(),
              "original_truncated": len(value) > MAX_ORIGINAL_BYTES, "topic": msg.topic,
              "partition": msg.partition, "offset": msg.offset, "reason": reason, "reason_code": code,
              "dead_letter_time": now_ms}
    return DeadLetter(short_key, record)


class Ingest:
    """Applies alert messages to the per-partition stores (see the module notes).

    Args:
        reader: decodes a message value into an alert (the input format and wire framing).
        limits: the pipeline's point rules, which alerts are checked against.
        clock: where the dead letters' time and the stage timings come from.
    """

    def __init__(self, reader: AlertReader, limits: SanitizeConfig, clock: Clock) -> None:
        self.reader = reader
        self.limits = limits
        self.clock = clock

    def _reject(self, msg: InputRecord, code: str, reason: str, effects: Effects) -> None:
        log.warning("dead letter (%s): %s", code, reason)
        effects.count("dead_letters", code)
        effects.dead_letters.append(dead_letter(msg, code, reason, int(self.clock.wall() * 1000)))

    def handle(self, msg: InputRecord, store: PartitionStore, now: float, effects: Effects) -> StarState | None:
        """Decode, check and apply one alert message; returns the star if it changed (never raises
        for bad input)."""
        effects.count("alerts")
        start = self.clock.monotonic()
        try:
            packet = self.reader.read(msg.value)
        except DecodeError as exc:
            self._reject(msg, exc.code, f"{msg.where} (key {msg.key!r:.80}): {exc}", effects)
            return None
        except NoObservations as exc:                   # e.g. only non-detections: nothing to add
            for reason, count in exc.skipped.items():
                effects.count("points_dropped", reason, count)
            log.debug("%s: %s", msg.where, exc)
            return None
        finally:
            effects.timing("decode", self.clock.monotonic() - start)
        for reason, count in packet.skipped.items():
            effects.count("points_dropped", reason, count)
        start = self.clock.monotonic()
        try:
            checked = validate_alert(packet.alert, msg.key, self.limits)
            if isinstance(checked, Rejection):
                self._reject(msg, checked.code, f"{msg.where}: {checked.reason}", effects)
                return None
            ingest_ms = msg.timestamp_ms if msg.timestamp_ms and msg.timestamp_ms > 0 else int(self.clock.wall() * 1000)
            return self.apply(store, checked, ingest_ms, now, effects)
        except Exception as exc:  # a bug must not stop the partition: keep the message and its reason
            log.exception("%s: internal error", msg.where)
            self._reject(msg, "internal_error", f"{msg.where}: {type(exc).__name__}: {exc}", effects)
            return None
        finally:
            effects.timing("state", self.clock.monotonic() - start)

    @staticmethod
    def apply(store: PartitionStore, checked: ValidAlert, ingest_ms: int, now: float,
              effects: Effects) -> StarState | None:
        """Add a checked alert's observations to its star; returns the star if it changed."""
        star = store.star(checked.object_id)
        partition = store.partition
        added = 0
        for reason, count in checked.dropped.items():
            effects.count("points_dropped", reason, count)
        for mjd, band, mag, err in checked.sources:
            obs = Observation(mjd, band, mag, err, checked.alert_id, ingest_ms)
            if star.add(obs):
                added += 1
                effects.changelog.append(StateRecord(partition, observation_key(star.object_id, mjd),
                                                     observation_change(star.object_id, obs)))
            else:
                effects.count("duplicates")
        effects.count("observations", n=added)
        catalogue_changed = star.set_catalogue(checked.catalogue)   # a new distance changes the features
        if catalogue_changed:
            effects.changelog.append(StateRecord(partition, catalogue_key(star.object_id),
                                                 catalogue_change(star.object_id, star.catalogue)))
        if added or catalogue_changed:
            star.mark_changed(now, ingest_ms, checked.alert_id, added)
            return star
        return None
