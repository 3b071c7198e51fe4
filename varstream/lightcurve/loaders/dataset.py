"""Dataset directories: recognise the layout, find the default data, iterate the curves."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from varstream.lightcurve.loaders import asassn, catalina, gaia_epoch
from varstream.lightcurve.types import LightCurve

#: Dataset layouts, and the directory name of each under the shared data root.
KINDS = ("catalina", "asassn", "gaia")
DEFAULT_DIRS = {"catalina": "catalina", "asassn": "asassn", "gaia": "gaia_dr3"}


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
    """The default dataset directory of a layout (``<data root>/<its directory>``), if it exists."""
    root = default_data_root()
    folder = DEFAULT_DIRS.get(name, name)
    if root is not None and (root / folder).is_dir():
        return root / folder
    return None


def detect_kind(directory: Path) -> str | None:
    """``"catalina"``, ``"asassn"`` or None from the files a directory holds."""
    if (directory / catalina.CATALOGUE).exists() and (directory / catalina.ARCHIVE).exists():
        return "catalina"
    if (directory / asassn.ARCHIVE).exists() or list(directory.glob("skypatrol_*.csv")):
        return "asassn"
    if (directory / gaia_epoch.CATALOGUE).exists() and (directory / gaia_epoch.ARCHIVE).exists():
        return "gaia"
    return None


@dataclass(frozen=True)
class Dataset:
    """A dataset directory of a known layout."""

    path: Path
    kind: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def _reader(self):
        return {"catalina": catalina, "asassn": asassn, "gaia": gaia_epoch}[self.kind]

    def iter_lightcurves(self, limit: int | None = None, ids: Iterable[str] | None = None,
                         **options) -> Iterator[LightCurve]:
        """Stream the curves (``ids``: only these stars; ``options`` go to the survey reader, e.g.
        ``era`` for ASAS-SN)."""
        return self._reader.iter_lightcurves(self.path, limit=limit, ids=ids, **options)

    def count(self, limit: int | None = None) -> int:
        """How many curves :meth:`iter_lightcurves` yields (at most ``limit``): a progress total."""
        n = self._reader.count_lightcurves(self.path)
        return n if limit is None else min(n, limit)

    def catalogue_labels(self) -> dict[str, str | None]:
        """Star ID → class label (normalised, see :func:`~varstream.lightcurve.taxonomy.normalise_label`)
        from the catalogue alone (no light curves read)."""
        if self.kind == "catalina":
            return {k: e.label for k, e in catalina.read_catalogue(self.path / catalina.CATALOGUE).items()}
        if self.kind == "gaia":
            return {k: e.family or None for k, e in gaia_epoch.read_catalogue(self.path / gaia_epoch.CATALOGUE).items()}
        path = asassn.catalogue_path(self.path)
        return {k: e.label or None for k, e in asassn.read_catalogue(path).items()} if path.exists() else {}

    @property
    def family_labels(self) -> bool:
        """The labels are families (RR, CEP, ECL, …), not classes: the Gaia layout."""
        return self.kind == "gaia"

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
            f"{directory} is not a dataset: expected {catalina.CATALOGUE} + {catalina.ARCHIVE} (Catalina "
            f"layout), {asassn.ARCHIVE} / skypatrol_*.csv with {asassn.CATALOGUE} (ASAS-SN layout) or "
            f"{gaia_epoch.CATALOGUE} + {gaia_epoch.ARCHIVE} (Gaia epoch-photometry layout)"
        )
    return Dataset(directory, kind)
