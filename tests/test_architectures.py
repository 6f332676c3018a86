"""The architecture parameters (``skattn/_architectures.py``): checks of
combinations that cannot be built, and ``conv_stem``/``stem_norm`` on the
estimators (attention weights at input resolution, padding, regression, no
stem, the stem's normalisation)."""

import numpy as np
import pytest
import torch
from sklearn.base import clone, is_regressor

from skattn import (
    AttentionPoolingTransformer,
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    TransformerClassifier,
    TransformerRegressor,
)
from skattn.exceptions import DataLayoutWarning


def test_invalid_combinations_name_both_values(data3d):
    X, y = data3d
    clf = TransformerClassifier(d_model=30, num_heads=4)  # construction never fails
    with pytest.raises(ValueError, match="d_model=30 must be divisible by num_heads=4"):
        clf.fit(X, y)
    lstm = LSTMAttentionClassifier(hidden_size=5, attention="multihead", num_heads=4)
    with pytest.raises(ValueError, match="hidden_size=5 .* num_heads=4"):
        lstm.fit(X, y)
    with pytest.raises(ValueError, match="max_epochs"):
        LSTMAttentionClassifier(max_epochs=0).fit(X, y)


# conv_stem ---------------------------------------------------------------------


def _ragged_data(n=24, t=40, c=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, t, c)).astype(np.float32)
    lengths = rng.integers(5, t + 1, n)
    lengths[0] = t
    for i, n_real in enumerate(lengths):
        X[i, n_real:] = np.nan
    y = (np.nanmean(X[:, :, 0], axis=1) > 0).astype(int)
    return X, y, lengths


@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionClassifier])
def test_attention_weights_at_input_resolution(Model):
    X, y, lengths = _ragged_data()
    clf = Model(conv_stem=4, max_epochs=2, random_state=0, n_threads=1).fit(X, y)
    assert clf.net_.module_.stem.stride == 4
    w = clf.attention_weights(X)
    assert w.shape == (len(X), X.shape[1])
    np.testing.assert_allclose(w.sum(1), 1.0, rtol=1e-9)
    for i, n_real in enumerate(lengths):
        assert (w[i, n_real:] == 0).all()
        assert (w[i, :n_real] > 0).all()


@pytest.mark.parametrize("stem_norm", ["layer", "batch", None])
@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionClassifier])
def test_predictions_do_not_depend_on_padding(Model, stem_norm):
    X, y, lengths = _ragged_data()
    clf = Model(
        conv_stem="auto", stem_norm=stem_norm, max_epochs=2, random_state=0, n_threads=1
    ).fit(X, y)
    together = clf.predict_proba(X)
    alone = np.vstack(
        [clf.predict_proba(X[i : i + 1, :n]) for i, n in enumerate(lengths)]
    )
    np.testing.assert_allclose(together, alone, atol=1e-10)


def _fit_padding_and_saving(est, tmp_path):
    """Fit ``est`` on ragged data (a regressor on a sum of the values), check
    that each sequence alone predicts as in the padded batch and that the
    saved model predicts the same; return ``(X, y)``."""
    import skattn

    X, y, lengths = _ragged_data()
    if is_regressor(est):
        y = np.nan_to_num(X[:, :, 0]).sum(1)
    est.fit(X, y)
    out = est.predict if is_regressor(est) else est.predict_proba
    alone = [out(X[i : i + 1, :n]) for i, n in enumerate(lengths)]
    np.testing.assert_allclose(np.concatenate(alone), out(X), atol=1e-10)
    est.save(tmp_path / "model.skattn")
    loaded = skattn.load(tmp_path / "model.skattn")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    return X, y


@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionClassifier])
def test_batch_renorm_is_built_saved_and_ignores_padding(Model, tmp_path):
    est = Model(
        batch_renorm=True,
        stem_norm="batch",
        series_norm="instance",
        max_epochs=60,  # 2 batches an epoch: past the 100-batch warm-up
        random_state=0,
        n_threads=1,
    )
    _fit_padding_and_saving(est, tmp_path)
    network = est.net_.module_
    norms = [network.series_norm.norm, *network.stem.norms]
    assert all(norm.renorm for norm in norms)
    assert all(int(norm.batches_seen) > 100 for norm in norms)
    plain = Model(
        batch_renorm=False, stem_norm="batch", series_norm="instance", max_epochs=1
    )
    plain_network = plain.fit(*_ragged_data()[:2]).net_.module_
    assert not plain_network.series_norm.norm.renorm
    assert not any(norm.renorm for norm in plain_network.stem.norms)


def test_batch_renorm_is_the_lstm_classifiers_default_only():
    """The LSTM classifier renormalises by default (its only batch-statistics
    layer is series_norm's); the other estimators do not."""
    assert LSTMAttentionClassifier().batch_renorm is True
    for Model in (LSTMAttentionRegressor, TransformerClassifier, TransformerRegressor):
        assert Model().batch_renorm is False
    est = LSTMAttentionClassifier(series_norm="instance", max_epochs=1, n_threads=1)
    assert est.fit(*_ragged_data()[:2]).net_.module_.series_norm.norm.renorm


def test_files_saved_before_batch_renorm_load_without_it(tmp_path):
    """A LSTMAttentionClassifier file written before batch_renorm existed
    has no such key: it loads with plain batch normalisation, as trained."""
    X, y = _shapes_at_many_scales(60, seed=0)
    old = LSTMAttentionClassifier(
        batch_renorm=False,
        series_norm="instance",
        max_epochs=1,
        random_state=0,
        n_threads=1,
    )
    loaded = _saved_without(old.fit(X, y), tmp_path, ["batch_renorm"])
    assert LSTMAttentionClassifier().batch_renorm and loaded.batch_renorm is False
    assert not loaded.net_.module_.series_norm.norm.renorm
    np.testing.assert_array_equal(loaded.predict_proba(X), old.predict_proba(X))


def test_stem_pooling_is_the_lstm_classifiers_default_where_there_is_a_stem():
    """The LSTM classifier's head reads the stem's channels by default
    ("auto"), and a network without a stem fits without them; an explicit
    True without a stem is an error."""
    assert LSTMAttentionClassifier().stem_pooling == "auto"
    for Model in (LSTMAttentionRegressor, TransformerClassifier, TransformerRegressor):
        assert Model().stem_pooling is False
    X, y = _ragged_data()[:2]
    est = LSTMAttentionClassifier(max_epochs=1, n_threads=1).fit(X, y)
    assert est.net_.module_.stem_pooling is not None
    est = LSTMAttentionClassifier(conv_stem=None, max_epochs=1, n_threads=1)
    module = est.fit(X, y).net_.module_
    assert module.stem is None and module.stem_pooling is None
    est.set_params(stem_pooling=True)
    with pytest.raises(ValueError, match="stem_pooling=True needs a convolutional"):
        est.fit(X, y)


def test_files_saved_before_stem_pooling_load_without_it(tmp_path):
    """A LSTMAttentionClassifier file written before stem_pooling took
    "auto" has no such key: it loads without stem pooling, as trained."""
    X, y = _ragged_data()[:2]
    old = LSTMAttentionClassifier(
        stem_pooling=False, max_epochs=1, random_state=0, n_threads=1
    )
    loaded = _saved_without(old.fit(X, y), tmp_path, ["stem_pooling"])
    assert loaded.stem_pooling is False
    assert loaded.net_.module_.stem_pooling is None
    np.testing.assert_array_equal(loaded.predict_proba(X), old.predict_proba(X))


@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionRegressor])
def test_dilated_stem_is_built_saved_and_ignores_padding(Model, tmp_path):

    est = Model(stem_dilation=2, max_epochs=2, random_state=0, n_threads=1)
    X, y = _fit_padding_and_saving(est, tmp_path)
    stem = est.net_.module_.stem
    assert [conv.dilation[0] for conv in stem.convs] == [1, 2, 4]
    with pytest.raises(ValueError, match="stem_dilation"):
        Model(stem_dilation=0, max_epochs=1).fit(X, y)


