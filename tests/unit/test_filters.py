"""RecordFilter: the one subscription filter of tail, history and the explorer."""

import pytest

from varstream.stream.filters import RecordFilter


def _rec(cls, fam, p):
    return {"predicted_class": cls, "family": fam, "probabilities": [{"label": cls, "probability": p},
                                                                     {"label": "x", "probability": 1 - p}]}


def test_classes_families_and_probability():
    f = RecordFilter.parse("RRab, RRc", "", 0.8)
    assert f.active and f.matches_record(_rec("RRab", "RR", 0.9)) and f.matches_record(_rec("RRc", "RR", 0.8))
    assert not f.matches_record(_rec("RRab", "RR", 0.79)) and not f.matches_record(_rec("EW", "ECL", 0.95))
    g = RecordFilter.parse(None, "CEP", None)
    assert g.matches_record(_rec("ACEP", "CEP", 0.3)) and not g.matches_record(_rec("RRab", "RR", 0.99))
    assert not RecordFilter().active and RecordFilter().matches_record(_rec("EW", "ECL", 0.1))
    with pytest.raises(ValueError, match="within 0..1"):
        RecordFilter.parse(min_prob=1.5)
