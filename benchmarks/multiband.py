#!/usr/bin/env python
"""What the single-band rule costs on multi-band curves (ZTF g+r, Rubin ugrizy).

The models read one band. ``merge_bands`` (:mod:`varstream.lightcurve.bands`) shifts ASAS-SN's V
onto g (the same star in two eras) and otherwise keeps the band with the most points, setting the
others aside. This benchmark emulates two-band observations of held-out Catalina test stars — each
observation in g or r at random (a ZTF-like share ``--g-share``), the g points with the amplitude
``--g-amplitude`` times larger and ``--colour`` mag fainter — and scores the shipped ensemble on

- ``single``: every observation in one band (what the curve would be with a single filter);
- ``rule``: the two-band curve through the pipeline's rule (the dominant band only).

    python benchmarks/multiband.py [--stars 1500] [--g-share 0.45]

Ends with ``multiband macro_f1_single=… macro_f1_rule=… family_bacc_single=… family_bacc_rule=…``.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.metrics import balanced_accuracy_score, f1_score  # noqa: E402

from varstream.inference import default_models_dir, load_classifier  # noqa: E402
from varstream.lightcurve import LightCurve, LightCurveError, featurise  # noqa: E402
from varstream.lightcurve.loaders.dataset import default_dataset, open_dataset  # noqa: E402
from varstream.lightcurve.taxonomy import family_of  # noqa: E402


def two_band(lc: LightCurve, rng: np.random.Generator, g_share: float, g_amplitude: float, colour: float) -> LightCurve:
    """The curve with each observation in g or r: g points scaled about the median and offset."""
    in_g = rng.uniform(size=len(lc)) < g_share
    median = float(np.nanmedian(lc.mags))
    mags = np.where(in_g, median + colour + g_amplitude * (lc.mags - median), lc.mags)
    return LightCurve(lc.object_id, lc.times, mags, lc.errors, "mixed", label=lc.label,
                      aux={"band": np.where(in_g, "g", "r")})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=default_dataset("catalina"))
    parser.add_argument("--models", type=Path, default=default_models_dir())
    parser.add_argument("--stars", type=int, default=1500)
    parser.add_argument("--g-share", type=float, default=0.45)
    parser.add_argument("--g-amplitude", type=float, default=1.3)
    parser.add_argument("--colour", type=float, default=0.5)
    args = parser.parse_args()
    classifier = load_classifier(args.models)
    split = json.loads((args.models / "split.json").read_text())
    ids = set(split["test_ids"][: args.stars])
    rng = np.random.default_rng(0)
    truth, preds = [], {"single": [], "rule": []}
    for lc in open_dataset(args.dataset).iter_lightcurves(ids=ids):
        rows = {}
        try:
            for name, curve in (("single", lc), ("rule", two_band(lc, rng, args.g_share, args.g_amplitude, args.colour))):
                f = featurise(curve)
                rows[name] = classifier.predict_proba(f.features.values[None], f.sequence[None], [f.n_points])[0]
        except LightCurveError:
            continue
        truth.append(lc.label)
        for name, p in rows.items():
            preds[name].append(classifier.classes[int(np.argmax(p))])
    figures = {}
    for name, pred in preds.items():
        figures[f"macro_f1_{name}"] = f1_score(truth, pred, average="macro")
        figures[f"family_bacc_{name}"] = balanced_accuracy_score([family_of(t) for t in truth],
                                                                 [family_of(p) for p in pred])
    print(f"{len(truth)} held-out Catalina stars; g share {args.g_share}, g amplitude x{args.g_amplitude}, "
          f"colour {args.colour} mag")
    print("multiband " + " ".join(f"{k}={v:.3f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
