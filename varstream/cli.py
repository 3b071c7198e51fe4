"""The ``varstream`` command line: one program, one subcommand per job, ``--help`` on each."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from varstream import __version__

log = logging.getLogger("varstream")


def _dataset_arg(parser: argparse.ArgumentParser, default_kind: str = "catalina", multiple: bool = False) -> None:
    help_text = (f"dataset directory in the Catalina (catalogue.txt + lightcurves.tar.gz) or ASAS-SN "
                 f"(skypatrol_lightcurves.tar.gz + catalogue_gaia_dr3.csv) layout; default: "
                 f"../shared/data/{default_kind} when it exists")
    if multiple:
        parser.add_argument("--dataset", action="append", type=Path, metavar="DIR",
                            help=help_text.replace(f"../shared/data/{default_kind}", "every dataset under ../shared/data")
                            + " (repeatable)")
    else:
        parser.add_argument("--dataset", type=Path, metavar="DIR", help=help_text)


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
    from varstream.lightcurve.loaders.dataset import KINDS, default_data_root
    from varstream.offline.summary import summarise

    if args.dataset:
        datasets = [_resolve_dataset(p) for p in args.dataset]
    else:
        root = default_data_root()
        if root is None:
            raise SystemExit("error: no ../shared/data found; pass --dataset DIR")
        datasets = [_resolve_dataset(root / k) for k in KINDS if (root / k).is_dir()]
    for ds in datasets:
        print(summarise(ds, limit=args.limit).format())
        print()
    return 0


def cmd_features(args: argparse.Namespace) -> int:
    import os

    from varstream.offline.feature_table import write_table

    ds = _resolve_dataset(args.dataset)
    options = {"era": args.era} if ds.kind == "asassn" else {}
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    try:
        stats = write_table(ds, args.out, limit=args.limit, jobs=jobs, **options)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="varstream",
        description="Streaming classifier of variable stars: datasets, features, training, and the Kafka stream.",
    )
    parser.add_argument("--version", action="version", version=f"varstream {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    p.add_argument("--limit", type=int, metavar="N", help="only the first N curves")
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="output table, .csv or .parquet")
    p.add_argument("--jobs", type=int, default=0, metavar="J", help="worker processes (default: all cores)")
    p.add_argument("--era", choices=("merged", "g", "V"), default="merged",
                   help="ASAS-SN only: which band era to use (default: merged, V shifted onto g)")
    p.set_defaults(func=cmd_features)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
