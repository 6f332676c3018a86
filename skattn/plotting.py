"""Plots of the attention weights of fitted skattn estimators.

matplotlib is an optional dependency (``pip install "skattn[plot]"``); it is
imported only when a plot is drawn.
"""

import numbers

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from . import data as _data
from ._validation import align_to_entities, trailing_padding_lengths
from .inspection import _attention_model

__all__ = ["plot_attention"]

_KINDS = ("strip", "overlay")
# By default, draw the first few sequences: up to 3, and up to about 6 rows.
_DEFAULT_SEQUENCES = 3
_DEFAULT_ROWS = 6
# Height of the heat strip, as a share of the height of the series' Axes.
_STRIP_HEIGHT = 0.22
# step_labels: every step of a sequence up to this length, else only the
# most attended ones
_LABEL_ALL_UP_TO = 40
_LABEL_TOP = 10
# Categorical channels name their categories on the y axis up to this many.
_MAX_CATEGORY_TICKS = 15


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "plot_attention needs matplotlib; install it with "
            'pip install "skattn[plot]" (or pip install matplotlib)'
        ) from exc
    return plt


def _sequence_index(index, n, n_default):
    """Sequence numbers to draw, as a list of ints in ``[0, n)``."""
    if index is None:
        return list(range(min(n_default, n)))
    scalar = isinstance(index, numbers.Integral)
    positions = [index] if scalar else list(index)
    if not positions:
        raise ValueError("index is empty; give at least one sequence number")
    out = []
    for i in positions:
        if not isinstance(i, numbers.Integral) or isinstance(i, bool):
            raise TypeError(f"index must hold integers, got {i!r}")
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for X with {n} sequences")
        out.append(int(i) % n)
    return out


def _n_sequences(X):
    if _data._is_long(X):
        return X.index.get_level_values(0).nunique()
    return len(X)


def _take(X, positions):
    """The sequences at ``positions`` of ``X``, in the same input format.

    Keeping the format matters: an estimator fitted on 2D input accepts only
    2D input. Long DataFrames come back in sorted entity order, so the
    positions are returned in the order of the subset.
    """
    if _data._is_long(X):
        ids = X.index.get_level_values(0).unique().sort_values()
        chosen = sorted(set(positions))
        rows = X.index.get_level_values(0).isin(ids[chosen])
        return X.loc[rows], chosen
    if hasattr(X, "iloc"):  # a wide DataFrame, or a Series of arrays
        return X.iloc[positions], positions
    if _data._is_ragged(X):
        return [X[i] for i in positions], positions
    return np.asarray(X)[positions], positions


def _check_axes(ax, n_rows):
    axes = np.asarray(ax, dtype=object).ravel()
    if axes.size != n_rows:
        raise ValueError(
            f"ax holds {axes.size} Axes, but the plot has {n_rows} rows (one per "
            "sequence and channel)"
        )
    return axes