@pytest.mark.parametrize("Model", [LSTMAttentionClassifier, TransformerRegressor])
def test_multi_scale_stem_is_built_saved_and_ignores_padding(Model, tmp_path):
    est = Model(stem_scales=3, max_epochs=2, random_state=0, n_threads=1)
    X, y = _fit_padding_and_saving(est, tmp_path)
    for layer in est.net_.module_.stem.convs:
        widths = [conv.kernel_size[0] for conv in layer.branches]
        assert widths == [widths[0], 2 * widths[0] - 1, 4 * widths[0] - 3]
    with pytest.raises(ValueError, match="stem_scales"):
        Model(stem_scales=0, max_epochs=1).fit(X, y)


@pytest.mark.parametrize(
    "Model", [LSTMAttentionClassifier, TransformerClassifier, TransformerRegressor]
)
def test_max_pooling_is_built_saved_and_ignores_padding(Model, tmp_path):
    est = Model(
        max_pooling=True, stem_pooling=False, max_epochs=2, random_state=0, n_threads=1
    )
    X, y = _fit_padding_and_saving(est, tmp_path)
    network = est.net_.module_
    assert network.head.in_features == 2 * network.encoder.output_size
    weights = est.attention_weights(X[:3])
    np.testing.assert_allclose(np.nansum(weights, axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="max_pooling"):
        Model(max_pooling="yes", max_epochs=1).fit(X, y)


@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionRegressor])
def test_stem_pooling_is_built_saved_and_ignores_padding(Model, tmp_path):
    est = Model(stem_pooling=True, max_epochs=2, random_state=0, n_threads=1)
    X, y = _fit_padding_and_saving(est, tmp_path)
    network = est.net_.module_
    states = network.encoder.output_size * (2 if est.max_pooling else 1)
    assert network.head.in_features == states + 2 * network.stem.output_size
    with pytest.raises(ValueError, match="stem_pooling"):
        Model(stem_pooling=True, conv_stem=None, max_epochs=1).fit(X, y)


def test_stem_pooling_widens_the_embedding(data3d):
    X, y = data3d
    kwargs = dict(max_epochs=1, random_state=0, n_threads=1)
    plain = AttentionPoolingTransformer(**kwargs).fit(X, y)
    width = plain.transform(X).shape[1]
    joined = AttentionPoolingTransformer(stem_pooling=True, **kwargs).fit(X, y)
    stem = joined.net_.module_.stem.output_size
    assert joined.transform(X).shape == (len(X), width + 2 * stem)
    assert joined.get_feature_names_out().shape == (width + 2 * stem,)


def test_max_pooling_doubles_the_embedding_and_follows_the_task(data3d):
    X, y = data3d
    kwargs = dict(max_epochs=1, random_state=0, n_threads=1)
    plain = AttentionPoolingTransformer(max_pooling=False, **kwargs).fit(X, y)
    width = plain.transform(X).shape[1]
    joined = AttentionPoolingTransformer(max_pooling=True, **kwargs).fit(X, y)
    assert joined.transform(X).shape == (len(X), 2 * width)
    assert joined.get_feature_names_out().shape == (2 * width,)
    # "auto": the classifiers' True on class labels, the regressors' False
    # on continuous targets and without labels
    auto = AttentionPoolingTransformer(**kwargs)
    assert auto.fit(X, y).transform(X).shape[1] == 2 * width
    assert auto.fit(X, X[:, 0, 0]).transform(X).shape[1] == width
    assert auto.fit(X).transform(X).shape[1] == width
    assert TransformerClassifier().max_pooling and LSTMAttentionClassifier().max_pooling
    assert not TransformerRegressor().max_pooling
    assert not LSTMAttentionRegressor().max_pooling


def test_tape_positions_are_fitted_to_the_longest_sequence_and_saved(tmp_path):
    est = TransformerRegressor(
        positional_encoding="tape", conv_stem=2, max_epochs=2, random_state=0
    )
    X, _ = _fit_padding_and_saving(est.set_params(n_threads=1), tmp_path)
    # 40 steps, halved by the stem
    assert est.net_.module_.encoder.positional_encoding.length == 20
    longer = np.random.default_rng(1).normal(size=(3, 90, 2))
    assert np.isfinite(est.predict(longer)).all()
    for codes in ("tape", "auto"):  # "auto" may give sinusoidal codes
        with pytest.raises(ValueError, match=f"positional_encoding='{codes}' needs"):
            TransformerRegressor(
                positional_encoding=codes, d_model=9, num_heads=3, max_epochs=1
            ).fit(X, np.zeros(len(X)))


def test_relative_positions_are_built_saved_and_ignore_padding(tmp_path):
    est = TransformerClassifier(
        relative_positions=True,
        pooling="cls",
        conv_stem=2,
        max_epochs=3,
        random_state=0,
        n_threads=1,
    )
    X, _ = _fit_padding_and_saving(est, tmp_path)
    for layer in est.net_.module_.encoder.layers:
        # 40 steps, halved by the stem: distances up to 19
        assert layer.relative_bias.bias.shape == (est.num_heads, 2 * 19 + 1)
        assert layer.relative_bias.bias.abs().max() > 0  # trained
    longer = np.random.default_rng(1).normal(size=(3, 90, 2))
    assert np.isfinite(est.predict_proba(longer)).all()


def test_embedding_estimator_takes_tape_and_relative_positions():
    X, _, lengths = _ragged_data()
    est = AttentionPoolingTransformer(
        positional_encoding="tape",
        relative_positions=True,
        max_epochs=2,
        random_state=0,
        n_threads=1,
    ).fit(X)
    # unsupervised: the network inside the masked-reconstruction module
    encoder = est.net_.module_.network.encoder
    assert (
        encoder.positional_encoding.length
        == encoder.layers[0].relative_bias.max_distance + 1
    )
    together = est.transform(X)
    alone = np.vstack([est.transform(X[i : i + 1, :n]) for i, n in enumerate(lengths)])
    np.testing.assert_allclose(alone, together, atol=1e-10)


@pytest.mark.parametrize("Model", [TransformerRegressor, LSTMAttentionRegressor])
def test_stem_fits_regression_and_learned_positions(Model):
    X, _, lengths = _ragged_data()
    y = np.nan_to_num(X[:, :, 0]).sum(1)
    extra = {"positional_encoding": "learned"} if Model is TransformerRegressor else {}
    reg = Model(conv_stem=2, max_epochs=2, random_state=0, n_threads=1, **extra)
    together = reg.fit(X, y).predict(X)
    assert reg.net_.module_.stem.stride == 2
    # each sequence alone, without padding, predicts as in the padded batch
    alone = np.concatenate(
        [reg.predict(X[i : i + 1, :n]) for i, n in enumerate(lengths)]
    )
    np.testing.assert_allclose(alone, together, rtol=1e-10, atol=1e-12)
    assert np.ptp(together) > 0  # not one constant for every sequence


def test_no_stem_means_no_stem_module():
    X, y, _ = _ragged_data()
    clf = TransformerClassifier(conv_stem=None, max_epochs=1, random_state=0)
    assert clf.fit(X, y).net_.module_.stem is None


@pytest.mark.parametrize("bad", [3, 6, "conv", 0])
def test_invalid_conv_stem(bad):
    X, y, _ = _ragged_data()
    with pytest.raises(ValueError, match="conv_stem"):
        TransformerClassifier(conv_stem=bad, max_epochs=1).fit(X, y)


@pytest.mark.parametrize("bad", ["instance", "Layer", 1])
def test_invalid_stem_norm(bad):
    X, y, _ = _ragged_data()
    with pytest.raises(ValueError, match="stem_norm"):
        LSTMAttentionClassifier(stem_norm=bad, max_epochs=1).fit(X, y)


