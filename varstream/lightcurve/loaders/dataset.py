"""Dataset directories: recognise the layout, find the default data, iterate the curves."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from varstream.lightcurve.loaders import asassn, catalina
from varstream.lightcurve.types import LightCurve

KINDS = ("catalina", "asassn")


def default_data_root() -> Path | None:
    """Where the shared data lives: ``$VARSTREAM_DATA``, else ``../shared/data`` beside the
    repository checkout, else ``../shared/data`` from the working directory; None if none exists."""
    env = os.environ.get("VARSTREAM_DATA")
    candidates = [Path(env)] if env else []
    repo = Path(__file__).resolve().parents[3]
    candidates += [repo.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for path in candidates:
        if path.is_dir():
            return path
    return None


def default_dataset(name: str = "catalina") -> Path | None:
    """The default dataset directory of a kind (``<data root>/<name>``), if it exists."""
    root = default_data_root()
    if root is not None and (root / name).is_dir():
        return root / name
    return None


def detect_kind(directory: Path) -> str | None:
    """``"catalina"``, ``"asassn"`` or None from the files a directory holds."""
    if (directory / catalina.CATALOGUE).exists() and (directory / catalina.ARCHIVE).exists():
        return "catalina"
    if (directory / asassn.ARCHIVE).exists() or list(directory.glob("skypatrol_*.csv")):
        return "asassn"
    return None


@dataclass(frozen=True)
class Dataset:
    """A dataset directory of a known layout."""

    path: Path
    kind: str

    @property
    def name(self) -> str:
        return self.path.name

    def iter_lightcurves(self, limit: int | None = None, **options) -> Iterator[LightCurve]:
        """Stream the curves (``options`` go to the survey reader, e.g. ``era`` for ASAS-SN)."""
        if self.kind == "catalina":
            return catalina.iter_lightcurves(self.path, limit=limit, **options)
        return asassn.iter_lightcurves(self.path, limit=limit, **options)

    def catalogue_labels(self) -> dict[str, str | None]:
        """Star ID → class label from the catalogue alone (no light curves read)."""
        if self.kind == "catalina":
            return {k: e.label for k, e in catalina.read_catalogue(self.path / catalina.CATALOGUE).items()}
        path = self.path / asassn.CATALOGUE
        return {k: e.asassn_class for k, e in asassn.read_catalogue(path).items()} if path.exists() else {}

    def class_counts(self) -> Counter:
        return Counter(v for v in self.catalogue_labels().values() if v)


def open_dataset(path: str | Path) -> Dataset:
    """Open a dataset directory.

    Raises:
        FileNotFoundError: the directory does not exist.
        ValueError: the directory holds neither layout (the message lists what is expected).
    """
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise FileNotFoundError(f"dataset directory {directory} does not exist")
    kind = detect_kind(directory)
    if kind is None:
        raise ValueError(
            f"{directory} is not a dataset: expected either {catalina.CATALOGUE} + {catalina.ARCHIVE} "
            f"(Catalina layout) or {asassn.ARCHIVE} / skypatrol_*.csv with {asassn.CATALOGUE} (ASAS-SN layout)"
        )
    return Dataset(directory, kind)
