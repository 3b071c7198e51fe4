#!/usr/bin/env python
"""A survey's real cadence: every alert a star's next night, each one reclassified.

    python benchmarks/survey.py [--consumers 1] [--stars 3000] [--rates 100 300 1000] [--seconds 30]
    (also: python benchmarks/stream.py --cadence survey ...)

On the real embedded broker, ``--stars`` real Catalina stars are already in the state (their
local stores written as a consumer leaves them, each star classified once with a full period
search), and their remaining observations arrive as alerts in observation-time order, a star's
next alert only after its previous one was classified, offered at fixed rates. Per rate:
alert→classification latency (p50/p95/p99, from the alert's Kafka timestamp to the
classification's arrival at a reader), CPU milliseconds per alert of the serve processes, the
share of classifications that took the fast path, and the highest rate held (at least 95 % of the
offered rate delivered, p99 < 0.5 s). Then how often the fast path's period equals the full
search's on the same observations (a sample of the fast classifications, recomputed offline).

Ends with ``survey_cadence held_alerts_per_s=N p99_s=X cpu_ms_per_alert=Y fast_path_share=Z
consumers=K`` (p99 and CPU at the held rate; when no rate is held, held_alerts_per_s=0 and the figures of the
rate with the lowest p99). Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from varstream.inference import default_models_dir  # noqa: E402
from varstream.lightcurve import LightCurveError, featurise  # noqa: E402
from varstream.lightcurve.loaders.dataset import default_dataset, open_dataset  # noqa: E402
from varstream.lightcurve.sanitize import usable_points  # noqa: E402
from varstream.stream.broker import EmbeddedBroker  # noqa: E402
from varstream.stream.classify import StreamClassifier  # noqa: E402
from varstream.stream.codec import encode  # noqa: E402
from varstream.stream.delivery import Delivery  # noqa: E402
from varstream.stream.kafka import KafkaConfig, Topics, ensure_topics, partition_for  # noqa: E402
from tests.metrics_text import metric_value  # noqa: E402
from varstream.stream.serve_process import ServeProcess  # noqa: E402
from varstream.stream.restore import EPOCH_KEY  # noqa: E402
from varstream.lightcurve.bands import SURVEY_BANDS as BANDS  # noqa: E402
from varstream.stream.state import Classified, StarState, fingerprint  # noqa: E402
from varstream.stream.store import Checkpoint, PartitionStore, RocksBackend  # noqa: E402
from varstream.stream.tail import ClassificationReader  # noqa: E402

PARTITIONS = 4
HELD_P99_S = 0.5


def load_stars(dataset: Path, stars: int, new_points: int) -> list:
    """Real curves with enough points: (curve, index where the new alerts start)."""
    out = []
    for lc in open_dataset(dataset).iter_lightcurves():
        ok = usable_points(lc.times, lc.mags, lc.errors)
        if ok.sum() >= 80 + new_points:
            order = np.argsort(lc.times[ok], kind="stable")
            lc = lc.select(np.flatnonzero(ok)[order])
            _, first = np.unique(lc.times, return_index=True)
            lc = lc.select(np.sort(first))
            out.append((lc, len(lc) - new_points))
            if len(out) >= stars:
                break
    return out


def star_state(lc, n: int, partition: int, classifier: StreamClassifier) -> StarState:
    """The state of ``lc``'s first ``n`` points, classified once with a full period search."""
    star = StarState(lc.object_id, partition, lc.times[:n].copy(), lc.mags[:n].copy(), lc.errors[:n].copy(),
                     np.full(n, BANDS.index("V"), np.uint8), np.full(n, 1_700_000_000_000, np.int64))
    star.obs_digest = sum(fingerprint(t, m, e, "V") for t, m, e in zip(star.mjd, star.mag, star.err)) & ((1 << 63) - 1)
    star.latest_alert = (f"{lc.object_id}:seed", 1_700_000_000_000)
    try:
        f = featurise(star.lightcurve(), classifier.config)
        star.mark_classified(Classified(star.digest, n, "", 1_700_000_000_000, f.period.candidates, n,
                                        float(f.period.explained), True, float(f.period.period),
                                        f.period.window))
    except LightCurveError:
        star.mark_classified(Classified(star.digest, n, "", 1_700_000_000_000))
    return star


