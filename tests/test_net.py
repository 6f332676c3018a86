"""The training loop of ``skattn/_net.py``: early stopping and its validation
split, learning-rate schedules, gradient clipping, the progress display,
divergence, Ctrl-C, mixed precision, and the length-grouping BatchIterator."""

import pickle
import re
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal

from skattn import (
    LSTMAttentionClassifier,
    LSTMAttentionRegressor,
    TransformerClassifier,
    TransformerRegressor,
)
from skattn._base import SequenceClassifierBase
from skattn._net import (
    SequenceNet,
    _duration,
    crop_validation_split,
    jittered,
    magnitude_scaled,
    random_windows,
    time_warped,
)
from skattn.exceptions import TrainingInterruptedWarning

from ._params import SMALL_TRANSFORMER, small


def test_early_stopping_stops_and_restores_the_best_epoch(data):
    X, y = data
    params = dict(
        early_stopping=True, lr=3e-2, lr_schedule="constant", **SMALL_TRANSFORMER
    )
    clf = TransformerClassifier(n_iter_no_change=3, max_epochs=200, **params).fit(X, y)
    valid = [row["valid_loss"] for row in clf.history_]
    best = int(np.argmin(valid))
    assert clf.n_iter_ == best + 1 + 3  # stopped 3 epochs after the best one
    # With a constant learning rate the first epochs do not depend on
    # max_epochs, so the restored model equals one trained for best + 1 epochs.
    short = TransformerClassifier(n_iter_no_change=500, max_epochs=best + 1, **params)
    assert_array_equal(clf.predict_proba(X), short.fit(X, y).predict_proba(X))


def test_early_stopping_auto_holds_out_a_share_of_40_sequences_or_more(data):
    X, y = data  # 80 sequences
    params = dict(max_epochs=2, **SMALL_TRANSFORMER)
    clf = TransformerClassifier(early_stopping="auto", **params).fit(X, y)
    assert clf.early_stopping_ is True and "valid_loss" in clf.history_[-1]
    clf.fit(X[:39], y[:39])
    assert clf.early_stopping_ is False and "valid_loss" not in clf.history_[-1]
    clf.fit(X[:40], y[:40])
    assert clf.early_stopping_ is True
    clf.partial_fit(X, y)  # one epoch on the data as given: never
    assert clf.early_stopping_ is False and "valid_loss" not in clf.history_[-1]


@pytest.mark.parametrize("Model", [TransformerRegressor, LSTMAttentionRegressor])
def test_regressors_stop_early_by_default(Model, data):
    X, _ = data
    y = X[:, -1, 0] + 0.1 * X[:, 0, 1]
    reg = Model(max_epochs=2, random_state=0, n_threads=1).fit(X, y)
    assert reg.early_stopping_ is True and "valid_loss" in reg.history_[-1]
    # and read every step linearly, fitted by ridge before training
    assert reg.linear_steps_ == X.shape[1] and reg.linear_fit_ == "ridge"
    # on the last tenth of the sequences for the LSTM, a random one for the
    # Transformer (each as the study chose, benchmarks/LODO.md)
    expected = "last" if Model is LSTMAttentionRegressor else "random"
    assert reg.validation_split == expected


def _validation_share(model, X, y):
    """The validation data of one fit of ``model``."""
    seen = {}
    original = SequenceNet.partial_fit

    def spy(net, X, y=None, **kwargs):
        seen["valid"] = X[1]
        return original(net, X, y, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SequenceNet, "partial_fit", spy)
        model.fit(X, y)
    return seen["valid"]


def test_validation_split_is_stratified(data):
    X, y = data
    y = np.array(["rare"] * 10 + ["common"] * 70)
    clf = LSTMAttentionClassifier(
        hidden_size=4,
        early_stopping=True,
        validation_fraction=0.25,
        max_epochs=1,
        random_state=0,
    )
    valid = _validation_share(clf, X, y)
    counts = np.bincount(valid.target.numpy(), minlength=2)
    # 20 validation samples, 1/8 of them from the rare class
    assert_array_equal(counts, [18, 2][::-1] if clf.classes_[0] == "rare" else [18, 2])


def test_validation_split_last_holds_out_the_last_sequences(data):
    X, _ = data  # 80 sequences
    y = np.arange(80.0)  # each target names its sequence
    params = dict(hidden_size=4, early_stopping=True, max_epochs=1, random_state=0)
    reg = LSTMAttentionRegressor(validation_split="last", **params)
    valid = _validation_share(reg, X, y)
    held = valid.target.numpy().ravel() * reg._y_scale[0] + reg._y_loc[0]
    np.testing.assert_allclose(held, y[-8:], atol=1e-4)
    # "random" draws them at random
    random = LSTMAttentionRegressor(validation_split="random", **params)
    valid = _validation_share(random, X, y)
    held = valid.target.numpy().ravel() * reg._y_scale[0] + reg._y_loc[0]
    assert len(held) == 8 and not np.allclose(held, y[-8:], atol=1e-4)


def test_cosine_schedule_decays_to_zero_and_constant_stays(data):
    X, y = data
    cosine = TransformerClassifier(max_epochs=6, lr=1e-2, **SMALL_TRANSFORMER).fit(X, y)
    lrs = [row["lr"] for row in cosine.history_]
    assert max(lrs) <= 1e-2 and lrs[-1] < 1e-6
    constant = TransformerClassifier(
        max_epochs=3, lr=1e-2, lr_schedule="constant", **SMALL_TRANSFORMER
    )
    assert [row["lr"] for row in constant.fit(X, y).history_] == [1e-2] * 3


