"""Per-star state: order-independent de-duplication, digests, changelog restore, the local store,
the cost policy."""

import random

import numpy as np
import pytest

from varstream.stream.codec import decode, encode
from varstream.stream.policy import ReclassifyPolicy
from varstream.stream.state import (
    Classified,
    Observation,
    StarState,
    apply_change,
    catalogue_change,
    classified_change,
    decode_star,
    encode_star,
    observation_change,
)
from varstream.stream.store import Checkpoint, MemoryBackend, PartitionStore, RocksBackend


def _obs(mjd, mag=15.0, err=0.02, band="g", alert="a"):
    return Observation(mjd, band, mag, err, f"{alert}{mjd}", 1_700_000_000_000 + int(mjd))


def test_state_is_the_same_whatever_the_order_and_duplicates_change_nothing():
    points = [_obs(float(t), 15 + 0.1 * t) for t in range(50)]
    better = _obs(7.0, 15.3, err=0.01)          # same time as a point, smaller error: wins
    worse = _obs(8.0, 14.0, err=0.5)            # same time, larger error: loses
    tie = _obs(9.0, 15.9, err=0.02)             # equal error, larger magnitude: loses (magnitude tie-break)
    tie_wins = _obs(10.0, 14.0, err=0.02)       # equal error, smaller magnitude: wins
    first, second = StarState("s", 0), StarState("s", 0)
    for o in points + [better, worse, tie, tie_wins]:
        first.add(o)
    shuffled = points + [better, worse, tie, tie_wins] + points  # everything twice
    random.Random(1).shuffle(shuffled)
    for o in shuffled:
        second.add(o)
    assert first.digest == second.digest and first.n_observations == second.n_observations == 50
    assert np.array_equal(first.mag, second.mag) and np.array_equal(first.err, second.err)
    i7, i8, i9, i10 = (int(np.searchsorted(second.mjd, t)) for t in (7.0, 8.0, 9.0, 10.0))
    assert second.err[i7] == 0.01 and second.err[i8] == 0.02 and second.mag[i9] == 15 + 0.9 and second.mag[i10] == 14.0
    assert not second.add(points[3]) and not second.add(worse)
    lc = second.lightcurve()
    assert np.all(np.diff(lc.times) > 0) and lc.aux["band"].tolist() == ["g"] * 50


def test_replacing_a_point_updates_the_digest_exactly():
    a, b = StarState("s", 0), StarState("s", 0)
    a.add(_obs(1.0, 15.0, 0.05))
    a.add(_obs(1.0, 15.1, 0.01))                # replaces
    b.add(_obs(1.0, 15.1, 0.01))
    assert a.digest == b.digest


def test_catalogue_data_change_the_digest():
    star = StarState("s", 0)
    star.add(_obs(1.0))
    before = star.digest
    assert star.set_catalogue({"parallax_mas": 1.2, "ra_deg": None, "unknown": 3.0})
    assert star.catalogue == {"parallax_mas": 1.2} and star.digest != before
    assert not star.set_catalogue({"parallax_mas": 1.2})


def _records():
    live = StarState("s", 3)
    records = []
    for t in range(30):
        o = _obs(float(t))
        live.add(o)
        records.append(encode("state", observation_change("s", o)))
    live.set_catalogue({"distance_pc": 500.0})
    records.append(encode("state", catalogue_change("s", live.catalogue)))
    classified = Classified(live.digest, 30, "EW", 1_700_000_000_030, (1.5, 0.7), 30, 0.8, False)
    records.append(encode("state", classified_change("s", classified)))
    late = [_obs(31.0), _obs(40.0)]                                       # arrived, never classified
    records += [encode("state", observation_change("s", o)) for o in late]
    for o in late:
        live.add(o)
    return live, records, late


def test_changelog_records_rebuild_the_state_and_find_unclassified_stars():
    live, records, late = _records()
    store = PartitionStore(3)
    for raw in records + records[:5]:                                   # replays are idempotent
        store.apply(decode("state", raw))
    restored = store.get("s")
    assert restored.n_observations == 32 and restored.catalogue == {"distance_pc": 500.0}
    assert restored.classified.n_observations == 30 and restored.unclassified
    assert restored.classified.candidates == (1.5, 0.7) and restored.classified.exact is False
    restored.mark_restored(now=100.0)
    assert restored.unclassified_since == 100.0 and restored.unclassified_observations == 2
    assert restored.first_unclassified_ingest_ms == min(o.ingest_time for o in late)   # the longest-waiting one
    assert restored.digest == live.digest


