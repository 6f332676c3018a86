"""plot_attention: rendered images, rows per channel, inputs and errors."""

import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skattn import (
    LSTMAttentionClassifier,
    SequenceScaler,
    TokenEncoder,
    TransformerClassifier,
    TransformerRegressor,
)
from skattn.data import to_long
from skattn.plotting import plot_attention

from ._data import make_sequences, pad

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def univariate():
    """Equal-length 1-channel sequences and a fitted LSTM."""
    rng = np.random.default_rng(0)
    X = rng.normal(scale=0.3, size=(60, 30, 1))
    y = np.arange(60) % 2
    X[:, 14:17, 0] += np.where(y == 1, 3.0, -3.0)[:, None]
    clf = LSTMAttentionClassifier(hidden_size=8, max_epochs=2, random_state=0)
    return X, clf.fit(X, y)


def peaked_weights(X, per_head=False):
    """Known attention weights for the pixel test: a bump at step 15 of 30
    on a floor, the same for every sequence."""
    steps = np.arange(30)
    w = 0.2 + np.exp(-((steps - 15.0) ** 2) / 8.0)
    w = np.broadcast_to(w / w.sum(), (len(X), 1, 30))
    return w if per_head else w[:, 0]


@pytest.fixture(scope="module")
def ragged_two_channels():
    X, y = make_sequences(n=30)
    clf = TransformerClassifier(
        d_model=8, num_heads=2, dim_feedforward=16, max_epochs=2, random_state=0
    )
    return X, clf.fit(X, y)


def render(fig, path):
    """Save ``fig`` as a PNG with Agg and read the pixels back (RGB, 0-1)."""
    fig.savefig(path)
    return plt.imread(path)[..., :3]


def pixels_of(ax, image):
    """The pixels inside ``ax`` (a few pixels in from its frame)."""
    fig = ax.figure
    fig.canvas.draw()
    box = ax.get_window_extent()
    height = image.shape[0]
    top, bottom = int(height - box.y1) + 3, int(height - box.y0) - 3
    left, right = int(box.x0) + 3, int(box.x1) - 3
    return image[top:bottom, left:right], (left, right)


def test_strip_image_is_drawn_and_follows_the_weights(
    univariate, tmp_path, monkeypatch
):
    X, clf = univariate
    monkeypatch.setattr(clf, "attention_weights", peaked_weights)
    ax = plot_attention(clf, X, index=1)
    image = render(ax.figure, tmp_path / "strip.png")
    assert image.std() > 0.05  # not a blank canvas

    (strip,) = ax.child_axes
    strip_pixels, (left, right) = pixels_of(strip, image)
    columns = strip_pixels.mean(axis=(0, 2))  # brightness of each pixel column
    assert columns.std() > 0.05  # the strip's colour changes along time

    # viridis gets brighter with the weight: the column brightness follows
    # the weight of the timestep under it
    weights = clf.attention_weights(X[1:2])[0]
    x_data = strip.transData.inverted().transform(
        np.column_stack([np.arange(left, right) + 0.5, np.zeros(right - left)])
    )[:, 0]
    step_of_column = np.clip(np.round(x_data).astype(int), 0, len(weights) - 1)
    assert np.corrcoef(columns, weights[step_of_column])[0, 1] > 0.95
    assert step_of_column[columns.argmax()] == 15


def test_series_is_drawn_over_its_real_steps_only(ragged_two_channels):
    X, clf = ragged_two_channels
    axes = plot_attention(clf, X, index=[0, 3])
    lengths = [len(X[0]), len(X[3])]
    for k, length in enumerate(lengths):
        for c in range(2):
            (line,) = axes[2 * k + c].get_lines()
            np.testing.assert_array_equal(line.get_xdata(), np.arange(length))
            np.testing.assert_array_equal(line.get_ydata(), X[[0, 3][k]][:, c])
        (strip,) = axes[2 * k + 1].child_axes
        assert strip.get_images()[0].get_array().shape == (1, length)


def test_axes_count_univariate_vs_multivariate(univariate, ragged_two_channels):
    X1, uni = univariate
    X2, multi = ragged_two_channels
    single = plot_attention(uni, X1, index=0)
    assert isinstance(single, matplotlib.axes.Axes)
    assert plot_attention(uni, X1, index=[0, 5]).shape == (2,)
    assert plot_attention(uni, X1).shape == (3,)  # the first three sequences
    assert plot_attention(multi, X2, index=4).shape == (2,)  # one row per channel
    assert plot_attention(multi, X2, index=[0, 1, 2]).shape == (6,)


