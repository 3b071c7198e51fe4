"""Classify with ONNX models (onnxruntime only: no TensorFlow on the serving path).

One entry point, :func:`load_classifier`, used by the stream, ``varstream evaluate`` and training's
parity check: it returns one verified :class:`OnnxModel` or the :class:`Ensemble` described by
``ensemble.json`` (:class:`~varstream.modelcard.EnsembleCard`). Every model file is loaded only
after its sha256 matches its model card. Both kinds answer ``predict_proba(features, sequences)``
with the inputs the shared pipeline produces: feature vectors
(:class:`~varstream.lightcurve.features.FeatureVector` values) and GRU sequences.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime as ort

from varstream import priors
from varstream.lightcurve import FEATURE_VERSION
from varstream.lightcurve.pipeline import Featurised, PipelineConfig
from varstream.lightcurve.taxonomy import family_probabilities, nonperiodic_probability
from varstream.modelcard import ENSEMBLE_FILE, EnsembleCard, ModelCard, card_path, sha256_file

#: The name that selects the ensemble of ``ensemble.json`` instead of one model.
ENSEMBLE = "ensemble"
#: The priors a classification's probabilities can assume (its ``prior`` field): the shipped
#: classifier's own, or the stream's survey's estimated one (``serve --prior survey``).
TRAINED_PRIOR, SURVEY_PRIOR = "trained", "survey"
PRIORS = (TRAINED_PRIOR, SURVEY_PRIOR)


class ModelIntegrityError(RuntimeError):
    """An ONNX file does not match its model card (hash, feature version, classes or pipeline
    settings), or a model is asked to serve with settings it was not trained with."""


def card_pipeline(values: dict, where: str | Path) -> PipelineConfig:
    """The pipeline settings a card records.

    Raises:
        ModelIntegrityError: the card records none, or settings this version cannot rebuild.
    """
    if not values:
        raise ModelIntegrityError(f"{where}: the card records no pipeline settings (retrain, or add them)")
    try:
        return PipelineConfig.from_dict(values)
    except (ValueError, TypeError) as exc:
        raise ModelIntegrityError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class ClassifierInfo:
    """What a classification says about the model that made it.

    ``model_sha256`` is the sha256 of a file: the ONNX file of a single model, or ``ensemble.json``
    for the ensemble (which lists each member's ONNX sha256, so it pins them all); ``members``
    holds ``(name, ONNX sha256)`` of every model whose probabilities were used.
    """

    name: str
    version: str
    model_sha256: str
    feature_version: str
    members: tuple[tuple[str, str], ...] = ()


def calibrate(probs: np.ndarray, n_points: np.ndarray, edges: list[int], temperatures: list[float]) -> np.ndarray:
    """Temperature-scaled probabilities: row ``i`` becomes ``p^(1/T) / Σ p^(1/T)`` with the ``T`` of
    the length bin of ``n_points[i]`` (points after cleaning); unchanged when ``temperatures`` is
    empty."""
    if not temperatures:
        return probs
    which = np.minimum(np.searchsorted(np.asarray(edges), np.asarray(n_points), side="right"), len(temperatures) - 1)
    inv_t = 1.0 / np.asarray(temperatures, dtype=np.float64)[which]
    logp = np.log(np.clip(probs, 1e-12, 1.0)) * inv_t[:, None]
    logp -= logp.max(axis=1, keepdims=True)
    out = np.exp(logp)
    return out / out.sum(axis=1, keepdims=True)


def probabilities_output(outputs: list) -> np.ndarray:
    """The class-probability output of an ONNX model: the first 2-D floating-point output
    (a tree ensemble also returns its labels; the networks return probabilities only)."""
    probs = next(o for o in outputs if isinstance(o, np.ndarray) and o.ndim == 2 and o.dtype.kind == "f")
    return np.asarray(probs, dtype=np.float64)


@dataclass
class OnnxModel:
    """One verified ONNX model and its card."""

    card: ModelCard
    session: ort.InferenceSession
    pipeline: PipelineConfig

    @staticmethod
    def load(card_file: str | Path, threads: int = 1) -> OnnxModel:
        """Load ``<name>.card.json`` and its ONNX file, refusing a hash or feature-version mismatch.

        ``threads``: onnxruntime intra-op threads (1 suits a consumer process per core).
        """
        card_file = Path(card_file)
        card = ModelCard.read(card_file)
        onnx_path = card_file.parent / card.onnx_file
        actual = sha256_file(onnx_path)
        if actual != card.sha256:
            raise ModelIntegrityError(f"{onnx_path}: sha256 {actual} does not match its card ({card.sha256})")
        if card.feature_version != FEATURE_VERSION:
            raise ModelIntegrityError(f"{onnx_path}: trained on feature version {card.feature_version}, "
                                      f"this code computes version {FEATURE_VERSION}")
        pipeline = card_pipeline(card.pipeline, card_file)
        if card.kind == "sequence" and card.sequence_length != pipeline.sequence_length:
            raise ModelIntegrityError(f"{card_file}: the model reads sequences of {card.sequence_length} steps, "
                                      f"its pipeline makes {pipeline.sequence_length}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        return OnnxModel(card, session, pipeline)

    @property
    def classes(self) -> list[str]:
        return list(self.card.classes)

    @property
    def info(self) -> ClassifierInfo:
        c = self.card
        return ClassifierInfo(c.name, c.version, c.sha256, c.feature_version, ((c.name, c.sha256),))

    @property
    def output_prior(self) -> np.ndarray:
        """The class mix a single model's probabilities assume: uniform (it was trained on a
        class-balanced set)."""
        return np.full(len(self.classes), 1.0 / len(self.classes))

    def predict_proba(self, features: np.ndarray | None = None, sequences: np.ndarray | None = None,
                      n_points: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities ``(n, len(classes))`` from full feature vectors ``(n, F)`` (the model
        picks its own columns) or sequences ``(n, steps, channels)``, whichever its card reads
        (``n_points`` is for the ensemble's calibration; a single model ignores it)."""
        if self.card.kind == "features":
            if features is None:
                raise ValueError(f"model {self.card.name} needs feature vectors")
            x = np.asarray(features, dtype=np.float32)
            if self.card.input_columns:
                x = x[:, self.card.input_columns]
            feed = {self.session.get_inputs()[0].name: np.ascontiguousarray(x)}
        else:
            if sequences is None:
                raise ValueError(f"model {self.card.name} needs sequences")
            feed = {self.session.get_inputs()[0].name: np.asarray(sequences, dtype=np.float32)}
        return probabilities_output(self.session.run(None, feed))


@dataclass
class Ensemble:
    """The weighted mean of several models' probabilities (same classes, same order), as its
    :class:`~varstream.modelcard.EnsembleCard` says."""

    members: list[OnnxModel]
    card: EnsembleCard
    sha256: str = ""

    def __post_init__(self) -> None:
        classes = {tuple(m.card.classes) for m in self.members}
        if len(classes) != 1:
            raise ModelIntegrityError("ensemble members disagree on the classes")
        self.pipeline = card_pipeline(self.card.pipeline, ENSEMBLE_FILE)
        for m in self.members:
            if m.pipeline != self.pipeline:
                raise ModelIntegrityError(f"ensemble member {m.card.name} was trained with other pipeline settings "
                                          "than the ensemble card records")

    @property
    def classes(self) -> list[str]:
        return list(self.members[0].card.classes)

    @property
    def weights(self) -> np.ndarray:
        return np.asarray(self.card.weights_for([m.card.name for m in self.members]), dtype=np.float64)

    @property
    def info(self) -> ClassifierInfo:
        cards = [m.card for m in self.members]
        return ClassifierInfo(f"{ENSEMBLE}(" + "+".join(c.name for c in cards) + ")",
                              "/".join(sorted({c.version for c in cards})), self.sha256, cards[0].feature_version,
                              tuple((c.name, c.sha256) for c in cards))

    def member_probabilities(self, features: np.ndarray | None = None,
                             sequences: np.ndarray | None = None) -> np.ndarray:
        """Every member's probabilities, ``(members, n, classes)``."""
        return np.stack([m.predict_proba(features, sequences) for m in self.members])

    @property
    def output_prior(self) -> np.ndarray:
        """The class mix the published probabilities assume (:attr:`EnsembleCard.output_prior`;
        uniform when the card has none)."""
        k = len(self.classes)
        prior = self.card.output_prior
        return priors.normalised(np.asarray(prior if len(prior) == k else np.full(k, 1.0 / k)))

    def combine(self, member_probs: np.ndarray, n_points: np.ndarray | None = None) -> np.ndarray:
        """The card's rule: weighted mean of the members, the card's prior adjustment
        (:func:`varstream.priors.adjust`), then calibration by curve length when ``n_points``
        (points after cleaning, per row) is given."""
        fixed = np.array([c in self.card.prior_fixed for c in self.classes])
        mean = priors.adjust(np.tensordot(self.weights, member_probs, axes=1), self.card.prior, self.card.prior_alpha,
                             fixed)
        if n_points is None:
            return mean
        return calibrate(mean, n_points, self.card.length_edges, self.card.temperatures)

    def predict_proba(self, features: np.ndarray | None = None, sequences: np.ndarray | None = None,
                      n_points: np.ndarray | None = None) -> np.ndarray:
        """Calibrated ensemble probabilities (uncalibrated without ``n_points``)."""
        return self.combine(self.member_probabilities(features, sequences), n_points)