def test_encoding_round_trips_every_field():
    live, records, _ = _records()
    live.latest_alert = ("a40.0", 1_700_000_000_040)
    back = decode_star(encode_star(live))
    for name in ("object_id", "partition", "catalogue", "obs_digest", "catalogue_digest", "classified", "latest_alert"):
        assert getattr(back, name) == getattr(live, name), name
    for name in ("mjd", "mag", "err", "band", "ingest_ms"):
        assert np.array_equal(getattr(back, name), getattr(live, name)) and getattr(back, name).dtype == getattr(
            live, name).dtype, name
    with pytest.raises(ValueError):
        decode_star(b"VS1" + b"\0" * 20)


@pytest.mark.parametrize("backend", ["memory", "rocksdb"])
def test_the_store_keeps_stars_checkpoint_and_waiting_markers_and_evicts_the_rest(backend, tmp_path):
    def open_store():
        return PartitionStore(0, MemoryBackend() if backend == "memory" else RocksBackend(tmp_path / "db"))

    store = open_store()
    if backend == "memory":
        store.backend = shared = MemoryBackend()
    done, waiting = store.star("done"), store.star("waiting")
    assert store.n_stars == 2                                              # counted as they are created
    for t in range(5):
        done.add(_obs(float(t)))
        waiting.add(_obs(float(t)))
    done.mark_classified(Classified(done.digest, 5, "RRab", 1))
    assert store.commit(Checkpoint("epoch-1", 41)) == 2
    assert set(store.cache) == {"waiting"} and not store.dirty            # only the waiting star stays in memory
    assert store.checkpoint() == Checkpoint("epoch-1", 41)
    if backend == "memory":
        reopened = PartitionStore(0, shared)
    else:
        store.close()
        reopened = open_store()
    assert reopened.checkpoint() == Checkpoint("epoch-1", 41)
    assert [s.object_id for s in reopened.waiting_stars()] == ["waiting"]
    assert reopened.get("done").classified.predicted_class == "RRab" and reopened.get("nobody") is None
    assert reopened.n_stars == 2
    reopened.star("done"), reopened.star("new")
    assert reopened.n_stars == 3                                           # a known star is not counted again
    reopened.wipe()
    assert reopened.checkpoint() is None and reopened.get("done") is None and reopened.n_stars == 0
    reopened.close()


def test_policy_growth_staleness_and_pause():
    policy = ReclassifyPolicy(min_new_points=1, growth_fraction=0.05, max_delay_s=10, idle_s=1)
    assert policy.points_needed(0) == 1 and policy.points_needed(200) == 10 and policy.points_needed(2000) == 100
    assert policy.points_needed(201) == 11                      # rounds up
    star = StarState("s", 0)
    for t in range(200):
        star.add(_obs(float(t)))
    star.mark_classified(Classified(star.digest, 200, "EW", 99_900))   # published at 99.9 s
    assert policy.reason(star, 0.0) is None                    # nothing new
    for t in range(200, 205):
        star.add(_obs(float(t)))
        star.mark_changed(now=100.0 + 0.1 * (t - 200), ingest_ms=t, alert_id=str(t))
    assert policy.reason(star, 100.5) is None                  # 5 of 10 new points, fresh, still arriving
    assert policy.reason(star, 101.5) == "idle"                # alerts paused for a second
    star.last_change = 100.5
    assert policy.reason(star, 101.5) == "idle"                # exactly idle_s quiet: due
    assert policy.reason(star, 101.25) is None                 # a quarter second short
    star.last_change = 109.9
    assert policy.reason(star, 110.0) == "stale"               # still arriving, but the oldest is 10 s old
    for t in range(205, 210):
        star.add(_obs(float(t)))
        star.mark_changed(now=100.5, ingest_ms=t, alert_id=str(t))
    assert policy.reason(star, 100.5) == "growth"
    assert policy.reason(star, 100.5, backlog=True) is None     # catching up: growth does not count
    assert policy.reason(star, 101.6, backlog=True) == "idle"   # ... a pause still does
    star.last_change = 109.9
    assert policy.reason(star, 110.0, backlog=True) == "stale"
    with pytest.raises(ValueError):
        ReclassifyPolicy(min_new_points=0)


