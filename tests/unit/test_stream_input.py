"""Alert decoding and checking, framing, key partitioning and Kafka settings: pure functions."""

import pytest

from varstream.stream.codec import DecodeError, decode, encode
from varstream.stream.kafka import kafka_settings_from_env, murmur2, parse_kafka_options, partition_for
from varstream.stream.validate import Rejection, ValidAlert, validate_alert
from varstream.stream.wire import WireFormat

ALERT = {"alert_id": "a1", "object_id": "J1", "source": {"mjd": 58000.5, "band": "g", "mag": 14.0, "mag_err": 0.02},
         "prev_sources": None, "catalogue": None}


def _alert(**source):
    return {**ALERT, "source": {**ALERT["source"], **source}}


def test_decode_is_strict():
    raw = encode("alert", ALERT)
    assert decode("alert", raw) == ALERT
    for data, code in ((b"", "empty"), (raw[:-3], "undecodable"), (raw + b"\x00\x01", "schema_mismatch"),
                       (b"\xff" * 2_000_000, "too_large")):
        with pytest.raises(DecodeError) as err:
            decode("alert", data)
        assert err.value.code == code


@pytest.mark.parametrize("source, code", [
    ({"mag_err": float("nan")}, "nonfinite"), ({"mag_err": -0.1}, "nonpositive_error"), ({"mag_err": 0.0}, "nonpositive_error"),
    ({"mag_err": 99.99}, "large_error"), ({"mjd": -5.0}, "absurd_time"), ({"mjd": float("inf")}, "nonfinite"),
    ({"mag": 99.0}, "absurd_mag"), ({"band": "Q"}, "unknown_band"),
])
def test_bad_sources_are_rejected_with_a_reason_naming_the_star(source, code):
    out = validate_alert(_alert(**source), b"J1")
    assert isinstance(out, Rejection) and out.code == code and "J1" in out.reason and "a1" in out.reason


def test_key_and_ids_are_checked_and_bad_history_points_are_dropped_and_counted():
    assert validate_alert(ALERT, b"J2").code == "key_mismatch"
    assert validate_alert(ALERT, None).code == "missing_key"
    assert validate_alert({**ALERT, "object_id": ""}, b"").code == "bad_object_id"
    prev = [{"mjd": 57000.0, "band": "V", "mag": 14.2, "mag_err": 0.03},
            {"mjd": 57001.0, "band": "V", "mag": 14.2, "mag_err": -1.0}]
    ok = validate_alert({**ALERT, "prev_sources": prev, "catalogue": {"parallax_mas": 2.0, "ruwe": float("nan")}}, b"J1")
    assert isinstance(ok, ValidAlert) and len(ok.sources) == 2 and ok.dropped == {"nonpositive_error": 1}
    assert ok.catalogue == {"parallax_mas": 2.0}


def test_murmur2_matches_kafkas_own_test_vectors():
    # org.apache.kafka.common.utils.UtilsTest.testMurmur2
    cases = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
             b"a-little-bit-longer-string": -1486304829,
             b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971, b"abc": 479470107}
    assert {k: murmur2(k) for k in cases} == cases
    assert all(0 <= partition_for(k, 4) < 4 for k in cases)


def test_kafka_settings_pass_through():
    env = {"VARSTREAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "VARSTREAM_KAFKA_SASL_USERNAME": "u", "HOME": "/x"}
    assert kafka_settings_from_env(env) == {"security.protocol": "SASL_SSL", "sasl.username": "u"}
    assert parse_kafka_options(["ssl.ca.location=/ca.pem", "a=b=c"]) == {"ssl.ca.location": "/ca.pem", "a": "b=c"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_kafka_options(["nonsense"])


def test_confluent_wire_format_round_trips_through_a_registry():
    from tests.fake_registry import FakeRegistry
    from varstream.stream.wire import RegistryError

    with FakeRegistry() as registry:
        wire = WireFormat(registry.url)
        raw = wire.encode("alert", ALERT, "alerts")
        assert raw[0] == 0 and int.from_bytes(raw[1:5], "big") == 1 and registry.subjects == {"alerts-value": [1]}
        assert wire.decode("alert", raw) == ALERT
        assert WireFormat(registry.url).decode("alert", raw) == ALERT          # a reader with an empty cache
        with pytest.raises(DecodeError) as err:
            wire.decode("alert", encode("alert", ALERT))           # schemaless bytes: no magic byte
        assert err.value.code == "bad_framing"
        with pytest.raises(DecodeError) as err:
            wire.decode("alert", b"\x00\x00\x00\x00\x63" + encode("alert", ALERT))
        assert err.value.code == "unknown_schema"
        with pytest.raises(DecodeError) as err:
            wire.decode("alert", b"\x00\x00\x00\x00\x01" + b"\xff" * 3)      # the alert schema, junk record
        assert err.value.code == "schema_mismatch"
        url = registry.url
    with pytest.raises(RegistryError):                             # the registry is gone: not the message's fault
        WireFormat(url).decode("alert", raw)


def test_pass_through_settings_cannot_switch_off_what_delivery_depends_on(monkeypatch, caplog):
    """VARSTREAM_KAFKA_* and --kafka pass through, but not over a protected setting varstream sets
    (auto-commit would commit before the output is delivered; another partitioner would hide a
    star's history): the ignored value is named in a warning."""
    from varstream.stream.kafka import PROTECTED, KafkaConfig
    monkeypatch.setenv("VARSTREAM_KAFKA_ENABLE_AUTO_COMMIT", "true")
    monkeypatch.setenv("VARSTREAM_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    kafka = KafkaConfig("127.0.0.1:9092", {"partitioner": "consistent", "acks": "1", "linger.ms": "50"})
    with caplog.at_level("WARNING", logger="varstream.stream.kafka"):
        consumer = kafka.client(**{"group.id": "g", "enable.auto.commit": False})
        producer = kafka.producer()
    assert consumer["enable.auto.commit"] is False and consumer["security.protocol"] == "SASL_SSL"
    assert producer["partitioner"] == "murmur2_random" and producer["acks"] == "all" and producer["linger.ms"] == "50"
    assert producer["enable.idempotence"] is True
    warned = caplog.text
    assert "enable.auto.commit=true ignored" in warned and "partitioner=consistent ignored" in warned
    assert "acks=1 ignored" in warned
    assert {"enable.auto.commit", "enable.idempotence", "acks", "partitioner", "isolation.level", "group.id"} <= PROTECTED
    # a protected key varstream does not set passes through (e.g. a reader's isolation level)
    assert kafka.client(**{"group.id": "t"}).get("isolation.level") is None
    assert KafkaConfig("b", {"isolation.level": "read_committed"}).client()["isolation.level"] == "read_committed"
