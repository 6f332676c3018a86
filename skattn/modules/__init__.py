"""Pure PyTorch building blocks of skattn's networks.

Nothing in this subpackage imports scikit-learn or skorch: the modules can be
used on their own in any PyTorch code. Mask convention everywhere:
``mask[b, t]`` is True for a real timestep.
"""

from .attention import (
    AGGREGATIONS,
    ATTENTION_SCORES,
    AdditiveScore,
    AttentionPooling,
    DotScore,
    GeneralScore,
    MaskedPooling,
    ScaledDotScore,
    aggregate,
    lengths_to_mask,
    masked_softmax,
)
from .encoders import (
    LearnedPositionalEncoding,
    RecurrentEncoder,
    RelativePositionBias,
    SinusoidalPositionalEncoding,
    TimeAbsolutePositionalEncoding,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from .network import (
    CategoricalEmbedding,
    LinearSteps,
    MaskedReconstruction,
    NetworkEnsemble,
    SequenceNetwork,
    StaticInput,
    StaticQuery,
    TokenEmbedding,
    recurrent_network,
    sequence_network,
    transformer_network,
)
from .stem import (
    ConvStem,
    Differences,
    MaskedBatchNorm,
    MultiScaleConv,
    SeriesNorm,
    sequence_moments,
)

__all__ = [
    "AGGREGATIONS",
    "ATTENTION_SCORES",
    "AdditiveScore",
    "AttentionPooling",
    "CategoricalEmbedding",
    "ConvStem",
    "Differences",
    "DotScore",
    "GeneralScore",
    "LearnedPositionalEncoding",
    "LinearSteps",
    "MaskedBatchNorm",
    "MultiScaleConv",
    "MaskedPooling",
    "MaskedReconstruction",
    "NetworkEnsemble",
    "RecurrentEncoder",
    "RelativePositionBias",
    "ScaledDotScore",
    "SequenceNetwork",
    "SeriesNorm",
    "SinusoidalPositionalEncoding",
    "StaticInput",
    "StaticQuery",
    "TimeAbsolutePositionalEncoding",
    "TokenEmbedding",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "aggregate",
    "lengths_to_mask",
    "masked_softmax",
    "recurrent_network",
    "sequence_moments",
    "sequence_network",
    "transformer_network",
]
