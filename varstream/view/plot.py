"""One picture of one star: its light curve, its fold, and how its classification changed.

Three panels in one PNG (matplotlib, no display needed):

1. the raw light curve — magnitude (axis inverted: brighter up) against time, each band in its
   own colour, points the pipeline does not use (non-finite, non-positive or huge errors, absurd
   values, duplicates, sigma-clipped outliers) marked with crosses;
2. the cleaned curve folded at the period of the latest classification (no period search of its
   own), with the SuperSmoother model of the fold (two cycles shown);
3. class probabilities against the number of observations, one line per class that ever reached
   ``min_probability`` (10 %), and the family probabilities as dashed lines.

The probabilities come from the stream's classification history (``varstream plot OBJECT_ID``)
or, for an archived curve (``varstream plot --dataset``), from classifying the curve's first N
observations for a series of N with the same models (what the stream would have published).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from varstream.lightcurve import LightCurve, LightCurveError, PipelineConfig, featurise
from varstream.lightcurve.clean import folded_model, phase
from varstream.lightcurve.pipeline import clean_about, prepare
from varstream.lightcurve.sanitize import point_problems
from varstream.lightcurve.taxonomy import FAMILY_NAMES, family_probabilities

#: Band colours (other bands take matplotlib's cycle).
BAND_COLOURS = {"V": "tab:green", "g": "tab:blue", "G": "tab:gray", "r": "tab:red", "i": "tab:brown",
                "z": "tab:purple", "CV": "tab:olive"}


@dataclass
class HistoryPoint:
    """One classification: observations it covered, every class probability (0..1) and the period
    it used (days; None if unknown)."""

    n_observations: int
    probabilities: dict[str, float]
    period_days: float | None = None


@dataclass
class StarView:
    """What the picture shows (times in days, magnitudes in mag, period in days)."""

    object_id: str
    times: np.ndarray
    mags: np.ndarray
    errors: np.ndarray
    bands: np.ndarray
    used: np.ndarray                         # True for points the pipeline kept
    period: float | None = None
    fold_phase: np.ndarray = field(default_factory=lambda: np.empty(0))
    fold_mags: np.ndarray = field(default_factory=lambda: np.empty(0))
    model_grid: np.ndarray = field(default_factory=lambda: np.empty(0))
    model_values: np.ndarray = field(default_factory=lambda: np.empty(0))
    history: list[HistoryPoint] = field(default_factory=list)
    title: str = ""
    note: str = ""


def star_view(lc: LightCurve, history: list[HistoryPoint], config: PipelineConfig = PipelineConfig(),
              title: str = "") -> StarView:
    """The view of a raw curve (per-point bands in ``aux["band"]`` or one band) and its history; the
    fold uses the period of the latest classification in ``history``."""
    bands = np.asarray(lc.aux["band"]).astype(str) if "band" in lc.aux else np.full(len(lc), lc.band)
    view = StarView(lc.object_id, lc.times, lc.mags, lc.errors, bands,
                    point_problems(lc.times, lc.mags, lc.errors, config.sanitize) == 0, history=history, title=title)
    period = next((h.period_days for h in reversed(history) if h.period_days), None)
    try:
        cur, report = prepare(lc, config)
        if period is None:
            view.note = "no classification with a period yet"
            return view
        cur = clean_about(cur, period, config, report)
    except LightCurveError as exc:
        view.note = exc.reason
        return view
    if not (report.dropped.get("binned") or report.dropped.get("thinned")):
        view.used &= np.isin(lc.times, cur.times)            # duplicates, other bands, sigma-clipped
    else:
        view.note = f"curve binned to {len(cur)} points for the period search and features"
    model = folded_model(cur, period)
    view.period = period
    view.fold_phase, view.fold_mags = phase(cur.times, period), cur.mags
    view.model_grid, view.model_values = model.grid, model.values
    return view


def prefix_history(lc: LightCurve, classifier, steps: int = 16, first: int = 20,
                   config: PipelineConfig = PipelineConfig()) -> list[HistoryPoint]:
    """Classifications of the first N observations (time order) for ``steps`` values of N from
    ``first`` to all, spaced geometrically — the history a stream would have published."""
    order = np.argsort(lc.times, kind="stable")
    n = len(lc)
    sizes = sorted({int(round(x)) for x in np.geomspace(min(first, n), n, steps)})
    out = []
    for size in sizes:
        try:
            f = featurise(lc.select(np.sort(order[:size])), config)
        except LightCurveError:
            continue
        probs = classifier.predict_proba(f.features.values[None, :], f.sequence[None], np.array([f.n_points]))[0]
        out.append(HistoryPoint(size, dict(zip(classifier.classes, (float(p) for p in probs))), f.period.period))
    return out


def history_from_records(records: list[dict]) -> list[HistoryPoint]:
    """The history of classification records (``schemas/classification.avsc``), oldest first."""
    return [HistoryPoint(r["n_observations"], {p["label"]: p["probability"] for p in r["probabilities"]},
                         r["period_days"]) for r in records]


def render(view: StarView, min_probability: float = 0.1):
    """The three-panel figure (a matplotlib Figure; :func:`save` writes it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_lc, ax_fold, ax_prob) = plt.subplots(3, 1, figsize=(9, 10.5), gridspec_kw={"height_ratios": [1, 1, 1]})
    ok = np.isfinite(view.times) & np.isfinite(view.mags)
    for band in sorted(set(view.bands.tolist())):
        sel = ok & view.used & (view.bands == band)
        ax_lc.errorbar(view.times[sel], view.mags[sel], yerr=np.where(np.isfinite(view.errors[sel]), view.errors[sel], 0),
                       fmt=".", ms=3, lw=0.5, alpha=0.7, color=BAND_COLOURS.get(band), label=f"{band} ({sel.sum()})")
    dropped = ok & ~view.used
    if dropped.any():
        ax_lc.plot(view.times[dropped], view.mags[dropped], "x", color="black", ms=5, label=f"not used ({dropped.sum()})")
    ax_lc.invert_yaxis()
    ax_lc.set_xlabel("time (MJD, days)")
    ax_lc.set_ylabel("magnitude")
    ax_lc.legend(loc="best", fontsize=8)
    ax_lc.set_title(view.title or view.object_id)

    if view.period is not None:
        for cycle in (0, 1):
            ax_fold.plot(view.fold_phase + cycle, view.fold_mags, ".", ms=3, alpha=0.5, color="tab:blue",
                         label="cleaned points" if cycle == 0 else None)
            ax_fold.plot(view.model_grid + cycle, view.model_values, "-", color="tab:orange", lw=2,
                         label="SuperSmoother model" if cycle == 0 else None)
        ax_fold.invert_yaxis()
        ax_fold.set_xlabel(f"phase (period {view.period:.6g} d)")
        ax_fold.set_ylabel("magnitude")
        ax_fold.legend(loc="best", fontsize=8)
    else:
        ax_fold.text(0.5, 0.5, f"not folded: {view.note or 'no period'}", ha="center", va="center",
                     transform=ax_fold.transAxes)
        ax_fold.set_axis_off()

    _probability_panel(ax_prob, view.history, min_probability)
    fig.tight_layout()
    return fig




