"""Per-star stream state: the growing light curve and what was last classified.

A :class:`StarState` holds every accepted observation of one star as arrays sorted by time
(days, magnitudes and errors in mag, a band code and the Kafka timestamp of the alert that
brought it, ms), de-duplicated by observation time with the pipeline's own rule
(:func:`~varstream.lightcurve.sanitize.duplicate_key`), so the state does not depend on the order
alerts arrive in and re-sending an alert changes nothing.

**One record definition.** The star's changes are ``StateChange`` records (``schemas/state.avsc``)
written to the compacted changelog; their ``observation`` and ``classified`` parts are exactly the
fields of :class:`Observation` and :class:`Classified` (``tests/unit/test_stream_state.py`` checks
the schema against the dataclasses), and the local store (:mod:`.store`) keeps the same
``Classified`` record in its header — so a new field is one edit here and one in the schema.
:func:`apply_change` rebuilds a star from its records on restart or when a partition moves.

**Three words for three things.** A star is *unclassified* when its observations or catalogue
data differ from what was last classified; *unsettled* when its latest classification came from
the fast path and the exact one is still to come; *waiting* when it is either (it needs the
classifier's attention, and keeps a marker in the store).

Times are days (MJD), magnitudes and errors mag, wall-clock times seconds (``time.time()``),
Kafka timestamps milliseconds since the Unix epoch.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from varstream.lightcurve.bands import MIXED_BAND, SURVEY_BANDS
from varstream.lightcurve.sanitize import duplicate_key
from varstream.lightcurve.types import LightCurve

#: Catalogue fields of an alert that the state keeps (the Gaia normalisation reads them).
CATALOGUE_KEYS = ("ra_deg", "dec_deg", "parallax_mas", "parallax_error_mas", "ruwe", "distance_pc",
                  "distance_error_pc")
_BAND_CODE = {b: i for i, b in enumerate(SURVEY_BANDS)}
_MASK = (1 << 63) - 1


@dataclass(frozen=True)
class Observation:
    """One accepted observation: time (days), band, magnitude and error (mag), its alert and the
    alert's Kafka timestamp (``ingest_time``, ms). The changelog's ``Observation`` record."""

    mjd: float
    band: str
    mag: float
    mag_err: float
    alert_id: str
    ingest_time: int

    def fingerprint(self) -> int:
        return fingerprint(self.mjd, self.mag, self.mag_err, self.band)


def fingerprint(mjd: float, mag: float, mag_err: float, band: str) -> int:
    """A 63-bit hash of one point's photometry (time, band, magnitude, error), stable across processes."""
    raw = struct.pack("<ddd", mjd, mag, mag_err) + band.encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little") & _MASK


@dataclass
class Classified:
    """What was last classified, and what its period search learnt: the changelog's
    ``Classified`` record and the local store's, field for field.

    Attributes:
        digest, n_observations: the observations that were classified.
        predicted_class: the class published ("" if the curve could not be classified).
        publish_time: when it was published (ms since the Unix epoch).
        candidates: candidate frequencies (c/d) of the last *full* period search (the next
            classification's fast path refines near them; empty: the next one searches fully).
        full_observations: observations at that full search.
        full_explained: the share of variance its period explained (the fast path falls back to a
            full search when the share drops).
        exact: the classification came from a full period search (the offline answer);
            False for the fast path, which a later settling classification makes exact.
        period_days: the period it used (a settling search that finds the same one has nothing
            new to publish).
        window: the spectral-window peaks (c/d) of the last full search (the fast path masks and
            tries aliases through them).
    """

    digest: int
    n_observations: int
    predicted_class: str
    publish_time: int
    candidates: tuple[float, ...] = ()
    full_observations: int = 0
    full_explained: float = 0.0
    exact: bool = True
    period_days: float = 0.0
    window: tuple[float, ...] = ()

    def to_record(self) -> dict[str, Any]:
        """The record (changelog and local store alike)."""
        return {**asdict(self), "candidates": list(self.candidates), "window": list(self.window)}

    @staticmethod
    def from_record(record: dict[str, Any]) -> Classified:
        """The inverse of :meth:`to_record`."""
        values = {f.name: record[f.name] for f in fields(Classified)}
        return Classified(**{**values, "candidates": tuple(values["candidates"]), "window": tuple(values["window"])})


