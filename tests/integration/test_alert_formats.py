"""Survey alert packets: the real ZTF packets of ../shared/data/alerts/ztf, the sample alerts of every
schema version lsst-alert-packet ships, hostile variants of each, and the end-to-end run
``replay --format ztf`` → ``serve --input-format ztf`` on the real broker with offline parity."""

from __future__ import annotations

import io
import math
from pathlib import Path

import fastavro
import pytest
from confluent_kafka import Producer

from tests.integration.streamkit import FAST_POLICY, Collector, Serve, dead_letters, metric_value, topics_for
from varstream.stream.codec import DecodeError
from varstream.stream.formats import (
    ZTF_MAX_DISTNR,
    AlertReader,
    AlertWriter,
    LsstSchemas,
    NoObservations,
    ztf_observation,
)
from varstream.stream.kafka import KafkaConfig, ensure_topics
from varstream.stream.replay import replay

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ztf_packets(data_root: Path) -> dict[str, bytes]:
    files = sorted((data_root / "alerts" / "ztf").glob("*.avro"))
    assert len(files) == 2
    return {f.name: f.read_bytes() for f in files}


def _record(data: bytes) -> tuple[dict, dict]:
    reader = fastavro.reader(io.BytesIO(data))
    return next(reader), reader.writer_schema


def _container(record: dict, schema: dict) -> bytes:
    buf = io.BytesIO()
    fastavro.writer(buf, schema, [record])
    return buf.getvalue()


def test_real_ztf_packets_become_total_magnitudes(ztf_packets):
    reader = AlertReader("ztf")
    packets = {name: reader.read(data) for name, data in ztf_packets.items()}
    a = packets["2019_01_10_739260766315010006.avro"]
    assert a.alert["object_id"] == "ZTF17aaacxxf" and a.alert["alert_id"] == "739260766315010006"
    sources = [a.alert["source"]] + a.alert["prev_sources"]
    assert len(sources) == 22 and a.skipped == {"non_detection": 6, "no_reference_source": 1}
    assert {s["band"] for s in sources} == {"g", "r"}
    record, _ = _record(ztf_packets["2019_01_10_739260766315010006.avro"])
    c = record["candidate"]                        # isdiffpos "f": fainter than the reference source
    expected = -2.5 * math.log10(10 ** (-0.4 * c["magnr"]) - 10 ** (-0.4 * c["magpsf"]))
    assert a.alert["source"]["mag"] == pytest.approx(expected, abs=1e-9) and c["isdiffpos"] == "f"
    assert a.alert["source"]["mjd"] == pytest.approx(c["jd"] - 2400000.5)
    assert 0 < a.alert["source"]["mag_err"] < 0.1
    b = packets["472263571115115000.avro"]          # one detection, eleven upper limits
    assert b.alert["object_id"] == "ZTF17aaajnnn" and b.alert["prev_sources"] is None
    assert b.skipped == {"non_detection": 11}


def test_ztf_detection_rules():
    good = {"magpsf": 18.0, "sigmapsf": 0.1, "magnr": 16.0, "sigmagnr": 0.01, "isdiffpos": "t", "distnr": 0.5,
            "rb": 0.8, "fid": 1, "jd": 2458000.5}
    obs, _ = ztf_observation(good)
    assert obs["band"] == "g" and obs["mjd"] == 58000.0 and obs["mag"] < 16.0
    for change, why in (({"magpsf": None}, "non_detection"), ({"distnr": ZTF_MAX_DISTNR + 0.1}, "no_reference_source"),
                        ({"magnr": None}, "no_reference_source"), ({"rb": 0.1}, "real_bogus"), ({"fid": 7}, "unknown_band"),
                        ({"isdiffpos": "f", "magpsf": 15.0}, "nonpositive_flux")):
        assert ztf_observation({**good, **change}) == (None, why)


