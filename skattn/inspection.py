"""What fitted models attend to, for an estimator or a whole Pipeline.

:func:`attention_weights` gives the attention weights of a skattn estimator
fitted with ``pooling="attention"``, or of a scikit-learn ``Pipeline`` ending
in one: the earlier steps transform ``X`` first, exactly as ``predict``
does. :func:`skattn.plotting.plot_attention` resolves a Pipeline the same
way.
"""

from sklearn.utils.validation import check_is_fitted

__all__ = ["attention_weights"]


def _attention_model(estimator, caller):
    """Split ``estimator`` into (preprocessing, attending skattn estimator).

    ``estimator`` is a skattn estimator that pools with attention, or a
    Pipeline whose last step is one; the preprocessing is the Pipeline
    without its last step (``None`` when there is none). ``caller`` names the
    public function in the error messages.
    """
    preprocess, model = None, estimator
    steps = getattr(estimator, "steps", None)
    if steps is not None:  # a Pipeline: its last step attends
        if not steps:
            raise ValueError(f"{caller} got a Pipeline without steps")
        model = estimator[-1]
        if len(steps) > 1:
            preprocess = estimator[:-1]
    name = type(model).__name__
    if not hasattr(model, "attention_weights"):
        if steps is None:
            got = f"{name}, which has no attention_weights method"
        else:
            got = (
                f"a Pipeline whose last step is {name}, which has no "
                "attention_weights method"
            )
            attending = [
                k
                for k, (_, step) in enumerate(steps)
                if hasattr(step, "attention_weights")
            ]
            if attending:
                k = attending[-1]
                got += (
                    f"; its step {k} ({type(steps[k][1]).__name__}) attends: pass "
                    f"the pipeline up to it, pipeline[:{k + 1}]"
                )
        raise TypeError(
            f"{caller} needs a skattn estimator with attention pooling, or a "
            f"Pipeline ending in one; got {got}"
        )
    pooling = getattr(model, "pooling", "attention")
    if pooling != "attention":
        raise ValueError(
            f"{name} pools with pooling={pooling!r}, which has no attention "
            "weights; fit it with pooling='attention'"
        )
    return preprocess, model


def attention_weights(estimator, X, *, per_head=False):
    """Attention weight of every timestep, for an estimator or a Pipeline.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A skattn estimator fitted with ``pooling="attention"``, or a fitted
        Pipeline ending in one. The earlier steps of a Pipeline transform
        ``X`` before the estimator attends to it, so the weights are those
        the Pipeline's ``predict`` uses.
    X : sequences in any format the Pipeline (or estimator) accepts
        The sequences to attend over (see :mod:`skattn.data`).
    per_head : bool, default=False
        Return one row per head (multi-head attention) instead of their
        average.

    Returns
    -------
    weights : ndarray of shape (n_samples, n_timesteps), or \
(n_samples, n_heads, n_timesteps) with ``per_head=True``
        Non-negative, 0 on padding, each row summing to 1 over the real
        timesteps of the sequences the estimator receives. ``n_timesteps``
        is the width of those sequences (after the Pipeline's steps, which
        may change lengths, e.g. :class:`skattn.SequenceResampler`).

    Raises
    ------
    TypeError
        If the estimator, or the Pipeline's last step, has no attention
        weights (it is not a skattn estimator).
    ValueError
        If that estimator pools with something other than attention.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skattn import SequenceScaler, TransformerClassifier
    >>> from skattn.datasets import load_gunpoint
    >>> from skattn.inspection import attention_weights
    >>> X_train, X_test, y_train, y_test = load_gunpoint(return_X_y=True)
    >>> model = make_pipeline(
    ...     SequenceScaler(), TransformerClassifier(max_epochs=1, random_state=0)
    ... ).fit(X_train, y_train)
    >>> attention_weights(model, X_test[:5]).shape  # 150 timesteps
    (5, 150)
    """
    preprocess, model = _attention_model(estimator, "attention_weights")
    check_is_fitted(model)
    if preprocess is not None:
        X = preprocess.transform(X)
    return model.attention_weights(X, per_head=per_head)
