"""``varstream classify FILE…``: classify light curves from files (one star per file, or one long
table with an id column), one output row per star."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)

#: Input formats (astropy ``Table.read``) by file extension; other extensions let astropy guess.
READ_FORMATS = {".csv": "ascii.csv", ".ecsv": "ascii.ecsv", ".fits": "fits", ".fit": "fits", ".fz": "fits",
                ".parquet": "parquet", ".vot": "votable", ".xml": "votable", ".hdf5": "hdf5", ".h5": "hdf5"}
#: Output formats by the extension of ``--out``.
WRITE_FORMATS = {".csv": "ascii.csv", ".ecsv": "ascii.ecsv", ".fits": "fits", ".parquet": "parquet",
                 ".vot": "votable", ".xml": "votable", ".txt": "ascii.fixed_width_two_line"}
#: Columns of a Sky Patrol export beside time, mag and mag_err (read by the ASAS-SN loader).
SKYPATROL_MARKS = {"flux", "flux_err", "limit", "fwhm", "cam", "camera", "phot_filter"}


def input_files(paths: list[Path]) -> list[Path]:
    """The files named, a directory standing for the files in it (sorted, hidden ones skipped)."""
    out = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        else:
            out.append(path)
    return out


def _is_skypatrol(path: Path) -> bool:
    """A Sky Patrol CSV: JSON-like ``#`` header lines, then ``jd,flux,…,mag,mag_err,…`` or
    ``time,mag,mag_err`` with Julian dates."""
    if path.suffix.lower() != ".csv":
        return False
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = next((line for line in fh if not line.startswith("#")), "")
    columns = {c.strip().lower() for c in header.split(",")}
    return {"mag", "mag_err"} <= columns and bool({"jd", "time"} & columns) and (
        bool(SKYPATROL_MARKS & columns) or columns == {"time", "mag", "mag_err"})


def read_curves(path: Path, args: argparse.Namespace) -> Iterator[object]:
    """The curves of one file: ``LightCurve`` objects, or ``(star, reason)`` for what cannot be read."""
    from astropy.table import Table

    from varstream.api.curves import ID_NAMES, find_column, table_lightcurve
    from varstream.lightcurve.errors import LightCurveError
    from varstream.lightcurve.loaders.asassn import asassn_id_from_filename, read_skypatrol

    star = path.stem
    columns = dict(time_col=args.time_col, mag_col=args.mag_col, err_col=args.err_col, band_col=args.band_col)
    try:
        if args.format is None and not any(columns.values()) and args.id_col is None and _is_skypatrol(path):
            try:
                star = asassn_id_from_filename(path.name)           # J000022_54_590559_3 -> J000022.54+590559.3
            except ValueError:
                pass
            yield read_skypatrol(star, path.read_bytes())
            return
        table = Table.read(path, format=args.format or READ_FORMATS.get(path.suffix.lower()))
    except LightCurveError as exc:
        yield (star, exc.reason)
        return
    except Exception as exc:                        # unreadable file: its row says why, the rest go on
        yield (star, f"cannot read {path}: {type(exc).__name__}: {exc}")
        return
    id_col = find_column(table.colnames, ID_NAMES, args.id_col)
    if args.id_col is not None and id_col is None:
        yield (star, f"no id column {args.id_col!r} among {table.colnames}")
        return
    groups = [(star, table)]
    if id_col is not None:
        ids = [str(v) for v in table[id_col]]
        groups = [(oid, table[[i for i, v in enumerate(ids) if v == oid]]) for oid in dict.fromkeys(ids)]
    for oid, rows in groups:
        try:
            yield table_lightcurve(rows, object_id=oid, **columns)
        except LightCurveError as exc:
            yield (oid, exc.reason)


def cmd_classify(args: argparse.Namespace) -> int:
    from varstream.api.classify import Classification, classify_many, default_classifier
    from varstream.inference import ModelIntegrityError
    from varstream.lightcurve.types import LightCurve

    files = input_files(args.files)
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        raise SystemExit(f"error: no such file: {', '.join(missing)}")
    try:
        classifier = default_classifier(args.models)
    except (FileNotFoundError, ModelIntegrityError) as exc:
        raise SystemExit(f"error: {exc}") from None
    items = [item for path in files for item in read_curves(path, args)]
    curves = [item for item in items if isinstance(item, LightCurve)]
    scored = iter(classify_many(curves, jobs=args.jobs, models=args.models, progress=len(curves) > 20))
    results = [next(scored) if isinstance(item, LightCurve) else Classification(item[0], error=item[1])
               for item in items]
    if args.plot is not None:
        _plots(curves, results, classifier, args.plot)
    rows = [r.row(classifier.classes) for r in results]
    if args.out is not None:
        _write(rows, args.out)
        print(f"wrote {args.out}: {sum(r.ok for r in results)} classified, {sum(not r.ok for r in results)} not")
    else:
        print(f"{'object':<24} {'class':<8} {'prob':>5} {'family':<6} {'prob':>5} {'nonper':>6} {'period d':>10} "
              f"{'pts':>5}  error")
        for r in results:
            if r.ok:
                nonper = "-" if r.nonperiodic_probability is None else f"{r.nonperiodic_probability:.2f}"
                print(f"{r.object_id[:24]:<24} {r.predicted_class:<8} {r.probability:>5.2f} {r.family or '':<6} "
                      f"{r.family_probability:>5.2f} {nonper:>6} {r.period_days:>10.5f} {r.n_points:>5}")
            else:
                print(f"{r.object_id[:24]:<24} {'-':<8} {'':>5} {'':<6} {'':>5} {'':>6} {'':>10} {'':>5}  {r.error}")
    return 0


def _write(rows: list[dict], out: Path) -> None:
    from astropy.table import Table

    fmt = WRITE_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise SystemExit(f"error: --out {out}: unknown extension; use one of {', '.join(sorted(WRITE_FORMATS))}")
    names = list(rows[0]) if rows else ["object_id", "error"]
    columns = {n: [_cell(r.get(n)) for r in rows] for n in names}
    out.parent.mkdir(parents=True, exist_ok=True)
    Table(columns, names=names).write(out, format=fmt, overwrite=True)


def _cell(value):
    """Table cells: None as NaN (numbers) — strings stay strings."""
    return float("nan") if value is None else value


def _plots(curves: list, results: list, classifier, directory: Path) -> None:
    from varstream.view.plot import prefix_history, save, star_view

    directory.mkdir(parents=True, exist_ok=True)
    ok = {r.object_id for r in results if r.ok}
    for lc in curves:
        if lc.object_id in ok:
            safe = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in lc.object_id)
            save(star_view(lc, prefix_history(lc, classifier), title=lc.object_id), directory / f"{safe}.png")


def add_classify_command(sub) -> None:
    """Register ``classify`` on the main parser's subparsers."""
    p = sub.add_parser("classify", help="classify your own light curves from files (CSV, ECSV, FITS, VOTable, "
                                        "Parquet, Sky Patrol CSV)",
                       description="Classify light curves with the shipped models (the exact path of evaluate and "
                                   "the stream). Each FILE holds one star (its name: the file's stem) or, with an id "
                                   "column, many; a directory stands for its files. Columns are found by their usual "
                                   "names (time/mjd/hjd/jd, mag, mag_err/magerr/e_mag, band/filter/fid, "
                                   "object_id/id/name) or named with the options; Julian dates become JD - 2400000.5. "
                                   "ASAS-SN Sky Patrol CSVs (both layouts) need no options. One row per star: class, "
                                   "probability, family, period, points, every class probability, and the reason "
                                   "for a star that could not be classified.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="light-curve files or directories")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help=f"write the table here (format from the extension: {', '.join(sorted(WRITE_FORMATS))}); "
                        "default: a summary on stdout")
    p.add_argument("--format", help="input format for astropy's Table.read (csv, ecsv, fits, votable, parquet, …; "
                                    "default: from the extension)")
    p.add_argument("--time-col", metavar="NAME", help="time column (days; JD, HJD, BJD or MJD)")
    p.add_argument("--mag-col", metavar="NAME", help="magnitude column (total magnitudes, not difference photometry)")
    p.add_argument("--err-col", metavar="NAME", help="magnitude-error column (mag)")
    p.add_argument("--band-col", metavar="NAME", help="band column (every band is used)")
    p.add_argument("--id-col", metavar="NAME", help="star-id column of a long table with many stars")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="processes for the features (default 1)")
    p.add_argument("--models", type=Path, metavar="DIR", help="models directory (default: the shipped models)")
    p.add_argument("--plot", type=Path, metavar="DIR", help="also write varstream plot's PNG of each star here")
    p.set_defaults(func=cmd_classify)
