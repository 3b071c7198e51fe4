#!/usr/bin/env python
"""Multi-band curves (ZTF-like g + r, Rubin-like ugrizy) against one band with the same points.

Held-out Catalina test stars are re-observed at their own times, each observation given a band at
random; each band's variation is its amplitude ratio to g for the star's family
(:data:`varstream.offline.emulate.BAND_AMPLITUDES`, with the V curve taken as g) and offset by a
colour. The shipped ensemble then scores

- ``single``: every observation in one band (the curve as observed);
- ``two_band``: the ZTF-like two-band curve (g share ``--g-share``, r 0.4 mag brighter) through the
  pipeline's band step (every band used; :func:`varstream.lightcurve.bands.combine_bands`);
- ``dominant``: the same two-band curve with only its most observed band (the rule before every
  band was used);
- ``rubin``: a six-band curve (Rubin's visit shares; colours of a red star) through the band step;
- ``rubin_dominant``: its most observed band only (about a fifth of the points).

    python benchmarks/multiband.py [--stars 1500] [--g-share 0.45]

Ends with ``multiband macro_f1_single=… macro_f1_two_band=… …`` (and the family balanced accuracy
of each). Not part of the test run.
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
from varstream.lightcurve.bands import MIXED_BAND  # noqa: E402
from varstream.lightcurve.loaders.dataset import default_dataset, open_dataset  # noqa: E402
from varstream.lightcurve.taxonomy import family_of  # noqa: E402
from varstream.offline.emulate import RUBIN_SHARES, band_amplitudes  # noqa: E402

#: Colours (mag added to each band) of the emulated stars.
TWO_BAND_COLOURS = {"g": 0.0, "r": -0.4}
RUBIN_COLOURS = {"u": 1.2, "g": 0.0, "r": -0.4, "i": -0.6, "z": -0.7, "y": -0.8}


def multiband(lc: LightCurve, bands: np.ndarray, colours: dict[str, float]) -> LightCurve:
    """``lc`` with each observation in ``bands``: its variation about the median scaled by the
    band's amplitude ratio to g for the star's family, plus the band's colour."""
    ratios = band_amplitudes(family_of(lc.label))
    median = float(np.nanmedian(lc.mags))
    scale = np.array([ratios[b] for b in bands])
    mags = median + np.array([colours[b] for b in bands]) + scale * (lc.mags - median)
    return LightCurve(lc.object_id, lc.times, mags, lc.errors, MIXED_BAND, label=lc.label, aux={"band": bands})


def dominant(lc: LightCurve) -> LightCurve:
    """Only the most observed band of a multi-band curve."""
    names, counts = np.unique(lc.aux["band"], return_counts=True)
    return lc.select(lc.aux["band"] == names[np.argmax(counts)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=default_dataset("catalina"))
    parser.add_argument("--models", type=Path, default=default_models_dir())
    parser.add_argument("--stars", type=int, default=1500)
    parser.add_argument("--g-share", type=float, default=0.45)
    args = parser.parse_args()
    classifier = load_classifier(args.models)
    split = json.loads((args.models / "split.json").read_text())
    ids = set(split["test_ids"][: args.stars])
    rng = np.random.default_rng(0)
    names = ("single", "two_band", "dominant", "rubin", "rubin_dominant")
    truth, preds = [], {name: [] for name in names}
    rubin_bands, rubin_p = list(RUBIN_SHARES), list(RUBIN_SHARES.values())
    for lc in open_dataset(args.dataset).iter_lightcurves(ids=ids):
        two = multiband(lc, np.where(rng.uniform(size=len(lc)) < args.g_share, "g", "r"), TWO_BAND_COLOURS)
        six = multiband(lc, rng.choice(rubin_bands, size=len(lc), p=rubin_p), RUBIN_COLOURS)
        curves = {"single": lc, "two_band": two, "dominant": dominant(two), "rubin": six,
                  "rubin_dominant": dominant(six)}
        rows = {}
        try:
            for name in names:
                f = featurise(curves[name], classifier.pipeline)
                rows[name] = classifier.predict_proba(f.features.values[None], f.sequence[None], [f.n_points])[0]
        except LightCurveError:
            continue
        truth.append(lc.label)
        for name, p in rows.items():
            preds[name].append(classifier.classes[int(np.argmax(p))])
    figures = {}
    for name, pred in preds.items():
        figures[f"macro_f1_{name}"] = f1_score(truth, pred, average="macro")
    for name, pred in preds.items():
        figures[f"family_bacc_{name}"] = balanced_accuracy_score([family_of(t) for t in truth],
                                                                 [family_of(p) for p in pred])
    print(f"{len(truth)} held-out Catalina stars (featurised in every version); g share {args.g_share}")
    print("multiband " + " ".join(f"{k}={v:.3f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
