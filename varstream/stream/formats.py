"""Alert formats the stream reads: varstream's own, ZTF's and Rubin/LSST's packets.

Every format turns one Kafka message into the stream's own alert record (``schemas/alert.avsc``:
alert id, object id, observations with time, band, magnitude and error, catalogue data), so one
per-star state and one science step serve them all. ``serve --input-format`` and ``replay
--format`` pick one; a packet that cannot be read raises :class:`~varstream.stream.codec.DecodeError`
with a code and goes to the dead-letter topic like any bad alert.

**ZTF** (alert schema 3.x–4.x, https://zwickytransientfacility.github.io/ztf-avro-alert/): one Avro
*container* file per message (the writer's schema inside). The observations are ``candidate`` and
the detections among ``prv_candidates``; entries with a null ``magpsf`` are non-detections (upper
limits, ``diffmaglim``), counted and skipped. ZTF photometry is of the difference image, so a
variable star's total magnitude is rebuilt from the reference source as the brokers do (ALeRCE,
Förster et al. 2021, AJ 161, 242; Fink): with ``F = 10^(-0.4 m)``,

    F_total = F(magnr) + s F(magpsf),   s = +1 if isdiffpos is "t"/"1" (brighter than the reference), else -1
    m = -2.5 log10(F_total),   σ_m = sqrt((F(magnr) σ_magnr)² + (F(magpsf) σ_psf)²) / F_total   (mag)

A detection is kept only if the difference source is the reference source — ``distnr`` ≤
:data:`ZTF_MAX_DISTNR` arcsec (ALeRCE's criterion for "corrected" magnitudes) — with a real/bogus
score ``rb`` ≥ :data:`ZTF_MIN_RB` (0.3: variable stars next to bright references score low, the two
real packets' detections 0.36–0.45; Fink's 0.55 is for transients) and a positive total flux.
Bands: ``fid`` 1, 2, 3 → g, r, i. Time: ``jd`` − 2400000.5 (MJD).

**Rubin/LSST** (the ``lsst-alert-packet`` package's schemas, every version it ships): messages are
the Confluent wire format Rubin's stream uses — a zero byte, a 4-byte schema id ``100·major +
minor`` (e.g. 701 for 7.1), then the schemaless Avro record — or an Avro container file (the
package's sample alerts). Observations: ``diaSource`` and ``prvDiaSources`` (object:
``diaObject``/``diaSourceId``). Flux in nJy becomes an AB magnitude, ``m = 31.4 − 2.5 log10(F)``,
``σ_m = 1.0857 σ_F / F``. The flux is ``scienceFlux`` (the direct image: the star's total flux,
schema ≥ 9) when the packet has it, else ``psfFlux`` (the difference image: a variable star's
flux relative to its template); a non-positive flux has no magnitude and is counted, not kept.
Time: ``midpointMjdTai`` (``midPointTai`` before schema 5); band: ``band`` (``filterName``).
"""

from __future__ import annotations

import io
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import fastavro

from varstream.lightcurve.types import JD_TO_MJD
from varstream.stream.codec import DecodeError
from varstream.stream.wire import WireFormat

FORMATS = ("varstream", "ztf", "lsst")
#: Largest distance (arcsec) between a ZTF detection and its reference source for the total magnitude.
ZTF_MAX_DISTNR = 1.4
#: Lowest ZTF real/bogus score kept.
ZTF_MIN_RB = 0.3
ZTF_BANDS = {1: "g", 2: "r", 3: "i"}
#: AB zero point of a flux in nanojansky: m = 31.4 - 2.5 log10(F / nJy).
NJY_ZERO_POINT = 31.4
_POGSON = 2.5 / math.log(10.0)


#: Why a survey's observation is left out (counted in ``varstream_points_dropped_total``).
SKIP_REASONS = ("non_detection", "no_reference_source", "real_bogus", "nonpositive_flux", "missing_field",
                "unknown_band")


class NoObservations(Exception):
    """A readable packet that carries no usable observation (all non-detections, say): not bad
    input, nothing to add. ``skipped`` counts why, by reason."""

    def __init__(self, message: str, skipped: Counter) -> None:
        super().__init__(message)
        self.skipped = skipped


@dataclass
class Packet:
    """One message read into the stream's alert record, and the points left out, by reason."""

    alert: dict[str, Any]
    skipped: Counter = field(default_factory=Counter)


