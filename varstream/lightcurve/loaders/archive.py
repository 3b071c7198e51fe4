"""Reading light-curve files straight out of a ``.tar.gz`` archive, streaming, without unpacking."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Callable, Iterable, Iterator


def count_members(archive: str | Path, suffix: str) -> int:
    """How many files ending in ``suffix`` the archive holds (listed, not read)."""
    with tarfile.open(archive, mode="r:gz") as tar:
        return sum(1 for m in tar if m.isfile() and m.name.endswith(suffix))


def iter_members(archive: str | Path, suffix: str, ids: Iterable[str] | None = None,
                 name_to_id: Callable[[str], str] = lambda name: Path(name).stem) -> Iterator[tuple[str, bytes]]:
    """``(star id, file bytes)`` of every file ending in ``suffix``, in archive order; ``ids``: only
    these stars (the others are skipped unread); ``name_to_id`` turns a member name into a star id."""
    wanted = set(ids) if ids is not None else None
    with tarfile.open(archive, mode="r:gz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(suffix):
                continue
            object_id = name_to_id(member.name)
            if wanted is not None and object_id not in wanted:
                continue
            fh = tar.extractfile(member)
            if fh is not None:
                yield object_id, fh.read()
