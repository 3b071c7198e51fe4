"""The stream's pure science step (fake clock, no Kafka) and its runtime with a fake consumer and a
fake producer that acknowledges or fails each record: every kind of input, the effects it yields,
and the order in which the runtime produces, commits and checkpoints."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from varstream.inference import ModelIntegrityError, default_models_dir
from varstream.lightcurve.pipeline import PipelineConfig
from varstream.lightcurve.sanitize import SanitizeConfig
from varstream.stream.app import StreamApp
from varstream.stream.classify import StreamClassifier
from varstream.stream.codec import encode
from varstream.stream.delivery import Delivery, DeliveryError
from varstream.stream.effects import InputRecord
from varstream.stream.formats import AlertReader
from varstream.stream.kafka import KafkaConfig, Topics
from varstream.stream.policy import ReclassifyPolicy
from varstream.stream.settings import ServeSettings
from varstream.stream.state import key_prefix
from varstream.stream.step import Step
from varstream.stream.store import MemoryBackend, PartitionStore
from varstream.stream.wire import WireFormat

T0 = 1_700_000_000.0            # the fake clock's start (wall seconds)


class FakeClock:
    """Time that moves only when told to."""

    def __init__(self, wall: float = T0) -> None:
        self.now = wall

    def wall(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def classifier() -> StreamClassifier:
    return StreamClassifier(default_models_dir())


def _step(classifier, clock, policy: ReclassifyPolicy = ReclassifyPolicy()) -> Step:
    classifier.monotonic = clock.monotonic
    return Step(classifier, AlertReader("varstream", WireFormat()), policy, 0.5, 1000, 1.0, clock)


def _alert(star: str, mjds: list[float], err: float = 0.02, mags: list[float] | None = None) -> dict:
    mags = mags if mags is not None else [14.0 + 0.01 * i for i in range(len(mjds))]
    first, *rest = [{"mjd": t, "band": "g", "mag": m, "mag_err": err} for t, m in zip(mjds, mags)]
    return {"alert_id": f"{star}:{mjds[0]}", "object_id": star, "source": first, "prev_sources": rest or None,
            "catalogue": None}


def _msg(alert: dict | bytes, key: bytes | None, offset: int = 0, ts_ms: int | None = None) -> InputRecord:
    value = alert if isinstance(alert, bytes) else encode("alert", alert)
    return InputRecord("alerts", 0, offset, key, value, ts_ms if ts_ms is not None else int(T0 * 1000))


def _curve_alert(star: str, mjds, offset: int, clock: FakeClock) -> list[InputRecord]:
    """One alert per observation of a 0.61-d sinusoid, each entering its topic now."""
    return [_msg(_alert(star, [t], mags=[14.0 + 0.3 * np.sin(2 * np.pi * t / 0.61)]), star.encode(), offset + k,
                 int(clock.now * 1000)) for k, t in enumerate(mjds)]


def test_every_kind_of_input_yields_its_effects(classifier):
    clock = FakeClock()
    step = _step(classifier, clock, ReclassifyPolicy(min_new_points=1000, growth_fraction=1.0, max_delay_s=1e9,
                                                        idle_s=1e9))
    stores = {0: PartitionStore(0)}
    batch = [_msg(_alert("S1", [58000.0 + i for i in range(5)]), b"S1", 0),       # good: five observations
             _msg(b"\x00garbage", b"S2", 1),                                        # undecodable
             _msg(_alert("S3", [58000.0], err=-0.1), b"S3", 2),                     # bad photometry
             _msg(_alert("S4", [58000.0]), None, 3),                                # no key
             _msg(_alert("S1", [58000.0, 58001.0]), b"S1", 4)]                      # re-sent: nothing new
    effects = step.execute(batch, stores)
    assert len(effects.changelog) == 5                                          # one record per observation
    assert all(r.key.startswith(key_prefix("S1")) for r in effects.changelog)
    codes = [d.record["reason_code"] for d in effects.dead_letters]
    assert codes == ["undecodable", "nonpositive_error", "missing_key"]
    assert all(d.record["dead_letter_time"] == int(T0 * 1000) for d in effects.dead_letters)   # the clock's time
    assert effects.counts[("alerts", "")] == 5 and effects.counts[("observations", "")] == 5
    assert effects.counts[("duplicates", "")] == 2 and effects.counts[("dead_letters", "missing_key")] == 1
    assert not effects.classifications and not effects.markers          # nothing due under this policy
    star = stores[0].get("S1")
    assert star.unclassified_observations == 5 and star.unclassified and step.unclassified() == 1
    assert {stage for stage, _ in effects.timings} == {"decode", "state"}


def test_alerts_are_checked_against_the_point_rules_the_model_was_trained_with(tmp_path):
    """A model whose card records max_error 0.05 mag: the stream dead-letters a 0.08-mag point that
    the shipped models (1 mag) accept — one setting, from the card, for checking and featurising."""
    strict_dir = tmp_path / "strict"
    shutil.copytree(default_models_dir(), strict_dir)
    for card in [*strict_dir.glob("*.card.json"), strict_dir / "ensemble.json"]:
        data = json.loads(card.read_text())
        data["pipeline"]["sanitize"]["max_error"] = 0.05
        card.write_text(json.dumps(data))
    strict = StreamClassifier(strict_dir)
    assert strict.config == PipelineConfig(sanitize=SanitizeConfig(max_error=0.05))
    clock = FakeClock()
    effects = _step(strict, clock).execute([_msg(_alert("S2", [58000.0], err=0.08), b"S2")], {0: PartitionStore(0)})
    assert [d.record["reason_code"] for d in effects.dead_letters] == ["large_error"]
    assert "0.05 mag" in effects.dead_letters[0].record["reason"]
    loose = _step(StreamClassifier(default_models_dir()), clock)
    stores = {0: PartitionStore(0)}
    assert not loose.execute([_msg(_alert("S2", [58000.0], err=0.08), b"S2")], stores).dead_letters
    assert stores[0].get("S2") is not None


def test_serving_refuses_pipeline_settings_the_model_was_not_trained_with():
    other = PipelineConfig(ghkss_neighbours=20)
    settings = ServeSettings(KafkaConfig("127.0.0.1:1"), default_models_dir(), pipeline=other)
    with pytest.raises(ModelIntegrityError, match="ghkss_neighbours: 12 → 20"):
        StreamApp(settings, delivery=Delivery(KafkaConfig("127.0.0.1:1"), producer=FakeProducer([])))
    same = ServeSettings(KafkaConfig("127.0.0.1:1"), default_models_dir(), pipeline=PipelineConfig())
    StreamApp(same, delivery=Delivery(KafkaConfig("127.0.0.1:1"), producer=FakeProducer([])))


def test_growth_counts_observations_not_alerts(classifier):
    policy = ReclassifyPolicy(min_new_points=3, growth_fraction=0.0, max_delay_s=1e9, idle_s=1e9)
    step = _step(classifier, FakeClock(), policy)
    stores = {0: PartitionStore(0)}
    effects = step.execute([_msg(_alert("S1", [58000.0 + i for i in range(5)]), b"S1")], stores, now=T0)
    assert stores[0].get("S1").n_observations == 5
    assert effects.counts[("triggers", "growth")] == 1 and len(effects.markers) == 1   # one alert, five points
    effects = step.execute([_msg(_alert("S1", [58010.0, 58011.0]), b"S1", 1)], stores, now=T0)
    assert not effects.markers and stores[0].get("S1").unclassified_observations == 2  # two < three


def _classified(effects_list, star_id):
    return [p.record for e in effects_list for p in e.classifications if p.record["object_id"] == star_id]


def test_fast_path_and_each_fall_back_to_the_full_search(classifier):
    """A fresh alert takes the fast path (refined near the last full search's candidates); the full
    search runs for a pause, for a curve grown by the refresh fraction, after a fit that no longer
    holds, and when settling — whose result equals a full classification of the same curve."""
    from varstream.lightcurve import featurise

    policy = ReclassifyPolicy(min_new_points=1000, growth_fraction=1.0, max_delay_s=1e6, idle_s=1.0, settle_s=5.0,
                              refresh_fraction=0.1)
    clock = FakeClock()
    step = _step(classifier, clock, policy)
    stores = {0: PartitionStore(0)}
    rng = np.random.default_rng(3)
    mjds = list(np.sort(58000 + rng.uniform(0, 900, 120)))
    log = [step.execute(_curve_alert("F", mjds[:100], 0, clock), stores)]
    assert not log[-1].classifications                                          # still arriving
    clock.now += 1.5
    log.append(step.execute([], stores))
    assert log[-1].counts[("triggers", "idle")] == 1 and log[-1].counts[("searches", "full")] == 1
    star = stores[0].get("F")
    assert star.classified.exact and star.classified.candidates and star.classified.full_observations == 100
    assert star.classified.publish_time == int(clock.now * 1000)                # the clock's time

    clock.now += 10
    log.append(step.execute(_curve_alert("F", mjds[100:101], 100, clock), stores))     # a survey's next night
    assert log[-1].counts[("triggers", "fresh")] == 1 and log[-1].counts[("searches", "fast")] == 1
    fast = _classified(log, "F")[-1]
    assert fast["exact"] is False and fast["n_observations"] == 101 and star.unsettled
    reference = featurise(star.lightcurve())                                  # what the full search says
    assert fast["period_days"] == pytest.approx(reference.period.period, rel=1e-9)   # the fast path agrees

    clock.now += 7
    log.append(step.execute([], stores))
    assert log[-1].counts[("triggers", "settle")] == 1 and log[-1].counts[("searches", "full")] == 1
    assert star.classified.exact and not star.unsettled
    assert len(_classified(log, "F")) == 2          # same period: the fast one was exact, nothing new published
    assert len(log[-1].markers) == 1                # but the settled state is recorded

    clock.now += 13
    log.append(step.execute(_curve_alert("F", mjds[101:112], 101, clock), stores))     # grew 11 % since the full search
    assert log[-1].counts[("searches", "full")] == 1 and star.classified.full_observations == 112

    star.classified.full_explained = 1.5                                      # the old fit no longer holds
    clock.now += 10
    log.append(step.execute(_curve_alert("F", mjds[112:113], 112, clock), stores))
    assert log[-1].counts[("searches", "fallback")] == 1 and star.classified.exact


# ---------------------------------------------------------------- the runtime

class FakeMessage:
    def __init__(self, record: InputRecord) -> None:
        self.r = record

    def value(self):
        return self.r.value

    def key(self):
        return self.r.key

    def topic(self):
        return self.r.topic

    def partition(self):
        return self.r.partition

    def offset(self):
        return self.r.offset

    def timestamp(self):
        return (1, self.r.timestamp_ms)

    def error(self):
        return None


class Delivered:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self._t, self._p, self._o = topic, partition, offset

    def topic(self):
        return self._t

    def partition(self):
        return self._p

    def offset(self):
        return self._o


class FakeProducer:
    """Queues records; ``flush`` acknowledges each — or fails it when ``fails(topic, value)`` — and
    logs what it did in ``events``."""

    def __init__(self, events: list, fails=lambda topic, value: False) -> None:
        self.events, self.fails, self.queue, self.offsets = events, fails, [], {}

    def produce(self, topic, value, key=None, on_delivery=None, partition=None):
        self.queue.append((topic, value, partition or 0, on_delivery))

    def poll(self, timeout=0):
        return 0

    def flush(self, timeout=None):
        queue, self.queue = self.queue, []
        for topic, value, partition, callback in queue:
            if self.fails(topic, value):
                self.events.append(("failed", topic))
                callback("broker said no", None)
                continue
            offset = self.offsets.get((topic, partition), -1) + 1
            self.offsets[(topic, partition)] = offset
            self.events.append(("acked", topic))
            callback(None, Delivered(topic, partition, offset))
        return 0


class FakeConsumer:
    def __init__(self, events: list, batches: list[list[InputRecord]]) -> None:
        self.events, self.batches = events, batches

    def consume(self, n, timeout):
        return [FakeMessage(r) for r in self.batches.pop(0)] if self.batches else []

    def commit(self, offsets, asynchronous):
        self.events.append(("commit", tuple((tp.topic, tp.partition, tp.offset) for tp in offsets)))


class LoggingBackend(MemoryBackend):
    def __init__(self, events: list) -> None:
        super().__init__()
        self.events = events

    def write(self, puts):
        if b"\x00checkpoint" in puts:
            self.events.append(("checkpoint", json.loads(puts[b"\x00checkpoint"])["offset"]))
        super().write(puts)


def _runtime(classifier, events, batches, fails=lambda topic, value: False):
    clock = FakeClock()
    classifier.monotonic = clock.monotonic
    policy = ReclassifyPolicy(min_new_points=1, growth_fraction=0.0)
    settings = ServeSettings(KafkaConfig("127.0.0.1:1"), default_models_dir(), policy=policy)
    app = StreamApp(settings, classifier=classifier, consumer=FakeConsumer(events, batches),
                    delivery=Delivery(settings.kafka, producer=FakeProducer(events, fails)), clock=clock)
    app.stores[0] = PartitionStore(0, LoggingBackend(events))
    app.epochs[0] = "test-epoch"
    return app


def test_the_runtime_produces_state_then_classifications_then_markers_then_commits_then_checkpoints(classifier):
    events: list = []
    mjds = 58000 + np.sort(np.random.default_rng(1).uniform(0, 900, 40))
    alert = _alert("R1", list(mjds), mags=list(14.0 + 0.3 * np.sin(2 * np.pi * mjds / 0.61)))
    app = _runtime(classifier, events, [[_msg(alert, b"R1", offset=7)]])
    assert app.poll_once() == 1
    t = Topics()
    kinds = [(e[0], e[1]) if e[0] == "acked" else (e[0],) for e in events]
    changelog_acks = [i for i, e in enumerate(kinds) if e == ("acked", t.changelog)]
    classified = kinds.index(("acked", t.classifications))
    commit, checkpoint = kinds.index(("commit",)), kinds.index(("checkpoint",))
    assert len(changelog_acks) == 41                           # 40 observations + the "classified" marker
    assert changelog_acks[-2] < classified < changelog_acks[-1] < commit < checkpoint
    assert events[commit][1] == (("alerts", 0, 8),)            # the next offset to read
    assert events[checkpoint][1] == 40                         # the last changelog offset acknowledged
    marker = app.stores[0].get("R1").classified
    assert marker.exact and marker.n_observations == 40
    assert app.metrics.published._value.get() == 1 and app.metrics.alerts._value.get() == 1


@pytest.mark.parametrize("failing", ["classifications", "changelog", "deadletter"])
def test_nothing_is_committed_or_checkpointed_before_every_output_is_acknowledged(classifier, failing):
    events: list = []
    t = Topics()
    topic = {"classifications": t.classifications, "changelog": t.changelog, "deadletter": t.deadletter}[failing]
    mjds = 58000 + np.sort(np.random.default_rng(2).uniform(0, 900, 30))
    good = _alert("R2", list(mjds), mags=list(14.0 + 0.3 * np.sin(2 * np.pi * mjds / 0.61)))
    batch = [_msg(good, b"R2", offset=3), _msg(b"junk", b"R9", offset=4)]
    app = _runtime(classifier, events, [batch], fails=lambda tp, value: tp == topic)
    with pytest.raises(DeliveryError):
        app.poll_once()
    assert ("failed", topic) in events
    assert not [e for e in events if e[0] in ("commit", "checkpoint")]
    assert app.stores[0].backend.get(b"\x00checkpoint") is None
