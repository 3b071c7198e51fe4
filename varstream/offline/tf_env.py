"""Import TensorFlow the way the trainers need it: Keras 2 (tf_keras), which both TensorFlow
Decision Forests and tf2onnx require, and quiet logs. Import TensorFlow only through here."""

from __future__ import annotations

import os


def tensorflow():
    """The ``tensorflow`` module, configured (TF_USE_LEGACY_KERAS=1, warnings only)."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # TF-DF prints a banner through IPython when stdout is not a terminal (pytest, CI, pipes)
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # CPU training; no CUDA probing noise
    try:
        import tensorflow as tf
    except ImportError:
        raise ImportError("training needs the train extra: pip install 'varstream[train]'") from None
    tf.get_logger().setLevel("ERROR")
    return tf
