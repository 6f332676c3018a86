"""skattn: scikit-learn compatible attention models for sequences.

Estimators (each a plain scikit-learn estimator that trains a skorch net):

- :class:`LSTMAttentionClassifier`, :class:`LSTMAttentionRegressor`
- :class:`TransformerClassifier`, :class:`TransformerRegressor`
- :class:`AttentionPoolingTransformer`

Sequence-aware preprocessing: :class:`SequenceScaler`,
:class:`SequenceImputer`, :class:`SequenceResampler`,
:class:`SequenceTruncator`, and :class:`TokenEncoder` for text. Input formats and
converters live in :mod:`skattn.data`, bundled data sets in
:mod:`skattn.datasets`, plots in :mod:`skattn.plotting`, and
:class:`skattn.model_selection.CachedFit` (resumable searches) in
:mod:`skattn.model_selection`, attention weights of whole pipelines in
:mod:`skattn.inspection`. :func:`save` writes a fitted model or Pipeline
without pickle and :func:`load` reads it back; :func:`export_onnx` writes a
model as an ONNX graph for serving. Warning classes (to filter one kind of
warning) live in :mod:`skattn.exceptions`.
"""

from . import exceptions
from ._lstm import LSTMAttentionClassifier, LSTMAttentionRegressor
from ._onnx import export_onnx
from ._persistence import load, save
from ._pooling import AttentionPoolingTransformer
from ._transformer import TransformerClassifier, TransformerRegressor
from ._version import __version__
from .preprocessing import (
    SequenceImputer,
    SequenceResampler,
    SequenceScaler,
    SequenceTruncator,
    TokenEncoder,
)

__all__ = [
    "AttentionPoolingTransformer",
    "LSTMAttentionClassifier",
    "LSTMAttentionRegressor",
    "SequenceImputer",
    "SequenceResampler",
    "SequenceScaler",
    "SequenceTruncator",
    "TokenEncoder",
    "TransformerClassifier",
    "TransformerRegressor",
    "__version__",
    "exceptions",
    "export_onnx",
    "load",
    "save",
]