def build_state(stars: list, topics: Topics, kafka: KafkaConfig, state_dir: Path, classifier) -> None:
    delivery = Delivery(kafka)
    stores = {}
    for p in range(PARTITIONS):
        epoch = uuid.uuid4().hex
        delivery.produce(topics.changelog, encode("state", {"object_id": "", "observation": None, "catalogue_json": None,
                                                            "classified": None, "epoch": epoch}), EPOCH_KEY, p)
        stores[p] = (PartitionStore(p, RocksBackend(state_dir / topics.group / str(p))), epoch)
    delivery.flush()
    for lc, n in stars:
        p = partition_for(lc.object_id.encode(), PARTITIONS)
        stores[p][0].touch(star_state(lc, n, p, classifier))
    for store, epoch in stores.values():
        store.commit(Checkpoint(epoch, 0))
        store.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_rate(kafka: KafkaConfig, topics: Topics, procs: list, reader: ClassificationReader, queues: dict, rate: float,
             seconds: float, fast_records: list) -> dict:
    """Offer alerts at ``rate`` for ``seconds``: each star's next alert once its previous one is classified."""
    delivery = Delivery(kafka)
    waiting: dict[str, tuple[float, int]] = {}          # star -> (mjd of the outstanding alert, n observations)
    ready = [oid for oid in queues if queues[oid]]
    latencies, classified, sent = [], 0, 0
    pages = [p.metrics() for p in procs]
    searches0 = {k: sum(metric_value(m, "varstream_period_searches_total", f'path="{k}"') for m in pages)
                 for k in ("fast", "full", "fallback")}
    cpu0 = sum(cpu_seconds(p.proc.pid) for p in procs)
    start = time.monotonic()
    next_send = start
    while time.monotonic() - start < seconds:
        now = time.monotonic()
        while next_send <= now and ready:
            oid = ready.pop(0)
            mjd, mag, err = queues[oid].pop(0)
            alert = {"alert_id": f"{oid}:{mjd!r}", "object_id": oid, "prev_sources": None, "catalogue": None,
                     "source": {"mjd": mjd, "band": "V", "mag": mag, "mag_err": err}}
            delivery.produce(topics.alerts, encode("alert", alert), oid.encode())
            waiting[oid] = mjd
            sent += 1
            next_send += 1.0 / rate
        delivery.poll(0)
        for rec, received in reader.poll(0.02):
            oid = rec["object_id"]
            if oid in waiting and rec["alert_id"] == f"{oid}:{waiting[oid]!r}":
                latencies.append((received - rec["ingest_time"]) / 1000)
                classified += 1
                if not rec.get("exact", True):
                    fast_records.append((oid, rec["n_observations"], rec["period_days"]))
                del waiting[oid]
                if queues[oid]:
                    ready.append(oid)
        if not ready and not waiting:
            break
    elapsed = time.monotonic() - start
    deadline = time.monotonic() + 10
    while waiting and time.monotonic() < deadline:               # the last classifications of this rate
        for rec, received in reader.poll(0.1):
            oid = rec["object_id"]
            if oid in waiting and rec["alert_id"] == f"{oid}:{waiting[oid]!r}":
                latencies.append((received - rec["ingest_time"]) / 1000)
                classified += 1
                del waiting[oid]
    delivery.flush()
    cpu = sum(cpu_seconds(p.proc.pid) for p in procs) - cpu0
    pages = [p.metrics() for p in procs]
    searches = {k: sum(metric_value(m, "varstream_period_searches_total", f'path="{k}"') for m in pages) - searches0[k]
                for k in searches0}
    total = sum(searches.values()) or 1
    lat = np.array(latencies)
    q = np.percentile(lat, [50, 95, 99]) if lat.size else [float("nan")] * 3
    return {"rate": rate, "sent": sent, "classified": classified, "achieved": classified / elapsed,
            "p50": q[0], "p95": q[1], "p99": q[2], "cpu_ms_per_alert": 1000 * cpu / max(classified, 1),
            "fast_share": searches["fast"] / total, "fallback_share": searches["fallback"] / total,
            "held": classified / elapsed >= 0.95 * rate and q[2] < HELD_P99_S}


