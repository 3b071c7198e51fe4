#!/usr/bin/env python
"""The explorer with many stars: JSON answer times and the page's render time in a real browser.

    python benchmarks/explore.py [--stars 10000] [--repeat 20]

Fills an explorer (no broker: the classifications are handed to its catalogue, as its Kafka
follower would) with ``--stars`` stars, each with one classification, then measures

- ``/api/stars`` (the default view: 500 rows sorted by publication time) and a filtered, sorted
  query, median over ``--repeat`` requests;
- the page in headless Chromium (Debian's ``chromium``), when installed: the time from navigation to
  the first full table and of one update, as the page's own script records them
  (``data-first-render-ms``, ``data-update-ms``).

Ends with ``explore stars=N api_ms=X filtered_ms=Y first_render_ms=Z update_ms=W``. Not part of the
test run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from varstream.view.explore import Explorer  # noqa: E402

CLASSES = (("RRab", "RR"), ("EW", "ECL"), ("EA", "ECL"), ("LPV", "LPV"), ("DSCT", "DSCT"), ("ROT", "ROT"))


def fill(explorer: Explorer, stars: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    now = int(time.time() * 1000)
    for i in range(stars):
        p = rng.dirichlet(np.ones(len(CLASSES)))
        best = int(np.argmax(p))
        rec = {"object_id": f"STAR{i:06d}", "alert_id": f"a{i}", "classifier": {},
               "probabilities": [{"label": c, "probability": float(x)} for (c, _), x in zip(CLASSES, p)],
               "predicted_class": CLASSES[best][0], "family": CLASSES[best][1], "family_probability": float(p[best]),
               "n_observations": 50 + i % 500, "period_days": float(rng.uniform(0.05, 500)), "exact": True,
               "ingest_time": now - 800, "first_ingest_time": now - 1500, "publish_time": now}
        explorer.catalogue.add_classification(rec, now)


def median_ms(url: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as r:
            r.read()
        times.append(1000 * (time.perf_counter() - t0))
    return float(np.median(times))


def browser_timings(url: str) -> tuple[float, float]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return float("nan"), float("nan")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url],
                             capture_output=True, text=True, timeout=120).stdout
    first = re.search(r'data-first-render-ms="(\d+)"', dom)
    update = re.search(r'data-update-ms="(\d+)"', dom)
    return (float(first.group(1)) if first else float("nan"), float(update.group(1)) if update else float("nan"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stars", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    explorer = Explorer("127.0.0.1", 0).start()
    try:
        fill(explorer, args.stars)
        base = explorer.address
        api = median_ms(base + "api/stars", args.repeat)
        filtered = median_ms(base + "api/stars?family=ECL&min_prob=0.3&sort=probability&order=desc", args.repeat)
        with urllib.request.urlopen(base + "api/stars", timeout=30) as r:
            size_kb = len(r.read()) / 1024
        first, update = browser_timings(base)
    finally:
        explorer.close()
    print(f"/api/stars: {api:.0f} ms ({size_kb:.0f} KB); filtered and sorted: {filtered:.0f} ms")
    print(f"explore stars={args.stars} api_ms={api:.0f} filtered_ms={filtered:.0f} first_render_ms={first:.0f} "
          f"update_ms={update:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
