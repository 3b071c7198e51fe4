"""``varstream replay``: push archived light curves through Kafka as alert packets.

Every observation of every star becomes one alert (keyed by the star's id), and all alerts go
out in observation-time order across stars, as a survey would have sent them. ASAS-SN points
carry their band (V or g, labelled by the loader's era separation); Catalina points carry the
curve's band, ``V``. Points the pipeline would not use (non-detections, junk photometry: the
rules of :func:`~varstream.lightcurve.sanitize.point_problems`) are not sent — surveys do not issue
alerts for them — and are counted by rule. Each alert carries the
star's catalogue data (coordinates, Gaia parallax, distance) as a cross-matching broker would.

Pacing: ``speed`` is observation time per wall-clock time (``speed=86400`` replays one day of
observations per second); ``rate`` caps alerts per second; both 0 means as fast as possible.
"""

from __future__ import annotations

import heapq
import logging
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from varstream.lightcurve.loaders.dataset import open_dataset
from varstream.lightcurve.sanitize import SanitizeConfig, count_problems, point_problems
from varstream.lightcurve.types import LightCurve
from varstream.stream.delivery import Delivery, DeliveryError
from varstream.stream.formats import ZTF_REFERENCE_OFFSET, AlertWriter
from varstream.stream.kafka import KafkaConfig, Topics
from varstream.stream.state import CATALOGUE_KEYS
from varstream.stream.wire import WireFormat

log = logging.getLogger(__name__)


@dataclass
class ReplayReport:
    """What a replay sent: alerts per star and points left out, by reason."""

    sent: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    observations: dict[str, int] = field(default_factory=dict)   # distinct times sent, per star
    total: int = 0                                                 # alerts to send

    @property
    def n_alerts(self) -> int:
        return int(sum(self.sent.values()))


def replay_curves(dataset: str | Path, stars: int | None = None) -> list[LightCurve]:
    """The curves a replay sends, as the loader reads them (ASAS-SN points keep their own band)."""
    return list(open_dataset(dataset).iter_lightcurves(limit=stars))


def _catalogue(lc: LightCurve) -> dict | None:
    values = {k: (float(lc.meta[k]) if isinstance(lc.meta.get(k), int | float) and math.isfinite(lc.meta[k]) else None)
              for k in CATALOGUE_KEYS}
    return values if any(v is not None for v in values.values()) else None


def alerts_from_curve(lc: LightCurve, limits: SanitizeConfig = SanitizeConfig(),
                      skipped: Counter | None = None) -> list[tuple[float, dict]]:
    """``(mjd, alert)`` for each usable point of ``lc`` (see the module notes)."""
    bands = lc.aux.get("band")
    catalogue = _catalogue(lc)
    out = []
    codes = point_problems(lc.times, lc.mags, lc.errors, limits)
    usable = codes == 0
    if skipped is not None:
        skipped.update(count_problems(codes))
    for i in np.flatnonzero(usable):
        mjd = float(lc.times[i])
        band = str(bands[i]) if bands is not None else lc.band
        out.append((mjd, {
            "alert_id": f"{lc.object_id}:{mjd!r}",
            "object_id": lc.object_id,
            "source": {"mjd": mjd, "band": band, "mag": float(lc.mags[i]), "mag_err": float(lc.errors[i])},
            "prev_sources": None,
            "catalogue": catalogue,
        }))
    return out


def time_ordered(curves: list[LightCurve], limits: SanitizeConfig = SanitizeConfig(),
                 skipped: Counter | None = None) -> Iterator[tuple[float, dict]]:
    """All alerts of all curves merged in observation-time order."""
    per_star = [alerts_from_curve(lc, limits, skipped) for lc in curves]
    for alerts in per_star:
        alerts.sort(key=lambda ma: ma[0])
    return heapq.merge(*per_star, key=lambda ma: ma[0])


def replay(curves: list[LightCurve], kafka: KafkaConfig, topic: str = Topics.alerts, speed: float = 0.0,
           rate: float = 0.0, wire: WireFormat | None = None, progress: bool = True,
           stop=None, report: ReplayReport | None = None, fmt: str = "varstream") -> ReplayReport:
    """Produce every curve's alerts to ``topic`` (see the module notes) in the alert format ``fmt``
    (:mod:`varstream.stream.formats`: ``ztf`` packets are difference-image detections against a
    reference of the star's median magnitude plus 0.2345 mag, bands other than g, r, i sent as r;
    ``lsst`` packets carry the flux in nJy and a numeric diaObjectId); returns what was sent
    (``report``, if given, is filled in as the alerts go out, for progress shown elsewhere).

    Raises:
        RuntimeError: alerts could not be delivered.
    """
    writer = AlertWriter(fmt, wire or WireFormat())
    report = report if report is not None else ReplayReport()
    alerts = list(time_ordered(curves, skipped=report.skipped))
    reference: dict[str, float] = {}
    for lc in curves:
        usable = point_problems(lc.times, lc.mags, lc.errors) == 0
        if usable.any():
            reference[lc.object_id] = float(np.median(lc.mags[usable])) + ZTF_REFERENCE_OFFSET
    report.total = len(alerts)
    times: dict[str, set] = {}
    for mjd, alert in alerts:
        times.setdefault(writer.key(alert).decode(), set()).add(mjd)
    report.observations = {k: len(v) for k, v in times.items()}
    delivery = Delivery(kafka)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(alerts), unit="alert", desc="replay", file=sys.stderr, mininterval=1.0)
    start = time.monotonic()
    t0 = alerts[0][0] if alerts else 0.0
    for i, (mjd, alert) in enumerate(alerts):
        if stop is not None and stop.is_set():
            break
        target = 0.0
        if speed > 0:
            target = (mjd - t0) * 86400.0 / speed
        if rate > 0:
            target = max(target, i / rate)
        delay = target - (time.monotonic() - start)
        if delay > 0:
            delivery.poll(0)
            time.sleep(delay)
        delivery.produce(topic, writer.write(alert, reference.get(alert["object_id"], 0.0), topic), writer.key(alert))
        report.sent[writer.key(alert).decode()] += 1
        if bar is not None:
            bar.update(1)
    try:
        delivery.flush(60)
    except DeliveryError as exc:
        raise RuntimeError(f"replay: {exc}") from None
    finally:
        if bar is not None:
            bar.close()
    report.seconds = time.monotonic() - start
    log.info("replayed %d alerts of %d stars in %.1f s", report.n_alerts, len(report.sent), report.seconds)
    return report