def test_max_steps_caps_the_epochs_of_large_training_sets(data):
    X, y = data
    batches = -(-len(X) // 8)
    capped = TransformerClassifier(
        max_epochs=6, max_steps=2 * batches + 1, batch_size=8, **SMALL_TRANSFORMER
    ).fit(X, y)
    assert capped.n_iter_ == 3  # ceil((2 * batches + 1) / batches)
    # the schedule spans the epochs that run: it still decays to zero
    assert capped.history_[-1]["lr"] < 1e-6
    free = TransformerClassifier(
        max_epochs=2, max_steps=100 * batches, batch_size=8, **SMALL_TRANSFORMER
    )
    assert free.fit(X, y).n_iter_ == 2
    # partial_fit adds one epoch whatever max_steps says
    assert capped.set_params(max_steps=1).partial_fit(X, y).n_iter_ == 3 + 1


def test_gradients_are_clipped(data, monkeypatch):
    X, y = data
    norms = []
    original = torch.nn.utils.clip_grad_norm_

    def spy(parameters, max_norm, **kwargs):
        parameters = list(parameters)
        total = original(parameters, max_norm, **kwargs)
        after = torch.linalg.vector_norm(
            torch.stack([p.grad.norm() for p in parameters if p.grad is not None])
        )
        norms.append((max_norm, float(after)))
        return total

    monkeypatch.setattr("skorch.callbacks.regularization.clip_grad_norm_", spy)
    TransformerClassifier(max_epochs=1, clip_grad_norm=0.01, **SMALL_TRANSFORMER).fit(
        X, y
    )
    assert norms and all(
        max_norm == 0.01 and after <= 0.0101 for max_norm, after in norms
    )


ANSI = re.compile(r"\x1b\[")
LINE = re.compile(
    r"epoch (\d)/3  train_loss \d+\.\d{4}  valid_loss \d+\.\d{4}  "
    r"\d+(\.\d)? (ms|s)/epoch  (eta \d+(\.\d)? (ms|s)|done in \d+(\.\d)? (ms|s))"
)


def test_quiet_prints_nothing(data, capfd):
    X, y = data
    TransformerClassifier(max_epochs=2, verbose=0, **SMALL_TRANSFORMER).fit(X, y)
    assert capfd.readouterr() == ("", "")


def test_verbose_off_a_terminal_prints_plain_lines(data, capsys):
    X, y = data
    TransformerClassifier(
        max_epochs=3, verbose=1, early_stopping=True, **SMALL_TRANSFORMER
    ).fit(X, y)
    out, err = capsys.readouterr()  # captured: not a terminal
    lines = out.splitlines()
    assert [LINE.fullmatch(line).group(1) for line in lines] == ["1", "2", "3"]
    assert "done in" in lines[-1] and "eta" in lines[0]
    assert not ANSI.search(out + err) and err == ""
    # verbose=2 adds every recorded value (the learning rate, improvements)
    TransformerClassifier(
        max_epochs=3, verbose=2, early_stopping=True, **SMALL_TRANSFORMER
    ).fit(X, y)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 3 and all(line.startswith("epoch ") for line in lines)
    assert all(" lr " in line for line in lines) and "*" in lines[0]
    assert not ANSI.search(out)


def test_verbose_on_a_terminal_draws_a_bar(data, capsys, monkeypatch):
    X, y = data
    monkeypatch.setattr("skattn._net._isatty", lambda stream: True)
    clf = TransformerClassifier(max_epochs=3, verbose=2, **SMALL_TRANSFORMER)
    clf.fit(X, y)
    out, err = capsys.readouterr()
    assert "3/3" in err and "epoch" in err and "train_loss" in err  # tqdm's bar
    # the per-epoch values of verbose=2 above the bar, with colour on a terminal
    lines = out.splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert ANSI.search(lines[0])
    pickle.loads(pickle.dumps(clf))  # no bar is kept in the fitted net


def test_durations_read_like_a_person_would_say_them():
    assert [_duration(s) for s in (0.35, 2.14, 42.4, 390, 1500, 5400)] == [
        "350 ms",
        "2.1 s",
        "42 s",
        "6.5 min",
        "25 min",
        "1.5 h",
    ]


def test_divergence_is_a_clear_error(data):
    X, y = data
    clf = TransformerClassifier(
        max_epochs=5, lr=1e12, clip_grad_norm=None, **SMALL_TRANSFORMER
    )
    with pytest.raises(
        FloatingPointError,
        match="in epoch \\d+: training diverged. Try a lower learning rate",
    ):
        clf.fit(X, y)


def test_ctrl_c_keeps_a_usable_model(data, monkeypatch):
    X, y = data
    calls = {"n": 0}
    original = SequenceNet.train_step

    def interrupt_in_epoch_3(net, batch, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2 * 3 + 1:  # 3 batches per epoch
            raise KeyboardInterrupt
        return original(net, batch, **kwargs)

    monkeypatch.setattr(SequenceNet, "train_step", interrupt_in_epoch_3)
    clf = TransformerClassifier(max_epochs=10, batch_size=32, **SMALL_TRANSFORMER)
    with pytest.warns(TrainingInterruptedWarning) as record:
        clf.fit(X, y)
    assert clf.n_iter_ == 3  # two epochs done, the third interrupted
    losses = [row["train_loss"] for row in clf.history_[:2]]
    best = int(np.argmin(losses))
    assert str(record[0].message) == (
        "training was interrupted by Ctrl-C after 2 of 10 epochs; keeping the "
        f"weights of epoch {best + 1} (best train_loss {losses[best]:.4g})"
    )
    assert record[0].filename == __file__  # the line that called fit
    assert issubclass(TrainingInterruptedWarning, UserWarning)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_mixed_precision_trains(data):
    X, y = data
    clf = TransformerClassifier(
        max_epochs=2, mixed_precision=True, **SMALL_TRANSFORMER
    ).fit(X, y)
    assert np.isfinite([row["train_loss"] for row in clf.history_]).all()
    assert clf.predict_proba(X).dtype == np.float64


def test_batches_group_similar_lengths():
    import torch

    from skattn._net import BatchIterator, SequenceData

    lengths = torch.tensor([5] * 63 + [500])  # one long outlier
    data = SequenceData(
        torch.zeros(64, 500, 1), lengths, torch.zeros(64), torch.ones(64)
    )
    gen = torch.Generator().manual_seed(0)
    widths = [
        X["values"].shape[1]
        for X, _ in BatchIterator(data, 8, shuffle=True, generator=gen)
    ]
    assert sorted(widths) == [5] * 7 + [500]  # only the outlier's batch is wide


def _epochs_of_batches(group_by_length, epochs=3):
    """The training batches' members (as sets of sequence ids) over
    ``epochs`` epochs of 48 sequences of lengths 1 to 48, batches of 8."""
    import torch

    from skattn._net import BatchIterator, SequenceData

    n = 48
    values = torch.arange(n, dtype=torch.float32)[:, None, None].expand(n, n, 1)
    data = SequenceData(
        values.contiguous(), torch.arange(1, n + 1), torch.zeros(n), torch.ones(n)
    )
    gen = torch.Generator().manual_seed(0)
    return [
        {frozenset(X["values"][:, 0, 0].int().tolist()) for X, _ in batches}
        for batches in (
            BatchIterator(
                data, 8, shuffle=True, generator=gen, group_by_length=group_by_length
            )
            for _ in range(epochs)
        )
    ]


def test_grouped_batches_of_a_small_set_repeat_every_epoch():
    epochs = _epochs_of_batches(group_by_length=True)
    assert epochs[0] == epochs[1] == epochs[2]
    # each batch holds 8 neighbours in length
    assert all(max(b) - min(b) == 7 for b in epochs[0])


def test_random_batches_change_every_epoch_and_cover_every_sequence():
    epochs = _epochs_of_batches(group_by_length=False)
    assert epochs[0] != epochs[1] and epochs[1] != epochs[2]
    for batches in epochs:
        assert sorted(i for b in batches for i in b) == list(range(48))
    assert any(max(b) - min(b) > 7 for b in epochs[0])


def test_group_by_length_reaches_training_batches_only(data, monkeypatch):
    from skattn import _net

    X, y = data
    X = X.copy()
    X[::2, 10:] = np.nan  # unequal lengths
    seen = []
    original = _net.BatchIterator.__init__

    def record(self, *args, group_by_length=True, shuffle=False, **kwargs):
        seen.append((shuffle, group_by_length))
        original(
            self, *args, group_by_length=group_by_length, shuffle=shuffle, **kwargs
        )

    monkeypatch.setattr(_net.BatchIterator, "__init__", record)
    TransformerClassifier(
        group_by_length=False, early_stopping=True, max_epochs=2, **SMALL_TRANSFORMER
    ).fit(X, y)
    # training batches at random; the validation share grouped by length
    assert set(seen) == {(True, False), (False, True)}


# Window slicing (random_crop) -----------------------------------------------


def test_random_windows_are_runs_of_each_sequences_real_steps():
    lengths = torch.tensor([10, 7, 1, 4, 10])
    t = int(lengths.max())
    steps = torch.arange(t)
    mask = steps < lengths[:, None]
    # step j of sequence i holds 100 i + j + 1 in both channels; padding 0
    numbered = (100 * torch.arange(5)[:, None] + steps + 1).float() * mask
    X = {"values": numbered.unsqueeze(-1).repeat(1, 1, 2), "mask": mask}
    out = random_windows(X, 0.6, torch.Generator().manual_seed(0))
    keep = torch.tensor([6, 5, 1, 3, 6])  # ceil(0.6 * length)
    assert_array_equal(out["mask"].sum(1), keep)
    assert out["values"].shape == (5, int(keep.max()), 2)
    for i, (length, k) in enumerate(zip(lengths, keep, strict=True)):
        window = out["values"][i, :k, 0] - 100 * i - 1  # 0-based source steps
        assert_array_equal(window, window[0] + torch.arange(k))  # consecutive
        assert 0 <= window[0] <= length - k  # inside the real steps
        assert not out["values"][i, k:].any()  # padding stays zero
    assert_array_equal(out["values"][..., 0], out["values"][..., 1])
    whole = random_windows(X, 1.0, torch.Generator().manual_seed(0))
    assert_array_equal(whole["values"], X["values"])
    assert_array_equal(whole["mask"], X["mask"])


def test_random_windows_start_anywhere():
    """Over many draws, a window of 2 out of 10 steps starts on each of the
    9 possible steps."""
    mask = torch.ones(400, 10, dtype=torch.bool)
    values = torch.arange(10.0).expand(400, 10).unsqueeze(-1)
    out = random_windows(
        {"values": values, "mask": mask}, 0.2, torch.Generator().manual_seed(0)
    )
    assert set(out["values"][:, 0, 0].tolist()) == set(range(9))


@pytest.mark.parametrize("Model", [TransformerClassifier, LSTMAttentionClassifier])
def test_random_crop_trains_on_windows_and_validates_on_whole_sequences(
    ragged, Model, monkeypatch
):
    X, y = ragged
    lengths = np.array([len(s) for s in X])
    seen = {True: set(), False: set()}  # module.training -> lengths it saw
    infer = SequenceNet.infer

    def spy(net, x, **kwargs):
        seen[net.module_.training].update(x["mask"].sum(1).tolist())
        return infer(net, x, **kwargs)

    monkeypatch.setattr(SequenceNet, "infer", spy)
    params = dict(max_epochs=2, early_stopping=True, validation_fraction=0.25)
    clf = small(Model, random_crop=0.5, **params).fit(X, y)
    assert seen[True] <= set(np.ceil(lengths * 0.5).astype(int).tolist())
    assert seen[False] <= set(lengths.tolist())  # validation: whole sequences
    assert max(seen[False]) > max(seen[True])
    # another model than training on whole sequences, the same on a refit
    proba = clf.predict_proba(X)
    assert_array_equal(
        small(Model, random_crop=0.5, **params).fit(X, y).predict_proba(X), proba
    )
    assert not np.array_equal(small(Model, **params).fit(X, y).predict_proba(X), proba)


def _absolute_codes(est):
    """The positional encoding module of ``est``'s network (of its first
    member in an ensemble)."""
    module = est.net_.module_
    return getattr(module, "members", [module])[0].encoder.positional_encoding


def test_positional_encoding_auto_gives_no_absolute_codes_to_networks_on_windows(
    ragged,
):
    """A window's steps are numbered from its start: "auto" trains a network
    on windows without absolute codes, any other network with sinusoidal
    ones, and is then exactly the model of that choice."""
    X, y = ragged
    for crop, plain in [(None, "sinusoidal"), (0.5, None)]:
        params = dict(random_crop=crop, max_epochs=2)
        auto = small(TransformerClassifier, positional_encoding="auto", **params)
        auto.fit(X, y)
        assert (_absolute_codes(auto) is None) == (crop is not None)
        other = small(TransformerClassifier, positional_encoding=plain, **params)
        assert_array_equal(auto.predict_proba(X), other.fit(X, y).predict_proba(X))
    # the regressor trains on whole sequences: sinusoidal codes
    target = np.array([len(s) for s in X], dtype=float)
    reg = small(TransformerRegressor, positional_encoding="auto", max_epochs=1)
    assert _absolute_codes(reg.fit(X, target)) is not None


def test_random_crop_auto_compares_a_windows_network_without_absolute_codes(
    monkeypatch,
):
    X, y = few_per_class()
    codes = []  # (random_crop, has absolute codes) of every network trained
    train_net = SequenceClassifierBase._train_net

    def spy(est, train, valid, **kwargs):
        net = train_net(est, train, valid, **kwargs)
        has_codes = net.module_.encoder.positional_encoding is not None
        codes.append((est._random_crop(), has_codes))
        return net

    def accuracy(est, net, valid):  # windows classify all four held out
        return 1.0 if net.random_crop else 0.0

    monkeypatch.setattr(SequenceClassifierBase, "_train_net", spy)
    monkeypatch.setattr(SequenceClassifierBase, "_validation_accuracy", accuracy)
    params = dict(random_crop="auto", max_epochs=2)
    small(TransformerClassifier, positional_encoding="auto", **params).fit(X, y)
    assert codes == [(None, True), (0.5, False), (0.5, False)]
    codes.clear()
    small(TransformerClassifier, positional_encoding="sinusoidal", **params).fit(X, y)
    assert codes == [(None, True), (0.5, True), (0.5, True)]


@pytest.mark.parametrize("bad", [0.0, 1.5, -0.2, "0.9"])
def test_invalid_random_crop(data, bad):
    X, y = data
    with pytest.raises(ValueError, match="random_crop"):
        LSTMAttentionClassifier(random_crop=bad, max_epochs=1).fit(X, y)


def test_crop_validation_split_holds_out_one_sequence_of_each_class():
    classes = np.repeat([0, 1, 2], [2, 3, 1])  # the median class: 2 sequences
    train, valid = crop_validation_split(classes, 0, max_per_class=4)
    # one of class 0, one of class 1; class 2's only sequence trains
    assert sorted(classes[valid].tolist()) == [0, 1]
    assert_array_equal(np.sort(np.concatenate([train, valid])), np.arange(6))
    drawn = {tuple(crop_validation_split(classes, seed, 4)[1]) for seed in range(20)}
    assert len(drawn) > 1  # which one is held out depends on the seed
    assert crop_validation_split(np.repeat([0, 1], 5), 0, 4) is None  # median 5
    assert crop_validation_split(np.arange(4), 0, 4) is None  # no class of two


def few_per_class(n_classes=4, per_class=3, length=16, seed=0):
    """``per_class`` sequences of each of ``n_classes`` classes (a sine of
    the class's frequency at a random phase, in noise)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), per_class)
    t = np.arange(length)
    phase = rng.uniform(0, 2 * np.pi, size=(len(y), 1))
    X = np.sin((y[:, None] + 1) * t * 2 * np.pi / length + phase)
    return X + 0.3 * rng.normal(size=X.shape), y


# held-out accuracies (whole sequences, windows) of four held-out sequences:
# windows must classify at least two more of them correctly
@pytest.mark.parametrize(
    "scores, winner",
    [
        ((0.25, 0.75), 0.5),
        ((0.0, 1.0), 0.5),
        ((0.5, 0.75), None),  # one more: within noise
        ((0.75, 0.25), None),
        ((0.5, 0.5), None),
    ],
)
def test_random_crop_auto_trains_on_what_classified_held_out_sequences_better(
    scores, winner, monkeypatch
):
    X, y = few_per_class()
    fits = []  # (sequences, random_crop, epochs) of every network trained
    train_net = SequenceClassifierBase._train_net

    def spy(est, train, valid, **kwargs):
        net = train_net(est, train, valid, **kwargs)
        fits.append((len(train), est._random_crop(), len(net.history)))
        return net

    def accuracy(est, net, valid):
        assert len(valid) == 4  # one sequence of each class held out
        return dict(zip([None, 0.5], scores, strict=True))[net.random_crop]

    monkeypatch.setattr(SequenceClassifierBase, "_train_net", spy)
    monkeypatch.setattr(SequenceClassifierBase, "_validation_accuracy", accuracy)
    clf = small(LSTMAttentionClassifier, random_crop="auto", max_epochs=2).fit(X, y)
    assert clf.random_crop_ == winner
    assert clf.random_crop_scores_ == {None: scores[0], 0.5: scores[1]}
    # a network on windows trains twice the epochs: each step as often
    epochs = 2 if winner is None else 4
    assert fits == [(8, None, 2), (8, 0.5, 4), (12, winner, epochs)]
    assert clf.net_.random_crop == winner
    assert clf.n_iter_ == epochs
    # the comparison leaves no trace: the model of random_crop=winner (given,
    # windows train max_epochs)
    plain = small(LSTMAttentionClassifier, random_crop=winner, max_epochs=epochs)
    assert_array_equal(clf.predict_proba(X), plain.fit(X, y).predict_proba(X))
    assert plain.n_iter_ == epochs


def test_random_crop_auto_doubles_the_step_budget_of_windows(monkeypatch):
    X, y = few_per_class()  # 12 sequences: batches of 4 make 3 an epoch

    def accuracy(est, net, valid):
        return 1.0 if net.random_crop else 0.0  # windows win

    monkeypatch.setattr(SequenceClassifierBase, "_validation_accuracy", accuracy)
    params = dict(random_crop="auto", max_epochs=50, batch_size=4)
    clf = small(LSTMAttentionClassifier, max_steps=6, **params).fit(X, y)
    assert clf.random_crop_ == 0.5
    assert clf.n_iter_ == 4  # 12 steps: twice the budget of 6, not 2 epochs
    whole = small(
        LSTMAttentionClassifier, max_steps=6, **{**params, "random_crop": None}
    )
    assert whole.fit(X, y).n_iter_ == 2


@pytest.mark.parametrize(
    "scores, says", [((0.25, 0.75), "windows"), ((0.5, 0.5), "whole")]
)
def test_random_crop_auto_says_what_it_chose_when_verbose(
    scores, says, monkeypatch, capsys
):
    X, y = few_per_class()

    def accuracy(est, net, valid):
        return dict(zip([None, 0.5], scores, strict=True))[net.random_crop]

    monkeypatch.setattr(SequenceClassifierBase, "_validation_accuracy", accuracy)
    small(LSTMAttentionClassifier, random_crop="auto", max_epochs=1, verbose=1).fit(
        X, y
    )
    line = next(
        line for line in capsys.readouterr().out.splitlines() if "held-out" in line
    )
    assert "on 4 held-out sequences" in line
    assert f"{scores[0]:.3f} trained on whole sequences" in line
    assert f"{scores[1]:.3f} on windows of 0.5" in line
    assert line.endswith(
        f"training on {says}" + (" sequences" if says == "whole" else "")
    )
    # silent by default
    small(LSTMAttentionClassifier, random_crop="auto", max_epochs=1).fit(X, y)
    assert "held-out" not in capsys.readouterr().out


def test_random_crop_auto_scores_held_out_sequences_and_keeps_its_choice():
    X, y = few_per_class()
    clf = small(LSTMAttentionClassifier, random_crop="auto", max_epochs=3).fit(X, y)
    scores = clf.random_crop_scores_
    assert set(scores) == {None, 0.5}
    assert all(score in (0, 0.25, 0.5, 0.75, 1) for score in scores.values())
    gain = round((scores[0.5] - scores[None]) * 4)  # of four held out
    assert clf.random_crop_ == (0.5 if gain >= 2 else None)
    # the same choice on a refit with the same seed, the same model
    again = small(LSTMAttentionClassifier, random_crop="auto", max_epochs=3)
    assert_array_equal(again.fit(X, y).predict_proba(X), clf.predict_proba(X))
    assert again.random_crop_scores_ == scores
    # a warm start trains on with the choice, without validating again
    clf.random_crop_ = 0.5  # (whichever it was: the warm fit keeps it)
    clf.set_params(warm_start=True).fit(X, y)
    assert clf.random_crop_ == 0.5 and clf.net_.random_crop == 0.5


def test_random_crop_auto_trains_its_two_networks_at_once_under_n_jobs():
    X, y = few_per_class()
    params = dict(random_crop="auto", max_epochs=3, n_threads=1)
    one = small(LSTMAttentionClassifier, **params).fit(X, y)
    two = small(LSTMAttentionClassifier, n_jobs=2, **params).fit(X, y)
    assert two.random_crop_scores_ == one.random_crop_scores_
    assert two.random_crop_ == one.random_crop_
    assert_array_equal(two.predict_proba(X), one.predict_proba(X))


def test_ctrl_c_while_random_crop_auto_compares_ends_the_fit(monkeypatch):
    X, y = few_per_class()
    train_step = SequenceNet.train_step

    def interrupt(net, batch, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(SequenceNet, "train_step", interrupt)
    clf = small(LSTMAttentionClassifier, random_crop="auto", max_epochs=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingInterruptedWarning)
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
    assert not hasattr(clf, "net_")
    monkeypatch.setattr(SequenceNet, "train_step", train_step)
    assert clf.fit(X, y).random_crop_scores_ is not None  # usable afterwards


def test_random_crop_auto_on_many_sequences_per_class_is_whole_sequences(data):
    X, y = data  # 40 sequences of each class: no validation
    auto = small(LSTMAttentionClassifier, random_crop="auto", max_epochs=2).fit(X, y)
    assert auto.random_crop_ is None and auto.random_crop_scores_ is None
    whole = small(LSTMAttentionClassifier, max_epochs=2).fit(X, y)
    assert_array_equal(auto.predict_proba(X), whole.predict_proba(X))
    losses = [[row["train_loss"] for row in m.history_] for m in (auto, whole)]
    assert losses[0] == losses[1]  # one network, trained alike


# Jittering ---------------------------------------------------------------------


def test_jitter_adds_noise_to_the_real_steps_of_the_chosen_channels():
    gen = torch.Generator().manual_seed(1)
    lengths = torch.randint(2, 31, (400, 1), generator=gen)
    mask = torch.arange(30) < lengths
    # sequences whose amplitudes span four orders of magnitude; padding 0
    amplitude = 10.0 ** torch.randint(-2, 3, (400, 1, 1), generator=gen)
    values = amplitude * torch.randn(400, 30, 3, generator=gen) * mask[..., None]
    values[:5] = 7.0 * mask[:5, :, None]  # constant sequences
    channels = torch.tensor([True, False, True])
    X = {"values": values, "mask": mask}
    noisy = jittered(X, 0.5, channels, torch.Generator().manual_seed(0))["values"]
    assert torch.equal(noisy[~mask], values[~mask])  # padding stays as it is
    assert torch.equal(noisy[..., 1], values[..., 1])  # a channel without noise
    assert torch.equal(noisy[:5], values[:5])  # a constant channel gets none
    # in units of each sequence's own standard deviation over its real steps
    real = mask[..., None].expand_as(values)
    n = lengths[..., None].double()
    mean = values.double().sum(1, keepdim=True) / n
    own = (((values - mean) * real).square().sum(1, keepdim=True) / n).sqrt()
    relative = ((noisy - values) / own)[5:][real[5:]].view(-1, 3)[:, [0, 2]]
    assert abs(relative.std().item() - 0.5) < 0.02
    assert abs(relative.mean().item()) < 0.02
    again = jittered(X, 0.5, channels, torch.Generator().manual_seed(0))["values"]
    assert torch.equal(noisy, again)


def _fit_and_see(Model, X, y, **params):
    """A small ``Model`` fitted on ``X``, and for each sequence its network
    saw in training (``True``) and in validation (``False``) whether it was
    a row of ``X`` as given (standardised over the training split)."""
    seen = {True: [], False: []}  # module.training -> values it saw
    infer = SequenceNet.infer

    def spy(net, x, **kwargs):
        seen[net.module_.training].append(x["values"].cpu().clone())
        return infer(net, x, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SequenceNet, "infer", spy)
        clf = small(Model, **params).fit(X, y)
    clean = (X - clf._input_loc) / clf._input_scale
    rows = {tuple(np.round(row.ravel(), 4)) for row in clean.astype(np.float32)}
    known = {
        training: [
            tuple(np.round(r.numpy().ravel(), 4)) in rows for b in batches for r in b
        ]
        for training, batches in seen.items()
    }
    return clf, known


@pytest.mark.parametrize("Model", [LSTMAttentionClassifier, TransformerClassifier])
def test_jitter_trains_on_noisy_values_and_validates_on_the_data(data, Model):
    X, y = data
    torch.set_num_threads(1)
    params = dict(max_epochs=2, early_stopping=True, validation_fraction=0.25)
    clf, known = _fit_and_see(Model, X, y, jitter=0.3, **params)
    assert all(known[False])  # validation: the sequences as given
    assert not any(known[True])  # training: every sequence with noise
    # another model than training without noise, the same on a refit
    proba = clf.predict_proba(X)
    assert_array_equal(
        small(Model, jitter=0.3, **params).fit(X, y).predict_proba(X), proba
    )
    plain = small(Model, jitter=0.0, **params).fit(X, y)
    assert not np.array_equal(plain.predict_proba(X), proba)


def test_auto_jitter_is_a_tenth_on_numeric_input_and_none_on_token_ids(data):
    X, y = data
    torch.set_num_threads(1)
    assert LSTMAttentionClassifier().jitter == "auto"
    assert TransformerClassifier().jitter == 0.0
    auto = small(LSTMAttentionClassifier, max_epochs=2).fit(X, y)
    assert auto._jitter() == 0.1
    tenth = small(LSTMAttentionClassifier, max_epochs=2, jitter=0.1).fit(X, y)
    assert_array_equal(auto.predict_proba(X), tenth.predict_proba(X))
    # token ids have no numbers to disturb: "auto" adds nothing (and fits)
    tokens = [np.array([1, 2, 3]), np.array([2, 3])] * 4
    clf = small(LSTMAttentionClassifier, vocab_size=5, max_epochs=1)
    assert clf.fit(tokens, [0, 1] * 4)._jitter() is None


def test_jitter_needs_numeric_channels():
    tokens = [np.array([1, 2, 3]), np.array([2, 3])] * 4
    clf = small(LSTMAttentionClassifier, vocab_size=5, jitter=0.1)
    with pytest.raises(ValueError, match="jitter=0.1 adds noise to numeric input"):
        clf.fit(tokens, [0, 1] * 4)


@pytest.mark.parametrize("bad", [-0.1, "0.1"])
def test_invalid_jitter(data, bad):
    X, y = data
    with pytest.raises(ValueError, match="jitter"):
        TransformerClassifier(jitter=bad, max_epochs=1).fit(X, y)


# Magnitude scaling ---------------------------------------------------------------


def test_magnitude_scaling_multiplies_each_sequence_and_channel_by_one_factor():
    gen = torch.Generator().manual_seed(1)
    lengths = torch.randint(2, 31, (2000, 1), generator=gen)
    mask = torch.arange(30) < lengths
    values = torch.randn(2000, 30, 3, generator=gen) + 3.0
    values[~mask] = 0.0
    channels = torch.tensor([True, False, True])
    X = {"values": values, "mask": mask}
    scaled = magnitude_scaled(X, 0.2, channels, torch.Generator().manual_seed(0))
    scaled = scaled["values"]
    assert torch.equal(scaled[~mask], values[~mask])  # padding stays as it is
    assert torch.equal(scaled[..., 1], values[..., 1])  # a channel not scaled
    ratio = scaled / values  # [b, t, c]: one factor along each sequence
    factors = ratio[:, :1]
    real = mask[..., None].expand_as(values)
    assert torch.allclose(ratio[real], factors.expand_as(ratio)[real], rtol=1e-5)
    drawn = factors[:, 0, [0, 2]]
    assert abs(drawn.mean().item() - 1.0) < 0.02
    assert abs(drawn.std().item() - 0.2) < 0.02
    assert (drawn[:, 0] != drawn[:, 1]).all()  # its own factor per channel
    again = magnitude_scaled(X, 0.2, channels, torch.Generator().manual_seed(0))
    assert torch.equal(again["values"], scaled)


@pytest.mark.parametrize("augmentation", ["random_scale", "random_warp"])
@pytest.mark.parametrize("Model", [LSTMAttentionClassifier, TransformerClassifier])
def test_augmentations_train_on_changed_values_and_validate_on_the_data(
    data, Model, augmentation
):
    X, y = data
    torch.set_num_threads(1)
    params = dict(
        max_epochs=2, early_stopping=True, validation_fraction=0.25, jitter=0.0
    )
    clf, known = _fit_and_see(Model, X, y, **{augmentation: 0.3}, **params)
    assert all(known[False])  # validation: the sequences as given
    assert not any(known[True])  # training: every sequence changed
    proba = clf.predict_proba(X)
    again = small(Model, **{augmentation: 0.3}, **params).fit(X, y)
    assert_array_equal(again.predict_proba(X), proba)
    plain = small(Model, **{augmentation: 0.0}, **params).fit(X, y)
    assert not np.array_equal(plain.predict_proba(X), proba)


def test_random_scale_needs_numeric_channels():
    tokens = [np.array([1, 2, 3]), np.array([2, 3])] * 4
    clf = small(LSTMAttentionClassifier, vocab_size=5, random_scale=0.2)
    with pytest.raises(ValueError, match="random_scale=0.2 scales numeric input"):
        clf.fit(tokens, [0, 1] * 4)


@pytest.mark.parametrize("bad", [-0.1, "0.1", None])
def test_invalid_random_scale(data, bad):
    X, y = data
    with pytest.raises(ValueError, match="random_scale"):
        LSTMAttentionClassifier(random_scale=bad, max_epochs=1).fit(X, y)


# Time warping --------------------------------------------------------------------


def _ramps(n=500, t=30, seed=1):
    """A batch of rising ramps of random real lengths (padding 0), one
    numeric channel and one channel of category codes (the step index)."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, t + 1, (n, 1), generator=gen)
    mask = torch.arange(t) < lengths
    steps = torch.arange(t, dtype=torch.float32).expand(n, t)
    values = torch.stack([steps * 0.5 + 3, steps], -1)
    values[~mask] = 0.0
    return {"values": values, "mask": mask}


def test_time_warping_resamples_the_real_steps_along_a_monotone_path():
    X = _ramps()
    values, mask = X["values"], X["mask"]
    channels = torch.tensor([True, False])
    warped = time_warped(X, 0.3, channels, torch.Generator().manual_seed(0))
    out = warped["values"]
    assert torch.equal(warped["mask"], mask)
    assert torch.equal(out[~mask], values[~mask])  # padding stays as it is
    # the first and the last real step stay where they were
    last = mask.sum(1) - 1
    rows = torch.arange(len(out))
    assert torch.equal(out[:, 0], values[:, 0])
    assert torch.allclose(out[rows, last], values[rows, last])
    # a ramp read along a monotone path: still rising, within its range
    rise = out[:, 1:, 0] - out[:, :-1, 0]
    assert (rise[mask[:, 1:]] >= -1e-5).all()
    # the category codes are whole steps of the sequence, in order
    codes = out[..., 1]
    assert torch.equal(codes, codes.round())
    assert (codes[mask] <= last[:, None].expand_as(codes)[mask].float()).all()
    assert ((codes[:, 1:] - codes[:, :-1])[mask[:, 1:]] >= 0).all()
    # numeric values between steps: interpolated (the ramp's own line)
    moved = mask & (out[..., 0] != values[..., 0])
    assert moved.sum() > 0.5 * mask.sum()
    assert ((out[..., 0] * 2) != (out[..., 0] * 2).round())[moved].any()
    again = time_warped(X, 0.3, channels, torch.Generator().manual_seed(0))
    assert torch.equal(again["values"], out)
    other = time_warped(X, 0.3, channels, torch.Generator().manual_seed(1))
    assert not torch.equal(other["values"], out)


def test_time_warping_moves_steps_more_with_a_larger_deviation():
    X = _ramps()
    channels = torch.tensor([True, True])
    shifts = []
    for std in (0.05, 0.3):
        out = time_warped(X, std, channels, torch.Generator().manual_seed(0))
        step = (out["values"][..., 1] - X["values"][..., 1]).abs()
        shifts.append(step[X["mask"]].mean().item())
    assert 0 < shifts[0] < shifts[1] / 2


def test_random_warp_reads_token_ids_at_whole_steps():
    tokens = [np.array([1, 2, 3, 4, 2, 1]), np.array([2, 3, 1])] * 4
    seen = []
    infer = SequenceNet.infer

    def spy(net, x, **kwargs):
        if net.module_.training:
            seen.append(x["values"].cpu().clone())
        return infer(net, x, **kwargs)

    clf = small(LSTMAttentionClassifier, vocab_size=5, random_warp=0.5, max_epochs=3)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SequenceNet, "infer", spy)
        clf.fit(tokens, [0, 1] * 4)
    values = torch.cat([v.flatten() for v in seen])
    assert set(values.tolist()) <= {0.0, 1.0, 2.0, 3.0, 4.0}


@pytest.mark.parametrize("bad", [-0.1, "0.1", None])
def test_invalid_random_warp(data, bad):
    X, y = data
    with pytest.raises(ValueError, match="random_warp"):
        LSTMAttentionClassifier(random_warp=bad, max_epochs=1).fit(X, y)


def _recorded_states(model, X, y, method="fit"):
    """The network's weights after every training step of ``method``."""
    import skattn._net as net_module

    states = []

    class Record(net_module.Callback):
        def on_batch_end(self, net, training=False, **kwargs):
            if training:
                state = net.module_.state_dict()
                states.append({k: v.detach().clone() for k, v in state.items()})

    original = net_module.training_callbacks

    def with_record(**kwargs):
        # first: it sees the weights of each step before anything else runs
        return [("record", Record()), *original(**kwargs)]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("skattn._base.training_callbacks", with_record)
        getattr(model, method)(X, y)
    return states


@pytest.mark.parametrize("kind", ["ema", "swa"])
def test_weight_averaging_ends_with_the_average_of_the_steps(kind, data):
    X, y = data
    torch.set_num_threads(1)
    # a batch-normalised stem: its running statistics are averaged too
    model = TransformerClassifier(
        max_epochs=3, batch_size=16, weight_averaging=kind, **SMALL_TRANSFORMER
    )
    states = _recorded_states(model, X, y)
    n = len(states)
    assert n == 3 * 5
    expected = {}
    for key, first in states[0].items():
        if not first.is_floating_point():
            continue
        if kind == "swa":  # the plain mean over the last half of the steps
            expected[key] = torch.stack([s[key] for s in states[n // 2 :]]).mean(0)
        else:  # each step moves the average 10/n of the way
            average = first.clone()
            for s in states[1:]:
                average += (10 / n) * (s[key] - average)
            expected[key] = average
    fitted = model.net_.module_.state_dict()
    for key, value in expected.items():
        torch.testing.assert_close(fitted[key], value, rtol=1e-5, atol=1e-6)
    # not the last step's weights
    assert any(not torch.equal(fitted[k], states[-1][k]) for k in expected)
    # the step counter of batch normalisation is the last step's
    for key, value in fitted.items():
        if not value.is_floating_point():
            assert torch.equal(value, states[-1][key])


def test_weight_averaging_leaves_training_alone(data):
    """The averaged weights are validated between epochs; training goes on
    from the trained weights, so the losses of training are those of a fit
    without averaging, while the validation losses and predictions differ."""
    X, y = data
    torch.set_num_threads(1)
    params = dict(max_epochs=4, early_stopping=True, **SMALL_TRANSFORMER)
    plain = TransformerClassifier(**params).fit(X, y)
    ema = TransformerClassifier(weight_averaging="ema", **params).fit(X, y)
    train = [row["train_loss"] for row in plain.history_]
    assert train == [row["train_loss"] for row in ema.history_]
    valid = [row["valid_loss"] for row in plain.history_]
    assert valid != [row["valid_loss"] for row in ema.history_]
    assert not np.allclose(plain.predict_proba(X), ema.predict_proba(X))
    # partial_fit does not average: it ends with the weights of its last step
    states = _recorded_states(ema, X, y, method="partial_fit")
    fitted = ema.net_.module_.state_dict()
    assert all(torch.equal(fitted[k], states[-1][k]) for k in fitted)


def test_invalid_weight_averaging(data):
    X, y = data
    with pytest.raises(ValueError, match="weight_averaging"):
        TransformerClassifier(weight_averaging="mean", **SMALL_TRANSFORMER).fit(X, y)
