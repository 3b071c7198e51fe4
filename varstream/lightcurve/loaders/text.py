"""Fast parsing of whitespace- or comma-separated numeric columns, tolerant of bad lines."""

from __future__ import annotations

import numpy as np


def parse_columns(data: bytes, n_cols: int, delimiter: bytes | None = None) -> tuple[np.ndarray, int]:
    """Parse rows of ``n_cols`` numbers; returns ``(array (rows, n_cols), bad lines skipped)``.

    The fast path converts the whole text at once; if any token is not a number or a row has the
    wrong width it falls back to line by line and skips (and counts) the lines that fail.
    Empty lines and lines starting with ``#`` are ignored.
    """
    text = data.replace(b"\r", b"")
    lines = [ln for ln in text.split(b"\n") if ln.strip() and not ln.lstrip().startswith(b"#")]
    if not lines:
        return np.empty((0, n_cols)), 0
    joined = b" ".join(lines) if delimiter is None else b" ".join(ln.replace(delimiter, b" ") for ln in lines)
    try:
        flat = np.array(joined.split(), dtype=np.float64)
        if flat.size == len(lines) * n_cols:
            return flat.reshape(-1, n_cols), 0
    except ValueError:
        pass
    rows, bad = [], 0
    for ln in lines:
        parts = ln.split(delimiter) if delimiter else ln.split()
        if len(parts) < n_cols:
            bad += 1
            continue
        try:
            rows.append([float(p) for p in parts[:n_cols]])
        except ValueError:
            bad += 1
    return (np.array(rows, dtype=np.float64).reshape(-1, n_cols), bad)
