#!/usr/bin/env python
"""Throughput of ``varstream.classify_many`` (featurise + score with the shipped ensemble): curves per
second on synthetic 500-point curves with Catalina-like sampling (those of ``benchmarks/features.py``),
with 1 and 2 jobs; the classifier is loaded before timing (it is loaded once per process anyway).

    python benchmarks/classify.py [--curves 300] [--points 500]

Ends with ``classify curves_per_s_1job=… curves_per_s_2jobs=…``. Not part of the test run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import varstream  # noqa: E402
from features import synthetic  # noqa: E402
from varstream.api.classify import default_classifier  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--curves", type=int, default=300)
    parser.add_argument("--points", type=int, default=500)
    args = parser.parse_args()
    default_classifier()
    curves = [synthetic(args.points, seed) for seed in range(args.curves)]
    varstream.classify_many(curves[:4])                         # warm: FINUFFT plans, ONNX sessions
    figures = {}
    for jobs in (1, 2):
        start = time.perf_counter()
        results = varstream.classify_many(curves, jobs=jobs)
        figures[jobs] = len(curves) / (time.perf_counter() - start)
        ok = sum(r.ok for r in results)
        print(f"{args.curves} curves of {args.points} points, {jobs} job(s): {figures[jobs]:.1f} curves/s "
              f"({ok} classified)")
    print(f"classify curves_per_s_1job={figures[1]:.1f} curves_per_s_2jobs={figures[2]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
