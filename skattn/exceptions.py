"""Warning classes of skattn.

Each warning skattn gives has its own class, so that it can be filtered on
its own with the standard :mod:`warnings` machinery, e.g.::

    import warnings
    from skattn.exceptions import DataLayoutWarning

    warnings.filterwarnings("ignore", category=DataLayoutWarning)

All are subclasses of :class:`UserWarning`.
"""

import sys
import warnings

__all__ = [
    "DataLayoutWarning",
    "IgnoredColumnsWarning",
    "TrainingInterruptedWarning",
    "UnknownCategoryWarning",
]


class DataLayoutWarning(UserWarning):
    """The input's layout looks transposed.

    Given at ``fit`` when a 3D array (or a list of arrays) has more channels
    than timesteps, which is what an aeon/sktime array ``(n_samples,
    n_channels, n_timesteps)`` looks like to skattn. Convert such arrays
    with :func:`skattn.data.from_channels_first`; when the layout is right
    (e.g. 10 steps of 64 features), filter this warning.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skattn import SequenceScaler
    >>> from skattn.exceptions import DataLayoutWarning
    >>> X = np.random.default_rng(0).normal(size=(8, 10, 64))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = SequenceScaler().fit(X)
    >>> caught[0].category.__name__
    'DataLayoutWarning'
    >>> with warnings.catch_warnings():
    ...     warnings.filterwarnings("ignore", category=DataLayoutWarning)
    ...     SequenceScaler().fit(X).n_channels_in_
    64
    """


class IgnoredColumnsWarning(UserWarning):
    """Columns of a long DataFrame that a conversion leaves out.

    :func:`skattn.data.from_long` without ``value_cols`` reads every numeric
    column as a channel; string and category columns cannot be channels of
    a numeric array, so it leaves them out and names them in this warning.
    Pass ``value_cols`` to choose the channels, or give the long DataFrame to
    an estimator, which embeds string and category columns itself
    (``categorical_features="from_dtype"``).

    Examples
    --------
    >>> import warnings
    >>> import pandas as pd
    >>> from skattn.data import from_long
    >>> events = pd.DataFrame(
    ...     {"id": [1, 1, 2], "t": [0, 1, 0], "amount": [1.0, 2.0, 3.0],
    ...      "kind": ["a", "b", "a"]}
    ... )
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     X, ids = from_long(events, id_col="id", time_col="t")
    >>> caught[0].category.__name__, X.shape
    ('IgnoredColumnsWarning', (2, 2, 1))
    """


class TrainingInterruptedWarning(UserWarning):
    """Training was stopped by Ctrl-C (``KeyboardInterrupt``).

    The estimator is still fitted: it keeps the weights of the best epoch
    completed before the interruption, and ``history_`` and ``n_iter_``
    show how far training got.

    Examples
    --------
    To turn the interruption into an error, e.g. in a script that must not
    go on with a model trained for fewer epochs than asked:

    >>> import warnings
    >>> from skattn.exceptions import TrainingInterruptedWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", TrainingInterruptedWarning)
    ...     try:  # stands for a fit stopped by Ctrl-C
    ...         warnings.warn("training was interrupted", TrainingInterruptedWarning)
    ...     except TrainingInterruptedWarning as error:
    ...         print(f"an error now: {error}")
    an error now: training was interrupted
    """


class UnknownCategoryWarning(UserWarning):
    """A categorical field holds values that were not seen in ``fit``.

    Such values are encoded as the reserved "unknown" category, so the model
    still predicts (see ``categorical_features``). The warning names each
    field, how many values were unknown and a few of them; it is given once
    per call (``predict``, ``predict_proba``, ``transform``, ...), however
    many chunks the input is predicted in.

    Examples
    --------
    To make unseen categories an error, e.g. in a pipeline whose vocabulary
    must be complete:

    >>> import warnings
    >>> from skattn.exceptions import UnknownCategoryWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", UnknownCategoryWarning)
    ...     try:  # stands for a prediction on an unseen category
    ...         warnings.warn("'event': 1 value (e.g. 'fraud')", UnknownCategoryWarning)
    ...     except UnknownCategoryWarning as error:
    ...         print(f"an error now: {error}")
    an error now: 'event': 1 value (e.g. 'fraud')
    """


# Frames of these packages are skipped when a warning names the line that
# caused it: the user's call to ``fit`` is more useful than a line inside a
# training loop, and it lets the default filter show the warning again for
# another call.
_LIBRARY_PACKAGES = ("skattn", "skorch", "sklearn", "joblib", "torch")


def _warn(message, category):
    """Warn with ``category``, attributed to the first frame outside skattn
    and the libraries it calls into (the user's call to ``fit``)."""
    frame = sys._getframe(1)  # the caller of _warn: stacklevel 2
    level = 2
    while frame is not None:
        module = frame.f_globals.get("__name__", "") or ""
        if module.split(".", 1)[0] not in _LIBRARY_PACKAGES:
            break
        frame = frame.f_back
        level += 1
    else:  # called from library code only (e.g. a worker): name the caller
        level = 2
    warnings.warn(message, category, stacklevel=level)