def _alert(alert_id: str, object_id: str, sources: list[dict], catalogue: dict | None) -> dict:
    return {"alert_id": alert_id, "object_id": object_id, "source": sources[0], "prev_sources": sources[1:] or None,
            "catalogue": catalogue}


def _container(data: bytes | None, what: str) -> dict:
    if not data:
        raise DecodeError("empty", "empty message")
    try:
        records = list(fastavro.reader(io.BytesIO(data)))
    except Exception as exc:
        raise DecodeError("undecodable", f"not an Avro container ({what}): {type(exc).__name__}: {str(exc)[:200]}") from None
    if len(records) != 1:
        raise DecodeError("schema_mismatch", f"{len(records)} records in one {what} message, expected 1")
    return records[0]


def _flux(mag: float) -> float:
    return 10.0 ** (-0.4 * mag)


def ztf_observation(c: dict) -> tuple[dict | None, str | None]:
    """One ZTF candidate as an observation ``(mjd, band, mag, mag_err)``, or the reason it is left out."""
    if c.get("magpsf") is None:
        return None, "non_detection"
    band = ZTF_BANDS.get(c.get("fid"))
    if band is None:
        return None, "unknown_band"
    magnr, distnr = c.get("magnr"), c.get("distnr")
    if magnr is None or distnr is None or distnr < 0 or distnr > ZTF_MAX_DISTNR:
        return None, "no_reference_source"
    if (c.get("rb") or 0.0) < ZTF_MIN_RB:
        return None, "real_bogus"
    sign = 1.0 if str(c.get("isdiffpos", "")).lower() in ("t", "1", "true") else -1.0
    f_ref, f_diff = _flux(magnr), _flux(c["magpsf"])
    total = f_ref + sign * f_diff
    if not total > 0:
        return None, "nonpositive_flux"
    err = math.hypot(f_ref * (c.get("sigmagnr") or 0.0), f_diff * (c.get("sigmapsf") or 0.0)) / total
    return {"mjd": float(c["jd"]) - JD_TO_MJD, "band": band, "mag": -2.5 * math.log10(total), "mag_err": err}, None


def _observations(entries: list, convert) -> tuple[list[dict], Counter]:
    """The observations ``convert`` makes of a packet's entries, and why the others were left out."""
    skipped: Counter = Counter()
    sources = []
    for entry in entries:
        obs, why = convert(entry)
        if obs is None:
            skipped[why] += 1
        else:
            sources.append(obs)
    return sources, skipped


def ztf_alert(record: dict) -> Packet:
    """A ZTF alert packet (decoded) as the stream's alert (see the module notes)."""
    cand = record.get("candidate")
    object_id = record.get("objectId")
    if not isinstance(cand, dict) or not isinstance(object_id, str):
        raise DecodeError("schema_mismatch", "not a ZTF alert: no objectId or candidate")
    sources, skipped = _observations([cand] + list(record.get("prv_candidates") or []), ztf_observation)
    if not sources:
        raise NoObservations(f"ZTF alert {record.get('candid')} of {object_id}: no detection gives a total "
                             f"magnitude ({dict(skipped)})", skipped)
    catalogue = {"ra_deg": cand.get("ra"), "dec_deg": cand.get("dec")}
    return Packet(_alert(str(record.get("candid", cand.get("candid"))), object_id, sources, catalogue), skipped)


def lsst_observation(s: dict) -> tuple[dict | None, str | None]:
    """One Rubin diaSource as an observation, or the reason it is left out."""
    mjd = s.get("midpointMjdTai", s.get("midPointTai"))
    band = s.get("band", s.get("filterName"))
    if s.get("scienceFlux") is not None:
        flux, err = s.get("scienceFlux"), s.get("scienceFluxErr")
    else:
        flux, err = s.get("psfFlux", s.get("psFlux")), s.get("psfFluxErr", s.get("psFluxErr"))
    if mjd is None or flux is None or err is None or not isinstance(band, str):
        return None, "missing_field"
    if not flux > 0:
        return None, "nonpositive_flux"
    return {"mjd": float(mjd), "band": band, "mag": NJY_ZERO_POINT - 2.5 * math.log10(flux),
            "mag_err": _POGSON * float(err) / float(flux)}, None