def test_policy_fresh_alerts_settling_and_the_choice_of_period_search():
    policy = ReclassifyPolicy(idle_s=1.0, settle_s=30.0, refresh_fraction=0.1)
    star = StarState("s", 0)
    for t in range(100):
        star.add(_obs(float(t)))
    star.mark_classified(Classified(star.digest, 100, "RRab", 1_000_000, (2.0, 1.0), 100, 0.9, True, 0.5))
    star.add(_obs(200.0))
    star.mark_changed(now=1_005.0, ingest_ms=1, alert_id="x")         # quiet for 5 s before: a survey's cadence
    assert policy.reason(star, 1_005.0) == "fresh"
    assert policy.reason(star, 1_005.0, backlog=True) is None           # not while catching up
    assert not policy.full_search(star, "fresh")                         # 101 < 1.1 x 100: the fast path
    assert policy.full_search(star, "idle") and policy.full_search(star, "settle")
    for t in range(201, 211):
        star.add(_obs(float(t)))
    assert policy.full_search(star, "growth")                            # grew by 10 %: new resolution
    star.mark_classified(Classified(star.digest, 111, "RRab", 1_006_000, (2.0,), 100, 0.9, False, 0.5))
    assert policy.reason(star, 1_020.0) is None and policy.reason(star, 1_036.0) == "settle"
    assert policy.reason(star, 1_036.0, backlog=True) is None
    star.classified.exact = True
    assert policy.reason(star, 1_036.0) is None                          # settled: nothing to do
    fresh = StarState("new", 0)
    assert policy.full_search(fresh, "growth")                           # no candidates yet
    with pytest.raises(ValueError):
        ReclassifyPolicy(explained_drop=2.0)


def test_a_store_waits_for_its_previous_holder_to_let_go(tmp_path):
    """In a rebalance on one machine the new owner may open a partition's store before the old
    owner has closed it: opening waits for the lock instead of crashing the consumer."""
    import threading

    first = RocksBackend(tmp_path / "db")
    first.write({b"k": b"v"})
    with pytest.raises(Exception, match="(?i)lock"):
        RocksBackend(tmp_path / "db", lock_wait_s=0.0)                   # held: no wait, the error
    closer = threading.Timer(0.5, first.close)
    closer.start()
    second = RocksBackend(tmp_path / "db", lock_wait_s=10.0)             # waits for the close
    assert second.get(b"k") == b"v"
    second.close()
    closer.join()


@pytest.mark.parametrize("field, edge, beyond", [
    ("min_new_points", 1, 0), ("growth_fraction", 0.0, -0.01), ("max_delay_s", 0.0, -0.01),
    ("idle_s", 0.0, -0.01), ("settle_s", 0.0, -0.01), ("refresh_fraction", 0.0, -0.01),
    ("explained_drop", 0.0, -0.01), ("explained_drop", 1.0, 1.01)])
def test_policy_settings_are_checked_at_their_edges(field, edge, beyond):
    assert getattr(ReclassifyPolicy(**{field: edge}), field) == edge               # the edge itself is valid
    with pytest.raises(ValueError, match="invalid reclassification policy"):
        ReclassifyPolicy(**{field: beyond})


def test_policy_defaults_are_the_documented_ones():
    p = ReclassifyPolicy()
    assert (p.min_new_points, p.growth_fraction, p.max_delay_s, p.idle_s, p.settle_s, p.refresh_fraction,
            p.explained_drop) == (1, 0.05, 10.0, 1.0, 30.0, 0.1, 0.1)
    assert p.points_needed(100) == 5 and p.points_needed(101) == 6 and p.points_needed(0) == 1


