"""Fixtures of the stream integration tests: a real tansu broker per module, real ASAS-SN curves
and their offline predictions."""

import pytest

from tests.integration.streamkit import STARS, offline_predictions
from varstream.stream.broker import EmbeddedBroker
from varstream.stream.replay import replay_curves


@pytest.fixture(scope="module")
def broker():
    with EmbeddedBroker() as b:
        yield b


@pytest.fixture(scope="module")
def curves(asassn_dir):
    return replay_curves(asassn_dir, STARS)


@pytest.fixture(scope="module")
def offline(asassn_dir, curves):
    return offline_predictions(asassn_dir, {c.object_id for c in curves}, STARS)