def _probability_panel(ax_prob, history: list[HistoryPoint], min_probability: float) -> None:
    """Panel 3: class probabilities (lines) and family probabilities (dashed) against observations."""
    import matplotlib.ticker

    if history:
        n = np.array([h.n_observations for h in history])
        classes = sorted({c for h in history for c in h.probabilities})
        for c in classes:
            p = np.array([h.probabilities.get(c, 0.0) for h in history])
            if p.max() >= min_probability:
                ax_prob.plot(n, p, "o-", ms=3, label=c)
        fams = [family_probabilities(list(h.probabilities), list(h.probabilities.values())) for h in history]
        for fam in FAMILY_NAMES:
            p = np.array([f.get(fam, 0.0) for f in fams])
            if p.max() >= min_probability:
                ax_prob.plot(n, p, "--", lw=1.2, color="gray", alpha=0.8)
                ax_prob.annotate(fam, (n[-1], p[-1]), fontsize=7, color="gray", xytext=(3, 0),
                                 textcoords="offset points")
        ax_prob.set_ylim(0, 1)
        ax_prob.set_xscale("log")
        ax_prob.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax_prob.set_xlabel("observations")
        ax_prob.set_ylabel("probability")
        ax_prob.grid(alpha=0.3)
        ax_prob.legend(loc="upper left", fontsize=8, ncol=3, title="classes (dashed: families)", title_fontsize=8)
    else:
        ax_prob.text(0.5, 0.5, "no classifications yet", ha="center", va="center", transform=ax_prob.transAxes)
        ax_prob.set_axis_off()


def save(view: StarView, path: str | Path) -> Path:
    """Render ``view`` to a PNG at ``path``."""
    import matplotlib.pyplot as plt

    fig = render(view)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
