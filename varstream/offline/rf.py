"""Random Forest (TensorFlow Decision Forests) and its export to an ONNX TreeEnsembleClassifier.

tf2onnx cannot convert TF-DF models (a custom op), so the export walks every tree through the
TF-DF inspector and writes the ``ai.onnx.ml`` TreeEnsembleClassifier operator: each split
``x[f] >= threshold`` becomes a ``BRANCH_GTE`` node whose true branch is TF-DF's positive child
and whose missing-value direction is TF-DF's ``missing_evaluation``; each leaf holds the class
distribution divided by the number of trees, so the sum over trees is TF-DF's average
(``winner_take_all=False``); zero entries are left out, which keeps the file small.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

from varstream.offline.tf_env import tensorflow

log = logging.getLogger(__name__)


def _dataset(tf, X: np.ndarray, names: list[str], y: np.ndarray | None = None, batch: int = 4096,
             weight: np.ndarray | None = None):
    cols = {n: X[:, i].astype(np.float32) for i, n in enumerate(names)}
    if y is None:
        data = cols
    elif weight is None:
        data = (cols, y.astype(np.int64))
    else:
        data = (cols, y.astype(np.int64), weight.astype(np.float32))
    return tf.data.Dataset.from_tensor_slices(data).batch(batch)


class RandomForest:
    """A TF-DF RandomForestModel over named feature columns (NaN = missing).

    scikit-learn's shape: the constructor only stores settings; :meth:`fit` learns ``model_``,
    ``names_``, ``n_classes_`` and ``train_seconds_``.
    """

    def __init__(self, num_trees: int = 100, max_depth: int = 16, min_examples: int = 5, seed: int = 0) -> None:
        self.num_trees = num_trees
        self.max_depth = max_depth
        self.min_examples = min_examples
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray, feature_names: list[str], n_classes: int,
            sample_weight: np.ndarray | None = None) -> RandomForest:
        """Train on ``X`` (columns named ``feature_names``) and class indices ``y`` in ``range(n_classes)``,
        each example weighted by ``sample_weight`` (e.g. inversely to its class's size)."""
        tf = tensorflow()
        import tensorflow_decision_forests as tfdf

        self.names_ = [self._safe(n) for n in feature_names]
        self.n_classes_ = n_classes
        start = time.perf_counter()
        self.model_ = tfdf.keras.RandomForestModel(
            num_trees=self.num_trees, max_depth=self.max_depth, min_examples=self.min_examples,
            winner_take_all=False, random_seed=self.seed, verbose=0,
        )
        self.model_.fit(_dataset(tf, X, self.names_, y, weight=sample_weight), verbose=0)
        self.train_seconds_ = time.perf_counter() - start
        return self

    @staticmethod
    def _safe(name: str) -> str:
        return "f_" + "".join(c if c.isalnum() else "_" for c in name)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        tf = tensorflow()
        out = self.model_.predict(_dataset(tf, X, self.names_), verbose=0)
        return np.asarray(out, dtype=np.float64).reshape(X.shape[0], -1)

    def to_onnx(self) -> onnx.ModelProto:
        """The forest as one ONNX TreeEnsembleClassifier (input ``features`` float32 (n, F))."""
        from tensorflow_decision_forests.component.py_tree import condition as cond_lib
        from tensorflow_decision_forests.component.py_tree import node as node_lib

        trees = self.model_.make_inspector().extract_all_trees()
        index = {n: i for i, n in enumerate(self.names_)}
        attrs: dict[str, list] = {k: [] for k in (
            "nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values", "nodes_modes",
            "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
            "class_treeids", "class_nodeids", "class_ids", "class_weights")}
        n_trees = len(trees)

        def visit(node, tree_id: int, counter: list[int]) -> int:
            """Append ``node`` and its subtree (pre-order ids) to ``attrs``; returns its id."""
            node_id = counter[0]
            counter[0] += 1
            attrs["nodes_treeids"].append(tree_id)
            attrs["nodes_nodeids"].append(node_id)
            if isinstance(node, node_lib.LeafNode):
                for k, (_, p) in enumerate(self._leaf_probs(node)):
                    if p <= 0.0:      # the operator sums weights; absent entries count as 0
                        continue
                    attrs["class_treeids"].append(tree_id)
                    attrs["class_nodeids"].append(node_id)
                    attrs["class_ids"].append(k)
                    attrs["class_weights"].append(float(p) / n_trees)
                for key, value in (("nodes_featureids", 0), ("nodes_values", 0.0), ("nodes_modes", "LEAF"),
                                   ("nodes_truenodeids", 0), ("nodes_falsenodeids", 0),
                                   ("nodes_missing_value_tracks_true", 0)):
                    attrs[key].append(value)
                return node_id
            cond = node.condition
            if not isinstance(cond, cond_lib.NumericalHigherThanCondition):
                raise NotImplementedError(f"cannot export TF-DF condition {type(cond).__name__}")
            slot = len(attrs["nodes_modes"])
            attrs["nodes_featureids"].append(index[cond.feature.name])
            attrs["nodes_values"].append(float(cond.threshold))
            attrs["nodes_modes"].append("BRANCH_GTE")
            attrs["nodes_missing_value_tracks_true"].append(int(bool(cond.missing_evaluation)))
            attrs["nodes_truenodeids"].append(-1)
            attrs["nodes_falsenodeids"].append(-1)
            true_id = visit(node.pos_child, tree_id, counter)
            false_id = visit(node.neg_child, tree_id, counter)
            attrs["nodes_truenodeids"][slot] = true_id
            attrs["nodes_falsenodeids"][slot] = false_id
            return node_id

        for tree_id, tree in enumerate(trees):
            visit(tree.root, tree_id, [0])

        ensemble = helper.make_node(
            "TreeEnsembleClassifier", ["features"], ["label", "probabilities"], domain="ai.onnx.ml",
            classlabels_int64s=list(range(self.n_classes_)), post_transform="NONE", **attrs,
        )
        graph = helper.make_graph(
            [ensemble], "random_forest",
            [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, len(self.names_)])],
            [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
             helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, self.n_classes_])],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                        helper.make_opsetid("ai.onnx.ml", 3)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model

    def _leaf_probs(self, leaf) -> list[tuple[int, float]]:
        probs = list(leaf.value.probability)
        # TF-DF's label dictionary can hold an out-of-vocabulary slot before the classes
        if len(probs) == self.n_classes_ + 1:
            probs = probs[1:]
        if len(probs) != self.n_classes_:
            raise ValueError(f"leaf has {len(probs)} class probabilities, expected {self.n_classes_}")
        return list(enumerate(probs))