@pytest.mark.parametrize("Model", [TransformerRegressor, LSTMAttentionRegressor])
def test_batch_stem_norm_is_saved_with_its_running_statistics(Model, tmp_path):
    import skattn

    X, _, _ = _ragged_data()
    y = np.nan_to_num(X[:, :, 0]).sum(1)
    reg = Model(stem_norm="batch", max_epochs=2, random_state=0, n_threads=1)
    reg.fit(X, y)
    norm = reg.net_.module_.stem.norms[0]
    assert not torch.equal(norm.running_var, torch.ones_like(norm.running_var))
    reg.save(tmp_path / "model.skattn")
    loaded = skattn.load(tmp_path / "model.skattn")
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


# series_norm ---------------------------------------------------------------------


@pytest.mark.parametrize("series_norm", ["stats", "instance"])
@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionRegressor])
def test_series_norm_predictions_do_not_depend_on_padding(Model, series_norm):
    X, y, lengths = _ragged_data()
    if Model is LSTMAttentionRegressor:
        y = np.nan_to_num(X[:, :, 0]).sum(1)
    est = Model(series_norm=series_norm, max_epochs=2, random_state=0, n_threads=1)
    est.fit(X, y)
    assert est.net_.module_.series_norm.mode == series_norm
    predict = est.predict_proba if hasattr(est, "predict_proba") else est.predict
    together = predict(X)
    alone = np.concatenate([predict(X[i : i + 1, :n]) for i, n in enumerate(lengths)])
    np.testing.assert_allclose(together, alone, rtol=1e-10, atol=1e-12)


def _shapes_at_many_scales(n, seed):
    """Sines (class 0) and square waves (class 1) of one period length,
    each scaled by a factor drawn log-uniformly from 1e-3 to 1e2."""
    rng = np.random.default_rng(seed)
    t = np.arange(40)
    y = rng.integers(0, 2, n)
    phase = rng.uniform(0, 2 * np.pi, n)[:, None]
    wave = np.sin(2 * np.pi * t / 20 + phase)
    wave = np.where(y[:, None] == 1, np.sign(wave), wave)
    scale = 10 ** rng.uniform(-3, 2, n)[:, None]
    noise = 0.05 * rng.normal(size=wave.shape)
    return ((wave + noise) * scale)[..., None], y


def test_instance_series_norm_sees_the_shape_of_small_series():
    """Global standardisation squeezes series of scale 1e-3 to 1e-1 to
    nearly flat lines next to those of scale 100; per-sequence
    standardisation shows their shapes."""
    X, y = _shapes_at_many_scales(400, seed=0)
    X_test, y_test = _shapes_at_many_scales(400, seed=1)
    small = np.abs(X_test).max(axis=(1, 2)) < 0.1
    kwargs = dict(hidden_size=16, max_epochs=15, random_state=0, n_threads=1)
    plain = LSTMAttentionClassifier(series_norm=None, **kwargs).fit(X, y)
    series = LSTMAttentionClassifier(series_norm="instance", **kwargs).fit(X, y)
    plain_small = (plain.predict(X_test[small]) == y_test[small]).mean()
    series_small = (series.predict(X_test[small]) == y_test[small]).mean()
    assert series_small >= 0.9
    assert series_small > plain_small + 0.2


def test_series_norm_is_saved_with_its_running_statistics(tmp_path):
    import skattn

    X, y, _ = _ragged_data()
    clf = TransformerClassifier(series_norm="instance", max_epochs=2, random_state=0)
    clf.fit(X, y)
    norm = clf.net_.module_.series_norm.norm
    assert not torch.equal(norm.running_var, torch.ones_like(norm.running_var))
    clf.save(tmp_path / "model.skattn")
    loaded = skattn.load(tmp_path / "model.skattn")
    assert loaded.series_norm == "instance"
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_auto_series_norm_reads_the_spread_of_the_scales():
    X, y = _shapes_at_many_scales(60, seed=0)  # scales from 1e-3 to 1e2
    kwargs = dict(series_norm="auto", max_epochs=1, random_state=0, n_threads=1)
    spread = LSTMAttentionClassifier(**kwargs).fit(X, y)
    assert spread.series_norm_ == "instance"
    assert spread.net_.module_.series_norm.mode == "instance"
    # each sequence standardised already (z-normalised archives): no spread
    Z = (X - X.mean(1, keepdims=True)) / X.std(1, keepdims=True)
    flat = LSTMAttentionClassifier(**kwargs).fit(Z, y)
    assert flat.series_norm_ is None and flat.net_.module_.series_norm is None
    # a spread in one channel of two is enough
    both = LSTMAttentionClassifier(**kwargs).fit(np.concatenate([Z, X], 2), y)
    assert both.series_norm_ == "instance"


def test_auto_series_norm_is_none_for_categorical_input():
    X, y = _shapes_at_many_scales(60, seed=0)
    codes = np.repeat(np.arange(60) % 3, 40).reshape(60, 40, 1).astype(float)
    clf = LSTMAttentionClassifier(
        series_norm="auto", categorical_features=[1], max_epochs=1, random_state=0
    ).fit(np.concatenate([X, codes], 2), y)
    assert clf.series_norm_ is None


def test_auto_series_norm_is_saved(tmp_path):
    import skattn

    X, y = _shapes_at_many_scales(60, seed=0)
    clf = TransformerClassifier(series_norm="auto", max_epochs=1, random_state=0)
    clf.fit(X, y).save(tmp_path / "model.skattn")
    loaded = skattn.load(tmp_path / "model.skattn")
    assert loaded.series_norm_ == "instance"
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


# differences ---------------------------------------------------------------------


@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionRegressor])
def test_differences_predictions_do_not_depend_on_padding(Model):
    X, y, lengths = _ragged_data()
    if Model is LSTMAttentionRegressor:
        y = np.nan_to_num(X[:, :, 0]).sum(1)
    est = Model(differences=2, max_epochs=2, random_state=0, n_threads=1).fit(X, y)
    assert est.differences_ == 2 and est.net_.module_.differences.order == 2
    predict = est.predict_proba if hasattr(est, "predict_proba") else est.predict
    together = predict(X)
    alone = np.concatenate([predict(X[i : i + 1, :n]) for i, n in enumerate(lengths)])
    np.testing.assert_allclose(together, alone, rtol=1e-10, atol=1e-12)