def test_every_changelog_record_restores_exactly_what_was_recorded():
    """Each kind of change, through the real Avro codec, rebuilds the same star field by field."""
    live = StarState("s", 3)
    changes = []
    for o in (_obs(5.0, 15.2, band="V", alert="x"), _obs(2.0, 15.1), Observation(3.0, "g", 14.9, 0.03, "late", 1)):
        assert live.add(o)
        changes.append(observation_change("s", o))
    live.latest_alert = ("x5.0", 1_700_000_000_005)          # the newest ingest time, not the last applied
    catalogue = {"ra_deg": 10.5, "dec_deg": -3.25, "parallax_mas": 1.2, "ruwe": 1.0}
    assert live.set_catalogue({**catalogue, "distance_pc": None, "unknown": 5.0})   # nulls and unknown keys dropped
    changes.append(catalogue_change("s", catalogue))
    c = Classified(live.digest, 3, "RRab", 1_700_000_000_999, (2.5, 1.25), 2, 0.75, False, 0.4)
    live.mark_classified(c)
    changes.append(classified_change("s", c))
    restored = StarState("s", 3)
    for change in changes:
        record = decode("state", encode("state", change))
        apply_change(restored, record)
        apply_change(restored, record)                         # idempotent
    assert restored.digest == live.digest and restored.catalogue == catalogue
    assert restored.latest_alert == ("x5.0", 1_700_000_000_005)
    assert np.array_equal(restored.mjd, [2.0, 3.0, 5.0]) and np.array_equal(restored.mag, [15.1, 14.9, 15.2])
    assert restored.lightcurve().aux["band"].tolist() == ["g", "g", "V"]
    assert np.array_equal(restored.ingest_ms, live.ingest_ms)
    assert restored.classified == c and restored.classified.candidates == (2.5, 1.25)


def test_one_definition_of_the_star_record_matches_the_schema():
    """The changelog's Observation and Classified records are the dataclasses, field for field and
    default for default, and the local store keeps the same Classified record."""
    import json
    from dataclasses import MISSING, fields

    from varstream.stream.codec import schema_json
    from varstream.stream.state import Observation, decode_star, encode_star

    schema = json.loads(schema_json("state"))
    parts = {f["name"]: next(t for t in f["type"] if isinstance(t, dict)) for f in schema["fields"]
             if isinstance(f["type"], list) and any(isinstance(t, dict) for t in f["type"])}
    for cls, name in ((Observation, "observation"), (Classified, "classified")):
        avro = parts[name]["fields"]
        assert [f["name"] for f in avro] == [f.name for f in fields(cls)]
        for a, f in zip(avro, fields(cls)):
            if f.default is not MISSING:
                assert tuple(a["default"]) == f.default if isinstance(f.default, tuple) else a["default"] == f.default
            else:
                assert "default" not in a
    star = StarState("s", 0)
    star.add(_obs(1.0))
    star.mark_classified(Classified(star.digest, 1, "EW", 5, (1.5,), 1, 0.5, False, 0.66))
    assert decode_star(encode_star(star)).classified == star.classified
    change = classified_change("s", star.classified)
    assert decode("state", encode("state", change))["classified"] == star.classified.to_record()


def test_restored_stars_without_news_stay_quiet_and_unclassified_ones_wait_for_all_points():
    done = StarState("done", 0)
    for t in range(4):
        done.add(_obs(float(t)))
    done.mark_classified(Classified(done.digest, 4, "EW", 1_700_000_000_003))
    done.mark_restored(now=50.0)
    assert not done.unclassified and done.unclassified_observations == 0 and done.unclassified_since is None
    never = StarState("never", 0)
    for t in range(3):
        never.add(_obs(float(t)))                  # ingest times 1_700_000_000_000 + t
    never.mark_restored(now=60.0)
    assert never.unclassified_observations == 3 and never.unclassified_since == 60.0 and never.last_change == 60.0
    assert never.first_unclassified_ingest_ms == 1_700_000_000_000          # the oldest point waits longest
    late = StarState("late", 0)
    for t in range(5):
        late.add(_obs(float(t)))
    late.mark_classified(Classified("stale-digest", 5, "EW", 1_700_000_000_010))  # classified, then changed
    late.latest_alert = ("a9", 1_700_000_000_009)
    late.mark_restored(now=70.0)
    assert late.unclassified_observations == 0 and late.unclassified_since == 70.0         # same count, other points
    assert late.first_unclassified_ingest_ms == 1_700_000_000_009          # nothing newer than the classification
