#!/usr/bin/env python
"""Throughput of the full clean + normalise + features pipeline (curves per second).

Prints one line per curve length (synthetic curves with Catalina-like sampling: ~7.8 years, a
periodic signal, noise), on 1 process and on ``--jobs`` processes, then the same over real
Catalina curves. Not part of the test run.

    python benchmarks/features.py [--dataset DIR] [--jobs 2] [--real N]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from varstream.lightcurve import LightCurve, LightCurveError, featurise  # noqa: E402
from varstream.lightcurve.loaders import open_dataset  # noqa: E402
from varstream.lightcurve.loaders.dataset import default_dataset  # noqa: E402


def synthetic(n: int, seed: int) -> LightCurve:
    rng = np.random.default_rng(seed)
    t = 53500 + np.sort(rng.uniform(0, 2850, n))
    period = float(rng.uniform(0.2, 20.0))
    ph = 2 * np.pi * t / period
    mags = 15 + 0.4 * (np.sin(ph) + 0.3 * np.sin(2 * ph)) + rng.normal(0, 0.05, n)
    return LightCurve(f"syn{seed}", t, mags, np.full(n, 0.05), "V")


def _work(lc: LightCurve) -> int:
    try:
        featurise(lc)
        return 1
    except LightCurveError:
        return 0


def rate(curves: list[LightCurve], jobs: int) -> float:
    """Curves per second over the list (pre-loaded, so reading files is not timed)."""
    start = time.perf_counter()
    if jobs <= 1:
        for lc in curves:
            _work(lc)
    else:
        with mp.get_context("fork").Pool(jobs) as pool:
            list(pool.imap_unordered(_work, curves, chunksize=4))
    return len(curves) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=default_dataset("catalina"), help="Catalina-layout dataset")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for the parallel figure")
    parser.add_argument("--per-length", type=int, default=200, help="synthetic curves per length")
    parser.add_argument("--real", type=int, default=3000, help="real curves (default 3000; 0: none)")
    args = parser.parse_args()

    print(f"cores: {os.cpu_count()}, parallel figure with {args.jobs} processes")
    featurise(synthetic(300, 0))  # warm-up (imports, first allocations)
    figures = {}
    for n in (100, 300, 500, 1000, 2000, 3000):
        curves = [synthetic(n, s) for s in range(args.per_length)]
        one = rate(curves, 1)
        many = rate(curves, args.jobs)
        figures[n] = many
        print(f"synthetic {n:5d} points: {one:7.1f} curves/s on 1 process ({1000 / one:5.1f} ms each), "
              f"{many:7.1f} curves/s on {args.jobs}")

    if args.dataset is not None and args.real:
        ds = open_dataset(args.dataset)
        t0 = time.perf_counter()
        curves = list(ds.iter_lightcurves(limit=args.real))
        load_s = time.perf_counter() - t0
        points = np.array([len(c) for c in curves])
        many = rate(curves, args.jobs)
        print(f"real {ds.name}: {len(curves)} curves (median {int(np.median(points))} points) read in "
              f"{load_s:.1f} s; pipeline {many:.1f} curves/s on {args.jobs} processes "
              f"({len(curves) / many:.0f} s in all)")
    print(f"curves_per_s_500pts_{args.jobs}proc={figures[500]:.1f}")


if __name__ == "__main__":
    main()
