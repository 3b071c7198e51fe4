"""Per-star stream state: the growing light curve and what was last classified.

A :class:`StarState` holds every accepted observation of one star, de-duplicated by observation
time with the rule :func:`~varstream.lightcurve.sanitize.sanitize` applies (the smallest error
wins, then the smallest magnitude), so the state does not depend on the order alerts arrive in
and re-sending an alert changes nothing. Each change is also a :class:`StateChange` that the
application writes to the compacted changelog topic; :meth:`PartitionStore.apply` rebuilds the
same state from those records on restart or when a partition moves to another consumer.

Times are days (MJD), magnitudes and errors mag, wall-clock times seconds (``time.time()``),
Kafka timestamps milliseconds since the Unix epoch.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from varstream.lightcurve.bands import MIXED_BAND
from varstream.lightcurve.types import LightCurve

#: Catalogue fields of an alert that the state keeps (the Gaia normalisation reads them).
CATALOGUE_KEYS = ("ra_deg", "dec_deg", "parallax_mas", "parallax_error_mas", "ruwe", "distance_pc",
                  "distance_error_pc")
_MASK = (1 << 63) - 1


@dataclass(frozen=True)
class Observation:
    """One accepted observation: time (days), band, magnitude and error (mag), its alert and
    the alert's Kafka timestamp (ms)."""

    mjd: float
    band: str
    mag: float
    mag_err: float
    alert_id: str
    ingest_ms: int

    def fingerprint(self) -> int:
        """A 63-bit hash of the photometry (time, band, magnitude, error), stable across processes."""
        raw = struct.pack("<ddd", self.mjd, self.mag, self.mag_err) + self.band.encode()
        return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little") & _MASK

    def beats(self, other: Observation) -> bool:
        """Whether this point replaces ``other`` at the same time (smaller error, then magnitude)."""
        return (self.mag_err, self.mag, self.band) < (other.mag_err, other.mag, other.band)


@dataclass
class Classified:
    """What was last classified: the digest and count of the observations, the class (mag-free)."""

    digest: int
    n_observations: int
    predicted_class: str
    publish_ms: int


@dataclass
class StarState:
    """One star's accepted observations (by time), catalogue data and classification bookkeeping.

    ``digest`` is the sum of the observations' fingerprints (mod 2**63) plus that of the
    catalogue data: equal states give equal digests whatever the order of the alerts, so "has the
    star changed since it was classified?" is ``digest != classified.digest``. The ``pending_*`` fields live in memory only and say when
    and by which alerts the unclassified changes arrived.
    """

    object_id: str
    partition: int
    observations: dict[float, Observation] = field(default_factory=dict)
    catalogue: dict[str, float] = field(default_factory=dict)
    obs_digest: int = 0
    catalogue_digest: int = 0                    # fingerprint of ``catalogue``, kept by set_catalogue
    classified: Classified | None = None
    pending_observations: int = 0                # accepted observations not yet classified
    pending_since: float | None = None          # wall seconds of the first unclassified change
    last_change: float = 0.0                     # wall seconds of the latest change
    first_pending_ingest_ms: int | None = None
    latest_alert: tuple[str, int] | None = None  # (alert id, Kafka timestamp ms) of the newest change

    def add(self, obs: Observation) -> bool:
        """Accept ``obs`` if it is new or beats the point at its time; True if the state changed."""
        old = self.observations.get(obs.mjd)
        if old is not None and not obs.beats(old):
            return False
        if old is not None:
            self.obs_digest = (self.obs_digest - old.fingerprint()) & _MASK
        self.observations[obs.mjd] = obs
        self.obs_digest = (self.obs_digest + obs.fingerprint()) & _MASK
        return True

    @property
    def digest(self) -> int:
        """Order-independent digest of the observations and the catalogue data (O(1): the policy
        asks for it for every pending star on every poll)."""
        return (self.obs_digest + self.catalogue_digest) & _MASK

    def set_catalogue(self, values: dict[str, Any]) -> bool:
        """Merge non-null catalogue values; True if anything changed."""
        new = {k: float(v) for k, v in values.items() if k in CATALOGUE_KEYS and v is not None}
        merged = {**self.catalogue, **new}
        if merged == self.catalogue:
            return False
        self.catalogue = merged
        raw = json.dumps(merged, sort_keys=True).encode()
        self.catalogue_digest = int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little") & _MASK
        return True

    @property
    def pending(self) -> bool:
        """The observations differ from what was last classified."""
        if not self.observations:
            return False
        return self.classified is None or self.classified.digest != self.digest

    def mark_pending(self, now: float, ingest_ms: int, alert_id: str, observations: int = 1) -> None:
        """Record that an alert (Kafka timestamp ``ingest_ms``) changed the star at ``now`` (s) by
        ``observations`` accepted observations (0 when only its catalogue data changed)."""
        self.pending_observations += observations
        if self.pending_since is None:
            self.pending_since = now
            self.first_pending_ingest_ms = ingest_ms
        self.last_change = now
        if self.latest_alert is None or ingest_ms >= self.latest_alert[1]:
            self.latest_alert = (alert_id, ingest_ms)

    def mark_classified(self, classified: Classified) -> None:
        self.classified = classified
        self.pending_observations = 0
        self.pending_since = None
        self.first_pending_ingest_ms = None

    def lightcurve(self) -> LightCurve:
        """The accumulated curve, sorted by time, each point's band in ``aux["band"]``.

        The shared pipeline turns it into one band (:func:`~varstream.lightcurve.bands.merge_bands`)
        exactly as it does an archived curve; the catalogue data become ``meta`` for the Gaia
        normalisation.
        """
        obs = sorted(self.observations.values(), key=lambda o: o.mjd)
        times = np.fromiter((o.mjd for o in obs), dtype=np.float64, count=len(obs))
        mags = np.fromiter((o.mag for o in obs), dtype=np.float64, count=len(obs))
        errs = np.fromiter((o.mag_err for o in obs), dtype=np.float64, count=len(obs))
        bands = np.array([o.band for o in obs], dtype=str)
        return LightCurve(self.object_id, times, mags, errs, MIXED_BAND, meta=dict(self.catalogue),
                          aux={"band": bands})


