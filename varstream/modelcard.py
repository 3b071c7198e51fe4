"""Model cards: what an ONNX model is, what it reads, how it was trained and how well it did.

Each ``<name>.onnx`` ships with ``<name>.card.json`` (read by programs) and ``<name>.card.md``
(read by people). The card records the classes in output order, the input (feature names and
version, or the sequence shape), the training data hash, metrics, library versions, the date and
the sha256 of the ONNX file; :meth:`varstream.inference.OnnxModel.load` refuses a file whose hash
does not match. ``ensemble.json`` (:class:`EnsembleCard`) says which models the ensemble combines,
with which weights, and the sha256 of each member it was fitted with.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from varstream.hashing import sha256_file

__all__ = ["ENSEMBLE_FILE", "EnsembleCard", "ModelCard", "card_path", "sha256_file"]

#: File name of the ensemble's card in a models directory.
ENSEMBLE_FILE = "ensemble.json"


def card_path(directory: str | Path, name: str) -> Path:
    """``<directory>/<name>.card.json``."""
    return Path(directory) / f"{name}.card.json"


@dataclass
class ModelCard:
    """The facts about one ONNX model.

    Attributes:
        name: short name (``rf``, ``mlp``, ``gru``, ``baseline_rf``).
        version: model version: package version + the first 8 hex digits of the data hash.
        kind: ``features`` (input ``features``: float32 ``(n, len(feature_names))``, raw feature
            vectors, NaN allowed for a missing absolute magnitude) or ``sequence`` (input
            ``sequence``: float32 ``(n, sequence_length, 5)``, zero-padded phase-folded curves).
        classes: class names in the order of the output probabilities.
        feature_version: version of :mod:`varstream.lightcurve.features` the model reads.
        feature_names: the input columns (``features`` kind); for a subset model, the subset.
        input_columns: indices of ``feature_names`` within the full feature vector.
        sequence_length: steps of the sequence input (``sequence`` kind).
        data_hash: sha256 of the training dataset's files.
        dataset: dataset name and layout.
        metrics: figures on the held-out test split (macro_f1, balanced_accuracy, ece, …).
        parity_max_abs_diff: largest |ONNX − native| probability on the parity rows.
        pipeline: the :class:`~varstream.lightcurve.pipeline.PipelineConfig` the model was trained
            with (:meth:`~varstream.lightcurve.pipeline.PipelineConfig.to_dict`); serving rebuilds
            the pipeline from it.
        training: settings (seed, balancing, augmentation, epochs, …) and timings in seconds.
        versions: library versions used for training and export.
        created: ISO-8601 UTC time of export.
        onnx_file: file name of the model; ``sha256``: its hash.
    """

    name: str
    kind: str
    classes: list[str]
    feature_version: str
    version: str = ""
    feature_names: list[str] = field(default_factory=list)
    input_columns: list[int] = field(default_factory=list)
    sequence_length: int = 0
    data_hash: str = ""
    dataset: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    parity_max_abs_diff: float | None = None
    pipeline: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    created: str = ""
    onnx_file: str = ""
    sha256: str = ""

    def write(self, directory: str | Path) -> tuple[Path, Path]:
        """Write ``<name>.card.json`` and ``<name>.card.md`` beside the ONNX file."""
        directory = Path(directory)
        json_path = directory / f"{self.name}.card.json"
        json_path.write_text(json.dumps(asdict(self), indent=2, sort_keys=False) + "\n")
        md_path = directory / f"{self.name}.card.md"
        md_path.write_text(self.markdown())
        return json_path, md_path

    def markdown(self) -> str:
        m = self.metrics
        lines = [f"# Model card: {self.name} {self.version}", "",
                 f"- file: `{self.onnx_file}` (sha256 `{self.sha256}`)",
                 f"- input: {self.kind}" + (f", {len(self.feature_names)} features of version {self.feature_version}"
                                            if self.kind == "features" else
                                            f", phase-folded sequence of {self.sequence_length} steps x 5 channels "
                                            f"(feature version {self.feature_version})"),
                 f"- classes (output order): {', '.join(self.classes)}",
                 f"- trained on: {self.dataset} (data sha256 `{self.data_hash}`)",
                 f"- created: {self.created}", ""]
        if m:
            lines += ["## Held-out test split", "",
                      f"- macro F1: {m.get('macro_f1', float('nan')):.3f}",
                      f"- balanced accuracy: {m.get('balanced_accuracy', float('nan')):.3f}",
                      f"- expected calibration error: {m.get('ece', float('nan')):.3f}", ""]
            per_class = m.get("per_class", {})
            if per_class:
                lines += ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
                for label, row in per_class.items():
                    lines.append(f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | "
                                 f"{row['support']} |")
                lines.append("")
        if self.parity_max_abs_diff is not None:
            lines += [f"ONNX vs native probabilities: max |diff| = {self.parity_max_abs_diff:.2e}", ""]
        if self.training:
            lines += ["## Training", "", "```json", json.dumps(self.training, indent=2), "```", ""]
        if self.versions:
            lines += ["## Versions", ""] + [f"- {k}: {v}" for k, v in sorted(self.versions.items())] + [""]
        return "\n".join(lines)

    @staticmethod
    def read(path: str | Path) -> ModelCard:
        return ModelCard(**json.loads(Path(path).read_text()))


@dataclass
class EnsembleCard:
    """How the ensemble combines its members: the weighted mean of their probabilities, then a
    temperature per curve length (calibration: a curve of 30 points is less certain than one of
    1,000, and the confidence must say so).

    Attributes:
        members: model names, in the order their probabilities are combined.
        weights: weight of each member (they sum to 1; equal weights when empty).
        member_sha256: the ONNX sha256 of each member the weights were fitted with.
        length_edges: upper edges (points after cleaning, exclusive) of the length bins; a curve
            longer than the last edge falls in the last bin.
        temperatures: one per length bin: probabilities become ``p^(1/T)``, renormalised (T > 1
            softens); empty means no calibration.
        combine: the rule, in words.
        fitted_on: what the weights and temperatures were chosen on.
        pipeline: the pipeline settings of every member (as in :attr:`ModelCard.pipeline`).
        prior: the class prior ``π`` of the prior adjustment (class order of the members), applied
            after the weighted mean as ``p · π^prior_alpha``, renormalised
            (:func:`varstream.priors.adjust`); empty: no adjustment.
        prior_alpha: the adjustment's exponent (0: none).
        prior_fixed: classes whose probability the adjustment keeps (the non-periodic class: the
            prior is fitted on periodic variables only); the others share the rest.
        output_prior: the class mix the published (adjusted, calibrated) probabilities assume — their
            mean over the real validation stars; the base prior of a survey's EM estimate
            (:func:`varstream.priors.estimate_prior`). Empty: uniform.
    """

    members: list[str]
    weights: dict[str, float] = field(default_factory=dict)
    member_sha256: dict[str, str] = field(default_factory=dict)
    length_edges: list[int] = field(default_factory=list)
    temperatures: list[float] = field(default_factory=list)
    combine: str = "weighted mean of probabilities, then the prior adjustment, then a temperature per curve length"
    fitted_on: str = ""
    pipeline: dict[str, Any] = field(default_factory=dict)
    prior: list[float] = field(default_factory=list)
    prior_alpha: float = 0.0
    prior_fixed: list[str] = field(default_factory=list)
    output_prior: list[float] = field(default_factory=list)

    def weights_for(self, names: list[str]) -> list[float]:
        """Normalised weights of ``names`` (equal when the card has none)."""
        raw = [float(self.weights.get(n, 1.0)) if self.weights else 1.0 for n in names]
        total = sum(raw)
        if total <= 0:
            raise ValueError(f"ensemble weights {self.weights} do not sum to a positive number")
        return [w / total for w in raw]

    def write(self, directory: str | Path) -> Path:
        path = Path(directory) / ENSEMBLE_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @staticmethod
    def read(path: str | Path) -> EnsembleCard:
        return EnsembleCard(**json.loads(Path(path).read_text()))