def _smooth_sines(n, seed=0):
    """Sines of 100 steps, one or two periods long (the class)."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    y = rng.integers(0, 2, n)
    t = np.arange(100)
    return np.sin(2 * np.pi * t / 100 * (1 + y[:, None]) + phase)[..., None], y


def test_differences_are_the_regressors_default_and_old_files_load_without(tmp_path):
    """The regressors append differences where the series are smooth
    ("auto"), the classifiers never (0); a regressor file written before
    differences existed loads without them, as trained."""
    for Model in (LSTMAttentionRegressor, TransformerRegressor):
        assert Model().differences == "auto"
    # early stopping waits 30 epochs in the LSTM regressor, 10 elsewhere
    assert LSTMAttentionRegressor().n_iter_no_change == 30
    assert TransformerRegressor().n_iter_no_change == 10
    # folds for the Transformer regressor only (see validation_folds)
    assert TransformerRegressor().validation_folds == 5
    assert LSTMAttentionRegressor().validation_folds is None
    for Model in (LSTMAttentionClassifier, TransformerClassifier):
        assert Model().differences == 0
    X, y = _smooth_sines(60)
    kwargs = dict(max_epochs=1, random_state=0, n_threads=1)
    assert LSTMAttentionRegressor(**kwargs).fit(X, y).differences_ == 2
    old = TransformerRegressor(differences=0, validation_folds=None, **kwargs)
    old.fit(X, y)
    loaded = _saved_without(old, tmp_path, ["differences"], ["differences_"])
    assert loaded.differences == 0 and loaded.net_.module_.differences is None
    np.testing.assert_array_equal(loaded.predict(X), old.predict(X))


def test_auto_differences_read_how_smooth_the_series_are(tmp_path):
    """Sines of 50 and 100 steps a period move little from step to step:
    "auto" appends their first and second differences; the same sines
    sampled ten times more coarsely, or white noise, get none."""
    import skattn

    smooth, y = _smooth_sines(60)
    rng = np.random.default_rng(0)
    coarse = smooth[:, ::10]
    noise = rng.normal(size=(60, 100, 1))
    kwargs = dict(differences="auto", max_epochs=1, random_state=0, n_threads=1)
    clf = TransformerClassifier(**kwargs).fit(smooth, y)
    assert clf.differences_ == 2 and clf.net_.module_.differences.order == 2
    for X in (coarse, noise):
        other = TransformerClassifier(**kwargs).fit(X, y)
        assert other.differences_ == 0 and other.net_.module_.differences is None
    # token ids are not values that move
    tokens = TransformerClassifier(vocab_size=5, **kwargs)
    tokens.fit(rng.integers(1, 5, (60, 100)), y)
    assert tokens.differences_ == 0
    clf.save(tmp_path / "model.skattn")
    loaded = skattn.load(tmp_path / "model.skattn")
    assert loaded.differences_ == 2
    np.testing.assert_array_equal(
        loaded.predict_proba(smooth), clf.predict_proba(smooth)
    )


def test_differences_need_numeric_input():
    X = np.random.default_rng(0).integers(1, 5, (20, 10))
    with pytest.raises(ValueError, match="differences needs numeric input"):
        TransformerClassifier(vocab_size=5, differences=1, max_epochs=1).fit(
            X, X[:, 0] % 2
        )


@pytest.mark.parametrize("bad", [3, -1, "yes", 1.5])
def test_invalid_differences(bad):
    X, y, _ = _ragged_data()
    with pytest.raises(ValueError, match="differences"):
        TransformerClassifier(differences=bad, max_epochs=1).fit(X, y)


@pytest.mark.parametrize("bad", ["batch", "Instance", True])
def test_invalid_series_norm(bad):
    X, y, _ = _ragged_data()
    with pytest.raises(ValueError, match="series_norm"):
        TransformerClassifier(series_norm=bad, max_epochs=1).fit(X, y)


@pytest.mark.parametrize(
    "option, value", [("series_norm", "stats"), ("linear_steps", 4)]
)
def test_options_that_read_values_need_numeric_input(option, value):
    ids = [np.arange(1, n) for n in (5, 7, 9, 4)]
    clf = LSTMAttentionClassifier(vocab_size=10, max_epochs=1, **{option: value})
    with pytest.raises(ValueError, match=f"{option} needs numeric input"):
        clf.fit(ids, [0, 1, 0, 1])


# linear_steps --------------------------------------------------------------------


def _two_fixed_steps(n, seed):
    """A target that is the sum of the values at two fixed steps, the kind
    a linear model on the last steps gets exactly."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 30, 2))
    return X, X[:, 7, 0] + X[:, 21, 1]


def test_linear_steps_learns_what_a_linear_model_on_the_last_steps_gets():
    X, y = _two_fixed_steps(400, seed=0)
    X_test, y_test = _two_fixed_steps(200, seed=1)
    kwargs = dict(
        hidden_size=16, max_epochs=30, early_stopping=False, random_state=0, n_threads=1
    )
    plain = LSTMAttentionRegressor(linear_steps=None, **kwargs).fit(X, y)
    # learned with the network (the ridge fit gets this target before
    # training: test_linear_fit_ridge_gives_a_linear_target_before_training_does)
    linear = LSTMAttentionRegressor(linear_steps=30, linear_fit="joint", **kwargs)
    linear.fit(X, y)
    assert linear.net_.module_.linear.n_steps == 30
    assert linear.score(X_test, y_test) > 0.95
    assert linear.score(X_test, y_test) > plain.score(X_test, y_test) + 0.3


@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionRegressor])
def test_linear_steps_predictions_do_not_depend_on_padding(Model):
    X, y, lengths = _ragged_data()
    if Model is LSTMAttentionRegressor:
        y = np.nan_to_num(X[:, :, 0]).sum(1)
    est = Model(linear_steps=8, max_epochs=2, random_state=0, n_threads=1)
    est.fit(X, y)
    predict = est.predict_proba if hasattr(est, "predict_proba") else est.predict
    together = predict(X)
    alone = np.concatenate([predict(X[i : i + 1, :n]) for i, n in enumerate(lengths)])
    np.testing.assert_allclose(together, alone, rtol=1e-10, atol=1e-12)


def test_linear_steps_is_saved(tmp_path):
    import skattn

    X, y, _ = _ragged_data()
    clf = LSTMAttentionClassifier(linear_steps=6, max_epochs=2, random_state=0)
    clf.fit(X, y).save(tmp_path / "model.skattn")
    loaded = skattn.load(tmp_path / "model.skattn")
    assert loaded.linear_steps == 6
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_linear_steps_all_reads_as_many_steps_as_the_longest_sequence():
    X, y, lengths = _ragged_data()
    clf = LSTMAttentionClassifier(linear_steps="all", max_epochs=1, random_state=0)
    assert clf.fit(X, y).net_.module_.linear.n_steps == lengths.max() == X.shape[1]
    # padding is not a step: the same on the sequences padded to 60 steps
    padded = np.concatenate([X, np.full((len(X), 20, X.shape[2]), np.nan)], axis=1)
    assert clf.fit(padded, y).linear_steps_ == lengths.max()


@pytest.mark.parametrize("bad", [0, -3, 2.5, "All", "last"])
def test_invalid_linear_steps(bad):
    X, y, _ = _ragged_data()
    with pytest.raises(ValueError, match="linear_steps"):
        TransformerRegressor(linear_steps=bad, max_epochs=1).fit(X, y)


# linear_fit --------------------------------------------------------------------


def _standardised_steps(reg, X, y, n_steps):
    """What the regressor's linear part reads, computed with numpy: the
    last ``n_steps`` steps standardised with its input scaling (NaN padding
    at the end), and its standardised target."""
    Z = (X - reg._input_loc) / reg._input_scale
    rows = []
    for z in Z:
        real = z[~np.isnan(z).any(axis=1)][-n_steps:]
        rows.append(np.vstack([np.zeros((n_steps - len(real), z.shape[1])), real]))
    return np.stack(rows).reshape(len(X), -1), (y - reg._y_loc[0]) / reg._y_scale[0]


@pytest.mark.parametrize(
    "Model, linear_alpha",
    [
        (LSTMAttentionRegressor, "1se"),
        (TransformerRegressor, "1se"),
        (LSTMAttentionRegressor, "min"),
        (LSTMAttentionRegressor, 3.0),
    ],
)
def test_linear_fit_ridge_is_a_ridge_fit_and_training_keeps_it(Model, linear_alpha):
    from sklearn.linear_model import Ridge

    from skattn._architectures import fit_ridge

    X, y, _ = _ragged_data(n=60)
    y = np.nan_to_num(X[:, :, 0]).sum(1) + np.random.default_rng(1).normal(size=60)
    weight = np.random.default_rng(2).uniform(0.5, 2, 60)
    reg = Model(
        linear_steps=8,
        linear_alpha=linear_alpha,
        max_epochs=3,
        early_stopping=False,
        random_state=0,
        n_threads=1,
    )
    reg.fit(X, y, sample_weight=weight)
    assert reg.linear_fit_ == "ridge"
    layer = reg.net_.module_.linear.linear
    assert not layer.weight.requires_grad and not layer.bias.requires_grad
    features, target = _standardised_steps(reg, X.astype(np.float64), y, 8)
    # the estimator scales sample weights to mean 1: its fit does not depend
    # on their scale, which the ridge penalty otherwise would
    weight = weight / weight.mean()
    alpha = fit_ridge(features, target[:, None], weight, linear_alpha)[2]
    assert reg.linear_alpha_ == alpha
    if linear_alpha == 3.0:
        assert alpha == 3.0
    ridge = Ridge(alpha=alpha).fit(features, target, sample_weight=weight)
    # float32 input and weights: agreement to float32 precision
    coef, intercept = layer.weight.detach().cpu()[0], layer.bias.detach().cpu()[0]
    np.testing.assert_allclose(coef, ridge.coef_, atol=1e-5)
    np.testing.assert_allclose(intercept, ridge.intercept_, atol=1e-5)