def test_overlay_and_given_axes(univariate, tmp_path):
    X, clf = univariate
    fig, given = plt.subplots(2, 1)
    axes = plot_attention(clf, X, index=[2, 3], ax=given, kind="overlay")
    assert list(axes) == list(given)
    for ax in axes:
        assert not ax.child_axes  # shading, no strip
        assert len(ax.get_images()) == 1
    assert render(fig, tmp_path / "overlay.png").std() > 0.05
    with pytest.raises(ValueError, match="ax holds 2 Axes, but the plot has 3 rows"):
        plot_attention(clf, X, index=[0, 1, 2], ax=given)


def test_per_head_strip_has_a_band_per_head(univariate):
    X, _ = univariate
    y = X[:, 15, 0]
    reg = TransformerRegressor(
        d_model=8, num_heads=4, dim_feedforward=16, max_epochs=2, random_state=0
    ).fit(X, y)
    ax = plot_attention(reg, X, index=0, per_head=True)
    (strip,) = ax.child_axes
    assert strip.get_images()[0].get_array().shape == (4, 30)
    with pytest.raises(ValueError, match="kind='strip'"):
        plot_attention(reg, X, per_head=True, kind="overlay")


def test_pipeline_and_long_frame(ragged_two_channels):
    X, clf = ragged_two_channels
    _, y = make_sequences(n=30)
    pipe = make_pipeline(SequenceScaler(), clone(clf)).fit(X, y)
    axes = plot_attention(pipe, X, index=1)
    scaled = pipe[0].transform(X)[1]
    np.testing.assert_allclose(axes[0].get_lines()[0].get_ydata(), scaled[:, 0])

    # long format: sequence numbers follow the sorted entity ids
    ids = [f"customer {k:02d}" for k in range(30)]
    long = to_long(X, ids=ids, value_cols=["amount", "items"])
    long = long.set_index(["id", "time"]).sample(frac=1.0, random_state=0)
    fitted = clone(clf).fit(long, pd.Series(y, index=ids))
    axes = plot_attention(fitted, long, index=[7, 2])
    assert axes[0].get_ylabel() == "amount"
    assert axes[0].get_title(loc="left") == "sequence 7"
    np.testing.assert_allclose(axes[0].get_lines()[0].get_ydata(), X[7][:, 0])
    np.testing.assert_allclose(axes[2].get_lines()[0].get_ydata(), X[2][:, 0])


def test_token_pipeline_draws_the_real_tokens():
    texts = ["a good film", "a bad film", "not a good film at all", "bad"] * 5
    y = ["pos", "neg", "neg", "neg"] * 5
    pipe = make_pipeline(
        TokenEncoder(max_tokens=20),
        LSTMAttentionClassifier(
            vocab_size=22, padding_idx=0, hidden_size=4, max_epochs=1, random_state=0
        ),
    ).fit(texts, y)
    axes = plot_attention(pipe, texts, index=[2, 3])
    assert [len(ax.get_lines()[0].get_xdata()) for ax in axes] == [6, 1]
    # token ids padded with padding_idx: the padding is not drawn
    ids = np.array([[2, 3, 4, 0, 0], [5, 0, 0, 0, 0]])
    clf = pipe[-1]
    axes = plot_attention(clf, [row for row in ids], index=[0, 1])
    assert [len(ax.get_lines()[0].get_xdata()) for ax in axes] == [3, 1]


def test_padding_in_arrays_is_not_drawn(ragged_two_channels):
    X, clf = ragged_two_channels
    padded = pad(X)
    ax = plot_attention(clf, padded, index=0, channel_names=["a", "b"])
    assert len(ax[0].get_lines()[0].get_xdata()) == len(X[0])
    assert [a.get_ylabel() for a in ax] == ["a", "b"]


def test_estimator_without_attention_pooling(univariate):
    X, _ = univariate
    y = np.arange(len(X)) % 2
    mean_pooled = LSTMAttentionClassifier(
        hidden_size=4, pooling="mean", max_epochs=1, random_state=0
    ).fit(X, y)
    with pytest.raises(ValueError, match="pooling='mean'.*pooling='attention'"):
        plot_attention(mean_pooled, X)
    plain = LogisticRegression().fit(X[..., 0], y)
    with pytest.raises(TypeError, match="no attention_weights"):
        plot_attention(plain, X[..., 0])


def test_bad_arguments(univariate):
    X, clf = univariate
    with pytest.raises(ValueError, match="kind must be one of"):
        plot_attention(clf, X, kind="heatmap")
    with pytest.raises(IndexError, match="index 60 is out of range"):
        plot_attention(clf, X, index=60)
    with pytest.raises(ValueError, match="channel_names has 2 names"):
        plot_attention(clf, X, index=0, channel_names=["a", "b"])


def test_missing_matplotlib_gives_an_install_hint(univariate, monkeypatch):
    X, clf = univariate
    # a None entry in sys.modules makes `import matplotlib...` raise ImportError
    for name in [m for m in sys.modules if m.startswith("matplotlib")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "skattn\[plot\]"'):
        plot_attention(clf, X)


def weight_images(axes, kind="strip"):
    """The images of attention weights of each drawn row that has one."""
    axes = np.atleast_1d(axes)
    if kind == "strip":
        return [im for ax in axes for child in ax.child_axes for im in child.images]
    return [im for ax in axes for im in ax.get_images()]


def real_weights(clf, X, positions):
    """The mean attention weights of each sequence over its real steps."""
    weights = clf.attention_weights([X[i] for i in positions])
    return [weights[k, : len(X[i])] for k, i in enumerate(positions)]


def test_colour_bar_shows_each_sequences_scale(ragged_two_channels):
    X, clf = ragged_two_channels
    axes = plot_attention(clf, X, index=[0, 3])
    images = weight_images(axes)
    assert len(images) == 2  # one strip per sequence, under its last channel
    bars = [image.colorbar for image in images]
    assert all(bar is not None for bar in bars)
    assert bars[0] is not bars[1]  # each sequence has its own scale
    for image, bar, weights in zip(
        images, bars, real_weights(clf, X, [0, 3]), strict=True
    ):
        np.testing.assert_allclose(image.get_clim(), (0.0, weights.max()))
        np.testing.assert_allclose(bar.ax.get_ylim(), (0.0, weights.max()))
        assert bar.ax.get_ylabel() == "attention weight"
        assert bar.ax in axes[0].figure.axes
    assert weight_images(axes)[0].get_clim() != weight_images(axes)[1].get_clim()


def test_shared_scale_gives_every_row_the_same_limits(ragged_two_channels):
    X, clf = ragged_two_channels
    positions = [0, 3, 5]
    largest = max(w.max() for w in real_weights(clf, X, positions))
    for kind in ("strip", "overlay"):
        axes = plot_attention(clf, X, index=positions, kind=kind, shared_scale=True)
        images = weight_images(axes, kind)
        assert len(images) == (3 if kind == "strip" else 6)
        for image in images:
            np.testing.assert_allclose(image.get_clim(), (0.0, largest))
        # one colour bar for the whole plot
        bars = {id(image.colorbar) for image in images if image.colorbar is not None}
        assert len(bars) == 1
        (bar,) = {image.colorbar for image in images if image.colorbar is not None}
        np.testing.assert_allclose(bar.ax.get_ylim(), (0.0, largest))


def test_no_colour_bar_when_asked(univariate):
    X, clf = univariate
    ax = plot_attention(clf, X, index=0, colorbar=False)
    (image,) = weight_images(ax)
    assert image.colorbar is None
    assert ax.figure.axes == [ax]


def test_titles_show_true_and_predicted_classes(univariate):
    X, clf = univariate
    labels = np.where(np.arange(len(X)) % 2 == 1, "up", "down")
    fitted = clone(clf).fit(X, labels)
    positions = [4, 7, 10]
    axes = plot_attention(fitted, X, index=positions, y=labels, show_prediction=True)
    predicted = fitted.predict(X[positions])
    for ax, position, guess in zip(axes, positions, predicted, strict=True):
        assert ax.get_title(loc="left") == (
            f"sequence {position}: true {labels[position]}, predicted {guess}"
        )
    only_true = plot_attention(fitted, X, index=7, y=labels)
    assert only_true.get_title(loc="left") == "sequence 7: true up"
    only_predicted = plot_attention(fitted, X, index=7, show_prediction=True)
    assert only_predicted.get_title(loc="left") == (
        f"sequence 7: predicted {fitted.predict(X[7:8])[0]}"
    )


def test_titles_of_a_pipeline_on_a_long_frame(ragged_two_channels):
    X, clf = ragged_two_channels
    _, y = make_sequences(n=30)
    ids = [f"customer {k:02d}" for k in range(30)]
    long = to_long(X, ids=ids, value_cols=["amount", "items"]).set_index(["id", "time"])
    pipe = make_pipeline(SequenceScaler(), clone(clf)).fit(long, y)
    # a Series indexed by entity id is aligned to the ids, whatever its order
    y_by_id = pd.Series(y, index=ids).iloc[::-1]
    axes = plot_attention(pipe, long, index=[2], y=y_by_id, show_prediction=True)
    predicted = pipe.predict(long)[2]
    assert axes[0].get_title(loc="left") == (
        f"sequence 2: true {y[2]}, predicted {predicted}"
    )


def test_titles_of_a_regressor_show_rounded_values(univariate):
    X, _ = univariate
    target = X[:, 15, 0] * 1000.0
    reg = TransformerRegressor(
        d_model=8, num_heads=2, dim_feedforward=16, max_epochs=1, random_state=0
    ).fit(X, target)
    ax = plot_attention(reg, X, index=3, y=target, show_prediction=True)
    guess = reg.predict(X[3:4])[0]
    assert ax.get_title(loc="left") == (
        f"sequence 3: true {target[3]:.3g}, predicted {guess:.3g}"
    )


def test_targets_must_match_the_sequences(univariate):
    X, clf = univariate
    with pytest.raises(ValueError, match="y has 59 targets, but X has 60 sequences"):
        plot_attention(clf, X, index=0, y=np.zeros(59))


@pytest.fixture(scope="module")
def events():
    """Unsorted events with tied times, a category, an amount and a plan per
    customer; customer "c" has 45 events. A fitted event model."""
    rng = np.random.default_rng(0)
    rows = []
    for customer, n in (("a", 5), ("b", 3), ("c", 45)):
        days = np.sort(rng.integers(0, 60, size=n))
        days[1] = days[2]  # two events at one time
        for day in days:
            rows.append(
                (
                    customer,
                    pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(day)),
                    str(rng.choice(["buy", "view", "refund"])),
                    float(rng.normal()),
                    "gold" if customer == "a" else "free",
                )
            )
    X = pd.DataFrame(rows, columns=["customer", "time", "event", "amount", "plan"])
    X = X.set_index(["customer", "time"]).iloc[rng.permutation(len(rows))]
    clf = LSTMAttentionClassifier(
        hidden_size=4,
        max_epochs=1,
        time_features="elapsed",
        static_features=["plan"],
        random_state=0,
    )
    return X, clf.fit(X, [0, 1, 0])