def lsst_alert(record: dict) -> Packet:
    """A Rubin/LSST alert packet (decoded) as the stream's alert (see the module notes)."""
    source = record.get("diaSource")
    if not isinstance(source, dict):
        raise DecodeError("schema_mismatch", "not a Rubin alert: no diaSource")
    obj = record.get("diaObject") or {}
    object_id = obj.get("diaObjectId", source.get("diaObjectId"))
    if object_id is None:
        raise DecodeError("schema_mismatch", f"Rubin alert {source.get('diaSourceId')}: no diaObjectId "
                                             "(a solar-system source)")
    sources, skipped = _observations([source] + list(record.get("prvDiaSources") or []), lsst_observation)
    if not sources:
        raise NoObservations(f"Rubin alert {source.get('diaSourceId')} of {object_id}: no source with a positive "
                             f"flux ({dict(skipped)})", skipped)
    ra = obj.get("ra", source.get("ra"))
    dec = obj.get("dec", obj.get("decl", source.get("dec", source.get("decl"))))
    alert_id = record.get("alertId", record.get("diaSourceId", source.get("diaSourceId")))
    return Packet(_alert(str(alert_id), str(object_id), sources, {"ra_deg": ra, "dec_deg": dec}), skipped)


class LsstSchemas:
    """Rubin alert schemas by id (``100·major + minor``), from the ``lsst-alert-packet`` package."""

    def __init__(self) -> None:
        try:
            from lsst.alert.packet import Schema
        except ImportError:
            raise ImportError("the lsst input format needs lsst-alert-packet: pip install 'varstream[lsst]'") from None
        self._schema_class = Schema
        self._cache: dict[int, Any] = {}

    def schema(self, schema_id: int):
        if schema_id not in self._cache:
            from lsst.alert.packet import get_schema_path

            major, minor = divmod(schema_id, 100)
            try:
                path = f"{get_schema_path(major, minor)}/lsst.v{major}_{minor}.alert.avsc"
                self._cache[schema_id] = self._schema_class.from_file(path)
            except Exception:
                raise DecodeError("unknown_schema", f"no Rubin alert schema {major}.{minor} (id {schema_id}) in "
                                                    "lsst-alert-packet") from None
        return self._cache[schema_id]

    @staticmethod
    def versions() -> list[tuple[int, int]]:
        """Every ``(major, minor)`` schema version the installed package ships."""
        import lsst.alert.packet as lap
        from pathlib import Path

        root = Path(lap.get_schema_root())
        return sorted((int(m.parent.name), int(m.name)) for m in root.glob("*/*")
                      if m.is_dir() and m.parent.name.isdigit() and m.name.isdigit())

    def latest_id(self) -> int:
        from lsst.alert.packet import get_latest_schema_version

        major, minor = get_latest_schema_version()
        return 100 * major + minor


class AlertReader:
    """Reads messages of one format into :class:`Packet` records (and writes them, for ``replay``)."""

    def __init__(self, name: str = "varstream", wire: WireFormat | None = None) -> None:
        if name not in FORMATS:
            raise ValueError(f"unknown alert format {name!r}; choose from {', '.join(FORMATS)}")
        self.name = name
        self.wire = wire or WireFormat()
        self.lsst = LsstSchemas() if name == "lsst" else None

    def read(self, data: bytes | None) -> Packet:
        """One message as a packet. Raises DecodeError (with a code) for anything unreadable, and
        :class:`NoObservations` for a readable packet without a usable observation."""
        if self.name == "varstream":
            return Packet(self.wire.decode("alert", data))
        if self.name == "ztf":
            return ztf_alert(_container(data, "ZTF alert"))
        if not data:
            raise DecodeError("empty", "empty message")
        if data[:4] == b"Obj\x01":
            return lsst_alert(_container(data, "Rubin alert"))
        if len(data) < 5 or data[0] != 0:
            raise DecodeError("bad_framing", "not a Rubin alert: neither the Confluent wire format nor an Avro container")
        schema = self.lsst.schema(int.from_bytes(data[1:5], "big"))
        try:
            record = schema.deserialize(data[5:])
        except Exception as exc:
            raise DecodeError("undecodable", f"not a Rubin alert of schema id {int.from_bytes(data[1:5], 'big')}: "
                                             f"{type(exc).__name__}: {str(exc)[:200]}") from None
        return lsst_alert(record)


# ---------------------------------------------------------------- writing (varstream replay --format)

#: A replayed star's ZTF reference magnitude is its median magnitude plus this (mag): fainter than
#: about half its points, so detections of both signs of the difference image occur.
ZTF_REFERENCE_OFFSET = 0.2345


def _ztf_schema() -> dict:
    from varstream.stream.codec import schemas_dir

    return fastavro.parse_schema(fastavro.schema.load_schema(str(schemas_dir() / "ztf_alert.avsc")))


