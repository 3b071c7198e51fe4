"""The stream's subcommands of the ``varstream`` CLI: serve, replay, tail, history, demo."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from confluent_kafka import KafkaException

from varstream.cli.kafka_options import add_kafka_args, kafka_from_args


def _dataset(path: Path | None):
    from varstream.lightcurve.loaders.dataset import default_dataset

    path = path or default_dataset("asassn")
    if path is None or not Path(path).is_dir():
        raise SystemExit(f"error: dataset directory {path or '../shared/data/asassn'} not found; pass --dataset DIR")
    return path


def cmd_serve(args: argparse.Namespace) -> int:
    from varstream.inference import ModelIntegrityError, default_models_dir
    from varstream.stream.app import DeliveryError, StreamApp, install_signal_handlers
    from varstream.stream.kafka import Topics
    from varstream.stream.policy import ReclassifyPolicy
    from varstream.stream.settings import ServeSettings

    logging.getLogger().setLevel(args.log_level.upper())
    kafka, wire = kafka_from_args(args)
    try:
        policy = ReclassifyPolicy(min_new_points=args.min_new_points, growth_fraction=args.growth,
                                  max_delay_s=args.max_delay, idle_s=args.idle, settle_s=args.settle,
                                  refresh_fraction=args.refresh)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    settings = ServeSettings(kafka=kafka, models_dir=args.models or default_models_dir(),
                             topics=Topics(args.input_topic, args.output_topic, args.deadletter_topic, args.group),
                             model=args.model, prior=args.prior, policy=policy, partitions=args.partitions, max_batch=args.max_batch,
                             classify_budget_s=args.classify_budget, catchup_lag_s=args.catchup_lag, wire=wire,
                             state_dir=args.state_dir, input_format=args.input_format)
    try:
        app = StreamApp(settings)
    except (ModelIntegrityError, FileNotFoundError, ImportError) as exc:
        raise SystemExit(f"error: {exc}") from None
    if args.metrics_port >= 0:
        app.metrics.serve_http(args.metrics_port, args.metrics_address)     # logs its address once
    install_signal_handlers(app)
    try:
        app.run()
    except DeliveryError as exc:
        print(f"error: {exc}; offsets not committed, restart to resume", file=sys.stderr)
        return 1
    except KafkaException as exc:
        raise SystemExit(f"error: Kafka at {args.bootstrap}: {exc}") from None
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from varstream.stream.replay import replay, replay_curves

    kafka, wire = kafka_from_args(args)
    curves = replay_curves(_dataset(args.dataset), args.stars)
    try:
        report = replay(curves, kafka, args.topic, args.speed, args.rate, wire, progress=not args.no_progress,
                        fmt=args.format)
    except (RuntimeError, KafkaException, ImportError) as exc:
        raise SystemExit(f"error: replay to {args.bootstrap}: {exc}") from None
    print(f"replayed {report.n_alerts} alerts of {len(report.sent)} stars to {args.topic} in {report.seconds:.1f} s "
          f"({report.n_alerts / max(report.seconds, 1e-9):.0f} alerts/s); not sent: "
          f"{dict(report.skipped) or 'none'}")
    return 0


def _add_filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--class", dest="classes", metavar="C[,C…]", help="only these predicted classes, e.g. RRab,RRc")
    p.add_argument("--family", dest="families", metavar="F[,F…]", help="only these families, e.g. CEP,RR")
    p.add_argument("--min-prob", type=float, default=0.0, metavar="P",
                   help="only classifications whose predicted class has probability at least P (0..1)")


def _filter(args: argparse.Namespace):
    from varstream.stream.filters import RecordFilter

    try:
        return RecordFilter.parse(args.classes, args.families, args.min_prob)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None


def cmd_tail(args: argparse.Namespace) -> int:
    import time

    from varstream.stream.tail import tail

    kafka, wire = kafka_from_args(args)
    deadline = time.time() + args.seconds if args.seconds else None

    def stop() -> bool:
        return deadline is not None and time.time() > deadline

    try:
        tail(kafka, args.topic, args.from_beginning, stop, lambda line: print(line, flush=True), wire, args.count,
             _filter(args))
    except KeyboardInterrupt:
        pass
    except KafkaException as exc:
        raise SystemExit(f"error: Kafka at {args.bootstrap}: {exc}") from None
    return 0


def cmd_prior(args: argparse.Namespace) -> int:
    from varstream.inference import ModelIntegrityError, default_models_dir, load_classifier
    from varstream.stream.survey_prior import SurveyPrior
    from varstream.stream.tail import all_classifications

    kafka, wire = kafka_from_args(args)
    try:
        model = load_classifier(args.models or default_models_dir())
        records = list(all_classifications(kafka, args.topic, wire))
    except (FileNotFoundError, ModelIntegrityError, KafkaException, ValueError, TimeoutError) as exc:
        raise SystemExit(f"error: {exc}") from None
    est = SurveyPrior.from_records(records, model.classes, model.output_prior, min_stars=args.min_stars)
    if est.estimate is None:
        print(f"{est.stars} stars with classifications of this model in {args.topic}: fewer than {args.min_stars}, "
              "no estimate", file=sys.stderr)
        return 1
    print(f"survey prior of {args.topic}: EM (Saerens et al. 2002) over the latest classification of {est.stars} stars")
    print(f"{'class':<10} {'trained':>8} {'survey':>8} {'ratio':>7}")
    for c, t, v in zip(est.classes, est.base, est.estimate):
        print(f"{c:<10} {t:>8.4f} {v:>8.4f} {v / t:>7.2f}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from varstream.stream.tail import HEADER, format_row, history

    kafka, wire = kafka_from_args(args)
    wanted = _filter(args)
    print(HEADER.replace("latency s", "published"))
    import datetime as dt

    n = 0
    try:
        for rec in history(kafka, args.object_id, args.topic, wire):
            if not wanted.matches_record(rec):
                continue
            when = dt.datetime.fromtimestamp(rec["publish_time"] / 1000, dt.timezone.utc).strftime("%H:%M:%S")
            print(format_row(rec).rsplit(" ", 1)[0] + f" {when:>9}")
            n += 1
    except (KafkaException, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None
    if n == 0:
        print(f"no classifications of {args.object_id} in {args.topic}", file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from varstream.stream.demo import run_demo

    explorer = None
    if args.explore:
        import threading

        from varstream.view.explore import Explorer

        try:
            explorer = Explorer("127.0.0.1", args.explore_port).start()
        except OSError as exc:
            raise SystemExit(f"error: explorer on 127.0.0.1:{args.explore_port}: {exc}") from None
        print(f"demo: explorer on {explorer.address} (open it now: it follows the stream live)", flush=True)
    result = run_demo(_dataset(args.dataset), args.stars, args.consumers, args.speed, args.rate, args.partitions,
                      args.models, args.timeout, out=lambda line: print(line, flush=True), companion=explorer)
    print(result.summary(), flush=True)
    if explorer is not None:
        import signal

        print(f"demo: the explorer stays on {explorer.address} with every classification of the demo; "
              "Ctrl-C stops it", flush=True)
        done = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        done.wait()
        explorer.close()
    return 0 if result.complete else 1


def _default(cls, name: str):
    """The default of a dataclass field (the one place a setting's default is written)."""
    f = cls.__dataclass_fields__[name]
    return f.default


def add_stream_commands(sub) -> None:
    """Register the stream subcommands on the main parser's subparsers."""
    from varstream.inference import ENSEMBLE, PRIORS
    from varstream.stream.formats import FORMATS
    from varstream.stream.kafka import Topics
    from varstream.stream.policy import ReclassifyPolicy
    from varstream.stream.settings import ServeSettings, default_state_dir

    default_consumers = lambda: max(1, min(4, os.cpu_count() or 1))  # noqa: E731 (one per core, at most 4)

    d = ReclassifyPolicy()
    p = sub.add_parser("serve", help="classify alerts from Kafka: per-star state, reclassification, publishing",
                       description="Consume Avro alerts (keyed by object id) in a consumer group, keep each star's "
                                   "growing light curve (state per partition, restored from a compacted changelog), "
                                   "reclassify with the shared pipeline and ONNX models under the cost policy, and "
                                   "publish classifications; bad alerts go to the dead-letter topic. Start more "
                                   "processes with the same --group to scale out. SIGTERM stops it cleanly.")
    add_kafka_args(p)
    t = Topics()
    p.add_argument("--group", default=t.group, help=f"consumer group; also names the changelog topic (default {t.group})")
    p.add_argument("--input-topic", default=t.alerts, help=f"alert topic (default {t.alerts})")
    p.add_argument("--output-topic", default=t.classifications,
                   help=f"classification topic (default {t.classifications})")
    p.add_argument("--deadletter-topic", default=t.deadletter, help=f"dead-letter topic (default {t.deadletter})")
    partitions = _default(ServeSettings, "partitions")
    p.add_argument("--partitions", type=int, default=partitions,
                   help=f"partitions of topics created here (default {partitions})")
    p.add_argument("--models", type=Path, metavar="DIR", help="models directory (default: the shipped models/)")
    p.add_argument("--model", default=ENSEMBLE, help=f"model name in DIR, or '{ENSEMBLE}' (default)")
    p.add_argument("--prior", choices=PRIORS, default=_default(ServeSettings, "prior"),
                   help="the prior the published probabilities assume: 'trained' (default: the shipped classifier's, "
                        "equal to the offline prediction) or 'survey' (moved onto this survey's class mix, estimated "
                        "by EM from this process's own classifications once 100 stars are classified; records say "
                        "prior=survey)")
    p.add_argument("--input-format", choices=FORMATS, default=FORMATS[0],
                   help="alert format of the input topic: varstream's own Avro (default), ZTF alert packets "
                        "(Avro containers) or Rubin/LSST packets (Confluent wire format or containers)")
    p.add_argument("--min-new-points", type=int, default=d.min_new_points, metavar="K",
                   help=f"reclassify after at least K new points (default {d.min_new_points})")
    p.add_argument("--growth", type=float, default=d.growth_fraction, metavar="F",
                   help=f"... and after the curve grew by fraction F since the last classification (default {d.growth_fraction})")
    p.add_argument("--max-delay", type=float, default=d.max_delay_s, metavar="S",
                   help=f"reclassify a star whose oldest unclassified point is S seconds old (default {d.max_delay_s})")
    p.add_argument("--idle", type=float, default=d.idle_s, metavar="S",
                   help=f"reclassify a star whose alerts paused for S seconds, and at once an alert of a star quiet "
                        f"for S seconds (default {d.idle_s})")
    p.add_argument("--settle", type=float, default=d.settle_s, metavar="S",
                   help="a star classified by the fast path gets its exact (full-search) classification after S "
                        f"quiet seconds, published only if it differs; 0 = never (default {d.settle_s})")
    p.add_argument("--refresh", type=float, default=d.refresh_fraction, metavar="F",
                   help="search the whole period grid again once a star's curve grew by fraction F since its last "
                        f"full search; in between the period is refined near the known candidates (default "
                        f"{d.refresh_fraction})")
    max_batch, budget, catchup = (_default(ServeSettings, n) for n in ("max_batch", "classify_budget_s",
                                                                       "catchup_lag_s"))
    p.add_argument("--max-batch", type=int, default=max_batch, help=f"alerts per poll at most (default {max_batch})")
    p.add_argument("--classify-budget", type=float, default=budget, metavar="S",
                   help="seconds of reclassification per poll at most; under overload stars wait their turn, "
                        f"oldest first, and each classification then covers more new points (default {budget})")
    p.add_argument("--catchup-lag", type=float, default=catchup, metavar="S",
                   help="behind the input by more than S seconds: reclassify only stale stars until caught up "
                        f"(default {catchup})")
    p.add_argument("--state-dir", default=default_state_dir(), metavar="DIR",
                   help="local state stores (RocksDB, one per group and partition; a restart reads only the "
                        "changelog's tail): default $VARSTREAM_STATE_DIR or ~/.cache/varstream/state; 'memory' keeps "
                        "the state in memory and replays the whole changelog at every start")
    p.add_argument("--metrics-port", type=int, default=9108, help="Prometheus /metrics port (default 9108; 0 any free, -1 off)")
    p.add_argument("--metrics-address", default="127.0.0.1", help="address the metrics server binds (default 127.0.0.1)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("replay", help="push archived light curves to Kafka as alerts, in observation-time order",
                       description="Turn every observation of the dataset's stars into an alert (keyed by star) and "
                                   "produce them in observation-time order, paced by --speed and --rate.")
    add_kafka_args(p)
    p.add_argument("--dataset", type=Path, metavar="DIR", help="ASAS-SN or Catalina dataset (default ../shared/data/asassn)")
    p.add_argument("--stars", type=int, metavar="N", help="only the first N stars")
    p.add_argument("--speed", type=float, default=0.0,
                   help="observation time per wall-clock time, e.g. 86400 = one day per second (default 0: full speed)")
    p.add_argument("--rate", type=float, default=0.0, help="alerts per second at most (default 0: no cap)")
    p.add_argument("--topic", default=t.alerts, help=f"alert topic (default {t.alerts})")
    p.add_argument("--format", choices=FORMATS, default=FORMATS[0],
                   help="alert format: varstream's own (default), ZTF alert packets or Rubin/LSST packets "
                        "(what serve --input-format reads)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("tail", help="print classifications as they arrive",
                       description="Subscribe to the classification topic and print one table row per classification.")
    add_kafka_args(p)
    p.add_argument("--topic", default=t.classifications,
                   help=f"classification topic (default {t.classifications})")
    p.add_argument("--from-beginning", action="store_true", help="start at the oldest classification")
    p.add_argument("--count", type=int, metavar="N", help="stop after N rows")
    p.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    _add_filter_args(p)
    p.set_defaults(func=cmd_tail)

    p = sub.add_parser("history", help="every classification of one star, oldest first",
                       description="Read one star's classification history from the classification topic (kept "
                                   "without time limit; the star's records are in the partition its id hashes to).")
    add_kafka_args(p)
    p.add_argument("object_id", help="the star's id, e.g. J000022.54+590559.3")
    p.add_argument("--topic", default=t.classifications,
                   help=f"classification topic (default {t.classifications})")
    _add_filter_args(p)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("prior", help="estimate the survey's class prior from the classification topic",
                       description="Read every classification on the topic, keep each star's latest, and estimate "
                                   "the class mix of the stars it serves by EM (Saerens et al. 2002) from the "
                                   "probabilities under the shipped prior; print it beside the trained one. Records "
                                   "published with --prior survey are left out (they are already moved).")
    add_kafka_args(p)
    p.add_argument("--topic", default=t.classifications,
                   help=f"classification topic (default {t.classifications})")
    p.add_argument("--models", type=Path, metavar="DIR", help="models directory (default: the shipped models/)")
    p.add_argument("--min-stars", type=int, default=20, metavar="N", help="fewest stars for an estimate (default 20)")
    p.set_defaults(func=cmd_prior)

    p = sub.add_parser("demo", help="the whole stream on this machine: broker, classifiers, replay of real curves",
                       description="Start the embedded tansu broker and classifier processes, replay the bundled "
                                   "ASAS-SN curves as alerts, show classifications arriving, stop cleanly and print "
                                   "'classified N stars, M classifications, p50 X s, p99 Y s'.")
    p.add_argument("--dataset", type=Path, metavar="DIR", help="dataset to replay (default ../shared/data/asassn)")
    p.add_argument("--stars", type=int, metavar="N", help="replay only the first N stars")
    p.add_argument("--consumers", type=int, default=default_consumers(),
                   help=f"classifier processes in the group (default {default_consumers()}: one per core, at most 4)")
    p.add_argument("--speed", type=float, default=0.0, help="replay speed, observation time per wall time (default: paced by --rate)")
    p.add_argument("--rate", type=float, default=1000.0,
                   help="alerts per second (default 1000, a load two cores keep up with, so the latencies mean "
                        "something; 0 = as fast as possible)")
    p.add_argument("--partitions", type=int, default=partitions, help=f"alert topic partitions (default {partitions})")
    p.add_argument("--models", type=Path, metavar="DIR", help="models directory (default: the shipped models/)")
    p.add_argument("--timeout", type=float, default=900.0, help="give up after S seconds (default 900)")
    p.add_argument("--explore", action="store_true",
                   help="serve the explorer web page during the demo and keep it up after it, until Ctrl-C")
    p.add_argument("--explore-port", type=int, default=8088, help="the explorer's port (default 8088)")
    p.set_defaults(func=cmd_demo)
