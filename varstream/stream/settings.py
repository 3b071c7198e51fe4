"""Settings of ``varstream serve``: every default of the stream written once, with its reason."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from varstream.inference import ENSEMBLE, TRAINED_PRIOR, ModelIntegrityError
from varstream.lightcurve.pipeline import PipelineConfig, config_differences
from varstream.stream.kafka import FETCH_WAIT_MAX_MS, KafkaConfig, Topics
from varstream.stream.policy import ReclassifyPolicy
from varstream.stream.wire import WireFormat

def default_state_dir() -> str:
    """``$VARSTREAM_STATE_DIR``, else ``~/.cache/varstream/state``."""
    return os.environ.get("VARSTREAM_STATE_DIR", str(Path.home() / ".cache" / "varstream" / "state"))


#: Consumer-group timing. librdkafka's defaults (45 s session, 5 min poll interval) make a dead
#: consumer's partitions wait up to 45 s for a new owner, and a first join on tansu take ~23 s;
#: 6 s / 10 s move partitions within seconds after a crash. The poll interval is safe because one
#: loop iteration is bounded by ``classify_budget_s`` (plus one featurised curve) and a flush.
#: ``fetch.wait.max.ms``: see :data:`~varstream.stream.kafka.FETCH_WAIT_MAX_MS`.
CONSUMER_DEFAULTS = {"session.timeout.ms": 6000, "max.poll.interval.ms": 10000,
                     "fetch.wait.max.ms": FETCH_WAIT_MAX_MS}


@dataclass
class ServeSettings:
    """Settings of ``varstream serve`` (times in seconds).

    Attributes:
        pipeline: the science settings the model must have been trained with; None (the default)
            takes the model card's (:attr:`~varstream.inference.Ensemble.pipeline`), which also
            gives the point rules alerts are checked against. A model trained with other settings
            is refused (:meth:`check_pipeline`).
        model: a model name in ``models_dir``, or ``ensemble``.
        prior: the prior the published probabilities assume: ``trained`` (the shipped classifier's,
            as offline) or ``survey`` (the survey's own, estimated from this process's
            classifications; :mod:`varstream.stream.survey_prior`).
        partitions: partitions of the topics this process creates.
        max_batch: alerts per poll at most.
        poll_timeout_s: longest wait for alerts in one poll.
        classify_budget_s: featurising time per poll at most (oldest change first).
        consumer_settings: librdkafka settings of the group consumer (see :data:`CONSUMER_DEFAULTS`).
        lag_interval_s: how often librdkafka reports statistics (the consumer-lag gauge).
        catchup_lag_s: behind the input by more than this, the growth rule is suspended.
        input_format: the alert format of the input topic (``varstream``, ``ztf`` or ``lsst``;
            :mod:`varstream.stream.formats`).
        state_dir: the local stores' directory (RocksDB, one database per group and partition;
            ``None`` or ``"memory"``: in memory, rebuilt from the whole changelog at every start).
    """

    kafka: KafkaConfig
    models_dir: Path
    topics: Topics = field(default_factory=Topics)
    model: str = ENSEMBLE
    prior: str = TRAINED_PRIOR
    pipeline: PipelineConfig | None = None
    policy: ReclassifyPolicy = field(default_factory=ReclassifyPolicy)
    partitions: int = 4
    max_batch: int = 1000
    poll_timeout_s: float = 0.1
    classify_budget_s: float = 0.5
    consumer_settings: dict = field(default_factory=lambda: dict(CONSUMER_DEFAULTS))
    create_topics: bool = True
    wire: WireFormat = field(default_factory=WireFormat)
    lag_interval_s: float = 2.0
    catchup_lag_s: float = 1.0
    input_format: str = "varstream"
    state_dir: str | None = field(default_factory=lambda: default_state_dir())

    def group_consumer(self) -> dict:
        """The librdkafka settings of the group consumer: manual commits (at-least-once), from the
        earliest offset for a new group, statistics for the lag gauge, then :attr:`consumer_settings`."""
        return {"group.id": self.topics.group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
                "enable.partition.eof": False, "statistics.interval.ms": int(self.lag_interval_s * 1000),
                **self.consumer_settings}

    def check_pipeline(self, trained: PipelineConfig) -> None:
        """Refuse to serve a model with pipeline settings other than the ones it was trained with.

        Raises:
            ModelIntegrityError: :attr:`pipeline` is set and differs from ``trained``.
        """
        if self.pipeline is not None and self.pipeline != trained:
            diff = "; ".join(config_differences(trained, self.pipeline))
            raise ModelIntegrityError(f"model {self.model} in {self.models_dir} was trained with other pipeline "
                                      f"settings than requested: {diff}")
