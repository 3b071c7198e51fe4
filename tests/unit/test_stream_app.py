"""The stream application's execute step with fake Kafka messages and a fake producer (no broker)."""

from __future__ import annotations

from pathlib import Path

import time

import numpy as np
import pytest

from varstream.inference import default_models_dir
from varstream.lightcurve.pipeline import PipelineConfig
from varstream.lightcurve.sanitize import SanitizeConfig
from varstream.stream.app import StreamApp
from varstream.stream.codec import decode, encode
from varstream.stream.kafka import KafkaConfig, Topics
from varstream.stream.policy import ReclassifyPolicy
from varstream.stream.settings import ServeSettings
from varstream.stream.store import PartitionStore


class FakeDelivery:
    """Records what would be produced."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes, bytes | None, int | None]] = []

    def produce(self, topic, value, key=None, partition=None, on_delivered=None) -> None:
        self.records.append((topic, value, key, partition))

    def flush(self, timeout_s: float = 60.0) -> None:
        pass

    def topic(self, name: str) -> list:
        return [r for r in self.records if r[0] == name]


class FakeMessage:
    def __init__(self, value: bytes, key: bytes | None, offset: int = 0, partition: int = 0) -> None:
        self._value, self._key, self._offset, self._partition = value, key, offset, partition

    def value(self):
        return self._value

    def key(self):
        return self._key

    def topic(self):
        return "alerts"

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset

    def timestamp(self):
        return (1, 1_700_000_000_000 + self._offset)

    def error(self):
        return None


def _alert(star: str, mjds: list[float], err: float = 0.02) -> dict:
    first, *rest = [{"mjd": m, "band": "g", "mag": 14.0 + 0.01 * i, "mag_err": err} for i, m in enumerate(mjds)]
    return {"alert_id": f"{star}:{mjds[0]}", "object_id": star, "source": first, "prev_sources": rest or None,
            "catalogue": None}


def _app(pipeline: PipelineConfig = PipelineConfig(), policy: ReclassifyPolicy = ReclassifyPolicy()):
    settings = ServeSettings(KafkaConfig("127.0.0.1:1"), Path(default_models_dir()), Topics(), pipeline=pipeline,
                             policy=policy)
    delivery = FakeDelivery()
    app = StreamApp(settings, delivery=delivery)
    app.stores[0] = PartitionStore(0)
    app.epochs[0] = "test-epoch"
    return app, delivery


def test_growth_counts_observations_not_alerts():
    policy = ReclassifyPolicy(min_new_points=3, growth_fraction=0.0, max_delay_s=1e9, idle_s=1e9)
    app, delivery = _app(policy=policy)
    app.ingest.handle(FakeMessage(encode("alert", _alert("S1", [58000.0 + i for i in range(5)])), b"S1"), now=100.0)
    star = app.stores[0].get("S1")
    assert star.n_observations == 5 and star.pending_observations == 5
    assert policy.reason(star, now=100.0) == "growth"          # one alert, five observations
    assert len(delivery.topic(Topics().changelog)) == 5        # one changelog record per observation
    app.ingest.handle(FakeMessage(encode("alert", _alert("S1", [58000.0, 58001.0])), b"S1", 1), now=100.5)
    assert star.pending_observations == 5                      # re-sent observations change nothing


def test_alerts_are_checked_against_the_pipelines_own_point_rules():
    strict = PipelineConfig(sanitize=SanitizeConfig(max_error=0.05))
    app, delivery = _app(pipeline=strict)
    assert app.classifier.config is strict                      # one object for checking and featurising
    app.ingest.handle(FakeMessage(encode("alert", _alert("S2", [58000.0], err=0.08)), b"S2"), now=1.0)
    letters = [decode("deadletter", r[1]) for r in delivery.topic(Topics().deadletter)]
    assert [d["reason_code"] for d in letters] == ["large_error"] and "0.05 mag" in letters[0]["reason"]
    loose, delivery = _app()
    loose.ingest.handle(FakeMessage(encode("alert", _alert("S2", [58000.0], err=0.08)), b"S2"), now=1.0)
    assert not delivery.topic(Topics().deadletter) and loose.stores[0].get("S2") is not None


@pytest.mark.parametrize("err, code", [(-0.1, "nonpositive_error"), (0.0, "nonpositive_error"), (5.0, "large_error")])
def test_dead_letter_codes_are_the_pipelines(err, code):
    app, delivery = _app()
    app.ingest.handle(FakeMessage(encode("alert", _alert("S3", [58000.0], err=err)), b"S3"), now=1.0)
    assert decode("deadletter", delivery.topic(Topics().deadletter)[0][1])["reason_code"] == code


def _grow(app, star_id, mjds, now, offset):
    for k, mjd in enumerate(mjds):
        alert = {"alert_id": f"{star_id}:{mjd}", "object_id": star_id, "prev_sources": None, "catalogue": None,
                 "source": {"mjd": mjd, "band": "g", "mag": 14.0 + 0.3 * np.sin(2 * np.pi * mjd / 0.61),
                            "mag_err": 0.02}}
        app.ingest.handle(FakeMessage(encode("alert", alert), star_id.encode(), offset + k), now=now)


def _classified(delivery, star_id):
    return [decode("classification", r[1]) for r in delivery.topic(Topics().classifications)
            if decode("classification", r[1])["object_id"] == star_id]


def test_fast_path_and_each_fall_back_to_the_full_search():
    """A fresh alert takes the fast path (refined near the last full search's candidates); the full
    search runs for a pause, for a curve grown by the refresh fraction, after a fit that no longer
    holds, and when settling — whose result equals a full classification of the same curve."""
    from varstream.lightcurve import featurise

    policy = ReclassifyPolicy(min_new_points=1000, growth_fraction=1.0, max_delay_s=1e6, idle_s=1.0, settle_s=5.0,
                              refresh_fraction=0.1)
    app, delivery = _app(policy=policy)
    rng = np.random.default_rng(3)
    mjds = list(np.sort(58000 + rng.uniform(0, 900, 120)))
    t0 = time.time()                       # classifications carry wall-clock publish times
    _grow(app, "F", mjds[:100], now=t0, offset=0)
    assert app.classify_due(t0 + 1.5) == 1 and app.metrics.triggers.labels("idle")._value.get() == 1
    star = app.stores[0].get("F")
    assert star.classified.exact and star.classified.candidates and star.classified.full_observations == 100
    full_searches = app.metrics.searches.labels("full")._value.get()

    _grow(app, "F", mjds[100:101], now=t0 + 10, offset=100)                    # a survey's next night
    assert app.classify_due(t0 + 10) == 1 and app.metrics.triggers.labels("fresh")._value.get() == 1
    assert app.metrics.searches.labels("fast")._value.get() == 1 and not star.classified.exact
    fast = _classified(delivery, "F")[-1]
    assert fast["exact"] is False and fast["n_observations"] == 101
    reference = featurise(star.lightcurve())                                  # what the full search says
    assert fast["period_days"] == pytest.approx(reference.period.period, rel=1e-9)   # the fast path agrees

    assert app.classify_due(t0 + 17) == 1 and app.metrics.triggers.labels("settle")._value.get() == 1
    assert star.classified.exact and app.metrics.searches.labels("full")._value.get() == full_searches + 1
    # same period: the fast classification was already the exact one, nothing new is published
    assert len(_classified(delivery, "F")) == 2

    _grow(app, "F", mjds[101:112], now=t0 + 30, offset=101)                    # grew 11 % since the full search
    assert app.classify_due(t0 + 30) == 1
    assert app.metrics.searches.labels("fast")._value.get() == 1              # no fast path: a full search
    assert star.classified.full_observations == 112 and star.classified.exact

    star.classified.full_explained = 1.5                                      # the old fit no longer holds
    _grow(app, "F", mjds[112:113], now=t0 + 40, offset=112)
    assert app.classify_due(t0 + 40) == 1
    assert app.metrics.searches.labels("fallback")._value.get() == 1 and star.classified.exact
