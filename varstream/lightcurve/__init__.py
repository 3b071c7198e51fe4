"""The light-curve science core shared by offline training and the stream.

The public entry points are re-exported here::

    from varstream.lightcurve import LightCurve, featurise, PipelineConfig
"""

from varstream.lightcurve.errors import LightCurveError
from varstream.lightcurve.types import LightCurve
from varstream.lightcurve.pipeline import (
    FEATURE_VERSION,
    Featurised,
    PipelineConfig,
    featurise,
    feature_names,
)

__all__ = [
    "FEATURE_VERSION",
    "Featurised",
    "LightCurve",
    "LightCurveError",
    "PipelineConfig",
    "featurise",
    "feature_names",
]
