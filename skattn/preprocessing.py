"""Sequence-aware preprocessing: scaling, imputation, resampling, truncation,
and text to token ids.

The numeric transformers accept every input format of :mod:`skattn.data`.
Statistics are computed over the real timesteps only (padding never counts),
padding stays NaN in the output, and the output keeps the input's format
(2D stays 2D, a NaN-padded 3D array stays 3D, a list stays a list of arrays
shaped like its elements, a long DataFrame stays long) unless a class says
otherwise. As for the estimators, 2D input follows scikit-learn's tabular
contract (``n_features_in_`` is its number of timesteps and may not change
after fitting); every other format only needs the fitted number of channels.

:class:`TokenEncoder` turns texts into the token-id sequences that the
estimators embed when given ``vocab_size``.
"""

import re
from collections import Counter
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import data as _data
from ._docs import fill_doc
from ._stats import mean_std
from ._validation import validate_sequences

__all__ = [
    "SequenceImputer",
    "SequenceResampler",
    "SequenceScaler",
    "SequenceTruncator",
    "TokenEncoder",
]

_LENGTH = [Interval(Integral, 1, None, closed="left"), None]


INPUT_ATTRIBUTES_DOC = """\
n_channels_in_ : int
    Number of channels of the training sequences.
n_features_in_ : int
    Only for 2D training input: its number of columns (timesteps).
feature_names_in_ : ndarray of str
    Column names of a wide training DataFrame, when it had string names.\
"""


