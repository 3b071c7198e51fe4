"""Classify with ONNX models (onnxruntime only: no TensorFlow on the serving path).

A :class:`OnnxClassifier` is loaded from a model card, after checking that the ONNX file's sha256
matches the card, and takes the same inputs the shared pipeline produces: feature vectors
(:class:`~varstream.lightcurve.features.FeatureVector` values) or GRU sequences. An
:class:`Ensemble` averages the probabilities of several models over the same classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from varstream.lightcurve import FEATURE_VERSION
from varstream.modelcard import ModelCard, sha256_file


class ModelIntegrityError(RuntimeError):
    """An ONNX file does not match its model card (hash, feature version or classes)."""


@dataclass
class OnnxClassifier:
    """One ONNX model and its card."""

    card: ModelCard
    session: ort.InferenceSession

    @staticmethod
    def load(card_path: str | Path, threads: int = 1) -> OnnxClassifier:
        """Load ``<name>.card.json`` and its ONNX file, refusing a hash or feature-version mismatch."""
        card_path = Path(card_path)
        card = ModelCard.read(card_path)
        onnx_path = card_path.parent / card.onnx_file
        actual = sha256_file(onnx_path)
        if actual != card.sha256:
            raise ModelIntegrityError(f"{onnx_path}: sha256 {actual} does not match its card ({card.sha256})")
        if card.feature_version != FEATURE_VERSION:
            raise ModelIntegrityError(f"{onnx_path}: trained on feature version {card.feature_version}, "
                                      f"this code computes version {FEATURE_VERSION}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        return OnnxClassifier(card, session)

    def predict_proba(self, features: np.ndarray | None = None, sequences: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities ``(n, len(classes))`` for full feature vectors or sequences."""
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
        outputs = self.session.run(None, feed)
        probs = next(o for o in outputs if isinstance(o, np.ndarray) and o.ndim == 2 and o.dtype.kind == "f")
        return np.asarray(probs, dtype=np.float64)


@dataclass
class Ensemble:
    """The mean of several models' probabilities (all with the same classes, in the same order)."""

    members: list[OnnxClassifier]
    name: str = "ensemble"

    def __post_init__(self) -> None:
        classes = {tuple(m.card.classes) for m in self.members}
        if len(classes) != 1:
            raise ModelIntegrityError("ensemble members disagree on the classes")

    @property
    def classes(self) -> list[str]:
        return list(self.members[0].card.classes)

    def predict_proba(self, features: np.ndarray, sequences: np.ndarray) -> np.ndarray:
        return np.mean([m.predict_proba(features, sequences) for m in self.members], axis=0)


def default_models_dir() -> Path:
    """``$VARSTREAM_MODELS``, else the ``models/`` folder of the repository checkout."""
    import os

    env = os.environ.get("VARSTREAM_MODELS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "models"


def load_models(directory: str | Path, names: tuple[str, ...] | None = None) -> dict[str, OnnxClassifier]:
    """Every model card in a directory (or the named ones), verified."""
    directory = Path(directory)
    cards = sorted(directory.glob("*.card.json"))
    models = {}
    for path in cards:
        name = path.name[: -len(".card.json")]
        if names is None or name in names:
            models[name] = OnnxClassifier.load(path)
    return models