@pytest.mark.parametrize("rule", ["1se", "min"])
def test_fit_ridge_is_sklearns_ridge_with_the_cross_validated_penalty(rule):
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_val_score

    from skattn._architectures import RIDGE_ALPHAS, fit_ridge

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 12))
    y = X[:, 0] - 0.5 * X[:, 3] + rng.normal(size=80)
    coef, intercept, alpha = fit_ridge(X, np.stack([y, 2 * y], 1), np.ones(80), rule)
    # the rules, from scikit-learn's cross-validation on 5 blocks in order
    # (the second target's errors are 4 times the first's: the same choice)
    mse = "neg_mean_squared_error"
    errors = -np.array(
        [
            cross_val_score(Ridge(alpha=a), X, y, cv=KFold(5), scoring=mse)
            for a in RIDGE_ALPHAS
        ]
    )  # [alphas, folds]
    mean = errors.mean(1)
    limit = mean.min() + errors[mean.argmin()].std(ddof=1) / np.sqrt(5)
    one_se = RIDGE_ALPHAS[np.flatnonzero(mean <= limit).max()]
    assert one_se > RIDGE_ALPHAS[mean.argmin()]  # the rules differ here
    assert alpha == (one_se if rule == "1se" else RIDGE_ALPHAS[mean.argmin()])
    ridge = Ridge(alpha=alpha).fit(X, y)
    np.testing.assert_allclose(coef[:, 0], ridge.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(coef[:, 1], 2 * ridge.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(intercept, [ridge.intercept_, 2 * ridge.intercept_])


@pytest.mark.parametrize("rule", ["1se", "min"])
def test_fit_ridge_is_not_fooled_by_neighbours_that_repeat_each_other(rule):
    # Each sample followed by its twin, as overlapping windows of a series
    # nearly repeat their neighbours, and a target of pure noise: leave-one-
    # out validation finds every held-out sample's twin in the fit, so it
    # wants the weakest penalty (interpolating the noise); blocks of
    # neighbours hold out both twins and see that nothing generalises.
    from sklearn.linear_model import RidgeCV

    from skattn._architectures import RIDGE_ALPHAS, fit_ridge

    rng = np.random.default_rng(0)
    X = np.repeat(rng.normal(size=(40, 60)), 2, axis=0)
    y = np.repeat(rng.normal(size=40), 2)
    X_new, y_new = rng.normal(size=(200, 60)), rng.normal(size=200)
    loo = RidgeCV(alphas=RIDGE_ALPHAS).fit(X, y)
    coef, intercept, alpha = fit_ridge(X, y[:, None], np.ones(80), rule)
    assert loo.alpha_ == RIDGE_ALPHAS[0] and alpha >= 1e3
    error = np.sqrt(np.mean((X_new @ coef[:, 0] + intercept[0] - y_new) ** 2))
    loo_error = np.sqrt(np.mean((loo.predict(X_new) - y_new) ** 2))
    assert error < 0.8 * loo_error


def test_linear_alpha_rules_pick_the_penalties_they_name():
    from skattn._architectures import RIDGE_ALPHAS

    # a target on two steps plus noise: "min" fits it at least as closely
    # as the one-standard-error rule, whose penalty is larger here
    X, y = _noisy_fixed_steps(60, seed=0)
    fits = {
        rule: LSTMAttentionRegressor(
            linear_steps=30,
            linear_alpha=rule,
            hidden_size=8,
            max_epochs=1,
            network_weight=0.0,
            early_stopping=False,
            random_state=0,
            n_threads=1,
        ).fit(X, y)
        for rule in ("min", "1se")
    }
    assert fits["min"].linear_alpha_ in RIDGE_ALPHAS
    assert fits["min"].linear_alpha_ < fits["1se"].linear_alpha_
    errors = {r: np.mean((f.predict(X) - y) ** 2) for r, f in fits.items()}
    assert errors["min"] < errors["1se"]


def _two_fold_transformer(**params):
    """A small TransformerRegressor with a linear part of 10 steps, one
    network per fold of two."""
    kwargs = dict(
        validation_folds=2,
        linear_steps=10,
        d_model=8,
        dim_feedforward=16,
        max_epochs=2,
        random_state=0,
        n_threads=1,
    )
    return TransformerRegressor(**{**kwargs, **params})


def test_linear_alpha_is_kept_per_fold_and_saved(tmp_path):
    import skattn

    X, y = _noisy_fixed_steps(60, seed=0)
    reg = _two_fold_transformer().fit(X, y)
    assert reg.linear_alpha_.shape == (2,)
    for member, alpha in zip(reg.net_.module_.members, reg.linear_alpha_, strict=True):
        assert member.linear.ridge_alpha == alpha
    reg.save(tmp_path / "model.skattn")
    loaded = skattn.load(tmp_path / "model.skattn")
    np.testing.assert_array_equal(loaded.linear_alpha_, reg.linear_alpha_)
    # a file saved before the penalty was kept: unknown
    old = _saved_without(reg, tmp_path, ["linear_alpha"], ["linear_alpha_"])
    assert old.linear_alpha == "1se" and old.linear_alpha_ is None
    np.testing.assert_array_equal(old.predict(X), reg.predict(X))


def test_linear_alpha_is_none_without_a_ridge_fit():
    X, y = _noisy_fixed_steps(40, seed=0)
    assert _weighted(1.0, linear_fit="joint").fit(X, y).linear_alpha_ is None
    assert _weighted(1.0, linear_steps=None).fit(X, y).linear_alpha_ is None
    reg = _weighted(1.0, early_stopping=False).fit(X, y)
    alpha = reg.linear_alpha_
    reg.set_params(warm_start=True).fit(X, y)  # the linear part stays as it was
    assert reg.linear_alpha_ == alpha


@pytest.mark.parametrize("bad", [0, -1.0, "max", None])
def test_invalid_linear_alpha(bad):
    X, y = _noisy_fixed_steps(20, seed=0)
    with pytest.raises(ValueError, match="linear_alpha"):
        _weighted(1.0, linear_alpha=bad).fit(X, y)


def test_linear_fit_ridge_gives_a_linear_target_before_training_does():
    # one epoch: the ridge fit is exact, the joint one has barely moved
    X, y = _two_fixed_steps(400, seed=0)
    X_test, y_test = _two_fixed_steps(200, seed=1)
    kwargs = dict(linear_steps=30, hidden_size=8, max_epochs=1, random_state=0)
    ridge = LSTMAttentionRegressor(linear_fit="ridge", n_threads=1, **kwargs)
    joint = LSTMAttentionRegressor(linear_fit="joint", n_threads=1, **kwargs)
    assert ridge.fit(X, y).score(X_test, y_test) > 0.99
    assert joint.fit(X, y).linear_fit_ == "joint"
    assert joint.net_.module_.linear.linear.weight.requires_grad
    assert joint.score(X_test, y_test) < 0.9


def test_linear_fit_ridge_sets_every_ensemble_member_and_survives_saving(tmp_path):
    import skattn

    X, y, _ = _ragged_data(n=60)
    y = np.nan_to_num(X[:, :, 1]).sum(1)
    reg = TransformerRegressor(
        linear_steps="all",
        n_estimators=2,
        validation_folds=None,  # members fitted on one training set
        max_epochs=2,
        random_state=0,
        n_threads=1,
    ).fit(X, y)
    first, second = (m.linear.linear.weight for m in reg.net_.module_.members)
    assert torch.equal(first, second)  # the members' own networks differ
    reg.save(tmp_path / "model.skattn")
    loaded = skattn.load(tmp_path / "model.skattn")
    assert loaded.linear_fit_ == "ridge"
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    # a warm start trains the network, and the loaded linear part stays fixed
    before = loaded.net_.module_.members[0].linear.linear.weight.clone()
    loaded.set_params(warm_start=True, max_epochs=1).fit(X, y)
    assert not loaded.net_.module_.members[0].linear.linear.weight.requires_grad
    assert torch.equal(loaded.net_.module_.members[0].linear.linear.weight, before)


def test_files_saved_before_linear_fit_existed_load_as_joint(tmp_path):
    import skattn

    X, y, _ = _ragged_data(n=30)
    y = np.nan_to_num(X[:, :, 0]).sum(1)
    reg = LSTMAttentionRegressor(
        linear_steps=3, linear_fit="joint", max_epochs=1, random_state=0
    ).fit(X, y)
    reg.save(tmp_path / "model.skattn")
    state = torch.load(tmp_path / "model.skattn", weights_only=True)
    del state["params"]["linear_fit"], state["fitted"]["linear_fit_"]
    torch.save(state, tmp_path / "old.skattn")
    loaded = skattn.load(tmp_path / "old.skattn")
    assert LSTMAttentionRegressor().linear_fit == "ridge"
    assert loaded.linear_fit == "joint"
    assert loaded.net_.module_.linear.linear.weight.requires_grad
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_partial_fit_learns_the_linear_part_jointly():
    # partial_fit sees one batch at a time: no ridge fit on the first alone
    X, y, _ = _ragged_data(n=40)
    y = np.nan_to_num(X[:, :, 0]).sum(1)
    reg = LSTMAttentionRegressor(linear_steps=4, random_state=0, n_threads=1)
    reg.partial_fit(X, y)
    assert reg.linear_fit == "ridge" and reg.linear_fit_ == "joint"
    assert reg.net_.module_.linear.linear.weight.requires_grad


def test_without_linear_steps_there_is_no_linear_fit():
    X, y, _ = _ragged_data(n=30)
    y = np.nan_to_num(X[:, :, 0]).sum(1)
    reg = LSTMAttentionRegressor(
        linear_steps=None, max_epochs=1, random_state=0, n_threads=1
    )
    assert reg.fit(X, y).linear_fit_ is None


def test_linear_steps_auto_reads_every_step_up_to_a_number_of_values():
    from skattn._base import LINEAR_AUTO_VALUES

    X, y, lengths = _ragged_data(n=30)  # 2 channels, 40 steps
    y = np.nan_to_num(X[:, :, 0]).sum(1)
    kwargs = dict(linear_steps="auto", max_epochs=1, random_state=0, n_threads=1)
    reg = LSTMAttentionRegressor(**kwargs).fit(X, y)
    assert reg.linear_steps_ == lengths.max() == 40
    assert reg.net_.module_.linear.n_steps == 40
    wide = np.random.default_rng(0).normal(size=(20, 12, 300))  # 3,600 values
    with pytest.warns(DataLayoutWarning, match="more channels than timesteps"):
        reg = LSTMAttentionRegressor(**kwargs).fit(wide, wide[:, -1, 0])
    assert reg.linear_steps_ == LINEAR_AUTO_VALUES // 300 == 6


def test_linear_steps_auto_is_none_on_token_ids_and_categories():
    ids = [np.arange(1, n) for n in (5, 7, 9, 4)]
    reg = LSTMAttentionRegressor(
        vocab_size=10, linear_steps="auto", max_epochs=1, random_state=0
    ).fit(ids, [0.0, 1.0, 0.5, 2.0])
    assert reg.linear_steps_ is None and reg.linear_fit_ is None
    assert reg.net_.module_.linear is None
    codes = np.random.default_rng(0).integers(0, 3, (20, 6, 2)).astype(float)
    reg = LSTMAttentionRegressor(
        categorical_features=[0], linear_steps="auto", max_epochs=1, random_state=0
    ).fit(codes, codes[:, -1, 1])
    assert reg.linear_steps_ is None and reg.net_.module_.linear is None


@pytest.mark.parametrize("bad", ["Ridge", "auto", None, 1])
def test_invalid_linear_fit(bad):
    X, y, _ = _ragged_data()
    with pytest.raises(ValueError, match="linear_fit"):
        LSTMAttentionRegressor(linear_steps=4, linear_fit=bad, max_epochs=1).fit(
            X, np.zeros(len(X))
        )


def _saved_without(est, tmp_path, params, fitted=(), weights=()):
    """``est`` saved as a file written before ``params`` (and the fitted
    attributes ``fitted``, the network's tensors ``weights``) existed, and
    loaded again."""
    import skattn

    est.save(tmp_path / "model.skattn")
    state = torch.load(tmp_path / "model.skattn", weights_only=True)
    for name in params:
        del state["params"][name]
    for name in fitted:
        del state["fitted"][name]
    for name in weights:
        del state["state_dict"][name]
    torch.save(state, tmp_path / "old.skattn")
    return skattn.load(tmp_path / "old.skattn")


@pytest.mark.parametrize("Model", [LSTMAttentionClassifier, TransformerClassifier])
def test_files_saved_before_a_default_changed_keep_their_network(Model, tmp_path):
    """A file written before ``series_norm`` existed has no such key: it
    loads with the value its network was built with, not today's default."""
    X, y = _shapes_at_many_scales(60, seed=0)  # "auto" would standardise these
    old = Model(series_norm=None, max_epochs=1, random_state=0, n_threads=1)
    loaded = _saved_without(
        old.fit(X, y), tmp_path, ["series_norm", "linear_steps"], ["series_norm_"]
    )
    assert Model().series_norm == "auto" and loaded.series_norm is None
    assert loaded.net_.module_.series_norm is None
    np.testing.assert_array_equal(loaded.predict_proba(X), old.predict_proba(X))


# conv_stem="auto" --------------------------------------------------------------


def _mostly_short(n=40, short=140, long=600, seed=0):
    """Sequences of ``short`` steps but for every fifth, of ``long``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, long, 1))
    for i in range(n):
        if i % 5:
            X[i, short:] = np.nan
    return X, np.arange(n) % 2


@pytest.mark.parametrize("Model", [TransformerRegressor, LSTMAttentionClassifier])
def test_auto_stem_stride_is_read_from_the_median_length(Model):
    from skattn.modules.stem import auto_stem_stride

    X, y = _mostly_short()
    # one network (the regressor's default trains one per fold)
    params = {"validation_folds": None} if Model is TransformerRegressor else {}
    est = Model(max_epochs=1, random_state=0, n_threads=1, **params).fit(X, y)
    assert est._stem_length == 140
    # the longest sequence (600 steps) would give a stride of 8
    assert est.net_.module_.stem.stride == auto_stem_stride(140) == 2
    assert auto_stem_stride(600) == 8


def test_files_saved_before_the_median_rule_keep_their_stride(tmp_path):
    """A file written when "auto" read the longest sequence has no
    ``_stem_length``: it loads with the stride of that rule."""
    import skattn

    X, y = _mostly_short()
    # the network an old file holds: "auto" then gave the longest's stride
    old = LSTMAttentionClassifier(conv_stem=8, max_epochs=1, random_state=0)
    old.fit(X, y).save(tmp_path / "model.skattn")
    state = torch.load(tmp_path / "model.skattn", weights_only=True)
    state["params"]["conv_stem"] = "auto"
    del state["fitted"]["_stem_length"]
    torch.save(state, tmp_path / "old.skattn")
    loaded = skattn.load(tmp_path / "old.skattn")
    assert loaded.conv_stem == "auto" and loaded.net_.module_.stem.stride == 8
    np.testing.assert_array_equal(loaded.predict_proba(X), old.predict_proba(X))


# n_estimators ------------------------------------------------------------------


@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionRegressor])
def test_ensemble_members_train_apart_and_predict_together(Model, tmp_path):
    from skattn.modules import NetworkEnsemble

    est = Model(n_estimators=3, max_epochs=3, random_state=0, n_threads=1)
    X, _ = _fit_padding_and_saving(est, tmp_path)
    network = est.net_.module_
    assert isinstance(network, NetworkEnsemble) and len(network.members) == 3
    heads = [member.head.weight for member in network.members]
    assert not torch.equal(heads[0], heads[1])  # own initialisation, own loss
    weights = est.attention_weights(X)
    np.testing.assert_allclose(weights.sum(1), 1.0, rtol=1e-9)


def test_ensemble_probabilities_are_the_members_mean():
    X, y, _ = _ragged_data()
    clf = TransformerClassifier(n_estimators=2, max_epochs=2, random_state=0).fit(X, y)
    members = [m.double().eval() for m in clf.net_.module_.members]
    device = clf.net_.device
    values = torch.as_tensor(np.nan_to_num(X[:, :5]), dtype=torch.float64)
    with torch.no_grad():
        mask = torch.ones(values.shape[:2], dtype=torch.bool, device=device)
        x = (values - torch.as_tensor(clf._input_loc)) / torch.as_tensor(
            clf._input_scale
        )
        mean = sum(m(x.to(device), mask).softmax(-1) for m in members) / 2
    np.testing.assert_allclose(
        clf.predict_proba(X[:, :5]), mean.cpu().numpy(), rtol=1e-6
    )


def test_invalid_n_estimators():
    X, y, _ = _ragged_data()
    with pytest.raises(ValueError, match="n_estimators"):
        TransformerClassifier(n_estimators=0, max_epochs=1).fit(X, y)


# validation_folds ---------------------------------------------------------------


@pytest.mark.parametrize(
    "Model, params",
    [
        (
            TransformerRegressor,
            dict(early_stopping=True, linear_steps="all", n_estimators=1),
        ),
        (LSTMAttentionClassifier, dict(early_stopping=True, n_estimators=2)),
    ],
)
def test_validation_folds_train_one_network_per_fold(Model, params, tmp_path):
    from skattn._runtime import step_flops
    from skattn.modules import NetworkEnsemble

    est = Model(validation_folds=3, max_epochs=4, random_state=0, n_threads=1, **params)
    X, y = _fit_padding_and_saving(est, tmp_path)
    assert est.n_folds_ == 3
    network = est.net_.module_
    n_members = 3 * params["n_estimators"]
    assert isinstance(network, NetworkEnsemble) and len(network.members) == n_members
    # every fold's own epochs, each stopped on its own validation fold
    assert sorted({row["fold"] for row in est.history_}) == [0, 1, 2]
    assert all("valid_loss" in row for row in est.history_)
    assert est.n_iter_ == len(est.history_)
    # prediction's thread count reads the work of every member
    assert est._step_flops == step_flops(network, est.batch_size, est._max_length)
    if params.get("linear_steps"):
        # the ridge part is fitted on each fold's training sequences, so the
        # members' linear parts differ (with n_estimators alone they are equal)
        first, second = (m.linear.linear.weight for m in network.members[:2])
        assert not torch.equal(first, second)
    again = clone(est).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    # a warm start trains every member on all the data, as n_estimators does
    est.set_params(warm_start=True, max_epochs=1).fit(X, y)
    assert len(est.net_.module_.members) == n_members and est.n_folds_ == 3


def test_n_jobs_trains_the_folds_in_worker_processes_as_one_process_does(
    monkeypatch,
):
    import skattn._base

    asked = []

    class RecordingParallel(skattn._base.Parallel):
        def __call__(self, iterable):
            asked.append(self.n_jobs)
            return super().__call__(iterable)

    X, y, _ = _ragged_data(n=30)
    y = np.nan_to_num(X[:, :, 0]).sum(1)
    params = dict(
        validation_folds=3,
        early_stopping=True,
        linear_steps="all",
        max_epochs=3,
        random_state=0,
        n_threads=1,
    )
    serial = TransformerRegressor(**params).fit(X, y)
    monkeypatch.setattr(skattn._base, "Parallel", RecordingParallel)
    parallel = TransformerRegressor(n_jobs=2, **params).fit(X, y)
    assert asked == [2]  # two worker processes (joblib's loky)
    np.testing.assert_array_equal(parallel.predict(X), serial.predict(X))
    # each fold's epochs as in one process, less their durations
    assert [{**row, "dur": 0} for row in parallel.history_] == [
        {**row, "dur": 0} for row in serial.history_
    ]
    for name in ("n_folds_", "linear_steps_", "linear_fit_", "_step_flops"):
        assert getattr(parallel, name) == getattr(serial, name)
    # no more worker processes than folds
    TransformerRegressor(n_jobs=8, **params).fit(X, y)
    assert asked == [2, 3]
    # without folds one network trains in this process
    params["validation_folds"] = None
    TransformerRegressor(n_jobs=2, **params).fit(X, y)
    assert asked == [2, 3]
    with pytest.raises(ValueError, match="n_jobs"):
        TransformerRegressor(n_jobs="two", max_epochs=1).fit(X, y)


@pytest.mark.parametrize("stop_in_fold", [1, 2])
def test_ctrl_c_ends_the_fit_with_the_folds_trained_so_far(
    stop_in_fold, monkeypatch, tmp_path, capsys
):
    import skattn
    import skattn._base
    from skattn._net import SequenceNet
    from skattn.exceptions import TrainingInterruptedWarning

    folds_started, batches = [0], [0]
    train_step, fold_network = SequenceNet.train_step, skattn._base._fold_network

    def counting_folds(*args, **kwargs):
        folds_started[0] += 1
        batches[0] = 0
        return fold_network(*args, **kwargs)

    def interrupt_in_the_fold(net, batch, **kwargs):
        batches[0] += 1
        if folds_started[0] == stop_in_fold and batches[0] == 5:  # epoch 2
            raise KeyboardInterrupt
        return train_step(net, batch, **kwargs)

    monkeypatch.setattr(skattn._base, "_fold_network", counting_folds)
    monkeypatch.setattr(SequenceNet, "train_step", interrupt_in_the_fold)
    X, y, _ = _ragged_data(n=40)
    clf = LSTMAttentionClassifier(
        early_stopping=True,
        validation_folds=3,
        max_epochs=4,
        batch_size=8,
        random_state=0,
        n_threads=1,
        verbose=1,
    )
    with pytest.warns(TrainingInterruptedWarning, match="training of fold ") as record:
        clf.fit(X, y)
    assert len(record) == 1 and f"fold {stop_in_fold}/3 was interrupted" in str(
        record[0].message
    )
    # the folds after the interrupted one never start
    assert folds_started[0] == stop_in_fold == clf.n_folds_
    assert sorted({row["fold"] for row in clf.history_}) == list(range(stop_in_fold))
    network = clf.net_.module_
    assert len(getattr(network, "members", [network])) == stop_in_fold
    # the progress names each fold
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("fold 1/3  epoch 1/4  train_loss ")
    clf.save(tmp_path / "model.skattn")
    loaded = skattn.load(tmp_path / "model.skattn")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_validation_folds_hold_out_every_sequence_once():
    from skattn._net import SequenceData, validation_folds

    n = 30
    data = SequenceData(
        torch.zeros(n, 4, 1), torch.full((n,), 4), torch.arange(n).float()
    )
    for order in ("random", "last"):
        splits = validation_folds(data, 4, None, 0, order)
        held = [valid.target.long().tolist() for _, valid in splits]
        assert sorted(sum(held, [])) == list(range(n))
        for (train, _), ids in zip(splits, held, strict=True):
            assert set(train.target.long().tolist()) == set(range(n)) - set(ids)
        if order == "last":  # blocks of consecutive sequences, in order
            assert held[0] == list(range(8)) and held[-1] == list(range(23, 30))
    strata = np.arange(n) % 3  # 10 of each class: every fold holds each class
    for _, valid in validation_folds(data, 4, strata, 0):
        assert set(strata[valid.target.long().numpy()]) == {0, 1, 2}


def test_validation_folds_need_early_stopping_and_enough_sequences():
    X, y, _ = _ragged_data(n=24)
    # without early stopping there is nothing to choose on the folds
    clf = LSTMAttentionClassifier(validation_folds=3, max_epochs=1, random_state=0)
    assert clf.fit(X, y).n_folds_ == 1
    assert not hasattr(clf.net_.module_, "members")
    with pytest.raises(ValueError, match="validation_folds=30 needs at least"):
        LSTMAttentionClassifier(
            early_stopping=True, validation_folds=30, max_epochs=1
        ).fit(X, y)
    with pytest.raises(ValueError, match="validation_folds"):
        LSTMAttentionClassifier(validation_folds=1, max_epochs=1).fit(X, y)


def test_files_saved_before_validation_folds_existed_load_as_one_network(tmp_path):
    import skattn

    X, y, _ = _ragged_data(n=30)
    y = np.nan_to_num(X[:, :, 0]).sum(1)
    reg = TransformerRegressor(max_epochs=1, random_state=0).fit(X, y)
    reg.save(tmp_path / "model.skattn")
    state = torch.load(tmp_path / "model.skattn", weights_only=True)
    del state["params"]["validation_folds"], state["fitted"]["n_folds_"]
    torch.save(state, tmp_path / "old.skattn")
    old = skattn.load(tmp_path / "old.skattn")
    assert old.validation_folds is None
    np.testing.assert_array_equal(old.predict(X), reg.predict(X))


@pytest.mark.parametrize(
    "n_folds, message",
    [
        (2**40, "n_estimators \\* n_folds_=1099511627776, but the file holds only"),
        (2, "the weights do not fit the hyperparameters"),
        ("3", "n_folds_='3' is not a positive int"),
        (0, "n_folds_=0 is not a positive int"),
    ],
)
def test_a_corrupted_fold_count_is_refused_before_building(n_folds, message, tmp_path):
    import skattn

    X, y, _ = _ragged_data(n=30)
    y = np.nan_to_num(X[:, :, 0]).sum(1)
    TransformerRegressor(max_epochs=1, random_state=0).fit(X, y).save(
        tmp_path / "model.skattn"
    )
    state = torch.load(tmp_path / "model.skattn", weights_only=True)
    state["fitted"]["n_folds_"] = n_folds  # one network was saved
    torch.save(state, tmp_path / "bad.skattn")
    with pytest.raises(ValueError, match=message):
        skattn.load(tmp_path / "bad.skattn")


# network_weight ------------------------------------------------------------------


def _noisy_fixed_steps(n, seed):
    """The two-step target with noise: something for the network to fit
    beyond the linear part, and noise it can overfit."""
    X, y = _two_fixed_steps(n, seed)
    return X, y + np.random.default_rng(seed + 100).normal(scale=0.5, size=n)


def _weighted(network_weight, **params):
    kwargs = dict(
        linear_steps=10, hidden_size=8, max_epochs=3, random_state=0, n_threads=1
    )
    return LSTMAttentionRegressor(network_weight=network_weight, **{**kwargs, **params})


def test_network_weight_scales_the_networks_output_after_training():
    X, y = _noisy_fixed_steps(80, seed=0)
    linear = _weighted(0.0, early_stopping=False).fit(X, y)
    whole = _weighted(1.0, early_stopping=False).fit(X, y)
    quarter = _weighted(0.25, early_stopping=False).fit(X, y)
    # training adds the network whole whatever the weight: the same networks
    pairs = zip(
        quarter.net_.module_.parameters(), whole.net_.module_.parameters(), strict=True
    )
    assert all(torch.equal(a, b) for a, b in pairs)
    np.testing.assert_array_equal(quarter.network_weight_, [0.25])
    p0, p1 = linear.predict(X), whole.predict(X)
    assert np.abs(p1 - p0).max() > 0.01  # the network adds something
    np.testing.assert_allclose(quarter.predict(X), p0 + 0.25 * (p1 - p0), rtol=1e-9)


def test_network_weight_auto_is_the_least_squares_weight_on_held_out_sequences(
    capsys,
):
    # a part no linear model gets, and noise the network overfits
    X, y = _noisy_fixed_steps(120, seed=0)
    y = y + 2 * np.abs(X[:, 27, 0])
    params = dict(
        early_stopping=True,
        validation_split="last",
        validation_fraction=0.25,
        max_epochs=20,
        random_state=1,
    )
    auto = _weighted("auto", verbose=1, **params).fit(X, y)
    shown = f"the network's output weighs {auto.network_weight_[0]:.3f}"
    assert shown in capsys.readouterr().out
    linear = _weighted(0.0, **params).fit(X, y)
    whole = _weighted(1.0, **params).fit(X, y)
    # the last quarter of the sequences was held out
    X_valid, y_valid = X[90:], y[90:]
    p0, p1 = linear.predict(X_valid), whole.predict(X_valid)
    network, left = p1 - p0, y_valid - p0
    expected = network @ left / (network @ network)
    assert 0.05 < expected < 0.95, "the data should call for a weight inside (0, 1)"
    np.testing.assert_allclose(auto.network_weight_, [expected], rtol=1e-4)
    p0, p1 = linear.predict(X), whole.predict(X)
    np.testing.assert_allclose(
        auto.predict(X), p0 + auto.network_weight_[0] * (p1 - p0), rtol=1e-9
    )


def test_network_weight_auto_is_one_without_held_out_sequences_or_linear_part():
    X, y = _noisy_fixed_steps(40, seed=0)
    reg = _weighted("auto", early_stopping=False).fit(X, y)
    np.testing.assert_array_equal(reg.network_weight_, [1.0])
    reg = _weighted("auto", linear_steps=None).fit(X, y)
    assert reg.network_weight_ is None


def test_network_weight_is_fitted_per_target_over_every_fold_and_saved(tmp_path):
    import skattn

    X, y = _noisy_fixed_steps(60, seed=0)
    Y = np.stack([y, X[:, 3, 0]], axis=1)
    reg = _two_fold_transformer(network_weight="auto").fit(X, Y)
    assert reg.network_weight_.shape == (2,)
    assert ((reg.network_weight_ >= 0) & (reg.network_weight_ <= 1)).all()
    for member in reg.net_.module_.members:  # both folds' networks
        np.testing.assert_array_equal(
            member.linear.network_weight.double().numpy(), reg.network_weight_
        )
    reg.save(tmp_path / "model.skattn")
    loaded = skattn.load(tmp_path / "model.skattn")
    np.testing.assert_array_equal(loaded.network_weight_, reg.network_weight_)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_files_saved_before_network_weight_existed_add_the_network_whole(tmp_path):
    X, y = _noisy_fixed_steps(40, seed=0)
    reg = _weighted(1.0, early_stopping=False).fit(X, y)
    loaded = _saved_without(
        reg,
        tmp_path,
        params=["network_weight"],
        fitted=["network_weight_"],
        weights=["linear.network_weight"],
    )
    assert LSTMAttentionRegressor().network_weight == "auto"
    assert loaded.network_weight == 1.0
    np.testing.assert_array_equal(loaded.network_weight_, [1.0])
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


@pytest.mark.parametrize("bad", [-0.1, 1.5, "half", None])
def test_invalid_network_weight(bad):
    X, y = _noisy_fixed_steps(20, seed=0)
    with pytest.raises(ValueError, match="network_weight"):
        _weighted(bad).fit(X, y)
