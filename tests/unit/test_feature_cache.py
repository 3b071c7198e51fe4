"""The feature cache is keyed by the code that computed it, not only by the feature version."""

from varstream.offline import feature_cache
from varstream.offline.feature_cache import FeatureTable, cached_table, code_hash, source_hash


def _table() -> FeatureTable:
    return FeatureTable.empty(8)


def test_a_change_of_pipeline_code_is_a_cache_miss(tmp_path, monkeypatch):
    calls = []

    def build():
        calls.append(1)
        return _table()

    cached_table(tmp_path, "x", "k", build)
    cached_table(tmp_path, "x", "k", build)
    assert len(calls) == 1                                   # the same code: reused
    monkeypatch.setattr(feature_cache, "code_hash", lambda: "other code")
    cached_table(tmp_path, "x", "k", build)
    assert len(calls) == 2 and len(list(tmp_path.glob("x-fv*.npz"))) == 2


def test_code_hash_changes_with_any_lightcurve_module_or_the_emulation(tmp_path):
    (tmp_path / "lightcurve" / "loaders").mkdir(parents=True)
    (tmp_path / "offline").mkdir()
    files = [tmp_path / "lightcurve" / "period.py", tmp_path / "lightcurve" / "loaders" / "x.py",
             tmp_path / "offline" / "emulate.py", tmp_path / "offline" / "augment.py"]
    for f in files:
        f.write_text("a = 1\n")
    seen = {source_hash(tmp_path)}
    for f in files:
        f.write_text("a = 2\n")
        seen.add(source_hash(tmp_path))
    assert len(seen) == len(files) + 1
    assert len(code_hash()) == 64 and code_hash() == code_hash()