# ---------------------------------------------------------------- changelog records

_SEP = "\x1f"


def observation_key(object_id: str, mjd: float) -> bytes:
    """Changelog key of one observation (compaction keeps the latest value per star and time)."""
    return f"{object_id}{_SEP}o{_SEP}{mjd!r}".encode()


def catalogue_key(object_id: str) -> bytes:
    return f"{object_id}{_SEP}m".encode()


def classified_key(object_id: str) -> bytes:
    return f"{object_id}{_SEP}c".encode()


def observation_change(object_id: str, obs: Observation) -> dict:
    """The ``StateChange`` record of an accepted observation."""
    return {"object_id": object_id, "catalogue_json": None, "classified": None,
            "observation": {"mjd": obs.mjd, "band": obs.band, "mag": obs.mag, "mag_err": obs.mag_err,
                            "alert_id": obs.alert_id, "ingest_time": obs.ingest_ms}}


def catalogue_change(object_id: str, catalogue: dict[str, float]) -> dict:
    return {"object_id": object_id, "observation": None, "classified": None,
            "catalogue_json": json.dumps(catalogue, sort_keys=True)}


def classified_change(object_id: str, c: Classified) -> dict:
    return {"object_id": object_id, "observation": None, "catalogue_json": None,
            "classified": {"digest": c.digest, "n_observations": c.n_observations,
                           "predicted_class": c.predicted_class, "publish_time": c.publish_ms}}


@dataclass
class PartitionStore:
    """The states of the stars of one input partition (a local, in-memory store)."""

    partition: int
    stars: dict[str, StarState] = field(default_factory=dict)

    def star(self, object_id: str) -> StarState:
        state = self.stars.get(object_id)
        if state is None:
            state = self.stars[object_id] = StarState(object_id, self.partition)
        return state

    def apply(self, change: dict) -> None:
        """Replay one changelog record (restore); idempotent."""
        state = self.star(change["object_id"])
        obs = change.get("observation")
        if obs is not None:
            state.add(Observation(obs["mjd"], obs["band"], obs["mag"], obs["mag_err"], obs["alert_id"],
                                  obs["ingest_time"]))
            if state.latest_alert is None or obs["ingest_time"] >= state.latest_alert[1]:
                state.latest_alert = (obs["alert_id"], obs["ingest_time"])
        if change.get("catalogue_json"):
            state.set_catalogue(json.loads(change["catalogue_json"]))
        c = change.get("classified")
        if c is not None:
            state.classified = Classified(c["digest"], c["n_observations"], c["predicted_class"], c["publish_time"])

    def after_restore(self, now: float) -> int:
        """Mark stars whose observations changed after their last classification as pending
        (their last alerts arrived just before the restart or rebalance); returns how many."""
        count = 0
        for state in self.stars.values():
            if state.pending:
                done = state.classified.n_observations if state.classified else 0
                state.pending_observations = max(0, len(state.observations) - done)
                state.pending_since = state.last_change = now
                since = state.classified.publish_ms if state.classified else -1
                newer = [o.ingest_ms for o in state.observations.values() if o.ingest_ms > since]
                state.first_pending_ingest_ms = min(newer) if newer else (
                    state.latest_alert[1] if state.latest_alert else None)
                count += 1
        return count

    @property
    def n_observations(self) -> int:
        return sum(len(s.observations) for s in self.stars.values())