def in_time_order(X, customer, column):
    """The values of ``column`` for ``customer``, by time (ties in row order)."""
    rows = X.loc[[customer]].reset_index()
    return rows.sort_values("time", kind="stable")[column].tolist()


def test_event_frames_draw_categories_and_label_steps(events):
    X, clf = events
    axes = plot_attention(clf, X, index=[0, 1], step_labels="event")
    # a row per per-event column (the plan is an attribute, not drawn)
    assert [a.get_ylabel() for a in axes] == ["event", "amount"] * 2
    vocabulary = clf.categories_[0].tolist()
    for k, customer in enumerate(["a", "b"]):
        kinds, amounts = axes[2 * k], axes[2 * k + 1]
        assert [t.get_text() for t in kinds.get_yticklabels()] == vocabulary
        codes = [vocabulary.index(e) for e in in_time_order(X, customer, "event")]
        assert_array_equal(kinds.lines[0].get_ydata(), codes)
        assert_array_equal(
            amounts.lines[0].get_ydata(), in_time_order(X, customer, "amount")
        )
        labels = [t.get_text() for t in amounts.child_axes[-1].get_xticklabels()]
        assert labels == in_time_order(X, customer, "event")


def test_step_labels_name_the_most_attended_of_a_long_sequence(events):
    X, clf = events
    ax = plot_attention(clf, X, index=2, step_labels="event", kind="overlay")[-1]
    weights = clf.attention_weights(X.loc[["c"]])[0]
    top = np.sort(np.argsort(-weights, kind="stable")[:10])
    assert_array_equal(ax.get_xticks(), top)
    names = in_time_order(X, "c", "event")
    assert [t.get_text() for t in ax.get_xticklabels()] == [names[t] for t in top]


def test_step_labels_errors(events, univariate):
    X, clf = events
    with pytest.raises(ValueError, match="step_labels='kind' is not a column of X"):
        plot_attention(clf, X, step_labels="kind")
    X_arr, clf_arr = univariate
    with pytest.raises(ValueError, match="names a column of a long DataFrame"):
        plot_attention(clf_arr, X_arr, step_labels="event")
