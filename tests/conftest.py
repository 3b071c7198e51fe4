"""Shared fixtures: synthetic curves for unit tests, the real shared data for integration tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from varstream.lightcurve import LightCurve
from varstream.lightcurve.loaders.dataset import default_data_root


def synthetic_curve(object_id: str = "synthetic-1", n: int = 300, period: float = 0.57, amplitude: float = 0.4,
                    noise: float = 0.03, span: float = 2800.0, seed: int = 0, t0: float = 53500.0,
                    mean_mag: float = 15.0) -> LightCurve:
    """An irregularly sampled sinusoid-plus-harmonic variable (times in days, magnitudes in mag)."""
    rng = np.random.default_rng(seed)
    t = t0 + np.sort(rng.uniform(0.0, span, n))
    ph = 2 * np.pi * t / period
    mags = mean_mag + amplitude * (np.sin(ph) + 0.3 * np.sin(2 * ph + 0.7)) + rng.normal(0.0, noise, n)
    return LightCurve(object_id, t, mags, np.full(n, noise), "V", label="RRc")


@pytest.fixture
def curve() -> LightCurve:
    return synthetic_curve()


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = default_data_root()
    if root is None:
        pytest.fail("the shared data (../shared/data or $VARSTREAM_DATA) is required for integration tests")
    return root


@pytest.fixture(scope="session")
def catalina_dir(data_root: Path) -> Path:
    return data_root / "catalina"


@pytest.fixture(scope="session")
def asassn_dir(data_root: Path) -> Path:
    return data_root / "asassn"


@pytest.fixture(scope="session")
def gaia_dir(data_root: Path) -> Path:
    return data_root / "gaia_dr3"