@dataclass
class StarState:
    """One star's accepted observations (arrays sorted by time), catalogue data and classification
    bookkeeping.

    ``digest`` is the sum of the observations' fingerprints (mod 2**63) plus that of the
    catalogue data: equal states give equal digests whatever the order of the alerts, so "is the
    star unclassified?" is ``digest != classified.digest``. The ``unclassified_*`` fields live in
    memory only and say when and by which alerts the unclassified changes arrived.
    """

    object_id: str
    partition: int
    mjd: np.ndarray = field(default_factory=lambda: np.empty(0))
    mag: np.ndarray = field(default_factory=lambda: np.empty(0))
    err: np.ndarray = field(default_factory=lambda: np.empty(0))
    band: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint8))
    ingest_ms: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    catalogue: dict[str, float] = field(default_factory=dict)
    obs_digest: int = 0
    catalogue_digest: int = 0
    classified: Classified | None = None
    latest_alert: tuple[str, int] | None = None  # (alert id, Kafka timestamp ms) of the newest change
    unclassified_observations: int = 0           # accepted observations not yet classified
    unclassified_since: float | None = None      # wall seconds of the first unclassified change
    last_change: float = 0.0                     # wall seconds of the latest change
    first_unclassified_ingest_ms: int | None = None

    @property
    def n_observations(self) -> int:
        return int(self.mjd.size)

    def add(self, obs: Observation) -> bool:
        """Accept ``obs`` if it is new or beats the point at its time
        (:func:`~varstream.lightcurve.sanitize.duplicate_key`); True if the state changed."""
        code = _BAND_CODE[obs.band]
        i = int(np.searchsorted(self.mjd, obs.mjd))
        if i < self.mjd.size and self.mjd[i] == obs.mjd:
            old_mag, old_err, old_band = float(self.mag[i]), float(self.err[i]), SURVEY_BANDS[self.band[i]]
            if not duplicate_key(obs.mag_err, obs.mag, obs.band) < duplicate_key(old_err, old_mag, old_band):
                return False
            self.obs_digest = (self.obs_digest - fingerprint(obs.mjd, old_mag, old_err, old_band)) & _MASK
            self.mag[i], self.err[i], self.band[i], self.ingest_ms[i] = obs.mag, obs.mag_err, code, obs.ingest_time
        else:
            self.mjd = np.insert(self.mjd, i, obs.mjd)
            self.mag = np.insert(self.mag, i, obs.mag)
            self.err = np.insert(self.err, i, obs.mag_err)
            self.band = np.insert(self.band, i, np.uint8(code))
            self.ingest_ms = np.insert(self.ingest_ms, i, obs.ingest_time)
        self.obs_digest = (self.obs_digest + obs.fingerprint()) & _MASK
        return True

    @property
    def digest(self) -> int:
        """Order-independent digest of the observations and the catalogue data (O(1): the policy
        asks for it for every waiting star on every poll)."""
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
    def unclassified(self) -> bool:
        """The observations (or catalogue data) differ from what was last classified."""
        if not self.mjd.size:
            return False
        return self.classified is None or self.classified.digest != self.digest

    @property
    def unsettled(self) -> bool:
        """The latest classification came from the fast path; the exact one is still to come."""
        return self.classified is not None and not self.classified.exact and bool(self.mjd.size)

    @property
    def waiting(self) -> bool:
        """Unclassified or unsettled: the star needs the classifier."""
        return self.unclassified or self.unsettled

    def mark_changed(self, now: float, ingest_ms: int, alert_id: str, observations: int = 1) -> None:
        """Record that an alert (Kafka timestamp ``ingest_ms``) changed the star at ``now`` (s) by
        ``observations`` accepted observations (0 when only its catalogue data changed)."""
        self.unclassified_observations += observations
        if self.unclassified_since is None:
            self.unclassified_since = now
            self.first_unclassified_ingest_ms = ingest_ms
        self.last_change = now
        self.note_alert(alert_id, ingest_ms)

    def note_alert(self, alert_id: str, ingest_ms: int) -> None:
        """Keep ``(alert_id, ingest_ms)`` as the newest alert if it is not older than the one held."""
        if self.latest_alert is None or ingest_ms >= self.latest_alert[1]:
            self.latest_alert = (alert_id, ingest_ms)

    def mark_classified(self, classified: Classified) -> None:
        self.classified = classified
        self.unclassified_observations = 0
        self.unclassified_since = None
        self.first_unclassified_ingest_ms = None

    def mark_restored(self, now: float) -> None:
        """After a restore: if the observations changed after the last classification (alerts that
        arrived just before a restart or rebalance), the star is unclassified as of ``now``."""
        if not self.unclassified:
            return
        done = self.classified.n_observations if self.classified else 0
        self.unclassified_observations = max(0, self.n_observations - done)
        self.unclassified_since = self.last_change = now
        since = self.classified.publish_time if self.classified else -1
        newer = self.ingest_ms[self.ingest_ms > since]
        self.first_unclassified_ingest_ms = int(newer.min()) if newer.size else (
            self.latest_alert[1] if self.latest_alert else None)

    def lightcurve(self) -> LightCurve:
        """The accumulated curve, sorted by time, each point's band in ``aux["band"]``.

        The shared pipeline puts every band on one scale (:func:`~varstream.lightcurve.bands.combine_bands`)
        exactly as it does an archived curve; the catalogue data become ``meta`` for the Gaia
        normalisation.
        """
        bands = np.asarray(SURVEY_BANDS)[self.band] if self.band.size else np.empty(0, dtype=str)
        return LightCurve(self.object_id, self.mjd.copy(), self.mag.copy(), self.err.copy(), MIXED_BAND,
                          meta=dict(self.catalogue), aux={"band": bands})