class _SequenceTransformer(TransformerMixin, BaseEstimator):
    """Input handling shared by the numeric sequence transformers.

    ``fit`` and ``transform`` validate the input and hand a
    :class:`skattn.data.Sequences` to ``_fit`` and ``_transform``, which each
    subclass implements.
    """

    _allow_missing = False  # NaN inside sequences is an error, not data

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn what the transformation needs from the training sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_channels]), list of
            arrays, or long DataFrame
            Sequences; see :mod:`skattn.data` for the formats.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._fit(self._check_input(X, reset=True))
        return self

    def transform(self, X):
        """Transform sequences, keeping their format where the class says so.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_channels]), list of
            arrays, or long DataFrame
            Sequences with the fitted number of channels.

        Returns
        -------
        Xt : sequences, float64
        """
        check_is_fitted(self)
        return self._transform(self._check_input(X, reset=False))

    def _fit(self, seqs):
        pass

    def _check_input(self, X, *, reset):
        """Convert ``X`` to :class:`skattn.data.Sequences`; with ``reset``,
        record its contract, else check ``X`` against the recorded one."""
        return validate_sequences(
            self, X, reset=reset, allow_missing=self._allow_missing
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = self._allow_missing
        return tags


def _location_scale(values, axis):
    """Mean and standard deviation over ``axis``, ignoring NaN padding.

    The scale is 1 where all values are equal, as in scikit-learn's
    ``StandardScaler``, so constant channels are centred but not divided.
    """
    mean, std = mean_std(values, axis=axis)  # finite for any finite values
    constant = np.nanmax(values, axis=axis) == np.nanmin(values, axis=axis)
    scale = np.where(constant | ~(std > 0), 1.0, std)
    return mean, scale


def _has_inverse(scaler):
    if scaler.per_sequence:
        raise AttributeError(
            "inverse_transform is not available with per_sequence=True: each "
            "sequence is scaled by its own mean and std, which transform does not "
            "keep"
        )
    return True


@fill_doc(input_attributes=INPUT_ATTRIBUTES_DOC)
class SequenceScaler(_SequenceTransformer):
    """Standardise each channel over the real timesteps of sequences.

    With ``per_sequence=False`` the mean and standard deviation of each
    channel are learned from all real timesteps of the training sequences,
    however many each sequence has. With ``per_sequence=True`` each sequence
    is z-normalised on its own, per channel (the usual practice for the UCR
    and UEA archives); nothing but the number of channels is learned then.
    Padding never enters the statistics and stays NaN in the output.

    Parameters
    ----------
    per_sequence : bool, default=False
        Scale each sequence by its own statistics instead of the training
        statistics.
    with_mean : bool, default=True
        Subtract the mean.
    with_std : bool, default=True
        Divide by the standard deviation; a channel whose values are all
        equal is divided by 1.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,) or None
        Mean of each channel over the real training timesteps; None with
        ``per_sequence=True`` or ``with_mean=False``.
    scale_ : ndarray of shape (n_channels,) or None
        Standard deviation of each channel (1 where constant); None with
        ``per_sequence=True`` or ``with_std=False``.
    {input_attributes}

    Notes
    -----
    ``inverse_transform`` exists only with ``per_sequence=False``: the
    per-sequence statistics belong to the data transformed, not to the
    fitted scaler, so they are not kept.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import SequenceScaler
    >>> X = [np.array([1.0, 2.0, 3.0]), np.array([5.0])]
    >>> scaler = SequenceScaler().fit(X)
    >>> scaler.mean_, scaler.scale_
    (array([2.75]), array([1.47901995]))
    >>> [x.round(2) for x in SequenceScaler(per_sequence=True).fit_transform(X)]
    [array([-1.22,  0.  ,  1.22]), array([0.])]
    """

    _parameter_constraints = {
        "per_sequence": ["boolean"],
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
    }

    def __init__(self, *, per_sequence=False, with_mean=True, with_std=True):
        self.per_sequence = per_sequence
        self.with_mean = with_mean
        self.with_std = with_std

    def _fit(self, seqs):
        self.mean_ = self.scale_ = None
        if self.per_sequence:
            return
        mean, scale = _location_scale(seqs.values[seqs.mask], axis=0)  # [C]
        if self.with_mean:
            self.mean_ = mean
        if self.with_std:
            self.scale_ = scale

    def _statistics(self, seqs):
        """Mean and scale to apply, broadcastable to ``(n, T, C)``."""
        if self.per_sequence:
            mean, scale = _location_scale(seqs.values, axis=1)  # [n, C]
            mean, scale = mean[:, None], scale[:, None]
        else:
            mean, scale = self.mean_, self.scale_
        return (mean if self.with_mean else 0.0), (scale if self.with_std else 1.0)

    def _transform(self, seqs):
        mean, scale = self._statistics(seqs)
        return seqs.restore((seqs.values - mean) / scale)

    @available_if(_has_inverse)
    def inverse_transform(self, X):
        """Undo the scaling: ``X * scale_ + mean_``.

        Parameters
        ----------
        X : sequences in any format of :mod:`skattn.data`
            Scaled sequences with the fitted number of channels.

        Returns
        -------
        X_original : sequences in the format of ``X``, float64
        """
        check_is_fitted(self)
        seqs = self._check_input(X, reset=False)
        mean, scale = self._statistics(seqs)
        return seqs.restore(seqs.values * scale + mean)


def _forward_fill(values, observed):
    """Carry the last observed value forward along axis 1; values before the
    first observation take the first one. ``(i, c)`` without any observation
    stay NaN."""
    steps = np.arange(values.shape[1])[None, :, None]
    last = np.maximum.accumulate(np.where(observed, steps, -1), axis=1)
    first = np.argmax(observed, axis=1)[:, None, :]  # [n, 1, C]
    return np.take_along_axis(values, np.where(last < 0, first, last), axis=1)


def _interpolate(values, lengths, missing):
    """Linear interpolation over the steps of each sequence and channel;
    gaps at the edges take the nearest observed value."""
    values = values.copy()
    for i, c in zip(*np.nonzero(missing.any(axis=1)), strict=True):
        v = values[i, : lengths[i], c]  # a view: filled in place
        seen = ~np.isnan(v)
        if seen.any():
            steps = np.arange(len(v))
            v[~seen] = np.interp(steps[~seen], steps[seen], v[seen])
    return values


@fill_doc(input_attributes=INPUT_ATTRIBUTES_DOC)
class SequenceImputer(_SequenceTransformer):
    """Fill missing values inside sequences.

    A NaN inside a sequence, or in only some channels of a step, is a
    missing value; trailing steps that are NaN in every channel are padding
    and stay padding (a missing value at the very end of a sequence, in
    every channel at once, cannot be told apart from padding). This is the
    transformer that accepts missing values: every other skattn estimator
    raises on them.

    Parameters
    ----------
    strategy : {"linear", "ffill", "zero", "mean"}, default="linear"
        ``"linear"``: interpolate linearly between the observed steps of each
        sequence and channel; gaps at the start or end take the nearest
        observed value. ``"ffill"``: carry the last observed value forward;
        a gap at the start takes the first observed value. ``"zero"``: fill
        with 0. ``"mean"``: fill with the channel's training mean.
        With ``"linear"`` and ``"ffill"``, a channel that has no observed
        value in a sequence is filled with the channel's training mean.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
        Mean of each channel over the observed training values.
    {input_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import SequenceImputer
    >>> X = np.array([[1.0, np.nan, 3.0, np.nan],
    ...               [np.nan, 2.0, np.nan, 8.0]])
    >>> SequenceImputer().fit_transform(X)
    array([[ 1.,  2.,  3., nan],
           [ 2.,  2.,  5.,  8.]])
    >>> SequenceImputer(strategy="ffill").fit_transform(X)
    array([[ 1.,  1.,  3., nan],
           [ 2.,  2.,  2.,  8.]])
    """

    _allow_missing = True
    _parameter_constraints = {
        "strategy": [StrOptions({"linear", "ffill", "zero", "mean"})],
    }

    def __init__(self, *, strategy="linear"):
        self.strategy = strategy

    def _fit(self, seqs):
        steps = seqs.values[seqs.mask]  # [n_real_steps, C]
        unobserved = np.flatnonzero(np.isnan(steps).all(axis=0))
        if unobserved.size:
            raise ValueError(
                f"channel {unobserved[0]} of X has no observed value in any "
                "sequence; there is nothing to impute it from"
            )
        self.mean_ = mean_std(steps, axis=0)[0]

    def _transform(self, seqs):
        values = seqs.values
        missing = np.isnan(values) & seqs.mask[..., None]
        if self.strategy == "zero":
            filled = np.where(missing, 0.0, values)
        elif self.strategy == "mean":
            filled = np.where(missing, self.mean_, values)
        elif self.strategy == "ffill":
            filled = _forward_fill(values, ~np.isnan(values))
        else:
            filled = _interpolate(values, seqs.lengths, missing)
        # a channel never observed in its sequence: the training mean
        filled = np.where(np.isnan(filled), self.mean_, filled)
        return seqs.restore(filled)


@fill_doc(input_attributes=INPUT_ATTRIBUTES_DOC)
class SequenceResampler(_SequenceTransformer):
    """Resample every sequence to the same number of timesteps.

    Each sequence's real steps are spread evenly over ``length`` output
    steps and the values between them are interpolated, so the first and
    last steps are kept exactly. This makes sequences of different lengths
    equal-length (e.g. for a model with a fixed input size).

    Parameters
    ----------
    length : int or None, default=None
        Number of output timesteps; None uses the longest training sequence.
        With 1, each sequence becomes its first step.
    method : {"linear", "nearest"}, default="linear"
        Interpolate linearly between the two neighbouring steps, or take the
        nearest step (for values that must stay as they are, such as
        categories).

    Attributes
    ----------
    length_ : int
        The number of output timesteps.
    {input_attributes}

    Notes
    -----
    The output is a float64 array of shape ``(n_samples, length_)`` for 2D
    input and ``(n_samples, length_, n_channels)`` for every other format
    (3D, list, long DataFrame): once all sequences have one length, a list
    or long format adds nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import SequenceResampler
    >>> X = [np.array([0.0, 10.0]), np.array([0.0, 1.0, 2.0, 3.0, 4.0])]
    >>> SequenceResampler(length=3).fit_transform(X)[..., 0]
    array([[ 0.,  5., 10.],
           [ 0.,  2.,  4.]])
    """

    _parameter_constraints = {
        "length": _LENGTH,
        "method": [StrOptions({"linear", "nearest"})],
    }

    def __init__(self, *, length=None, method="linear"):
        self.length = length
        self.method = method

    def _fit(self, seqs):
        self.length_ = int(seqs.lengths.max()) if self.length is None else self.length

    def _transform(self, seqs):
        last = seqs.lengths[:, None] - 1  # [n, 1]
        # where each output step falls on the input's time axis
        position = np.linspace(0.0, 1.0, self.length_) * last  # [n, length]
        if self.method == "nearest":
            position = np.floor(position + 0.5)  # a tie goes to the later step
        before = np.floor(position).astype(np.int64)
        after = np.minimum(before + 1, last)
        weight = (position - before)[..., None]  # [n, length, 1]

        def at(steps):
            return np.take_along_axis(seqs.values, steps[..., None], axis=1)

        values = at(before) * (1.0 - weight) + at(after) * weight
        return values[..., 0] if seqs.layout == "tabular" else values


@fill_doc(input_attributes=INPUT_ATTRIBUTES_DOC)
class SequenceTruncator(_SequenceTransformer):
    """Cap sequence lengths, keeping the first or the last steps.

    Sequences no longer than ``max_length`` pass unchanged; the format of
    the input is kept. A 2D or 3D output has ``min(n_timesteps,
    max_length_)`` columns, whatever the sequences' lengths.

    Parameters
    ----------
    max_length : int or None, default=None
        Most timesteps a sequence may keep; None uses the longest training
        sequence, so sequences at transform time are never longer than those
        seen in training.
    truncate : {"end", "start"}, default="end"
        Which side of a long sequence to drop: ``"end"`` keeps its first
        ``max_length`` steps, ``"start"`` its last ``max_length`` steps (the
        most recent, e.g. for forecasting or churn). In a long DataFrame the
        kept rows keep their original (entity, time) index.

    Attributes
    ----------
    max_length_ : int
        The length cap applied.
    {input_attributes}

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import SequenceTruncator
    >>> X = [np.array([1.0, 2.0, 3.0, 4.0]), np.array([5.0])]
    >>> SequenceTruncator(max_length=2, truncate="start").fit_transform(X)
    [array([3., 4.]), array([5.])]
    """

    _parameter_constraints = {
        "max_length": _LENGTH,
        "truncate": [StrOptions({"end", "start"})],
    }

    def __init__(self, *, max_length=None, truncate="end"):
        self.max_length = max_length
        self.truncate = truncate

    def _fit(self, seqs):
        self.max_length_ = (
            int(seqs.lengths.max()) if self.max_length is None else self.max_length
        )

    def _transform(self, seqs):
        n_steps = seqs.values.shape[1]
        lengths = np.minimum(seqs.lengths, self.max_length_)
        start = np.zeros_like(lengths)  # first kept step of each sequence
        if self.truncate == "start":
            start = seqs.lengths - lengths
        steps = start[:, None] + np.arange(min(n_steps, self.max_length_))
        values = np.take_along_axis(
            seqs.values, np.minimum(steps, n_steps - 1)[..., None], axis=1
        )
        template = seqs.template
        if seqs.layout == "long":  # keep the index of the kept rows
            t = np.arange(n_steps)
            kept = (t >= start[:, None]) & (t < (start + lengths)[:, None])
            template = template[kept[seqs.mask]]
        kept_seqs = _data.Sequences(
            values, lengths, seqs.layout, template, seqs.channel_names
        )
        return kept_seqs.restore(values)


class TokenEncoder(TransformerMixin, BaseEstimator):
    """Turn texts into sequences of token ids for the estimators' embedding.

    ``fit`` learns a vocabulary from the training texts; ``transform`` maps
    each text to an int64 array of ids, ready for an estimator built with
    ``vocab_size`` and ``padding_idx=0``. Id 0 is padding (never produced),
    id 1 stands for a token outside the vocabulary, and the vocabulary's
    tokens are numbered from 2, the most frequent first (ties in
    alphabetical order).

    The estimator needs ``vocab_size`` before it is fitted, so in a pipeline
    fix the vocabulary's size with ``max_tokens`` and pass
    ``vocab_size=max_tokens + 2``: ``vocab_size_`` never exceeds it.

    Parameters
    ----------
    lowercase : bool, default=True
        Lowercase texts before tokenising.
    min_frequency : int, default=1
        Tokens seen fewer times in the training texts are left out of the
        vocabulary (and encoded as unknown).
    max_tokens : int or None, default=None
        Keep only this many most frequent tokens.
    token_pattern : str, default=r"(?u)\\b\\w+\\b"
        Regular expression matching a token; with one capturing group, the
        group is the token.
    max_length : int or None, default=None
        Keep only the first ``max_length`` tokens of each text.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Token to id, ids from 2.
    vocab_size_ : int
        ``len(vocabulary_) + 2``: the ``vocab_size`` an estimator needs.

    Examples
    --------
    >>> from skattn import TokenEncoder
    >>> encoder = TokenEncoder().fit(["a good film", "a bad film", "a film"])
    >>> encoder.vocabulary_
    {'a': 2, 'film': 3, 'bad': 4, 'good': 5}
    >>> encoder.transform(["A good plot", ""])
    [array([2, 5, 1]), array([1])]

    In a pipeline, fix the vocabulary size:

    >>> from sklearn.pipeline import make_pipeline
    >>> from skattn import LSTMAttentionClassifier
    >>> model = make_pipeline(
    ...     TokenEncoder(max_tokens=5000),
    ...     LSTMAttentionClassifier(vocab_size=5002, padding_idx=0),
    ... )
    """

    PADDING_ID = 0
    UNKNOWN_ID = 1

    _parameter_constraints = {
        "lowercase": ["boolean"],
        "min_frequency": [Interval(Integral, 1, None, closed="left")],
        "max_tokens": _LENGTH,
        "token_pattern": [str],
        "max_length": _LENGTH,
    }

    def __init__(
        self,
        *,
        lowercase=True,
        min_frequency=1,
        max_tokens=None,
        token_pattern=r"(?u)\b\w+\b",
        max_length=None,
    ):
        self.lowercase = lowercase
        self.min_frequency = min_frequency
        self.max_tokens = max_tokens
        self.token_pattern = token_pattern
        self.max_length = max_length

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the vocabulary of the training texts.

        Parameters
        ----------
        X : iterable of str
            One text per sample (a list, array or Series of strings).
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._learn(self._tokenize(X))
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Learn the vocabulary and encode the training texts (tokenising
        once).

        Parameters
        ----------
        X : iterable of str
        y : None
            Ignored.

        Returns
        -------
        list of int64 ndarray
        """
        tokens = self._tokenize(X)
        self._learn(tokens)
        return self._encode(tokens)

    def transform(self, X):
        """Encode texts as token ids.

        Parameters
        ----------
        X : iterable of str

        Returns
        -------
        list of int64 ndarray
            One array per text; tokens outside the vocabulary are 1, and a
            text without tokens becomes ``[1]``, so no sequence is empty.
        """
        check_is_fitted(self)
        return self._encode(self._tokenize(X))

    def _tokenize(self, X):
        if isinstance(X, (str, bytes)):
            raise TypeError(
                "TokenEncoder expects an iterable of texts (one string per sample), "
                "got a single string"
            )
        if isinstance(X, pd.DataFrame):
            raise TypeError(
                "TokenEncoder expects one text per sample, got a DataFrame; pass its "
                "text column, e.g. df['text']"
            )
        try:
            texts = list(X)
        except TypeError:
            raise TypeError(
                f"TokenEncoder expects an iterable of strings, got {type(X).__name__}"
            ) from None
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(
                    f"X[{i}] is {type(text).__name__} ({text!r:.40}), not str; "
                    "TokenEncoder encodes texts"
                )
        try:
            pattern = re.compile(self.token_pattern)
        except re.error as exc:
            raise ValueError(
                f"token_pattern={self.token_pattern!r} is not a valid regular "
                f"expression: {exc}"
            ) from None
        if pattern.groups > 1:
            raise ValueError(
                f"token_pattern={self.token_pattern!r} has {pattern.groups} capturing "
                "groups; it may have at most one"
            )
        if self.lowercase:
            texts = [text.lower() for text in texts]
        return [pattern.findall(text) for text in texts]

    def _learn(self, tokens):
        if not tokens:
            raise ValueError("X holds no text: TokenEncoder needs at least one to fit")
        counts = Counter(token for text in tokens for token in text)
        kept = sorted(
            (token for token, count in counts.items() if count >= self.min_frequency),
            key=lambda token: (-counts[token], token),
        )[: self.max_tokens]
        self.vocabulary_ = {token: i for i, token in enumerate(kept, start=2)}
        self.vocab_size_ = len(kept) + 2

    def _encode(self, tokens):
        encoded = []
        for text in tokens:
            ids = [self.vocabulary_.get(token, self.UNKNOWN_ID) for token in text]
            encoded.append(
                np.array(ids[: self.max_length] or [self.UNKNOWN_ID], dtype=np.int64)
            )
        return encoded

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags
