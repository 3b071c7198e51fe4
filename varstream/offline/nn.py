"""The MLP (on feature vectors) and the bidirectional GRU (on phase-folded sequences), in Keras 2
(tf_keras), with temperature scaling and export to ONNX through tf2onnx.

Both models end in ``softmax(logits / T)``; ``T`` is fitted on the validation split after training
(minimum negative log-likelihood), which calibrates the probabilities, and is part of the exported
graph. The class priors stay those of the class-weighted training (flat): the training survey's
own class mix (Catalina is half contact binaries) is not that of the surveys the models serve,
and giving it back helped Catalina's test split and hurt every other survey (ASAS-SN, Gaia).
The MLP replaces NaN inputs (a missing absolute magnitude) by 0 inside the
graph — ``has_distance`` tells the network which zeros are missing values — then standardises
with statistics adapted on the training set, so the ONNX file takes raw feature vectors.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from scipy.optimize import minimize_scalar

from varstream.offline.train_config import NetConfig
from varstream.offline.tf_env import tensorflow

log = logging.getLogger(__name__)


def _fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(y.size), y].mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x))


class _Net:
    """The shared training loop. scikit-learn's shape: the constructor only stores settings;
    :meth:`fit` learns ``model_`` (inputs → calibrated probabilities), ``temperature_``,
    ``history_`` and ``train_seconds_``."""

    kind = "features"
    input_name = "features"

    def __init__(self, config: NetConfig = NetConfig()) -> None:
        self.config = config

    def _build_logits(self, tf, x_train: np.ndarray, n_classes: int):
        """``(inputs, logits)`` of the network; each subclass defines its architecture."""
        raise NotImplementedError(f"{type(self).__name__} defines no network")

    def fit(self, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, n_classes: int,
            sample_weight: np.ndarray | None = None) -> _Net:
        """Train with early stopping on the validation loss, then fit T on validation.

        Args:
            n_classes: the classes are ``range(n_classes)`` (some may be absent from ``y``).
            sample_weight: per training row, its weight in the loss (:mod:`.weights`).
        """
        tf = tensorflow()
        keras = tf.keras
        tf.keras.utils.set_random_seed(self.config.seed)
        start = time.perf_counter()
        inputs, logits = self._build_logits(tf, x, n_classes)
        train_model = keras.Model(inputs, keras.layers.Softmax()(logits))
        train_model.compile(optimizer=keras.optimizers.Adam(self.config.learning_rate),
                            loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=self.config.patience,
                                             restore_best_weights=True)
        decay = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                  patience=max(2, self.config.patience // 3), min_lr=1e-5)
        hist = train_model.fit(x.astype(np.float32), y, validation_data=(x_val.astype(np.float32), y_val),
                               epochs=self.config.epochs, batch_size=self.config.batch_size, callbacks=[stop, decay],
                               sample_weight=None if sample_weight is None else np.asarray(sample_weight, np.float32),
                               verbose=self.config.verbose, shuffle=True)
        self.history_ = {"epochs_run": len(hist.history["loss"]),
                         "best_val_loss": float(min(hist.history["val_loss"]))}
        logit_model = keras.Model(inputs, logits)
        val_logits = logit_model.predict(x_val.astype(np.float32), verbose=0, batch_size=1024)
        self.temperature_ = _fit_temperature(val_logits, y_val)
        scaled = keras.layers.Rescaling(1.0 / self.temperature_, name="temperature")(logits)
        self.model_ = keras.Model(inputs, keras.layers.Softmax(name="probabilities")(scaled))
        self.train_seconds_ = time.perf_counter() - start
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.predict(x.astype(np.float32), verbose=0, batch_size=1024), dtype=np.float64)

    def to_onnx(self):
        import tf2onnx

        tf = tensorflow()
        spec = (tf.TensorSpec((None,) + tuple(self.model_.inputs[0].shape[1:]), tf.float32, name=self.input_name),)
        model_proto, _ = tf2onnx.convert.from_keras(self.model_, input_signature=spec, opset=17)
        return model_proto


class MLP(_Net):
    """Dense layers with LeakyReLU, dropout and L2 on the standardised feature vector."""

    input_name = "features"

    def _build_logits(self, tf, x_train, n_classes):
        keras = tf.keras
        c = self.config
        inputs = keras.Input((x_train.shape[1],), name=self.input_name)
        filled = keras.layers.Lambda(lambda t: tf.where(tf.math.is_nan(t), tf.zeros_like(t), t),
                                     name="missing_to_zero")(inputs)
        norm = keras.layers.Normalization(name="standardise")
        norm.adapt(np.nan_to_num(x_train, nan=0.0).astype(np.float32))
        h = norm(filled)
        for units in c.hidden:
            h = keras.layers.Dense(units, kernel_regularizer=keras.regularizers.l2(c.l2))(h)
            h = keras.layers.LeakyReLU(0.1)(h)
            h = keras.layers.Dropout(c.dropout)(h)
        return inputs, keras.layers.Dense(n_classes, name="logits")(h)


class GRUNet(_Net):
    """A masked bidirectional GRU over the phase-folded sequence (zero-padded steps are masked)."""

    kind = "sequence"
    input_name = "sequence"

    def _build_logits(self, tf, x_train, n_classes):
        keras = tf.keras
        c = self.config
        inputs = keras.Input(tuple(x_train.shape[1:]), name=self.input_name)
        h = keras.layers.Masking(mask_value=0.0)(inputs)
        h = keras.layers.Bidirectional(keras.layers.GRU(c.gru_units))(h)
        h = keras.layers.Dense(64)(h)
        h = keras.layers.LeakyReLU(0.1)(h)
        h = keras.layers.Dropout(c.dropout)(h)
        return inputs, keras.layers.Dense(n_classes, name="logits")(h)
