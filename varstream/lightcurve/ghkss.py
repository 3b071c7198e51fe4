"""GHKSS local-projective noise reduction (Grassberger, Hegger, Kantz, Schaffrath & Schreiber 1993).

The method of TISEAN's ``ghkss``: embed the scalar series in delay coordinates, and for every
delay vector project its deviation from the centre of its neighbourhood onto the directions of
least local variance (the "noise directions" orthogonal to the local manifold). Each scalar value
sits in ``dim`` delay vectors; its correction is the mean of the corrections of those coordinates.
A metric ``R`` with large weights on the first and last coordinates moves the corrections to the
middle coordinates, as in the original algorithm. No maintained Python package provides this, so
it is implemented here with scipy's cKDTree and validated against known clean signals in the tests.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def ghkss(x: np.ndarray, dim: int = 5, manifold_dim: int = 2, neighbours: int = 12,
          iterations: int = 2, end_weight: float = 1000.0, periodic: bool = False) -> np.ndarray:
    """Noise-reduced copy of a scalar series (same units as ``x``, e.g. magnitudes).

    Args:
        x: the series, evenly sampled in whatever ordering the caller chose (time, or phase).
        dim: embedding dimension m (delay 1).
        manifold_dim: dimension q of the local manifold kept; ``dim - q`` directions are projected out.
        neighbours: neighbours per delay vector (k nearest, the point itself included).
        iterations: passes of the projection; each pass uses the previous pass's output.
        end_weight: metric weight of the first and last delay coordinates (``R_00 = R_mm``).
        periodic: treat the series as circular (e.g. magnitudes sorted by phase), so both ends
            get full neighbourhoods.

    Returns:
        The corrected series, same length as ``x``. Series too short to embed are returned unchanged.
    """
    y = np.asarray(x, dtype=np.float64).copy()
    if not 0 < manifold_dim < dim:
        raise ValueError(f"need 0 < manifold_dim < dim, got {manifold_dim}, {dim}")
    n = y.size
    pad = dim - 1 if periodic else 0
    n_vec = n + pad - dim + 1
    k = min(neighbours, n_vec)
    if n_vec < max(2 * dim, manifold_dim + 2) or k <= manifold_dim:
        return y
    r = np.ones(dim)
    r[0] = r[-1] = end_weight
    offsets = np.arange(dim)
    for _ in range(iterations):
        ext = np.concatenate([y, y[:pad]]) if pad else y
        idx = np.arange(n_vec)[:, None] + offsets[None, :]
        vecs = ext[idx]                                   # (n_vec, dim)
        _, nb = cKDTree(vecs).query(vecs, k=k)
        nb = nb.reshape(n_vec, k)
        hood = vecs[nb]                                   # (n_vec, k, dim)
        centre = hood.mean(axis=1)                        # (n_vec, dim)
        dev = hood - centre[:, None, :]
        cov = np.einsum("nki,nkj->nij", dev, dev) / k
        gamma = cov * r[None, :, None] * r[None, None, :]
        _, eigvec = np.linalg.eigh(gamma)                 # ascending eigenvalues
        noise = eigvec[:, :, : dim - manifold_dim]        # (n_vec, dim, dim - q)
        w = (centre - vecs) * r[None, :]
        proj = np.einsum("nia,na->ni", noise, np.einsum("nia,ni->na", noise, w))
        theta = proj / r[None, :]
        pos = (idx % n if pad else idx).ravel()
        corr = np.bincount(pos, weights=theta.ravel(), minlength=n)
        count = np.bincount(pos, minlength=n)
        y = y + corr / np.maximum(count, 1.0)
    return y
