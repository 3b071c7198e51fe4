"""Hostile alert bytes: the decoder and the checks only ever answer with a reason, never crash."""

import math
import random
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from varstream.stream.codec import DecodeError, decode, encode
from varstream.stream.validate import Rejection, ValidAlert, validate_alert

GOOD = {"alert_id": "a1", "object_id": "J1", "source": {"mjd": 58000.5, "band": "g", "mag": 14.0, "mag_err": 0.02},
        "prev_sources": [{"mjd": 57990.5, "band": "V", "mag": 13.6, "mag_err": 0.03}],
        "catalogue": {"ra_deg": 1.0, "dec_deg": 2.0, "parallax_mas": 1.5, "parallax_error_mas": 0.1,
                      "ruwe": 1.0, "distance_pc": None, "distance_error_pc": None}}


def _zigzag(n: int) -> bytes:
    """Avro's variable-length zig-zag long."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        out.append(b | (0x80 if z else 0))
        if not z:
            return bytes(out)


def hostile_messages(n: int, seed: int = 0) -> list[bytes]:
    """``n`` malformed or hostile alert messages of many kinds (truncations, bit flips, other
    schemas, absurd lengths and counts, NaN/inf, negative errors, random bytes)."""
    rng = random.Random(seed)
    good = encode("alert", GOOD)
    makers = [
        lambda: good[: rng.randrange(len(good))],                                     # truncated
        lambda: bytes(b ^ (1 << rng.randrange(8)) if rng.random() < 0.05 else b for b in good),  # bit flips
        lambda: rng.randbytes(rng.randrange(1, 300)),                                 # noise
        lambda: encode("deadletter", {"original": b"x", "original_key": None, "topic": "t", "partition": 0,
                                      "offset": 1, "reason": "r", "reason_code": "c", "dead_letter_time": 0}),
        lambda: _zigzag(rng.choice([2**40, 2**62, -5])) + good,                       # absurd string length
        lambda: good[:-1] + _zigzag(2**60) + struct.pack("<d", 1.0),                   # absurd count, little data
        lambda: encode("alert", {**GOOD, "source": {**GOOD["source"], "mag_err": rng.choice(
            [math.nan, math.inf, -math.inf, -0.01, 0.0, 1e300])}}),
        lambda: encode("alert", {**GOOD, "source": {**GOOD["source"], "mjd": rng.choice([math.nan, -1e9, 1e12])}}),
        lambda: encode("alert", {**GOOD, "source": {**GOOD["source"], "band": rng.choice(["", "X" * 1000, "\u00e9"])}}),
        lambda: encode("alert", {**GOOD, "object_id": rng.choice(["", "x" * 5000])}),
        lambda: encode("alert", {**GOOD, "prev_sources": [GOOD["source"]] * 10_001}),  # huge history
        lambda: good + rng.randbytes(rng.randrange(1, 20)),                           # trailing garbage
    ]
    return [makers[i % len(makers)]() for i in range(n)]


def outcome(data: bytes, key: bytes | None = b"J1"):
    try:
        alert = decode("alert", data)
    except DecodeError as exc:
        assert exc.code and str(exc)
        return exc.code
    checked = validate_alert(alert, key)
    assert isinstance(checked, Rejection | ValidAlert)
    return checked.code if isinstance(checked, Rejection) else "ok"


def test_thousands_of_hostile_messages_get_a_reason():
    results = [outcome(m) for m in hostile_messages(3000)]
    assert len(results) == 3000
    rejected = [r for r in results if r != "ok"]
    assert len(rejected) > 2700         # a random bit flip may still be a valid alert, nothing else may be
    assert {"undecodable", "schema_mismatch", "nonfinite", "nonpositive_error", "too_many_sources", "unknown_band",
            "bad_object_id", "absurd_time"} <= set(rejected)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash_the_decoder(data):
    outcome(data)