Classifier = OnnxModel | Ensemble


def default_models_dir() -> Path:
    """``$VARSTREAM_MODELS``, else the shipped models (package data ``varstream/models``, found
    through :mod:`importlib.resources`, so an installed wheel finds them as a checkout does)."""
    env = os.environ.get("VARSTREAM_MODELS")
    return Path(env) if env else Path(str(resources.files("varstream") / "models"))


def load_models(directory: str | Path, names: tuple[str, ...] | None = None) -> dict[str, OnnxModel]:
    """Every model card in a directory (or the named ones), verified."""
    directory = Path(directory)
    models = {}
    for path in sorted(directory.glob("*.card.json")):
        name = path.name[: -len(".card.json")]
        if names is None or name in names:
            models[name] = OnnxModel.load(path)
    return models


def load_classifier(models_dir: str | Path, model: str = ENSEMBLE) -> Classifier:
    """The classifier named ``model`` in ``models_dir``: one model, or ``ensemble`` (its members
    and weights from ``ensemble.json``), every ONNX file verified against its card.

    Raises:
        FileNotFoundError: no such model card or ensemble card.
        ModelIntegrityError: a file does not match its card, or the members disagree.
    """
    models_dir = Path(models_dir)
    if model != ENSEMBLE:
        path = card_path(models_dir, model)
        if not path.exists():
            raise FileNotFoundError(f"no model card {path}")
        return OnnxModel.load(path)
    spec_path = models_dir / ENSEMBLE_FILE
    if not spec_path.exists():
        raise FileNotFoundError(f"no ensemble card {spec_path}")
    card = EnsembleCard.read(spec_path)
    members = load_models(models_dir, tuple(card.members))
    missing = [m for m in card.members if m not in members]
    if missing:
        raise ModelIntegrityError(f"{models_dir}: ensemble members without a model card: {missing}")
    for name, digest in card.member_sha256.items():
        if name in members and members[name].card.sha256 != digest:
            raise ModelIntegrityError(f"{spec_path}: member {name} has sha256 {members[name].card.sha256}, "
                                      f"the ensemble was fitted with {digest}")
    return Ensemble([members[m] for m in card.members], card, sha256_file(spec_path))


def classification_fields(featurised: Featurised, probabilities: np.ndarray, classes: list[str],
                          prior: str = TRAINED_PRIOR) -> dict:
    """What a classification says about a star — the science fields of the ``Classification``
    record (``schemas/classification.avsc``), shared by the stream's messages and
    :func:`varstream.classify`: every class probability, the predicted class, the most probable
    family (the sum of its classes' probabilities) and its probability, the absolute magnitude
    and its error (mag; None without a distance), points after cleaning, span and period (days),
    the period's false-alarm probability and cycles, the bands used, the probability of not being a
    periodic variable (None for models without that outcome) and the prior the probabilities
    assume (:data:`PRIORS`)."""
    probs = np.asarray(probabilities, dtype=np.float64)
    families = family_probabilities(classes, probs)
    family = max(families, key=families.get) if families else ""
    f = featurised
    has_distance = "has_distance" in f.features.names and f.features["has_distance"] == 1.0
    return {
        "probabilities": [{"label": c, "probability": float(p)} for c, p in zip(classes, probs)],
        "predicted_class": classes[int(np.argmax(probs))],
        "family": family,
        "family_probability": float(families.get(family, 0.0)),
        "abs_mag": f.features["abs_mag"] if has_distance else None,
        "abs_mag_err": f.features["abs_mag_err"] if has_distance else None,
        "n_points": int(f.n_points),
        "span_days": float(f.baseline_days),
        "period_days": float(f.period.period),
        "period_fap": float(f.period.fap),
        "period_cycles": float(f.period.cycles),
        "bands": list(f.bands),
        "nonperiodic_probability": nonperiodic_probability(classes, probs),
        "prior": prior,
    }