def plot_attention(
    estimator,
    X,
    *,
    index=None,
    ax=None,
    kind="strip",
    channel_names=None,
    per_head=False,
    cmap=None,
    color="black",
    shared_scale=False,
    colorbar=True,
    y=None,
    show_prediction=False,
    step_labels=None,
):
    """Draw sequences with the attention weights the estimator gives them.

    Each chosen sequence is drawn over its real timesteps (padding is left
    out), one row per channel, with its attention weights either as a heat
    strip under the series (``kind="strip"``) or as shading behind it
    (``kind="overlay"``). Colours run from 0 to the largest weight of the
    sequence (``shared_scale=False``: each sequence uses the whole colour
    map) or of all the sequences drawn (``shared_scale=True``: one colour
    means one weight in every row); a colour bar shows the scale.

    Event data (a long DataFrame for an estimator with
    ``categorical_features``, ``time_features`` or ``static_features``): one
    row per value column that the estimator reads per event; a categorical
    field is drawn as one marker per event at its category (named on the y
    axis; unseen and missing categories are left out), entity attributes
    are not drawn, and ``step_labels`` names the events under the weights.
    Steps are the events of an entity in time order (several events at one
    time in row order), as ``attention_weights`` numbers them.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A skattn estimator fitted with ``pooling="attention"``, or a Pipeline
        ending in one; the sequences drawn are then those its last step
        receives (e.g. after scaling).
    X : sequences, in any format the estimator accepts
        See :mod:`skattn.data`. For a long DataFrame, sequence numbers
        follow the sorted entity ids.
    index : int, list of int or None, default=None
        Which sequences of ``X`` to draw; by default the first three, or
        fewer when there are more than two channels (about six rows).
    ax : matplotlib Axes or array of Axes, optional
        Where to draw: one Axes per row, i.e. per sequence and channel. By
        default a new figure is made.
    kind : {"strip", "overlay"}, default="strip"
        ``"strip"``: a heat strip under the series, attached to its Axes;
        ``"overlay"``: the weights as shading behind the series.
    channel_names : list of str, optional
        Labels of the channels; by default the value columns of a long
        DataFrame, else ``channel 0``, ``channel 1``, ...
    per_head : bool, default=False
        With ``kind="strip"``, one band per attention head (multi-head
        attention) instead of their average.
    cmap : str, Colormap or None, default=None
        Colour map of the weights; by default ``"viridis"`` for a strip and
        ``"Reds"`` (pale for small weights) for an overlay.
    color : color, default="black"
        Colour of the series' line.
    shared_scale : bool, default=False
        Whether all sequences share one colour scale, from 0 to the largest
        weight drawn, so that colours compare across rows. By default each
        sequence has its own scale, which shows where each one attends
        even when its weights are flatter than the others'.
    colorbar : bool, default=True
        Whether to draw a colour bar of the attention weights: one per
        sequence, or one for the whole plot with ``shared_scale=True``.
    y : array-like of shape (n_sequences,), optional
        The true targets of the sequences of ``X`` (in the order of the
        sequence numbers; for a long DataFrame, a Series indexed by entity
        id is aligned to the ids), shown in each sequence's title.
    show_prediction : bool, default=False
        Whether to show the estimator's prediction for each sequence in its
        title (``estimator.predict``, through the whole pipeline).
    step_labels : str, optional
        A column of the long DataFrame the estimator receives (e.g. the
        event type) whose values label the steps on the time axis under the
        weights: every step of a sequence of up to 40 steps, else its 10
        most attended steps. So the plot says which events were attended.

    Returns
    -------
    matplotlib Axes, or ndarray of Axes of shape (n_rows,)
        The Axes of the series, one per sequence and channel (sequence by
        sequence); a single Axes when there is one row. With
        ``kind="strip"`` each strip is an inset of its Axes
        (``ax.child_axes``). Each image of weights has the colour bar that
        shows its scale as its ``colorbar`` attribute.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")  # draw without a window
    >>> from skattn import LSTMAttentionClassifier
    >>> from skattn.datasets import load_basic_motions
    >>> from skattn.plotting import plot_attention
    >>> X_train, X_test, y_train, y_test = load_basic_motions(return_X_y=True)
    >>> clf = LSTMAttentionClassifier(max_epochs=2, random_state=0)
    >>> clf = clf.fit(X_train, y_train)
    >>> axes = plot_attention(clf, X_test, index=0)  # 6 channels: 6 rows
    >>> axes.shape
    (6,)
    >>> axes[0].figure.savefig("attention.png")  # doctest: +SKIP

    With the true and predicted classes in the titles, and one colour scale
    for all rows:

    >>> axes = plot_attention(
    ...     clf, X_test, index=[0, 1], y=y_test, show_prediction=True,
    ...     shared_scale=True,
    ... )
    >>> axes[0].get_title(loc="left")  # doctest: +SKIP
    'sequence 0: true standing, predicted standing'

    Events labelled by their type (``events``: a long DataFrame with an
    ``event`` column of strings and an ``amount``)::

        model = LSTMAttentionClassifier(time_features="gap").fit(events, y)
        plot_attention(model, events, index=0, step_labels="event")
    """
    _check_kind(kind, per_head)
    plt = _import_pyplot()
    preprocess, model = _attention_model(estimator, "plot_attention")
    check_is_fitted(model)
    n_sequences = _n_sequences(X)
    y = _check_targets(y, X, n_sequences)
    n_default = max(1, min(_DEFAULT_SEQUENCES, _DEFAULT_ROWS // model.n_channels_in_))
    positions = _sequence_index(index, n_sequences, n_default)
    subset, seqs, weights, lengths, rows_of = _attend(
        model, preprocess, X, positions, per_head, step_labels
    )
    predictions = estimator.predict(subset) if show_prediction else None
    n_channels = seqs.n_channels
    channel_names = _channel_names(channel_names, seqs.channel_names, n_channels)
    if cmap is None:
        # shading behind a line needs a map that is pale for small weights
        cmap = "viridis" if kind == "strip" else "Reds"
    n_rows = len(positions) * n_channels
    axes = _row_axes(plt, ax, n_rows, len(positions), kind)
    # the largest weight over the real steps of every sequence drawn
    shared_vmax = max(weights[i, :, : lengths[i]].max(initial=0.0) for i in rows_of)
    images = []
    for k, position in enumerate(positions):
        i = rows_of[k]
        title = f"sequence {position}"
        labels = []
        if y is not None:
            labels.append(f"true {_format_target(y[position])}")
        if predictions is not None:
            labels.append(f"predicted {_format_target(predictions[i])}")
        if labels:
            title += ": " + ", ".join(labels)
        rows = axes[k * n_channels : (k + 1) * n_channels]
        image = _draw_sequence(
            rows,
            seqs.values[i],
            weights[i],
            int(lengths[i]),
            title=title,
            channel_names=channel_names,
            kind=kind,
            cmap=cmap,
            color=color,
            vmax=shared_vmax if shared_scale else None,
            categories=getattr(seqs, "categories", None),
        )
        images.append(image)
        if seqs.labels is not None:
            _label_steps(
                rows[-1], kind, seqs.labels[i], weights[i].mean(axis=0), lengths[i]
            )
    if colorbar:
        _draw_colorbars(axes, images, n_channels, shared_scale)
    return axes[0] if n_rows == 1 else axes


def _check_targets(y, X, n_sequences):
    """``y`` as an array with one target per sequence of ``X``, or None."""
    if y is None:
        return None
    if _data._is_long(X) and hasattr(y, "index"):
        # only the entity ids matter: X's values may be strings
        index = X.index.sort_values()
        seqs = _data._Sequences(
            np.empty((n_sequences, 0, 0)), np.ones(n_sequences), "long", index
        )
        y = align_to_entities(y, seqs)
    y = np.asarray(y)
    if len(y) != n_sequences:
        raise ValueError(
            f"y has {len(y)} targets, but X has {n_sequences} sequences; give one "
            "target per sequence"
        )
    return y


def _format_target(value):
    """A class label as it is, a number to 3 significant digits."""
    value = np.asarray(value)
    if value.ndim:  # multi-output regression: one value per target
        return "(" + ", ".join(_format_target(v) for v in value) + ")"
    if value.dtype.kind == "f":
        return f"{float(value):.3g}"
    return str(value.item())


def _check_kind(kind, per_head):
    """Reject an unknown ``kind``, and ``per_head`` without a strip."""
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    if per_head and kind != "strip":
        raise ValueError("per_head=True draws one band per head: use kind='strip'")


def _attend(model, preprocess, X, positions, per_head, step_labels=None):
    """The chosen sequences as given, transformed and attended to; and each
    position's row among them."""
    # only the chosen sequences are transformed and attended to
    subset, subset_positions = _take(X, positions)
    transformed = subset
    if preprocess is not None:
        transformed = preprocess.transform(subset)
    if _data._is_long(transformed):
        seqs = _event_steps(model, transformed, step_labels)
    elif step_labels is not None:
        raise ValueError(
            f"step_labels={step_labels!r} names a column of a long DataFrame, but "
            f"the estimator receives {type(transformed).__name__}"
        )
    else:
        seqs = _data._check_sequences(transformed, allow_missing=True)
        seqs.labels = None
    weights = model.attention_weights(transformed, per_head=True)  # [n, h, t]
    if not per_head:
        weights = weights.mean(axis=1, keepdims=True)
    lengths = seqs.lengths
    if model.padding_idx is not None:
        # as the model reads them: trailing padding tokens are not steps
        lengths = trailing_padding_lengths(seqs.values, seqs.mask, model.padding_idx)
    rows_of = [subset_positions.index(position) for position in positions]
    return subset, seqs, weights, lengths, rows_of


def _event_steps(model, frame, step_labels):
    """The steps of a long ``frame`` as the estimator reads them: the per-event
    columns (numbers, and categories as their position in the fitted
    vocabulary, NaN when unseen or missing) padded per entity in time order;
    ``labels`` [n, T] the values of ``step_labels``; ``categories`` the
    vocabulary of each categorical channel (None for the others)."""
    columns = list(frame.columns)
    if step_labels is not None and step_labels not in columns:
        raise ValueError(
            f"step_labels={step_labels!r} is not a column of X; its columns are "
            f"{columns}"
        )
    static = list(getattr(model, "static_features", None) or [])
    per_event = [c for c in columns if c not in static]
    categorical = model._categorical_mask()
    if len(categorical) != len(per_event):  # the estimator's error is clearer
        model.attention_weights(frame)
    vocabularies = iter(getattr(model, "categories_", []))
    order, codes, step, ids = _data._event_order(frame)
    lengths = np.bincount(codes, minlength=len(ids)).astype(np.int64)
    values = np.full((len(ids), lengths.max(), len(per_event)), np.nan)
    categories = []
    for k, (c, is_categorical) in enumerate(zip(per_event, categorical, strict=True)):
        column = frame[c].to_numpy(dtype=object)[order]
        if is_categorical:
            vocabulary = next(vocabularies)
            found = pd.Index(vocabulary, dtype=object).get_indexer(
                pd.Series(column, dtype=object).where(pd.notna(column), None)
            )
            values[codes, step, k] = np.where(found >= 0, found, np.nan)
            categories.append([str(v) for v in vocabulary])
        else:
            values[codes, step, k] = frame[c].to_numpy(
                dtype=np.float64, na_value=np.nan
            )[order]
            categories.append(None)
    seqs = _data._Sequences(values, lengths, "long", None, per_event)
    seqs.categories = categories
    seqs.labels = None
    if step_labels is not None:
        seqs.labels = np.full(values.shape[:2], "", dtype=object)
        seqs.labels[codes, step] = [
            str(_data._plain(v))
            for v in frame[step_labels].to_numpy(dtype=object)[order]
        ]
    return seqs


def _label_steps(ax, kind, labels, weights, length):
    """Name the steps of one sequence on the time axis of its last row (its
    strip for ``kind="strip"``): all of them, or the most attended ones."""
    length = int(length)
    steps = np.arange(length)
    if length > _LABEL_ALL_UP_TO:
        steps = np.sort(np.argsort(-weights[:length], kind="stable")[:_LABEL_TOP])
    target = ax.child_axes[-1] if kind == "strip" and ax.child_axes else ax
    target.set_xticks(steps)
    target.set_xticklabels([labels[t] for t in steps], rotation=90, fontsize="x-small")


def _channel_names(channel_names, default, n_channels):
    """The channels' labels as strings: the given ones, checked, or the default."""
    if channel_names is None:
        channel_names = default or [f"channel {c}" for c in range(n_channels)]
    channel_names = [str(name) for name in channel_names]
    if len(channel_names) != n_channels:
        raise ValueError(
            f"channel_names has {len(channel_names)} names, but X has {n_channels} "
            "channels"
        )
    return channel_names


def _row_axes(plt, ax, n_rows, n_sequences, kind):
    """The Axes to draw on, one per row: ``ax`` checked, or a new figure's."""
    if ax is None:
        strip_space = 0.6 if kind == "strip" else 0.0
        _, ax = plt.subplots(
            n_rows,
            1,
            figsize=(8, 0.5 + 1.4 * n_rows + strip_space * n_sequences),
            layout="constrained",
            squeeze=False,
        )
    return _check_axes(ax, n_rows)


def _draw_sequence(
    rows,
    values,
    weights,
    length,
    *,
    title,
    channel_names,
    kind,
    cmap,
    color,
    vmax,
    categories=None,
):
    """One sequence: a row per channel of ``values`` [T, C], with ``weights``
    [h, T] coloured from 0 to ``vmax`` (None: the sequence's largest weight).

    Returns the image of the weights, for the colour bar.
    """
    seq_weights = weights[:, :length]  # [h, length]
    if vmax is None:
        vmax = seq_weights.max(initial=0.0)
    vmax = vmax or 1.0  # all weights 0 (a sequence of padding only)
    n_channels = len(rows)
    images = []
    for c, a in enumerate(rows):
        image = _draw_row(
            a,
            values[:length, c],
            seq_weights,
            label=channel_names[c] if n_channels > 1 else "value",
            last=c == n_channels - 1,
            kind=kind,
            cmap=cmap,
            vmax=vmax,
            color=color,
            categories=None if categories is None else categories[c],
        )
        if image is not None:
            images.append(image)
    rows[0].set_title(title, loc="left", fontsize="medium")
    return images[-1]


def _draw_colorbars(axes, images, n_channels, shared_scale):
    """A colour bar of the weights: one per sequence, beside its rows, or one
    beside all rows when the sequences share a scale."""
    figure = axes[0].figure
    label = "attention weight"
    if shared_scale:
        figure.colorbar(images[0], ax=list(axes), label=label, fraction=0.04)
        return
    for k, image in enumerate(images):
        rows = list(axes[k * n_channels : (k + 1) * n_channels])
        figure.colorbar(image, ax=rows, label=label, fraction=0.04)


def _draw_row(
    ax, series, weights, *, label, last, kind, cmap, vmax, color, categories=None
):
    """One channel's ``series`` [length] on ``ax``, with its ``weights`` [h, length].

    A categorical channel (``categories``: its vocabulary; ``series``: the
    position in it) is drawn as markers at the categories, named on the y
    axis when there are few. Returns the image of the weights, or None for a
    strip on a row that does not carry it.
    """
    length = len(series)
    if categories is None:
        ax.plot(np.arange(length), series, color=color, linewidth=1.2, zorder=2)
    else:
        ax.plot(np.arange(length), series, "o", color=color, markersize=4, zorder=2)
        ax.set_ylim(-0.5, max(len(categories), 1) - 0.5)
        if len(categories) <= _MAX_CATEGORY_TICKS:
            ax.set_yticks(range(len(categories)))
            ax.set_yticklabels(categories, fontsize="x-small")
    ax.set_xlim(-0.5, length - 0.5)
    ax.set_ylabel(label)
    image = None
    if kind == "overlay":
        image = _draw_overlay(ax, weights, length, cmap, vmax)
    if not last:  # the sequence's last row carries the time axis
        ax.tick_params(axis="x", labelbottom=False)
    elif kind == "strip":
        image = _draw_strip(ax, weights, length, cmap, vmax)
    else:
        ax.set_xlabel("timestep")
    return image


def _draw_strip(ax, weights, length, cmap, vmax):
    """A heat strip of ``weights`` [h, length] just under ``ax``."""
    n_heads = weights.shape[0]
    strip = ax.inset_axes([0.0, -_STRIP_HEIGHT - 0.04, 1.0, _STRIP_HEIGHT])
    image = _show_weights(
        strip, weights, (-0.5, length - 0.5, n_heads - 0.5, -0.5), cmap, vmax
    )
    strip.set_xlim(ax.get_xlim())
    if n_heads > 1:
        strip.set_yticks(range(n_heads))
        strip.tick_params(axis="y", labelsize="x-small")
        strip.set_ylabel("head", fontsize="small")
    else:
        strip.set_yticks([])
        strip.set_ylabel("attention", rotation=0, ha="right", va="center")
    strip.set_xlabel("timestep")
    # the strip carries the time axis; the series above shares it
    ax.tick_params(axis="x", labelbottom=False)
    return image


def _draw_overlay(ax, weights, length, cmap, vmax):
    """``weights`` [h, length] as shading behind the series of ``ax``."""
    low, high = ax.get_ylim()
    image = _show_weights(
        ax,
        weights,
        (-0.5, length - 0.5, low, high),
        cmap,
        vmax,
        origin="lower",
        alpha=0.5,
        zorder=1,
    )
    ax.set_ylim(low, high)
    return image


def _show_weights(ax, weights, extent, cmap, vmax, **kwargs):
    """``weights`` [h, length] as a heat map over ``extent``, from 0 to ``vmax``."""
    return ax.imshow(
        weights,
        extent=extent,
        aspect="auto",
        cmap=cmap,
        vmin=0.0,
        vmax=vmax,
        interpolation="nearest",
        **kwargs,
    )
