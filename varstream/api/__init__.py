"""Classify your own light curves: :func:`classify` one curve, :func:`classify_many` many.

The same exact path as ``varstream evaluate`` and the stream's exact classifications — the shared
pipeline (:func:`~varstream.lightcurve.pipeline.featurise`, with the settings of the shipped model
card) and :func:`~varstream.inference.load_classifier` — on numpy arrays, astropy tables or
:class:`~varstream.lightcurve.types.LightCurve` objects (:mod:`varstream.api.curves`). The
classifier (onnxruntime and the models) loads on first use and is kept for the process.
"""

from varstream.api.classify import Classification, classify, classify_many, default_classifier
from varstream.api.curves import to_lightcurve

__all__ = ["Classification", "classify", "classify_many", "default_classifier", "to_lightcurve"]
