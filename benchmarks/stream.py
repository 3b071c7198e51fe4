#!/usr/bin/env python
"""Stream benchmark against the real embedded broker (tansu), on alerts made from real curves.

    python benchmarks/stream.py [--alerts 50000] [--consumers 1] [--rate 1000] [--dataset DIR]
    python benchmarks/stream.py --cadence survey [--consumers 2] ...   (benchmarks/survey.py)

Phases (each prints its figures):

1. **throughput** — all alerts pre-loaded into the alert topic, then K ``varstream serve``
   processes start; alerts/s from the first alert consumed until every star's final
   classification (covering all of its observations) is delivered, and the ingest rate alone;
2. **latency** — fresh topics, K consumers already in the group, the alerts replayed at R
   alerts/s: end-to-end latency from each triggering alert entering the topic (its Kafka
   timestamp) to the classification's arrival at a reader; also the longest-waiting alert of each
   classification ("oldest");
3. **cost** — in-process, no Kafka: the work per alert (state update, policy and its share of the
   reclassifications, on the fast path or the full search as the policy decides, and the final
   exact classification) on a real curve at 200 and at 2,000 points, for isolated alerts (each
   one reclassified) and for a burst (the policy coalesces);
4. **lost** — observations not covered by the final classifications, summed over both runs.

Ends with ``alerts_per_s=A p50_s=B p95_s=C p99_s=D lost=L``. Not part of the test run.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from varstream.inference import default_models_dir  # noqa: E402
from varstream.lightcurve.loaders.dataset import default_dataset, open_dataset  # noqa: E402
from varstream.stream.broker import EmbeddedBroker  # noqa: E402
from varstream.stream.classify import StreamClassifier  # noqa: E402
from varstream.stream.kafka import KafkaConfig, Topics, ensure_topics  # noqa: E402
from varstream.stream.policy import ReclassifyPolicy  # noqa: E402
from tests.metrics_text import metric_sum, metric_value  # noqa: E402
from varstream.stream.serve_process import ServeProcess  # noqa: E402
from varstream.stream.reclassify import classified_from, job_for  # noqa: E402
from varstream.stream.replay import alerts_from_curve, replay  # noqa: E402
from varstream.stream.state import Observation, StarState  # noqa: E402
from varstream.stream.tail import Collector  # noqa: E402


def load_curves(dataset: Path, alerts: int) -> list:
    """Real curves, in dataset order, until they hold ``alerts`` usable points."""
    curves, total = [], 0
    for lc in open_dataset(dataset).iter_lightcurves():
        n = len(alerts_from_curve(lc))
        if n < 20:
            continue
        curves.append(lc)
        total += n
        if total >= alerts:
            break
    return curves


def topics(tag: str) -> Topics:
    return Topics(f"alerts-{tag}", f"classifications-{tag}", f"deadletter-{tag}", f"group-{tag}")


def consumed(procs: list[ServeProcess]) -> float:
    return sum(metric_value(p.metrics(), "varstream_alerts_consumed_total") for p in procs)


def wait_assigned(procs: list[ServeProcess], partitions: int, timeout_s: float = 120) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if sum(metric_value(p.metrics(), "varstream_assigned_partitions") for p in procs) == partitions \
                and all(metric_value(p.metrics(), "varstream_assigned_partitions") > 0 for p in procs):
            return
        time.sleep(0.2)
    raise RuntimeError("consumers did not get their partitions")


def throughput(broker: EmbeddedBroker, curves: list, consumers: int, partitions: int, log_dir: Path,
               serve: list[str]) -> dict:
    kafka, t = KafkaConfig(broker.bootstrap), topics("throughput")
    ensure_topics(kafka, t, partitions)
    start = time.monotonic()
    report = replay(curves, kafka, t.alerts, progress=False)
    load_s = time.monotonic() - start
    procs = [ServeProcess(broker.bootstrap, t, *serve, log_path=log_dir / f"tp{i}.log", log_level="warning")
             for i in range(consumers)]
    collector = Collector(kafka, t.classifications)
    try:
        while consumed(procs) == 0:
            time.sleep(0.05)
        t0 = time.monotonic()
        t_ingest = None
        while not collector.done(report.observations):
            collector.poll(0.2)
            if t_ingest is None and consumed(procs) >= report.n_alerts:
                t_ingest = time.monotonic()
            if time.monotonic() - t0 > 1800:
                raise RuntimeError("throughput run did not finish in 30 min")
        t_done = time.monotonic()
        t_ingest = t_ingest or t_done
        pages = [p.metrics() for p in procs]
        per_proc = [metric_value(m, "varstream_alerts_consumed_total") for m in pages]
        triggers = {k: sum(metric_value(m, "varstream_reclassifications_total", f'trigger="{k}"')
                           if f'trigger="{k}"' in m else 0 for m in pages) for k in ("growth", "stale", "idle")}
    finally:
        codes = [p.stop() for p in procs]
        collector.close()
    n = report.n_alerts
    return {"alerts": n, "stars": len(report.sent), "preload_s": load_s, "complete_s": t_done - t0,
            "ingest_s": t_ingest - t0, "alerts_per_s": n / (t_done - t0), "ingest_alerts_per_s": n / (t_ingest - t0),
            "classifications": len(collector.records), "per_process": per_proc, "triggers": triggers,
            "lost": collector.lost(report.observations), "exit_codes": codes}


def latency(broker: EmbeddedBroker, curves: list, consumers: int, partitions: int, rate: float, log_dir: Path,
            serve: list[str]) -> dict:
    kafka, t = KafkaConfig(broker.bootstrap), topics("latency")
    ensure_topics(kafka, t, partitions)
    procs = [ServeProcess(broker.bootstrap, t, *serve, log_path=log_dir / f"lat{i}.log", log_level="warning")
             for i in range(consumers)]
    collector = Collector(kafka, t.classifications)
    try:
        wait_assigned(procs, partitions)
        box: dict = {}
        thread = threading.Thread(target=lambda: box.update(report=replay(curves, kafka, t.alerts, rate=rate,
                                                                          progress=False)), daemon=True)
        thread.start()                     # the reader polls while the alerts go out: receive times are real
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and ("report" not in box or not collector.done(box["report"].observations)):
            collector.poll(0.2)
        report = box["report"]
        pages = [p.metrics() for p in procs]
    finally:
        codes = [p.stop() for p in procs]
        collector.close()
    newest = np.array([(r - rec["ingest_time"]) / 1000 for rec, r in zip(collector.records, collector.received_ms)])
    oldest = np.array([(r - rec["first_ingest_time"]) / 1000 for rec, r in zip(collector.records, collector.received_ms)])
    q = lambda a: dict(zip(("p50", "p95", "p99"), np.percentile(a, [50, 95, 99]))) if a.size else {}
    return {"offered_rate": rate, "achieved_rate": report.n_alerts / report.seconds, "alerts": report.n_alerts,
            "classifications": len(collector.records), "newest": q(newest), "oldest": q(oldest),
            "dead_letters": sum(metric_sum(m, "varstream_dead_letters_total") for m in pages),
            "lost": collector.lost(report.observations), "exit_codes": codes}


def per_alert_cost(dataset_asassn: Path, lengths=(200, 2000), alerts: int = 60) -> dict:
    """Seconds of work per alert at each curve length (see the module notes)."""
    lc = next(c for c in open_dataset(dataset_asassn).iter_lightcurves() if len(c) >= max(lengths) + alerts)
    points = sorted(alerts_from_curve(lc), key=lambda ma: ma[0])
    classifier = StreamClassifier(default_models_dir())
    policy = ReclassifyPolicy()
    out = {"star": lc.object_id}
    for mode, step_s in (("isolated", 5.0), ("burst", 0.001)):
        for n in lengths:
            star = StarState(lc.object_id, 0)
            for mjd, a in points[:n]:
                s = a["source"]
                star.add(Observation(mjd, s["band"], s["mag"], s["mag_err"], a["alert_id"], 0))
            star.mark_classified(classified_from(star, classifier.classify([star.lightcurve()])[0], "", 0))
            now, work, fast = 0.0, 0.0, 0
            for mjd, a in points[n:n + alerts]:
                now += step_s
                start = time.perf_counter()
                s = a["source"]
                if star.add(Observation(mjd, s["band"], s["mag"], s["mag_err"], a["alert_id"], 0)):
                    star.mark_changed(now, 0, a["alert_id"])
                work += time.perf_counter() - start
                # the loop looks at due stars after each poll: an isolated alert (a star quiet for
                # longer than --idle) is due at once ("fresh"), a burst by growth
                start = time.perf_counter()
                reason = policy.reason(star, now)
                if reason:
                    outcome = classifier.classify([job_for(star, reason, policy)])[0]
                    star.mark_classified(classified_from(star, outcome, "", 0))
                    fast += outcome.fast
                work += time.perf_counter() - start
            start = time.perf_counter()        # the final, exact classification once the alerts pause
            if star.unclassified or not star.classified.exact:
                classifier.classify([job_for(star, "idle", policy)])
            work += time.perf_counter() - start
            out[f"{mode}_{n}_fast"] = fast
            out[f"{mode}_{n}_ms"] = 1000 * work / alerts
        out[f"{mode}_ratio"] = out[f"{mode}_{lengths[1]}_ms"] / out[f"{mode}_{lengths[0]}_ms"]
    return out


def main() -> int:
    if "--cadence" in sys.argv:
        i = sys.argv.index("--cadence")
        cadence = sys.argv[i + 1] if i + 1 < len(sys.argv) else ""
        if cadence == "survey":                       # a survey's real cadence: benchmarks/survey.py
            import runpy

            sys.argv = [str(Path(__file__).with_name("survey.py"))] + sys.argv[1:i] + sys.argv[i + 2:]
            runpy.run_path(sys.argv[0], run_name="__main__")
            return 0
        if cadence != "replay":
            raise SystemExit("error: --cadence is survey or replay (the default)")
        del sys.argv[i:i + 2]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=50_000, help="alerts made from real curves (default 50,000)")
    parser.add_argument("--consumers", type=int, default=1, help="serve processes in the group (default 1)")
    parser.add_argument("--rate", type=float, default=1000.0, help="offered load of the latency run, alerts/s")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--dataset", type=Path, help="curves for the alerts (default ../shared/data/catalina)")
    parser.add_argument("--skip", nargs="*", default=[], choices=("throughput", "latency", "cost"))
    parser.add_argument("--serve", default="", metavar="'OPTIONS'",
                        help="extra options of every serve process, e.g. '--growth 0.5 --min-new-points 20'")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    dataset = args.dataset or default_dataset("catalina")
    if dataset is None:
        raise SystemExit("error: no --dataset and no ../shared/data/catalina")
    log_dir = Path("build/bench_stream")
    log_dir.mkdir(parents=True, exist_ok=True)
    curves = load_curves(dataset, args.alerts)
    print(f"{len(curves)} real curves from {dataset}; {args.consumers} consumer(s), {args.partitions} partitions; "
          f"serve options: {args.serve or 'defaults'}",
          flush=True)
    tp = lat = None
    with EmbeddedBroker(log_path=log_dir / "tansu.log") as broker:
        if "throughput" not in args.skip:
            tp = throughput(broker, curves, args.consumers, args.partitions, log_dir, args.serve.split())
            print(f"throughput: {tp['alerts']} alerts of {tp['stars']} stars pre-loaded in {tp['preload_s']:.1f} s; "
                  f"consumed in {tp['ingest_s']:.1f} s ({tp['ingest_alerts_per_s']:.0f} alerts/s), every final "
                  f"classification out after {tp['complete_s']:.1f} s ({tp['alerts_per_s']:.0f} alerts/s); "
                  f"{tp['classifications']} classifications {tp['triggers']}; per process {tp['per_process']}; "
                  f"lost {tp['lost']}", flush=True)
        if "latency" not in args.skip:
            lat = latency(broker, curves, args.consumers, args.partitions, args.rate, log_dir, args.serve.split())
            fmt = lambda d: " ".join(f"{k}={v:.3f}s" for k, v in d.items())
            print(f"latency at {lat['offered_rate']:.0f} alerts/s offered ({lat['achieved_rate']:.0f} achieved): "
                  f"{lat['classifications']} classifications; triggering alert {fmt(lat['newest'])}; longest-waiting "
                  f"alert {fmt(lat['oldest'])}; lost {lat['lost']}", flush=True)
    if "cost" not in args.skip:
        cost = per_alert_cost(default_dataset("asassn") or dataset)
        print("per-alert cost on " + cost["star"] + ": " + ", ".join(
            f"{k} {v:.2f}" for k, v in cost.items() if k != "star"), flush=True)
    lost = (tp["lost"] if tp else 0) + (lat["lost"] if lat else 0)
    a = tp["alerts_per_s"] if tp else float("nan")
    n = lat["newest"] if lat else {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    print(f"alerts_per_s={a:.0f} p50_s={n['p50']:.3f} p95_s={n['p95']:.3f} p99_s={n['p99']:.3f} lost={lost}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
