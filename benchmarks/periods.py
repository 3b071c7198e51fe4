#!/usr/bin/env python
"""Period recovery per class on every shared dataset with a catalogue period.

For each star the full pipeline's period (``featurise``: the same search offline and in the
stream's full path) is compared with the catalogue's:

- **ASAS-SN** (the real Sky Patrol curves): per class, within 1 % of P, P/2 or 2P and within 10 %
  of P; the semi-regular (SR) stars within 10 %; the stars that end within 0.5 % of a daily alias
  (1, 1/2, 2 or 1/3 d) where the catalogue period is not there; the non-LPV stars within 1 % of P,
  P/2 or 2P.
- **Catalina** (a class-balanced sample, ``--per-class`` stars a class): within 1 % of P, P/2 or 2P,
  per class; and the **fast path**'s agreement: the stream's refinement
  (:func:`~varstream.lightcurve.period.refine_period`) near the candidates of a full search of the
  first 90 % of the points, against the full search of the whole curve.

Prints a table per dataset and a last line ``periods asassn_sr_10pct=… daily_alias=… ...``.
Measured figures only; nothing here is tuned to (the shared curves are development sets).

    python benchmarks/periods.py [--data DIR] [--per-class 30] [--jobs 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from varstream.lightcurve import LightCurveError, featurise  # noqa: E402
from varstream.lightcurve.loaders import open_dataset  # noqa: E402
from varstream.lightcurve.loaders.dataset import default_data_root  # noqa: E402
from varstream.lightcurve.period import find_period, refine_period  # noqa: E402
from varstream.lightcurve.pipeline import PipelineConfig, prepare  # noqa: E402

LONG_PERIOD = {"SR", "SRD", "L", "M", "LSP", "LPV"}
DAILY_ALIASES = (1.0, 0.5, 2.0, 1.0 / 3.0)


def _within(p: float, known: float, tol: float, multiples=(1.0, 0.5, 2.0)) -> bool:
    return any(abs(p / (known * k) - 1) < tol for k in multiples)


def _daily(p: float, known: float) -> bool:
    """The period is within 0.5 % of a daily alias and the catalogue period is not (nor is it within
    1 % of the catalogue's P, P/2 or 2P)."""
    near = any(abs(p / a - 1) < 0.005 for a in DAILY_ALIASES)
    return near and not any(abs(known / a - 1) < 0.005 for a in DAILY_ALIASES) and not _within(p, known, 0.01)


def _one(lc) -> tuple[str, str, float, float | None, bool | None]:
    known = float(lc.meta.get("catalogue_period_days") or np.nan)
    label = (lc.label or "").rstrip(":")
    try:
        period = featurise(lc).period.period
    except LightCurveError:
        return lc.object_id, label, known, None, None
    return lc.object_id, label, known, period, _fast_agrees(lc, period)


def _fast_agrees(lc, full_period: float) -> bool | None:
    """The fast path's period on the whole curve, from a full search of its first 90 %, equals the
    full search's (to 1e-9 relative)."""
    config = PipelineConfig()
    try:
        cur, _ = prepare(lc, config)
        k = int(0.9 * len(cur))
        early = find_period(cur.object_id, cur.times[:k], cur.mags[:k], cur.errors[:k], config.period)
        full = find_period(cur.object_id, cur.times, cur.mags, cur.errors, config.period)
        fast = refine_period(cur.object_id, cur.times, cur.mags, cur.errors, early.candidates, config.period,
                             early.window)
    except LightCurveError:
        return None
    return abs(fast.period / full.period - 1) < 1e-9


def _run(curves, jobs: int) -> list:
    if jobs <= 1:
        return [_one(lc) for lc in curves]
    with mp.get_context("fork").Pool(jobs) as pool:
        return list(pool.imap(_one, curves, chunksize=2))


def asassn(root: Path, jobs: int) -> dict[str, float]:
    curves = [lc for lc in open_dataset(root / "asassn").iter_lightcurves()
              if np.isfinite(float(lc.meta.get("catalogue_period_days") or np.nan))]
    rows = _run(curves, jobs)
    per = defaultdict(lambda: [0, 0, 0])                     # stars, 1 % of P/P2/2P, 10 % of P
    alias, nonlpv, nonlpv_hit = [], 0, 0
    for oid, label, known, period, _ in rows:
        if period is None:
            continue
        per[label][0] += 1
        per[label][1] += _within(period, known, 0.01)
        per[label][2] += _within(period, known, 0.10, (1.0,))
        if _daily(period, known):
            alias.append(f"{oid} ({label}, {period:.4f} d, catalogue {known:.4g} d)")
        if label not in LONG_PERIOD:
            nonlpv += 1
            nonlpv_hit += _within(period, known, 0.01)
    print(f"ASAS-SN: {len(rows)} stars with a catalogue period")
    print(f"  {'class':<6} {'stars':>5} {'1% P,P/2,2P':>12} {'10% P':>6}")
    for label, (n, hit1, hit10) in sorted(per.items(), key=lambda kv: -kv[1][0]):
        print(f"  {label:<6} {n:>5} {hit1:>12} {hit10:>6}")
    print(f"  on a daily alias where the catalogue is not: {len(alias)}")
    for line in alias:
        print(f"    {line}")
    sr = per.get("SR", [0, 0, 0])
    print(f"  SR within 10 %: {sr[2]}/{sr[0]}; non-LPV within 1 % of P, P/2, 2P: {nonlpv_hit}/{nonlpv} "
          f"({nonlpv_hit / max(nonlpv, 1):.1%})")
    return {"asassn_sr_10pct": f"{sr[2]}/{sr[0]}", "daily_alias": f"{len(alias)}/{len(rows)}",
            "asassn_nonlpv_1pct": round(nonlpv_hit / max(nonlpv, 1), 3)}


def catalina(root: Path, per_class: int, jobs: int) -> dict[str, float]:
    by_class: dict[str, list] = defaultdict(list)
    for lc in open_dataset(root / "catalina").iter_lightcurves():
        if len(by_class[lc.label]) < per_class:
            by_class[lc.label].append(lc)
        if len(by_class) >= 11 and all(len(v) >= per_class for v in by_class.values()):
            break
    curves = [lc for v in by_class.values() for lc in v]
    rows = _run(curves, jobs)
    per = defaultdict(lambda: [0, 0])
    agree = [a for *_, a in rows if a is not None]
    for _, label, known, period, _ in rows:
        if period is not None:
            per[label][0] += 1
            per[label][1] += _within(period, known, 0.01)
    total, hits = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())
    print(f"Catalina: class-balanced sample of {len(rows)} stars ({per_class} a class)")
    print(f"  {'class':<8} {'stars':>5} {'1% P,P/2,2P':>12}")
    for label, (n, hit) in sorted(per.items()):
        print(f"  {label:<8} {n:>5} {hit:>12}")
    print(f"  within 1 % of P, P/2, 2P: {hits}/{total} ({hits / max(total, 1):.1%}); fast path equal to the full "
          f"search on the same points: {sum(agree)}/{len(agree)} ({sum(agree) / max(len(agree), 1):.1%})")
    return {"catalina_1pct": round(hits / max(total, 1), 3), "fast_path_agreement": round(sum(agree) / max(len(agree), 1), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_root(), help="the shared data root")
    parser.add_argument("--per-class", type=int, default=30, help="Catalina stars per class (default 30)")
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    args = parser.parse_args()
    if args.data is None:
        raise SystemExit("error: no data root; pass --data DIR")
    figures = {**asassn(args.data, args.jobs), **catalina(args.data, args.per_class, args.jobs)}
    print("periods " + " ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
