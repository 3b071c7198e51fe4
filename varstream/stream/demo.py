"""``varstream demo``: the whole stream on one machine, end to end.

Starts the embedded broker, one or more ``varstream serve`` processes, replays the bundled ASAS-SN
curves as alerts and prints classifications as they arrive (a row whenever a star's class is
first known or changes). It waits until every replayed star's latest classification covers all
its observations, stops everything cleanly and ends with one line::

    classified N stars, M classifications, p50 X s, p99 Y s

where the latencies run from an alert entering the alert topic to the delivery of the first
classification that includes it (the longest-waiting alert of each classification). Before it, a
line tells how right the stream was: the agreement of the final classes and families with the
replayed stars' catalogue classes.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from varstream.lightcurve.taxonomy import family_of, model_class
from varstream.stream.broker import EmbeddedBroker
from varstream.stream.kafka import KafkaConfig, Topics, ensure_topics
from varstream.stream.serve_process import ServeProcess
from varstream.stream.replay import ReplayReport, replay, replay_curves
from varstream.stream.tail import HEADER, Collector, format_row

log = logging.getLogger(__name__)


@dataclass
class Agreement:
    """How the final classifications agree with the catalogue classes of the replayed stars:
    stars whose catalogue class is one the model knows (``class_n``) and of them those classified
    as it (``class_ok``); likewise for families (every star whose class has one)."""

    class_ok: int = 0
    class_n: int = 0
    family_ok: int = 0
    family_n: int = 0
    without_model_class: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def of(latest: dict[str, dict], labels: dict[str, str | None]) -> Agreement:
        out = Agreement()
        for oid, rec in latest.items():
            label = labels.get(oid)
            if not label:
                continue
            classes = [p["label"] for p in rec["probabilities"]]
            expected = model_class(label, classes)
            if expected is not None:
                out.class_n += 1
                out.class_ok += rec["predicted_class"] == expected
            else:
                out.without_model_class[label] = out.without_model_class.get(label, 0) + 1
            family = family_of(label)
            if family is not None and rec.get("family"):
                out.family_n += 1
                out.family_ok += rec["family"] == family
        return out

    def line(self) -> str:
        def share(ok: int, n: int) -> str:
            return f"{ok}/{n} ({100 * ok / n:.0f} %)" if n else "no stars"

        extra = ""
        if self.without_model_class:
            extra = ("; catalogue classes the models do not have (family only): "
                     + ", ".join(f"{k} {v}" for k, v in sorted(self.without_model_class.items())))
        return (f"demo: agreement with the catalogue: class {share(self.class_ok, self.class_n)}, "
                f"family {share(self.family_ok, self.family_n)}{extra}")


@dataclass
class DemoResult:
    """What the demo saw: latest classification per star, all latencies (s), the replay report."""

    latest: dict[str, dict] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    n_classifications: int = 0
    replay: ReplayReport | None = None
    complete: bool = False
    agreement: Agreement | None = None

    def summary(self) -> str:
        p50, p99 = (np.percentile(self.latencies, [50, 99]) if self.latencies else (float("nan"),) * 2)
        return (f"classified {len(self.latest)} stars, {self.n_classifications} classifications, "
                f"p50 {p50:.2f} s, p99 {p99:.2f} s")


def run_demo(dataset: str | Path, stars: int | None = None, consumers: int = 2, speed: float = 0.0,
             rate: float = 0.0, partitions: int = 4, models_dir: str | None = None, timeout_s: float = 900.0,
             out=print, companion=None) -> DemoResult:
    """Run the demo (see the module notes) and return what it saw. ``companion`` (e.g. the
    explorer) is attached to the stream once the topics exist (``attach(kafka, topics)``) and
    detached before the broker stops."""
    curves = replay_curves(dataset, stars)
    out(f"demo: {len(curves)} stars from {dataset}, {consumers} classifier process(es), "
        f"{partitions} partitions, replay at {f'{rate:.0f} alerts/s' if rate else 'full speed'}")
    result = DemoResult()
    topics = Topics()
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory(prefix="varstream-demo-") as state_dir:
        kafka = KafkaConfig(broker.bootstrap)
        ensure_topics(kafka, topics, partitions)
        out(f"demo: tansu broker on {broker.bootstrap}")
        if companion is not None:
            companion.attach(kafka, topics)
        procs = [ServeProcess(broker.bootstrap, topics, models_dir=models_dir, log_level="warning", state_dir=state_dir)
                 for _ in range(consumers)]
        collector = Collector(kafka, topics.classifications)
        stop = threading.Event()
        box: dict = {}
        sending = ReplayReport()

        def do_replay() -> None:
            try:
                box["report"] = replay(curves, kafka, topics.alerts, speed=speed, rate=rate, stop=stop,
                                       progress=False, report=sending)
            except Exception as exc:  # reported below, the demo stops
                box["error"] = exc

        thread = threading.Thread(target=do_replay, name="replay", daemon=True)
        thread.start()
        out(HEADER)
        try:
            result.complete = _follow(collector, procs, box, sending, time.time() + timeout_s, out)
            if not result.complete:
                out(f"demo: timed out after {timeout_s:.0f} s")
        finally:
            stop.set()
            collector.close()
            codes = [p.stop() for p in procs]
            thread.join(10)
            if companion is not None:
                time.sleep(1.0)                                   # the last classifications reach it
                companion.detach()
        result.replay = box.get("report")
    result.latest = collector.latest
    result.n_classifications = len(collector.records)
    result.latencies = [(r - rec["first_ingest_time"]) / 1000 for rec, r in zip(collector.records, collector.received_ms)]
    _report(result, curves, codes, out)
    return result


def _follow(collector: Collector, procs: list[ServeProcess], box: dict, sending: ReplayReport, deadline: float,
            out) -> bool:
    """Print classifications as they arrive (and a status line every 10 s) until every replayed
    star's final classification is in (True) or ``deadline`` (wall seconds) passes (False).

    Raises:
        RuntimeError: a classifier process died, or the replay failed.
    """
    next_status = time.time() + 10
    while time.time() < deadline:
        for rec, received in collector.poll(0.5):
            out(format_row(rec, received))
        if time.time() >= next_status:
            next_status += 10
            out(f"demo: {sending.n_alerts:,} of {sending.total:,} alerts replayed; "
                f"{len(collector.records):,} classifications of {len(collector.latest)} stars so far")
        if "error" in box:
            raise box["error"]
        dead = [p for p in procs if not p.alive]
        if dead:
            raise RuntimeError(f"a classifier process exited with code {dead[0].proc.returncode}")
        report = box.get("report")
        if report is not None and collector.done(report.observations):
            return True
    return False


def _report(result: DemoResult, curves: list, codes: list[int], out) -> None:
    """The demo's closing lines: what was replayed, the final classes, agreement with the catalogue."""
    if result.replay is not None:
        r = result.replay
        out(f"demo: replayed {r.n_alerts} alerts of {len(r.sent)} stars in {r.seconds:.1f} s "
            f"({sum(r.skipped.values())} non-detections not sent); every star's final classification in: "
            f"{result.complete}; classifier exit codes {codes}")
    classes: dict[str, int] = {}
    for rec in result.latest.values():
        classes[rec["predicted_class"]] = classes.get(rec["predicted_class"], 0) + 1
    out("demo: final classes " + ", ".join(f"{k} {v}" for k, v in sorted(classes.items(), key=lambda kv: -kv[1])))
    result.agreement = Agreement.of(result.latest, {lc.object_id: lc.label for lc in curves})
    out(result.agreement.line())