# ---------------------------------------------------------------- changelog records

#: Separates the parts of a changelog key: ``<object id> SEP <kind> [SEP <time>]`` (a star's
#: records are found by the prefix ``<object id> SEP``).
KEY_SEPARATOR = "\x1f"


def key_prefix(object_id: str) -> bytes:
    """The prefix every changelog key of ``object_id`` starts with."""
    return f"{object_id}{KEY_SEPARATOR}".encode()


def observation_key(object_id: str, mjd: float) -> bytes:
    """Changelog key of one observation (compaction keeps the latest value per star and time)."""
    return key_prefix(object_id) + f"o{KEY_SEPARATOR}{mjd!r}".encode()


def catalogue_key(object_id: str) -> bytes:
    return key_prefix(object_id) + b"m"


def classified_key(object_id: str) -> bytes:
    return key_prefix(object_id) + b"c"


def _change(object_id: str, observation: dict | None = None, catalogue_json: str | None = None,
            classified: dict | None = None) -> dict:
    return {"object_id": object_id, "observation": observation, "catalogue_json": catalogue_json,
            "classified": classified, "epoch": None}


def observation_change(object_id: str, obs: Observation) -> dict:
    """The ``StateChange`` record of an accepted observation."""
    return _change(object_id, observation=asdict(obs))


def catalogue_change(object_id: str, catalogue: dict[str, float]) -> dict:
    return _change(object_id, catalogue_json=json.dumps(catalogue, sort_keys=True))


def classified_change(object_id: str, c: Classified) -> dict:
    return _change(object_id, classified=c.to_record())


def epoch_change(epoch: str) -> dict:
    """The first record of a changelog partition (see :mod:`.restore`)."""
    return {**_change(""), "epoch": epoch}


def apply_change(state: StarState, change: dict) -> None:
    """Replay one changelog record onto its star (restore); idempotent."""
    obs = change["observation"]
    if obs is not None:
        state.add(Observation(**obs))
        state.note_alert(obs["alert_id"], obs["ingest_time"])
    if change["catalogue_json"]:
        state.set_catalogue(json.loads(change["catalogue_json"]))
    if change["classified"] is not None:
        state.classified = Classified.from_record(change["classified"])


# ---------------------------------------------------------------- local-store encoding

_MAGIC = b"VS2"
_HEAD = struct.Struct("<3sII")          # magic, header length, points


def encode_star(state: StarState) -> bytes:
    """The star's persistent state as bytes: a JSON header (ids, catalogue, digests, the
    :class:`Classified` record, newest alert) and the point arrays (8 + 8 + 8 + 8 + 1 bytes a point)."""
    header = json.dumps({"id": state.object_id, "p": state.partition, "cat": state.catalogue, "od": state.obs_digest,
                         "cd": state.catalogue_digest, "la": state.latest_alert,
                         "cl": state.classified.to_record() if state.classified else None}).encode()
    n = state.n_observations
    return b"".join([_HEAD.pack(_MAGIC, len(header), n), header, state.mjd.astype("<f8").tobytes(),
                     state.mag.astype("<f8").tobytes(), state.err.astype("<f8").tobytes(),
                     state.ingest_ms.astype("<i8").tobytes(), state.band.astype(np.uint8).tobytes()])


def decode_star(data: bytes) -> StarState:
    """The inverse of :func:`encode_star`. Raises ValueError for bytes that are not a star record."""
    magic, hlen, n = _HEAD.unpack_from(data, 0)
    if magic != _MAGIC or len(data) != _HEAD.size + hlen + 33 * n:
        raise ValueError("not a varstream star record")
    pos = _HEAD.size
    h = json.loads(data[pos:pos + hlen])
    pos += hlen
    arrays = []
    for dtype, size in (("<f8", 8), ("<f8", 8), ("<f8", 8), ("<i8", 8), ("u1", 1)):
        arrays.append(np.frombuffer(data, dtype=dtype, count=n, offset=pos).copy())
        pos += size * n
    classified = None if h["cl"] is None else Classified.from_record(h["cl"])
    return StarState(h["id"], h["p"], arrays[0].astype(np.float64), arrays[1].astype(np.float64),
                     arrays[2].astype(np.float64), arrays[4].astype(np.uint8), arrays[3].astype(np.int64),
                     h["cat"], h["od"], h["cd"], classified, tuple(h["la"]) if h["la"] else None)
