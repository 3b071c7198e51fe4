"""The settings of ``varstream train``, importable without the training extra (the CLI reads its
defaults from here; the trainers themselves import TensorFlow)."""

from __future__ import annotations

from dataclasses import dataclass, field

from varstream.lightcurve.pipeline import PipelineConfig

#: Every model ``varstream train`` can train.
MODEL_NAMES = ("rf", "mlp", "gru", "baseline_rf")


@dataclass
class NetConfig:
    """Training settings (epochs are an upper bound: early stopping on validation loss)."""

    hidden: tuple[int, ...] = (256, 128, 64)
    dropout: float = 0.2
    l2: float = 1e-4
    batch_size: int = 64
    epochs: int = 60
    patience: int = 8
    learning_rate: float = 1e-3
    gru_units: int = 64
    seed: int = 0
    verbose: int = 0


@dataclass
class TrainConfig:
    """Everything that decides a training run; every default of ``varstream train`` is here.

    Attributes:
        models: which models to train (``rf``, ``mlp``, ``gru``, ``baseline_rf`` = the reference
            study's RF on catch22 of the time-ordered magnitudes only).
        classes: classes to learn (default: every class with at least ``min_class_count``
            featurised stars).
        cap: training stars kept per class at most (the big classes are subsampled).
        floor: classes with fewer training stars get GP-synthetic curves up to this number.
        augment: make synthetic curves (training fold only).
        compare_augmentation: also train an RF without augmentation and report both figures.
        rf_trees, rf_max_depth, rf_min_examples: forest size; on the emulated training set
            (~63,000 curves) the defaults make a 17 MB ONNX file (leaves of at least 5 examples:
            31 MB, macro F1 on the Catalina test split +0.02).
        augment_templates: real training stars whose cadences the synthetic curves are drawn on.
        emulations: curves re-observed by another survey per training curve (real and synthetic;
            see :mod:`varstream.offline.emulate`); 0 disables emulation.
        prefixes: prefix cuts (the first N points) per training curve.
        nonperiodic: simulated non-periodic training curves (:mod:`varstream.offline.nonperiodic`,
            class ``NONPER``; about as many as the cap of a periodic class), and in proportion for
            validation and test (their own seeds); 0: no non-periodic class.
        weighting: how training rows weigh in the loss (:mod:`varstream.offline.weights`): ``class``
            (every class the same total, spread over its rows; the shipped models) or ``star`` (one
            unit per source star over its copies, classes scaled by ``class_power``).
        class_power: the class balance of ``star`` weighting (1: balanced by stars, 0: none).
        survey_data: the data root whose ``asassn`` and ``gaia_dr3`` curves lend their cadences and
            error models to the emulation (default: the shared data root, when it exists).
        exclude_features: features no model reads (besides those constant or missing in the
            whole training set, which are dropped automatically: e.g. the absolute magnitude of
            a dataset without distances).
        pipeline: the pipeline settings every curve is featurised with (recorded in every card;
            the stream serves with them).
        jobs: feature processes (0: all cores).
        limit: use only the first ``limit`` curves of the dataset (smoke tests).
    """

    models: tuple[str, ...] = MODEL_NAMES
    classes: tuple[str, ...] | None = None
    min_class_count: int = 10
    cap: int = 3000
    floor: int = 600
    augment: bool = True
    compare_augmentation: bool = False
    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    rf_trees: int = 100
    rf_max_depth: int = 16
    rf_min_examples: int = 20
    mlp: NetConfig = field(default_factory=NetConfig)
    gru: NetConfig = field(default_factory=lambda: NetConfig(batch_size=128, epochs=40, patience=6))
    augment_templates: int = 400
    emulations: int = 2
    prefixes: int = 1
    nonperiodic: int = 3000
    weighting: str = "class"
    class_power: float = 1.0
    survey_data: str | None = None
    exclude_features: tuple[str, ...] = ()
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    jobs: int = 0
    limit: int | None = None