def test_hostile_ztf_packets_get_a_reason(ztf_packets):
    reader = AlertReader("ztf")
    data = ztf_packets["2019_01_10_739260766315010006.avro"]
    record, schema = _record(data)
    for bad, code in ((data[: len(data) // 2], "undecodable"), (b"", "empty"), (b"\x00\x01garbage", "undecodable")):
        with pytest.raises(DecodeError) as err:
            reader.read(bad)
        assert err.value.code == code
    nulls = {**record, "candidate": {**record["candidate"], "distnr": 99.0},   # the schema's candidate magpsf is not nullable
             "prv_candidates": [dict(p, magpsf=None) for p in record["prv_candidates"]]}
    with pytest.raises(NoObservations, match="no detection"):
        reader.read(_container(nulls, schema))       # only upper limits: nothing to add, not bad input
    other = {"type": "record", "name": "other", "fields": [{"name": "x", "type": "int"}]}
    with pytest.raises(DecodeError) as err:
        reader.read(_container({"x": 1}, other))     # another schema
    assert err.value.code == "schema_mismatch"


def test_every_lsst_schema_versions_sample_alert_is_read():
    import lsst.alert.packet as lap

    reader = AlertReader("lsst")
    versions = LsstSchemas.versions()
    assert len(versions) >= 10 and max(versions) == lap.get_latest_schema_version()
    for major, minor in versions:
        sample = Path(lap.get_schema_path(major, minor)) / "sample_data" / "fakeAlert.avro"
        record, _ = _record(sample.read_bytes())
        for data in (sample.read_bytes(),                                        # container
                     b"\0" + (100 * major + minor).to_bytes(4, "big") + reader.lsst.schema(100 * major + minor).serialize(record)):
            packet = reader.read(data)
            s = record["diaSource"]
            flux = s.get("psfFlux", s.get("psFlux"))
            assert packet.alert["source"]["mag"] == pytest.approx(31.4 - 2.5 * math.log10(flux))
            assert packet.alert["source"]["band"] == s.get("band", s.get("filterName"))
            assert packet.alert["object_id"] == str(record["diaObject"]["diaObjectId"])


def test_hostile_lsst_packets_get_a_reason():
    import lsst.alert.packet as lap

    reader = AlertReader("lsst")
    major, minor = lap.get_latest_schema_version()
    sample = Path(lap.get_schema_path(major, minor)) / "sample_data" / "fakeAlert.avro"
    record, _ = _record(sample.read_bytes())
    schema = reader.lsst.schema(100 * major + minor)

    def framed(rec, schema_id=100 * major + minor):
        return b"\0" + schema_id.to_bytes(4, "big") + schema.serialize(rec)

    good = framed(record)
    cases = [(good[: len(good) // 2], "undecodable"), (b"\0" + (9999).to_bytes(4, "big") + good[5:], "unknown_schema"),
             (b"\x07junk", "bad_framing"), (b"", "empty")]
    for data, code in cases:
        with pytest.raises(DecodeError) as err:
            reader.read(data)
        assert err.value.code == code, data[:20]
    negative = {**record, "diaSource": {**record["diaSource"], "psfFlux": -50.0, "scienceFlux": None},
                "prvDiaSources": None}
    with pytest.raises(NoObservations, match="positive flux"):
        reader.read(framed(negative))
    older = framed(record, 100 * 7 + 1)                  # bytes of one version announced as another
    with pytest.raises(DecodeError):
        reader.read(older)


def test_ztf_replay_is_classified_like_the_stream_format(broker, catalina_dir, tmp_path):
    from tests.integration.streamkit import assert_matches_offline
    from varstream.inference import default_models_dir, load_classifier
    from varstream.lightcurve import featurise
    from varstream.lightcurve.loaders.dataset import open_dataset

    curves = list(open_dataset(catalina_dir).iter_lightcurves(limit=4))
    classifier = load_classifier(default_models_dir())
    offline = {}
    for lc in curves:
        f = featurise(lc)
        offline[lc.object_id] = classifier.predict_proba(f.features.values[None], f.sequence[None],
                                                         [f.n_points])[0]
    kafka, topics = KafkaConfig(broker.bootstrap), topics_for("ztf")
    ensure_topics(kafka, topics, 4)
    serve = Serve(broker.bootstrap, topics, tmp_path, "--input-format", "ztf", *FAST_POLICY)
    collector = Collector(kafka, topics)
    try:
        report = replay(curves, kafka, topics.alerts, progress=False, fmt="ztf")
        producer = Producer(kafka.producer())
        producer.produce(topics.alerts, b"not a ZTF packet", curves[0].object_id.encode())
        assert producer.flush(10) == 0
        assert collector.wait(report.observations, 240, [serve]), serve.output()[-3000:]
        page = serve.metrics()
    finally:
        assert serve.stop() == 0
        collector.close()
    assert_matches_offline(collector.latest, offline)          # single-band curves: parity to 1e-5
    assert [d["reason_code"] for d in dead_letters(kafka, topics, 1)] == ["undecodable"]
    assert metric_value(page, "varstream_observations_accepted_total") == sum(report.observations.values())
    assert AlertWriter("ztf").key({"object_id": "x"}) == b"x"


def test_the_real_ztf_packets_go_through_the_broker(broker, ztf_packets, tmp_path):
    kafka, topics = KafkaConfig(broker.bootstrap), topics_for("ztfreal")
    ensure_topics(kafka, topics, 4)
    producer = Producer(kafka.producer())
    for data in ztf_packets.values():
        record, _ = _record(data)
        producer.produce(topics.alerts, data, record["objectId"].encode())
    assert producer.flush(10) == 0
    serve = Serve(broker.bootstrap, topics, tmp_path, "--input-format", "ztf", *FAST_POLICY)
    collector = Collector(kafka, topics)
    try:
        assert collector.wait({"ZTF17aaacxxf": 22}, 120, [serve]), serve.output()[-3000:]
        page = serve.metrics()
    finally:
        assert serve.stop() == 0
        collector.close()
    rec = collector.latest["ZTF17aaacxxf"]                       # 22 detections in g and r: classified
    assert rec["n_observations"] == 22 and rec["predicted_class"] and rec["family"]
    assert "ZTF17aaajnnn" not in collector.latest                # one detection: too few points to classify
    assert metric_value(page, "varstream_observations_accepted_total") == 23
    assert metric_value(page, "varstream_points_dropped_total", 'reason="non_detection"') == 17
