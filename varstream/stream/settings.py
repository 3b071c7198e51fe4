"""Settings of ``varstream serve``: every default of the stream written once, with its reason."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from varstream.lightcurve.pipeline import PipelineConfig
from varstream.stream.kafka import KafkaConfig, Topics
from varstream.stream.policy import ReclassifyPolicy
from varstream.stream.wire import WireFormat

def default_state_dir() -> str:
    """``$VARSTREAM_STATE_DIR``, else ``~/.cache/varstream/state``."""
    return os.environ.get("VARSTREAM_STATE_DIR", str(Path.home() / ".cache" / "varstream" / "state"))


#: Consumer-group timing. librdkafka's defaults (45 s session, 5 min poll interval) make a dead
#: consumer's partitions wait up to 45 s for a new owner, and a first join on tansu take ~23 s;
#: 6 s / 10 s move partitions within seconds after a crash. The poll interval is safe because one
#: loop iteration is bounded by ``classify_budget_s`` (plus one featurised curve) and a flush.
#: ``fetch.wait.max.ms``: a broker that does not answer a waiting fetch as soon as data arrives (tansu)
#: holds each alert up to this long; librdkafka's 500 ms was the median latency of a survey's cadence
#: (measured at 25 alerts/s on 3,000 stars: p50 0.47 s → 0.31 s); 20 ms costs an idle consumer 50 small
#: fetches/s.
CONSUMER_DEFAULTS = {"session.timeout.ms": 6000, "max.poll.interval.ms": 10000, "fetch.wait.max.ms": 20}


@dataclass
class ServeSettings:
    """Settings of ``varstream serve`` (times in seconds).

    Attributes:
        pipeline: the science settings: featurising, and the point rules that alerts are checked
            against (``pipeline.sanitize``) — one object, so the stream accepts exactly the points
            the offline cleaning keeps.
        model: a model name in ``models_dir``, or ``ensemble``.
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
    model: str = "ensemble"
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
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
