"""Targets: label checks, class encoding, target scaling, and the losses.

Each target mixin turns ``y`` into the tensor the network trains on, turns
network outputs back into predictions, and declares the fitted attributes
it adds (``_target_attributes``) and how to check them after loading
(``_check_target_fitted``), so that saving and loading ask the estimator
instead of guessing from its methods.
"""

from numbers import Real

import numpy as np
import torch
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ._stats import is_finite_vector, mean_std
from .data import _plain

__all__ = [
    "ClassTargets",
    "MaskedReconstructionLoss",
    "PerSampleMSE",
    "TargetScaling",
    "check_label_types",
]


def _label_kind(label):
    if label is None:
        return "None"
    if isinstance(label, str):  # np.str_ too
        return "str"
    if isinstance(label, (bool, np.bool_)):
        return "bool"
    if isinstance(label, Real):  # Python and numpy numbers alike
        return "number"
    return type(label).__name__


def check_label_types(y):
    """Labels of mixed Python types (``[1, "a", None]``) get a message that
    says so; sklearn calls them of "unknown" type."""
    y = np.asarray(y)
    if y.dtype == object and y.ndim == 1:
        kinds = sorted({_label_kind(label) for label in y})
        if len(kinds) > 1:
            raise ValueError(
                f"Unknown label type: y mixes labels of types {kinds}; class labels "
                "must all be of one type (e.g. all str), and none may be missing"
            )


def _check_classes(classes):
    """``classes`` of ``partial_fit``: a 1D array of class labels."""
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise ValueError(
            f"classes must be a 1D array of labels, got shape {classes.shape}"
        )
    kind = type_of_target(classes, input_name="classes")
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"classes must hold class labels, but they are of type {kind!r}: "
            f"{classes.tolist()[:5]}"
        )
    return classes


class ClassTargets:
    """Encode class labels as integers; ``classes_`` as in scikit-learn."""

    _target_attributes = ("classes_",)

    def _prepare_class_target(self, y, warm=False, classes=None):
        y = column_or_1d(y, warn=True)
        check_label_types(y)
        check_classification_targets(y)
        if not warm:
            source = "y" if classes is None else "classes"
            if classes is not None:
                classes = _check_classes(classes)
            classes = np.unique(y if classes is None else classes)
            if len(classes) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes, but "
                    f"{source} contains only 1 class: {_plain(classes[0])!r}"
                )
            self.classes_ = classes
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"y holds classes {unseen.tolist()} that are not in classes_ "
                f"{self.classes_.tolist()}; a fitted model cannot learn new classes "
                "(with partial_fit, pass every label as classes= on the first call)"
            )
        encoded = np.searchsorted(self.classes_, y)
        return torch.from_numpy(encoded.astype(np.int64)), len(self.classes_)

    def _class_weight(self, y):
        if self.class_weight is None:
            return 1.0
        y = column_or_1d(y)
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(np.unique(y).tolist())
            if unknown:
                raise ValueError(
                    f"class_weight has keys {sorted(map(str, unknown))} that are not "
                    "classes in y"
                )
        return compute_sample_weight(self.class_weight, y)

    def _check_classes_fitted(self):
        classes = getattr(self, "classes_", None)
        n_outputs = self._n_outputs
        if (
            not isinstance(classes, np.ndarray)
            or classes.ndim != 1
            or len(classes) < 2
            or len(classes) != n_outputs
            or classes.dtype.kind not in "biufUO"
            or (
                classes.dtype.kind == "O"
                and not all(isinstance(c, (str, int, float)) for c in classes)
            )
        ):
            raise ValueError(f"classes_ does not match the {n_outputs} outputs")


class TargetScaling:
    """Standardise continuous targets for training, undo it on prediction."""

    _target_attributes = ("_y_loc", "_y_scale", "_y_ndim")

    def _prepare_regression_target(self, y, warm=False):
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if y.ndim > 2:
            raise ValueError(f"y must be 1D or 2D, got {y.ndim} dimensions")
        y2 = y.reshape(len(y), -1)
        if warm:
            if y2.shape[1] != len(self._y_loc):
                raise ValueError(
                    f"y has {y2.shape[1]} outputs, but the fitted model has "
                    f"{len(self._y_loc)}"
                )
        else:
            self._y_ndim = y.ndim
            # in float64 and overflow-safe: targets of any finite scale (1e-300
            # to 1e300) train on values of unit scale
            self._y_loc, scale = mean_std(y2, axis=0)
            scale[~(scale > 0)] = 1.0
            self._y_scale = scale
        target = (y2 - self._y_loc) / self._y_scale
        return torch.from_numpy(target.astype(np.float32)), y2.shape[1]

    def _unscale(self, out):
        y = out * self._y_scale + self._y_loc
        if not np.isfinite(y).all():
            raise ValueError(
                f"{type(self).__name__} predicts beyond the float64 range for X "
                f"(targets were fitted with scale {self._y_scale.max():.3g}); X is "
                "far outside the training data"
            )
        return y[:, 0] if self._y_ndim == 1 else y

    def _check_scaling_fitted(self):
        n_outputs = self._n_outputs
        if not (
            is_finite_vector(getattr(self, "_y_loc", None), n_outputs)
            and is_finite_vector(getattr(self, "_y_scale", None), n_outputs, True)
            and getattr(self, "_y_ndim", None) in (1, 2)
            and n_outputs >= 1
            and (self._y_ndim == 2 or n_outputs == 1)
        ):
            raise ValueError(f"the target scaling does not match {n_outputs} outputs")


class PerSampleMSE(torch.nn.Module):
    """Squared error averaged over outputs, one value per sample."""

    def forward(self, y_pred, y_true):
        return ((y_pred - y_true) ** 2).mean(dim=1)


class MaskedReconstructionLoss(torch.nn.Module):
    """Mean squared error over the hidden steps of each sequence."""

    def forward(self, y_pred, y_true):
        reconstruction, values, hidden = y_pred
        error = ((reconstruction - values) ** 2).mean(-1) * hidden  # [b, t]
        return error.sum(1) / hidden.sum(1)
