"""The Avro schemas in schemas/ parse, and a record round-trips through each."""

import json
from pathlib import Path

import fastavro
import pytest

from varstream.stream.codec import decode, encode

SCHEMAS = Path(__file__).resolve().parents[2] / "varstream" / "schemas"

EXAMPLES = {
    "alert.avsc": {"alert_id": "a1", "object_id": "J000022.54+590559.3",
                   "source": {"mjd": 60000.5, "band": "g", "mag": 15.2, "mag_err": 0.02},
                   "prev_sources": None, "catalogue": {"ra_deg": 0.09, "dec_deg": 59.1, "parallax_mas": 0.5,
                                                       "parallax_error_mas": 0.05, "ruwe": 1.0,
                                                       "distance_pc": None, "distance_error_pc": None}},
    "classification.avsc": {"object_id": "x", "alert_id": "a1",
                             "classifier": {"name": "rf", "version": "1", "model_sha256": "0" * 64,
                                            "feature_version": "1",
                                            "members": [{"name": "rf", "onnx_sha256": "0" * 64}]},
                             "probabilities": [{"label": "RRab", "probability": 0.9},
                                               {"label": "EW", "probability": 0.1}],
                             "predicted_class": "RRab", "family": "RR", "family_probability": 0.9,
                             "abs_mag": 0.6, "abs_mag_err": 0.1, "n_points": 120, "n_observations": 125,
                             "span_days": 2800.0, "period_days": 0.61, "exact": True, "period_fap": 1e-12,
                             "period_cycles": 4590.2, "bands": ["g", "r"], "nonperiodic_probability": 0.01,
                             "prior": "trained", "ingest_time": 1_700_000_000_000,
                             "first_ingest_time": 1_699_999_999_000, "publish_time": 1_700_000_000_100},
    "deadletter.avsc": {"original": b"\x00\x01", "original_key": None, "original_size": 2,
                        "original_sha256": "ab" * 32, "original_truncated": False, "topic": "alerts", "partition": 0,
                        "offset": 42, "reason": "message 42: undecodable Avro", "reason_code": "undecodable",
                        "dead_letter_time": 1_700_000_000_000},
    "state.avsc": {"object_id": "x", "observation": {"mjd": 60000.5, "band": "g", "mag": 15.0, "mag_err": 0.02,
                                                     "alert_id": "a1", "ingest_time": 1_700_000_000_000},
                   "catalogue_json": None, "epoch": None,
                   "classified": {"digest": 5, "n_observations": 3, "predicted_class": "EW", "publish_time": 1,
                                  "candidates": [2.5, 1.25], "full_observations": 3, "full_explained": 0.9,
                                  "exact": False, "period_days": 0.4, "window": [1.0, 1.0027]}},
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_schema_parses_documents_every_field_and_round_trips(name):
    raw = json.loads((SCHEMAS / name).read_text())
    schema = fastavro.parse_schema(raw)
    assert all(f.get("doc") for f in raw["fields"])
    assert schema["name"]
    kind = name.removesuffix(".avsc")
    assert decode(kind, encode(kind, EXAMPLES[name])) == EXAMPLES[name]   # timestamps stay integer ms


def test_a_classification_without_the_version_6_fields_gets_their_defaults():
    old = {k: v for k, v in EXAMPLES["classification.avsc"].items() if k not in ("period_fap", "period_cycles", "bands")}
    back = decode("classification", encode("classification", old))
    assert back["period_fap"] is None and back["period_cycles"] is None and back["bands"] == []


NEW_IN_VERSION_7 = ("nonperiodic_probability", "prior")


def test_a_classification_without_the_version_7_fields_gets_their_defaults():
    old = {k: v for k, v in EXAMPLES["classification.avsc"].items() if k not in NEW_IN_VERSION_7}
    back = decode("classification", encode("classification", old))
    assert back["nonperiodic_probability"] is None and back["prior"] == ""


def _old_schema() -> dict:
    raw = json.loads((SCHEMAS / "classification.avsc").read_text())
    raw["fields"] = [f for f in raw["fields"] if f["name"] not in NEW_IN_VERSION_7]
    return raw


def test_a_reader_holding_the_old_schema_resolves_new_records_but_schemaless_framing_cannot():
    import io

    new = fastavro.parse_schema(json.loads((SCHEMAS / "classification.avsc").read_text()))
    old = fastavro.parse_schema(_old_schema())
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, new, EXAMPLES["classification.avsc"])
    data = buf.getvalue()
    # with the writer's schema known (the registry wire format carries its id), schema resolution works
    resolved = fastavro.schemaless_reader(io.BytesIO(data), new, old)
    assert "nonperiodic_probability" not in resolved and resolved["period_days"] == 0.61
    # schemaless framing: the old schema read as the writer's stops early — bytes are left over,
    # which the codec rejects, so schemaless subscribers must take the new schema
    stream = io.BytesIO(data)
    fastavro.schemaless_reader(stream, old, old)
    assert stream.tell() < len(data)
