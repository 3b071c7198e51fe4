"""The package's layers, checked on every import statement (module level and inside functions):
``lightcurve`` at the bottom; ``priors`` (numbers only) beside it; ``inference`` and ``modelcard`` above them; ``stream``, ``offline`` and
``api`` (classify your own curves) side by side, none importing another; ``view`` above them; the CLI on top. Nothing imports
upwards."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "varstream"

#: What each layer may import from varstream (besides itself).
ALLOWED = {
    "lightcurve": {"lightcurve"},
    "hashing": set(),
    "priors": set(),
    "modelcard": {"hashing"},
    "inference": {"lightcurve", "modelcard", "hashing", "priors"},
    "stream": {"lightcurve", "inference", "modelcard", "hashing", "priors"},
    "offline": {"lightcurve", "inference", "modelcard", "hashing", "priors"},
    "api": {"lightcurve", "inference", "modelcard", "hashing", "priors"},
    "view": {"lightcurve", "inference", "modelcard", "hashing", "priors", "stream"},
    "cli": {"lightcurve", "inference", "modelcard", "hashing", "priors", "stream", "offline", "view", "api"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """The varstream layers a module imports."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + ([f"{node.module}.{a.name}" for a in node.names] if node.module == "varstream"
                                     else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "varstream" and len(parts) > 1 and parts[1] != "__version__":   # the package's own
                out.add(parts[1])
    return out


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if _layer(p) in ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_layer_above_or_beside_it(path):
    layer = _layer(path)
    bad = _imports(path) - ALLOWED[layer] - {layer}
    assert not bad, f"{path.relative_to(PACKAGE)} ({layer}) imports {sorted(bad)}"


def test_every_module_belongs_to_a_layer():
    top = {_layer(p) for p in PACKAGE.rglob("*.py")} - {"__init__", "__main__"}
    assert top <= set(ALLOWED), top - set(ALLOWED)
