"""sha256 digests of files (model files, dataset directories)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable


def _update(digest, path: Path) -> None:
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of one file's contents."""
    digest = hashlib.sha256()
    _update(digest, Path(path))
    return digest.hexdigest()


def sha256_files(paths: Iterable[Path]) -> str:
    """Hex sha256 over several files: each file's name, then its contents, in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        _update(digest, path)
    return digest.hexdigest()
