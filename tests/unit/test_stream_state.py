"""Per-star state: order-independent de-duplication, digests, changelog restore, the cost policy."""

import random

import numpy as np
import pytest

from varstream.stream.codec import decode, encode
from varstream.stream.policy import ReclassifyPolicy
from varstream.stream.state import (
    Classified,
    Observation,
    PartitionStore,
    StarState,
    catalogue_change,
    classified_change,
    observation_change,
)


def _obs(mjd, mag=15.0, err=0.02, band="g", alert="a"):
    return Observation(mjd, band, mag, err, f"{alert}{mjd}", 1_700_000_000_000 + int(mjd))


def test_state_is_the_same_whatever_the_order_and_duplicates_change_nothing():
    points = [_obs(float(t), 15 + 0.1 * t) for t in range(50)]
    better = _obs(7.0, 15.3, err=0.01)          # same time as a point, smaller error: wins
    worse = _obs(8.0, 14.0, err=0.5)            # same time, larger error: loses
    first, second = StarState("s", 0), StarState("s", 0)
    for o in points + [better, worse]:
        first.add(o)
    shuffled = points + [better, worse] + points  # everything twice
    random.Random(1).shuffle(shuffled)
    for o in shuffled:
        second.add(o)
    assert first.digest == second.digest and len(first.observations) == len(second.observations) == 50
    assert second.observations[7.0].mag_err == 0.01 and second.observations[8.0].mag_err == 0.02
    assert not second.add(points[3]) and not second.add(worse)
    lc = second.lightcurve()
    assert np.all(np.diff(lc.times) > 0) and lc.aux["band"].tolist() == ["g"] * 50


def test_catalogue_data_change_the_digest():
    star = StarState("s", 0)
    star.add(_obs(1.0))
    before = star.digest
    assert star.set_catalogue({"parallax_mas": 1.2, "ra_deg": None, "unknown": 3.0})
    assert star.catalogue == {"parallax_mas": 1.2} and star.digest != before
    assert not star.set_catalogue({"parallax_mas": 1.2})


def test_changelog_records_rebuild_the_state_and_find_unclassified_stars():
    live = StarState("s", 3)
    records = []
    for t in range(30):
        o = _obs(float(t))
        live.add(o)
        records.append(encode("state", observation_change("s", o)))
    live.set_catalogue({"distance_pc": 500.0})
    records.append(encode("state", catalogue_change("s", live.catalogue)))
    classified = Classified(live.digest, 30, "EW", 1_700_000_000_500)
    records.append(encode("state", classified_change("s", classified)))
    extra = _obs(31.0)
    records.append(encode("state", observation_change("s", extra)))   # arrived, never classified

    store = PartitionStore(3)
    for raw in records + records[:5]:                                   # replays are idempotent
        store.apply(decode("state", raw))
    restored = store.stars["s"]
    assert len(restored.observations) == 31 and restored.catalogue == {"distance_pc": 500.0}
    assert restored.classified.n_observations == 30 and restored.pending
    assert store.after_restore(now=100.0) == 1
    assert restored.pending_since == 100.0 and restored.first_pending_ingest_ms == extra.ingest_ms
    live.add(extra)
    assert restored.digest == live.digest


def test_policy_growth_staleness_and_pause():
    policy = ReclassifyPolicy(min_new_points=1, growth_fraction=0.05, max_delay_s=10, idle_s=1)
    assert policy.points_needed(0) == 1 and policy.points_needed(200) == 10 and policy.points_needed(2000) == 100
    star = StarState("s", 0)
    for t in range(200):
        star.add(_obs(float(t)))
    star.mark_classified(Classified(star.digest, 200, "EW", 0))
    assert policy.reason(star, 0.0) is None                    # nothing new
    for t in range(200, 205):
        star.add(_obs(float(t)))
        star.mark_pending(now=100.0 + 0.1 * (t - 200), ingest_ms=t, alert_id=str(t))
    assert policy.reason(star, 100.5) is None                  # 5 of 10 new points, fresh, still arriving
    assert policy.reason(star, 101.5) == "idle"                # alerts paused for a second
    star.last_change = 109.9
    assert policy.reason(star, 110.0) == "stale"               # still arriving, but the oldest is 10 s old
    for t in range(205, 210):
        star.add(_obs(float(t)))
        star.mark_pending(now=100.5, ingest_ms=t, alert_id=str(t))
    assert policy.reason(star, 100.5) == "growth"
    assert policy.reason(star, 100.5, backlog=True) is None     # catching up: growth does not count
    assert policy.reason(star, 101.6, backlog=True) == "idle"   # ... a pause still does
    star.last_change = 109.9
    assert policy.reason(star, 110.0, backlog=True) == "stale"
    with pytest.raises(ValueError):
        ReclassifyPolicy(min_new_points=0)
