"""The science view's subcommands of the ``varstream`` CLI: plot, explore."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

log = logging.getLogger(__name__)


def cmd_plot(args: argparse.Namespace) -> int:
    from varstream.inference import ModelIntegrityError, default_models_dir, load_classifier
    from varstream.lightcurve.loaders.dataset import open_dataset
    from varstream.view.plot import history_from_records, prefix_history, save, star_view

    if args.dataset is not None:
        if not args.star:
            raise SystemExit("error: --dataset needs --star ID (the star in that dataset)")
        try:
            ds = open_dataset(args.dataset)
        except (FileNotFoundError, ValueError) as exc:
            raise SystemExit(f"error: {exc}") from None
        found = list(ds.iter_lightcurves(ids={args.star}))
        if not found:
            raise SystemExit(f"error: no star {args.star} in {ds.path}")
        lc = found[0]
        try:
            classifier = load_classifier(args.models or default_models_dir(), args.model)
        except (FileNotFoundError, ModelIntegrityError) as exc:
            raise SystemExit(f"error: {exc}") from None
        history = prefix_history(lc, classifier)
        title = f"{lc.object_id} ({ds.name}; catalogue class {lc.label or 'unknown'})"
        path = save(star_view(lc, history, title=title), args.out)
    else:
        from confluent_kafka import KafkaException

        from varstream.cli.kafka_options import kafka_from_args
        from varstream.stream.kafka import Topics
        from varstream.stream.tail import history, star_state

        if not args.object_id:
            raise SystemExit("error: give OBJECT_ID (a star of the stream) or --dataset DIR --star ID")
        kafka, wire = kafka_from_args(args)
        try:
            records = list(history(kafka, args.object_id, args.topic, wire))
            state = star_state(kafka, args.object_id, Topics(group=args.group).changelog)
        except (KafkaException, ValueError) as exc:
            raise SystemExit(f"error: {exc}") from None
        if state is None and not records:
            raise SystemExit(f"error: the stream knows nothing of star {args.object_id}")
        if state is None or not state.n_observations:
            raise SystemExit(f"error: no observations of {args.object_id} in the state changelog of group {args.group}")
        path = save(star_view(state.lightcurve(), history_from_records(records), title=args.object_id), args.out)
    print(f"wrote {path}")
    return 0


def cmd_explore(args: argparse.Namespace) -> int:
    from confluent_kafka import KafkaException

    from varstream.cli.kafka_options import kafka_from_args
    from varstream.stream.kafka import Topics
    from varstream.view.explore import Explorer

    kafka, wire = kafka_from_args(args)
    try:
        explorer = Explorer(args.host, args.port).start()
        explorer.attach(kafka, Topics(classifications=args.topic, group=args.group), wire)
    except (OSError, KafkaException) as exc:
        raise SystemExit(f"error: explorer on {args.host}:{args.port}: {exc}") from None
    print(f"explorer on {explorer.address} (following {args.topic} at {args.bootstrap}); Ctrl-C stops it", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    explorer.close()
    return 0


def add_view_commands(sub) -> None:
    """Register ``plot`` and ``explore`` on the main parser's subparsers."""
    from varstream.cli.kafka_options import add_kafka_args
    from varstream.inference import ENSEMBLE
    from varstream.stream.kafka import Topics

    t = Topics()

    p = sub.add_parser("plot", help="one PNG of a star: light curve, fold, class probabilities over time",
                       description="Plot a star of the stream (OBJECT_ID: its observations from the state changelog, "
                                   "its classifications from the classification topic) or of an archive (--dataset DIR "
                                   "--star ID: the curve, and the classifications of its first N observations by the "
                                   "shipped models): the raw light curve by band with unused points marked, the curve "
                                   "folded at its period with the model, and the class and family probabilities "
                                   "against the number of observations.")
    p.add_argument("object_id", nargs="?", help="a star of the stream")
    p.add_argument("--dataset", type=Path, metavar="DIR", help="plot a star of this dataset instead")
    p.add_argument("--star", metavar="ID", help="the star's id in --dataset")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="PNG to write")
    p.add_argument("--models", type=Path, metavar="DIR", help="models for --dataset (default: the shipped models/)")
    p.add_argument("--model", default=ENSEMBLE, help=f"model name in DIR, or '{ENSEMBLE}' (default)")
    add_kafka_args(p)
    p.add_argument("--topic", default=t.classifications,
                   help=f"classification topic (default {t.classifications})")
    p.add_argument("--group", default=t.group, help=f"the classifiers' group, which names the state changelog "
                                                    f"(default {t.group})")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("explore", help="a web page on 127.0.0.1 that follows the classifications live",
                       description="Serve the explorer: a table of the latest classification of every star (class, "
                                   "family, probability, observations, period, latency; sortable, filterable, updating "
                                   "without a reload), a page per star with its plot and history, and JSON endpoints "
                                   "(/api/stars, /api/star/ID, /api/summary). Standard library only; no internet.")
    add_kafka_args(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8088, help="port (default 8088; 0 picks a free one)")
    p.add_argument("--topic", default=t.classifications,
                   help=f"classification topic (default {t.classifications})")
    p.add_argument("--group", default=t.group, help=f"the classifiers' group, which names the state changelog "
                                                    f"(default {t.group})")
    p.set_defaults(func=cmd_explore)
