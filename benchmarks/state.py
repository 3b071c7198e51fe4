#!/usr/bin/env python
"""State-store benchmark: restart time and resident memory of ``varstream serve`` with big states.

    python benchmarks/state.py [--stars 10000 100000 1000000] [--points 200] [--without 10000]

For each number of stars (synthetic curves of ``--points`` observations, the state a survey stream
builds up), on the real embedded broker:

1. **with a local store** — the RocksDB store of one input partition is written directly (as a
   consumer leaves it: stars, checkpoint, changelog epoch), the changelog partition holds the epoch
   record and a tail of ``--tail`` newer observations past the checkpoint, and one new alert of a
   star waits in the alert topic. A ``varstream serve`` process starts; reported: the restore
   (changelog records read, seconds), the time from process start to the classification of the new
   alert ("back to classifying"), and the process's resident memory;
2. **without a local store** (``--state-dir memory``, for ``--without`` stars only: every
   observation is a changelog record the broker must hold and replay) — the same, after a full
   replay of the changelog.

Also the rate at which observations are ingested into a store (in process, no Kafka). Ends with
``state restart_s_<stars>=… rss_mb_<stars>=… full_restore_s_<stars>=… ingest_obs_per_s=…``. Not part of the test
run; the 1M-star store needs ~7 GB of disk.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from varstream.stream.broker import EmbeddedBroker  # noqa: E402
from varstream.stream.codec import encode  # noqa: E402
from varstream.stream.delivery import Delivery  # noqa: E402
from varstream.stream.kafka import KafkaConfig, Topics, ensure_topics, partition_for  # noqa: E402
from tests.metrics_text import metric_value  # noqa: E402
from varstream.stream.serve_process import ServeProcess  # noqa: E402
from varstream.stream.restore import EPOCH_KEY  # noqa: E402
from varstream.lightcurve.bands import SURVEY_BANDS as BANDS  # noqa: E402
from varstream.stream.state import (  # noqa: E402
    Classified,
    Observation,
    StarState,
    fingerprint,
    observation_change,
    observation_key,
)
from varstream.stream.store import Checkpoint, PartitionStore, RocksBackend  # noqa: E402
from varstream.stream.tail import ClassificationReader  # noqa: E402

PARTITIONS = 1


def synthetic_star(object_id: str, points: int, rng: np.random.Generator) -> StarState:
    """A classified star with ``points`` observations of a periodic variable (built as arrays)."""
    t = np.sort(58000.0 + rng.uniform(0, 3000, points))
    period = float(rng.uniform(0.2, 50.0))
    mags = 15.0 + 0.4 * np.sin(2 * np.pi * t / period) + rng.normal(0, 0.03, points)
    errs = np.full(points, 0.03)
    star = StarState(object_id, 0, t, mags, errs, np.full(points, BANDS.index("g"), np.uint8),
                     np.full(points, 1_700_000_000_000, np.int64))
    # any value will do: the star is classified with this digest, so it is not unclassified (a real
    # digest, the sum of 200 fingerprints, would only slow the writing of a million stars)
    star.obs_digest = fingerprint(float(t[0]), float(mags[0]), float(errs[0]), object_id)
    star.latest_alert = (f"{object_id}:last", 1_700_000_000_000)
    star.mark_classified(Classified(star.digest, points, "RRab", 1_700_000_000_000, (1.0 / period,), points, 0.9,
                                    True, period))
    return star


def build_store(path: Path, stars: int, points: int, epoch: str, offset: int) -> float:
    """Write ``stars`` synthetic stars and the checkpoint; returns seconds."""
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    store = PartitionStore(0, RocksBackend(path))
    for i in range(stars):
        store.touch(synthetic_star(f"S{i:08d}", points, rng))
        if len(store.dirty) >= 5000:
            store.commit()
    store.commit(Checkpoint(epoch, offset))
    store.close()
    return time.perf_counter() - start


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def restart(broker: EmbeddedBroker, topics: Topics, state_dir: str, log_dir: Path, star: str) -> dict:
    """Start serve; report when the first classification arrives ("back to classifying"), when the
    alert waiting for ``star`` is classified (after the stars the restore found waiting), the
    restore's figures and the process's resident memory."""
    kafka = KafkaConfig(broker.bootstrap)
    reader = ClassificationReader(kafka, topics.classifications, from_beginning=True)
    start = time.monotonic()
    proc = ServeProcess(broker.bootstrap, topics, "--partitions", str(PARTITIONS), log_path=log_dir / "serve.log",
                        log_level="info", state_dir=state_dir)
    back = None
    try:
        while True:
            records = reader.poll(0.2)
            if records and back is None:
                back = time.monotonic() - start
            if any(rec["object_id"] == star for rec, _ in records):
                alert_s = time.monotonic() - start
                break
            if not proc.alive or time.monotonic() - start > 3600:
                raise RuntimeError(f"serve did not classify {star}:\n{proc.output()[-2000:]}")
        page = proc.metrics()
        memory = rss_mb(proc.proc.pid)
        restored = metric_value(page, "varstream_restored_records_total")
        seconds = metric_value(page, "varstream_restore_seconds_sum")
    finally:
        proc.stop()
        reader.close()
    return {"back_s": back, "alert_s": alert_s, "rss_mb": memory, "restored_records": restored, "restore_s": seconds}


def prepare_topics(broker: EmbeddedBroker, tag: str) -> tuple[Topics, str]:
    topics = Topics(f"alerts-{tag}", f"classifications-{tag}", f"deadletter-{tag}", f"group-{tag}")
    kafka = KafkaConfig(broker.bootstrap)
    ensure_topics(kafka, topics, PARTITIONS)
    epoch = uuid.uuid4().hex
    delivery = Delivery(kafka)
    delivery.produce(topics.changelog, encode("state", {"object_id": "", "observation": None, "catalogue_json": None,
                                                        "classified": None, "epoch": epoch}), EPOCH_KEY, 0)
    delivery.flush()
    return topics, epoch


def send_alert(broker: EmbeddedBroker, topics: Topics, star: str, mjd: float) -> None:
    delivery = Delivery(KafkaConfig(broker.bootstrap))
    alert = {"alert_id": f"{star}:{mjd}", "object_id": star, "prev_sources": None, "catalogue": None,
             "source": {"mjd": mjd, "band": "g", "mag": 15.1, "mag_err": 0.03}}
    delivery.produce(topics.alerts, encode("alert", alert), star.encode(), partition_for(star.encode(), PARTITIONS))
    delivery.flush()


def with_store(broker: EmbeddedBroker, stars: int, points: int, tail: int, work: Path) -> dict:
    topics, epoch = prepare_topics(broker, f"store{stars}")
    state_dir = work / f"state{stars}"
    build_s = build_store(state_dir / topics.group / "0", stars, points, epoch, 0)
    delivery = Delivery(KafkaConfig(broker.bootstrap))
    rng = np.random.default_rng(1)
    for k in range(tail):                                  # newer observations past the checkpoint
        oid = f"S{int(rng.integers(stars)):08d}"
        obs = Observation(61500.0 + k * 1e-3, "g", 15.0, 0.03, f"{oid}:t{k}", 1_700_000_001_000)
        delivery.produce(topics.changelog, encode("state", observation_change(oid, obs)), observation_key(oid, obs.mjd), 0)
    delivery.flush()
    star = "S00000001"
    send_alert(broker, topics, star, 61600.0)
    result = restart(broker, topics, str(state_dir), work, star)
    result["build_s"] = build_s
    shutil.rmtree(state_dir, ignore_errors=True)
    return result


def without_store(broker: EmbeddedBroker, stars: int, points: int, work: Path) -> dict:
    topics, _ = prepare_topics(broker, f"memory{stars}")
    delivery = Delivery(KafkaConfig(broker.bootstrap))
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for i in range(stars):
        s = synthetic_star(f"S{i:08d}", points, rng)
        for t, m, e in zip(s.mjd, s.mag, s.err):
            obs = Observation(float(t), "g", float(m), float(e), f"{s.object_id}:{t}", 1_700_000_000_000)
            delivery.produce(topics.changelog, encode("state", observation_change(s.object_id, obs)),
                             observation_key(s.object_id, obs.mjd), 0)
    delivery.flush(600)
    load_s = time.perf_counter() - start
    star = "S00000001"
    send_alert(broker, topics, star, 61600.0)
    result = restart(broker, topics, "memory", work, star)
    result["changelog_load_s"] = load_s
    return result


def ingest_rate(observations: int = 200_000, stars: int = 2_000) -> float:
    """Observations per second added to stars of a RocksDB store and committed (in process)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = PartitionStore(0, RocksBackend(Path(tmp) / "db"))
        rng = np.random.default_rng(2)
        ids = [f"S{i:06d}" for i in range(stars)]
        start = time.perf_counter()
        for k in range(observations):
            oid = ids[int(rng.integers(stars))]
            store.star(oid).add(Observation(58000.0 + k * 1e-4, "g", 15.0, 0.03, "a", 0))
            if k % 1000 == 999:
                store.commit(Checkpoint("e", k))
        store.commit(Checkpoint("e", observations))
        store.close()
        return observations / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stars", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--points", type=int, default=200, help="observations per star (default 200)")
    parser.add_argument("--tail", type=int, default=200, help="changelog records past the checkpoint (default 200)")
    parser.add_argument("--without", type=int, nargs="*", default=[10_000],
                        help="star counts for the run without a local store (default 10000)")
    parser.add_argument("--work", type=Path, default=Path("build/bench_state"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    figures = {}
    rate = ingest_rate()
    print(f"ingest into a RocksDB store: {rate:,.0f} observations/s", flush=True)
    with EmbeddedBroker(log_path=args.work / "tansu.log") as broker:
        for n in args.stars:
            r = with_store(broker, n, args.points, args.tail, args.work)
            print(f"{n:>9,} stars x {args.points} points, local store: built in {r['build_s']:.1f} s; restart read "
                  f"{r['restored_records']:.0f} changelog records in {r['restore_s']:.2f} s; back to classifying "
                  f"{r['back_s']:.1f} s after the process started (the new alert {r['alert_s']:.1f} s, after the stars "
                  f"the tail made unclassified); resident memory {r['rss_mb']:.0f} MB", flush=True)
            figures[n] = r
        for n in args.without:
            r = without_store(broker, n, args.points, args.work)
            print(f"{n:>9,} stars x {args.points} points, no local store: {r['restored_records']:.0f} changelog "
                  f"records replayed in {r['restore_s']:.1f} s; back to classifying {r['back_s']:.1f} s after the "
                  f"process started; resident memory {r['rss_mb']:.0f} MB", flush=True)
            figures[f"memory{n}"] = r
    big = max(args.stars)
    small = min(args.without) if args.without else None
    full = figures[f"memory{small}"]["restore_s"] if small else float("nan")
    print(f"state restart_s_{big}={figures[big]['back_s']:.1f} rss_mb_{big}={figures[big]['rss_mb']:.0f} "
          f"full_restore_s_{small}={full:.1f} ingest_obs_per_s={rate:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