def fast_path_agreement(stars: list, fast_records: list, classifier, sample: int = 300) -> tuple[int, int]:
    """How many sampled fast-path periods equal the full search's on the same observations."""
    curves = {lc.object_id: lc for lc, _ in stars}
    rng = np.random.default_rng(0)
    picked = [fast_records[i] for i in rng.choice(len(fast_records), min(sample, len(fast_records)), replace=False)] \
        if fast_records else []
    same = 0
    for oid, n, period in picked:
        lc = curves[oid]
        sub = lc.select(np.arange(n))
        try:
            same += abs(featurise(sub, classifier.config).period.period / period - 1) < 1e-9
        except LightCurveError:
            pass
    return same, len(picked)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--consumers", type=int, default=1)
    parser.add_argument("--stars", type=int, default=3000)
    parser.add_argument("--new-points", type=int, default=30, help="alerts per star to offer at most (default 30)")
    parser.add_argument("--rates", type=float, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds per rate (default 30)")
    parser.add_argument("--dataset", type=Path, default=default_dataset("catalina"))
    args = parser.parse_args()
    work = Path("build/bench_survey")
    work.mkdir(parents=True, exist_ok=True)
    classifier = StreamClassifier(default_models_dir())
    t0 = time.time()
    stars = load_stars(args.dataset, args.stars, args.new_points)
    print(f"{len(stars)} real stars from {args.dataset}, {int(np.median([n for _, n in stars]))} observations each "
          f"(median) already in the state, {args.new_points} new alerts each; {args.consumers} consumer(s)", flush=True)
    queues = {lc.object_id: [(float(t), float(m), float(e)) for t, m, e in
                             zip(lc.times[n:], lc.mags[n:], lc.errors[n:])] for lc, n in stars}
    with EmbeddedBroker(log_path=work / "tansu.log") as broker, tempfile.TemporaryDirectory(dir=work) as state_dir:
        kafka = KafkaConfig(broker.bootstrap)
        topics = Topics("alerts-survey", "classifications-survey", "deadletter-survey", "group-survey")
        ensure_topics(kafka, topics, PARTITIONS)
        build_state(stars, topics, kafka, Path(state_dir), classifier)
        print(f"state built in {time.time() - t0:.0f} s (one full search per star)", flush=True)
        procs = [ServeProcess(broker.bootstrap, topics, log_path=work / f"serve{i}.log", log_level="warning",
                              state_dir=state_dir) for i in range(args.consumers)]
        reader = ClassificationReader(kafka, topics.classifications)
        results, fast_records = [], []
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                if sum(metric_value(p.metrics(), "varstream_assigned_partitions") for p in procs) == PARTITIONS:
                    break
                time.sleep(0.5)
            for rate in args.rates:
                r = run_rate(kafka, topics, procs, reader, queues, rate, args.seconds, fast_records)
                results.append(r)
                print(f"{rate:6.0f} alerts/s offered: {r['achieved']:6.0f} classified/s; latency p50 {r['p50']:.3f} s, "
                      f"p95 {r['p95']:.3f} s, p99 {r['p99']:.3f} s; CPU {r['cpu_ms_per_alert']:.2f} ms per alert; "
                      f"fast path {100 * r['fast_share']:.1f} % (fallback {100 * r['fallback_share']:.1f} %); "
                      f"{'held' if r['held'] else 'not held'}", flush=True)
        finally:
            reader.close()
            codes = [p.stop() for p in procs]
        same, sampled = fast_path_agreement(stars, fast_records, classifier)
    print(f"fast path: {same} of {sampled} sampled fast-path periods equal the full search's on the same observations "
          f"({100 * same / max(sampled, 1):.1f} %); serve exit codes {codes}")
    held = [r for r in results if r["held"]]
    best = max(held, key=lambda r: r["rate"]) if held else min(results, key=lambda r: r["p99"])
    print(f"survey_cadence held_alerts_per_s={best['rate'] if held else 0:.0f} p99_s={best['p99']:.3f} "
          f"cpu_ms_per_alert={best['cpu_ms_per_alert']:.2f} fast_path_share={best['fast_share']:.3f} "
          f"consumers={args.consumers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