def ztf_packet(alert: dict, reference_mag: float, candid: int, schema: dict) -> bytes:
    """The ZTF alert packet (an Avro container, schema ``schemas/ztf_alert.avsc``) of one of the
    stream's alerts: the observation becomes a difference-image detection against a reference
    source of ``reference_mag`` (mag) whose total magnitude is the observation's (the inverse of
    :func:`ztf_observation`; the reference error is 0 so the total error is the observation's)."""
    s = alert["source"]
    f_tot, f_ref = _flux(s["mag"]), _flux(reference_mag)
    diff = f_tot - f_ref
    cat = alert.get("catalogue") or {}
    cand = {"jd": s["mjd"] + JD_TO_MJD, "fid": {v: k for k, v in ZTF_BANDS.items()}.get(s["band"], 2),
            "candid": candid, "isdiffpos": "t" if diff > 0 else "f", "ra": cat.get("ra_deg") or 0.0,
            "dec": cat.get("dec_deg") or 0.0, "magpsf": -2.5 * math.log10(abs(diff)),
            "sigmapsf": s["mag_err"] * f_tot / abs(diff), "rb": 0.9, "magnr": reference_mag, "sigmagnr": 0.0,
            "distnr": 0.1}
    buf = io.BytesIO()
    fastavro.writer(buf, schema, [{"schemavsn": "3.3", "publisher": "varstream replay", "objectId": alert["object_id"],
                                   "candid": candid, "candidate": cand, "prv_candidates": None}])
    return buf.getvalue()


def lsst_object_id(object_id: str) -> int:
    """A Rubin ``diaObjectId`` (a long) for a star id: the id itself when it is a number, else a
    stable 63-bit hash of it."""
    if object_id.isdigit() and int(object_id) < 2**63:
        return int(object_id)
    import hashlib

    return int.from_bytes(hashlib.blake2b(object_id.encode(), digest_size=8).digest(), "big") >> 1


class AlertWriter:
    """Encodes the stream's alerts in one format (``varstream replay --format``)."""

    def __init__(self, name: str = "varstream", wire: WireFormat | None = None) -> None:
        if name not in FORMATS:
            raise ValueError(f"unknown alert format {name!r}; choose from {', '.join(FORMATS)}")
        self.name = name
        self.wire = wire or WireFormat()
        self._count = 0
        if name == "ztf":
            self._schema = _ztf_schema()
        elif name == "lsst":
            import json

            from lsst.alert.packet import get_latest_schema_version, get_schema_path

            self._lsst = LsstSchemas()
            self._id = self._lsst.latest_id()
            major, minor = get_latest_schema_version()
            with open(f"{get_schema_path(major, minor)}/sample_data/alert.json") as fh:
                self._template = json.load(fh)           # every field the schema requires, filled

    def key(self, alert: dict) -> bytes:
        """The message key: the star's id as the stream will know it."""
        oid = str(lsst_object_id(alert["object_id"])) if self.name == "lsst" else alert["object_id"]
        return oid.encode()

    def write(self, alert: dict, reference_mag: float = 0.0, topic: str | None = None) -> bytes:
        self._count += 1
        if self.name == "varstream":
            return self.wire.encode("alert", alert, topic)
        if self.name == "ztf":
            return ztf_packet(alert, reference_mag, self._count, self._schema)
        s = alert["source"]
        flux = 10.0 ** (-0.4 * (s["mag"] - NJY_ZERO_POINT))
        record = {**self._template, "diaSourceId": self._count, "prvDiaSources": None}
        source = {**self._template["diaSource"], "diaSourceId": self._count,
                  "diaObjectId": lsst_object_id(alert["object_id"]), "midpointMjdTai": s["mjd"], "band": s["band"],
                  "psfFlux": flux, "psfFluxErr": s["mag_err"] * flux / _POGSON, "scienceFlux": flux,
                  "scienceFluxErr": s["mag_err"] * flux / _POGSON}
        cat = alert.get("catalogue") or {}
        if cat.get("ra_deg") is not None:
            source.update(ra=cat["ra_deg"], dec=cat["dec_deg"])
        record["diaSource"] = source
        record["diaObject"] = {**self._template["diaObject"], "diaObjectId": lsst_object_id(alert["object_id"])}
        return b"\0" + self._id.to_bytes(4, "big") + self._lsst.schema(self._id).serialize(record)
