"""Probes: changes to the LSTM classifier that are not parameters, and
second networks beside it.

    python benchmarks/probes.py --datasets PickupGestureWiimoteZ,ACSF1 \
        --replicate 0 --data-dir ../shared/data
    python benchmarks/probes.py --report

Each probe is a change to `LSTMAttentionClassifier`'s network or training
that skattn does not offer as a parameter (a subclass here, or a training
step patched while one fit runs), measured before anyone builds it in, or
a second network beside the default one (another architecture, another
seed) for what averaging their probabilities gives. It runs on
`lodo.py`'s 3-fold splits of the training sets with `lodo.py`'s seeds
(fold k of seed set r: seed 1000 r + k), next to today's default
classifier fitted once per fold; probes that pair two networks also score
the mean of the two networks' predicted probabilities (`averaged`).
Test splits are never read and nothing here chooses a default: a probe
that helps becomes a `lodo.py` candidate once it is a parameter.

Rows are appended to `probes_results.jsonl` (one per probe, data set, fold
and seed set; a row already measured on this CPU is not measured again);
`--report` writes `PROBES.md` from them. Not run by `run.py`.
"""

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, os.path.dirname(__file__))
import _common as C  # noqa: E402
import lodo  # noqa: E402
import numpy as np  # noqa: E402

from skattn import LSTMAttentionClassifier, TransformerClassifier  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "probes_results.jsonl"
REPORT = HERE / "PROBES.md"


def _network_classifier(make_encoder):
    """`LSTMAttentionClassifier` whose network has the encoder that
    ``make_encoder(estimator, input_size, max_length)`` builds (after the
    same input layers and stem, before the same pooling and head)."""
    from skattn._architectures import _shared_network_params
    from skattn.modules.network import sequence_network

    class Classifier(LSTMAttentionClassifier):
        def _build_network(self, n_channels, n_outputs, max_length):
            return sequence_network(
                n_channels,
                n_outputs,
                self.hidden_size,
                lambda size, length: make_encoder(self, size, length),
                **_shared_network_params(self, max_length),
            )

    return Classifier


def _conv_encoder(est, input_size, max_length):
    """Two convolutions of 128 channels (kernel 5, dilations 1 and 2,
    batch normalisation, GELU, a residual connection where the widths
    match) in place of the LSTM."""
    import torch
    from torch import nn

    from skattn.modules.stem import MaskedBatchNorm

    class ConvEncoder(nn.Module):
        def __init__(self, size, channels=128, kernel=5):
            super().__init__()
            self.convs = nn.ModuleList()
            self.norms = nn.ModuleList()
            for dilation in (1, 2):
                self.convs.append(
                    nn.Conv1d(
                        size,
                        channels,
                        kernel,
                        padding=dilation * (kernel // 2),
                        dilation=dilation,
                    )
                )
                self.norms.append(MaskedBatchNorm(channels))
                size = channels
            self.activation = nn.GELU()
            self.output_size = channels

        def forward(self, x, mask):
            padding = ~mask.unsqueeze(-1)
            for conv, norm in zip(self.convs, self.norms, strict=True):
                x = x.masked_fill(padding, 0.0)
                out = conv(x.transpose(1, 2)).transpose(1, 2)
                out = self.activation(norm(out, mask))
                x = out + x if out.shape == x.shape else out
            x = x.masked_fill(padding, 0.0)
            last = x[torch.arange(len(x)), mask.sum(1) - 1]
            return x, last

    return ConvEncoder(input_size)


def _parallel_encoders(est, input_size, max_length):
    """The classifier's LSTM (as its parameters make it) and a Transformer
    encoder (the Transformer classifier's defaults: two layers of width 64,
    relative positions) side by side on the stem's output, their states
    joined per step."""
    import torch
    from torch import nn

    from skattn.modules.encoders import RecurrentEncoder, TransformerEncoder

    class Parallel(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = RecurrentEncoder(
                input_size,
                est.hidden_size,
                num_layers=est.num_layers,
                cell=est.cell,
                bidirectional=est.bidirectional,
                dropout=est._effective("dropout"),
            )
            self.transformer = TransformerEncoder(
                input_size, 64, max_length=max_length, relative_positions=True
            )
            self.output_size = self.lstm.output_size + self.transformer.output_size

        def forward(self, x, mask):
            states, last = zip(
                self.lstm(x, mask), self.transformer(x, mask), strict=True
            )
            return torch.cat(states, -1), torch.cat(last, -1)

    return Parallel()


# time_mask: the share of each training sequence's real steps that one
# block, drawn anew in every batch, sets to the sequence's mean
TIME_MASK = 0.1


@contextlib.contextmanager
def _training_batches_changed(change):
    """While it lasts, every training batch ``X`` of every classifier's
    net becomes ``change(net, X)`` before the classifier's own
    augmentations."""
    from skattn import _net

    step = _net.SequenceNet.train_step_single

    def changed(net, batch, **fit_params):
        X, y = batch
        return step(net, (change(net, X), y), **fit_params)

    _net.SequenceNet.train_step_single = changed
    try:
        yield
    finally:
        _net.SequenceNet.train_step_single = step


def _time_masked(seed):
    """Training in which every batch has one block of :data:`TIME_MASK` of
    each sequence's real steps (at least one step, at a random place) set
    to that sequence's mean, in the channels that jitter reaches."""
    import torch

    from skattn.modules.stem import sequence_moments

    generator = torch.Generator().manual_seed(seed)

    def masked(net, X):
        values, mask = X["values"], X["mask"]
        lengths = mask.sum(1)
        width = (lengths * TIME_MASK).round().long().clamp(min=1)
        start = (
            torch.rand(len(values), generator=generator) * (lengths - width + 1)
        ).long()
        t = torch.arange(values.shape[1])[None]
        block = (t >= start[:, None]) & (t < (start + width)[:, None]) & mask
        channels = net.augmented_channels
        if channels is None:
            channels = torch.ones(values.shape[-1], dtype=torch.bool)
        hide = block[..., None] & channels
        mean = sequence_moments(values, mask)[0].expand_as(values)
        return {**X, "values": torch.where(hide, mean, values)}

    return _training_batches_changed(masked)


def _stride(network):
    """The total stride of ``network``'s stem (1 without one)."""
    stem = getattr(network, "stem", None)
    return 1 if stem is None else stem.stride


def _shift_batch(X, stride, generator):
    """Each sequence of a training batch started a random number of steps
    later: 0 to ``stride - 1``, and at least one real step kept."""
    import torch

    values, mask = X["values"], X["mask"]
    lengths = mask.sum(1)
    most = torch.clamp(lengths - 1, max=stride - 1)
    shift = (torch.rand(len(values), generator=generator) * (most + 1)).long()
    t = values.shape[1]
    index = (torch.arange(t)[None] + shift[:, None]).clamp(max=t - 1)
    values = values.gather(1, index[..., None].expand(-1, -1, values.shape[-1]))
    mask = torch.arange(t)[None] < (lengths - shift)[:, None]
    return {**X, "values": values.masked_fill(~mask[..., None], 0.0), "mask": mask}


def _shifted_training(seed):
    """Training in which every batch is shifted by :func:`_shift_batch` at
    the stride of the network's stem."""
    import torch

    generator = torch.Generator().manual_seed(seed)

    def shifted(net, X):
        stride = _stride(net.module_)
        return _shift_batch(X, stride, generator) if stride > 1 else X

    return _training_batches_changed(shifted)


def _shifted_array(X, shift):
    """NaN-padded sequences ``X`` each started ``shift`` steps later (at
    least one real step kept), NaN-padded to the same width."""
    X = np.asarray(X, dtype=np.float64)
    real = ~np.isnan(X).all(-1) if X.ndim == 3 else ~np.isnan(X)
    out = np.full_like(X, np.nan)
    for i, length in enumerate(real.sum(1)):
        start = min(shift, length - 1)
        out[i, : length - start] = X[i, start:length]
    return out


def _shift_averaged_proba(est, X):
    """The mean of ``est``'s probabilities over every shift below its
    stem's stride."""
    stride = _stride(est.net_.module_)
    return np.mean(
        [est.predict_proba(_shifted_array(X, shift)) for shift in range(stride)],
        axis=0,
    )


def _default(seed, X):
    return LSTMAttentionClassifier(random_state=seed, n_threads=1)


# seed_pair: how far the second network's seed lies from the first's (no
# seed set's seed: those are 1000 r + fold)
SECOND_SEED = 500


class Probe(NamedTuple):
    """What a probe changes, how its classifier is made from ``(seed, X)``,
    whether its probabilities are averaged with the default's, the context
    its fit runs in (made from the seed) and how it predicts probabilities
    (``predict(est, X)``; None: ``est.predict_proba``)."""

    what: str
    make: Callable
    pair: bool = False
    training: Callable | None = None
    predict: Callable | None = None


PROBES = {
    # Averaged: PickupGestureWiimoteZ 0.759, 0.740 against 0.699, 0.700 (the
    # Transformer alone 0.701 in both), ACSF1 0.659, 0.689 against 0.709
    # (alone 0.629, 0.679): the pair gains where the LSTM loses most and
    # pays on ACSF1, where the Transformer is weaker
    "transformer_pair": Probe(
        "today's default TransformerClassifier, alone and averaged with the "
        "default LSTM classifier (the soft vote of lodo.py's vote family)",
        lambda seed, X: TransformerClassifier(random_state=seed, n_threads=1),
        pair=True,
    ),
    # Averaged: PickupGestureWiimoteZ 0.679, 0.759 against 0.699, 0.700;
    # ACSF1 0.699, 0.690 against 0.709. A second seed moves single folds by
    # up to five series of seventeen (PickupGestureWiimoteZ fold 1 of seed
    # set 0: 0.706 and 0.471), so two seed sets cannot tell a gain of a few
    # points from noise
    "seed_pair": Probe(
        f"a second default LSTM classifier seeded {SECOND_SEED} further on, "
        "alone and averaged with the first",
        lambda seed, X: _default(seed + SECOND_SEED, X),
        pair=True,
    ),
    # Below the defaults alone and averaged with them on PickupGestureWiimoteZ
    # (alone 0.657, 0.577; averaged 0.637, 0.638 against 0.699, 0.700 over
    # seed sets 0 and 1), behind alone on ACSF1 (0.659, 0.639 against 0.709),
    # averaged 0.719 and 0.659: unlike the Transformer classifier, this
    # second architecture adds nothing to the LSTM's votes where it loses
    # most, and it is no cheaper (1.2 to 1.5 times the fit time)
    "conv_encoder": Probe(
        "two dilated convolutions of 128 channels in place of the LSTM "
        "(same stem, pooling and training)",
        lambda seed, X: _network_classifier(_conv_encoder)(
            random_state=seed, n_threads=1
        ),
        pair=True,
    ),
    # Averaged with the defaults: PickupGestureWiimoteZ 0.718 in both seed
    # sets (against 0.699, 0.700), ACSF1 0.709 and 0.690 (against 0.709):
    # no gain where the defaults lose most, at 2.5 to 2.9 times the fit time
    # of the defaults alone
    "steps_128": Probe(
        "the LSTM with the stem's stride aiming at 128 encoder steps instead "
        "of 64 (lodo.py's stem_steps_128)",
        lambda seed, X: _default(seed, X).set_params(
            conv_stem=lodo.stride_for_128_steps(X)
        ),
        pair=True,
    ),
    # ACSF1 0.640, 0.669 against 0.709; PickupGestureWiimoteZ 0.641 and 0.762
    # against 0.699, 0.700; about twice the fit time. Joined in one network
    # the two encoders do not give what the vote of two separately trained
    # classifiers gives (transformer_pair: PickupGestureWiimoteZ 0.759, 0.740)
    "parallel_encoders": Probe(
        "one network whose encoder is the LSTM and a Transformer encoder "
        "side by side, their states joined",
        lambda seed, X: _network_classifier(_parallel_encoders)(
            random_state=seed, n_threads=1
        ),
    ),
    # PickupGestureWiimoteZ 0.580, 0.619 against 0.699, 0.700; ACSF1 0.679,
    # 0.699 against 0.709: hiding a tenth of a gesture changes what it is
    "time_mask": Probe(
        f"time masking: in every training batch one block of {TIME_MASK:.0%} "
        "of each sequence's steps set to its mean",
        _default,
        training=_time_masked,
    ),
    # ACSF1 (stride 16) 0.599, 0.650 against 0.709; PickupGestureWiimoteZ
    # (stride 2) 0.436, 0.679 against 0.699, 0.700. The shifts also reach the
    # training runs that random_crop="auto" compares: on PickupGestureWiimoteZ
    # fold 0 of seed set 0 they tipped its choice to windows (the defaults'
    # comparison tied, 0.6 and 0.6), and the fold fell from 0.765 to 0.471
    "random_shift": Probe(
        "random shifts below the stem's stride: in every training batch each "
        "sequence starts a random number of steps (0 to stride - 1) later, "
        "and predictions average the probabilities of every such shift",
        _default,
        training=_shifted_training,
        predict=_shift_averaged_proba,
    ),
}


def _done():
    if not RESULTS.exists():
        return set()
    cpu = C.cpu_model()
    with open(RESULTS) as f:
        return {
            (r["probe"], r["dataset"], r["fold"], r["replicate"])
            for r in map(json.loads, f)
            if r["cpu"] == cpu
        }


def _accuracy(classes, proba, y):
    return float(np.mean(classes[np.argmax(proba, axis=1)] == y))


def _fitted_proba(est, X_train, y_train, X_valid, context=None, predict=None):
    with C.Timer() as t, context or contextlib.nullcontext():
        est.fit(X_train, y_train)
    proba = predict(est, X_valid) if predict else est.predict_proba(X_valid)
    return proba, t.seconds


def run(names, probes, directory, replicate):
    C.set_one_thread()
    done = _done()
    for name in names:
        X, y, groups = lodo.load(name, directory)
        for k, (tr, va) in enumerate(lodo.folds(True, y, 3, name, groups)):
            todo = [p for p in probes if (p, name, k, replicate) not in done]
            if not todo:
                continue
            seed = lodo.REPLICATE_SEEDS * replicate + k
            default = _default(seed, X[tr])
            base, base_s = _fitted_proba(default, X[tr], y[tr], X[va])
            classes = default.classes_
            base_score = _accuracy(classes, base, y[va])
            for probe in todo:
                spec = PROBES[probe]
                proba, fit_s = _fitted_proba(
                    spec.make(seed, X[tr]),
                    X[tr],
                    y[tr],
                    X[va],
                    spec.training and spec.training(seed),
                    spec.predict,
                )
                scores = dict(
                    defaults=base_score,
                    probe=_accuracy(classes, proba, y[va]),
                )
                if spec.pair:
                    scores["averaged"] = _accuracy(classes, base + proba, y[va])
                row = dict(
                    probe=probe,
                    dataset=name,
                    fold=k,
                    replicate=replicate,
                    scores=scores,
                    fit_s=dict(defaults=round(base_s, 2), probe=round(fit_s, 2)),
                    cpu=C.cpu_model(),
                )
                with open(RESULTS, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(
                    f"{probe:>18} {name:>22} fold {k} (seed set {replicate}): "
                    + ", ".join(f"{key} {v:.3f}" for key, v in scores.items()),
                    flush=True,
                )


def report():
    rows = [json.loads(line) for line in open(RESULTS)] if RESULTS.exists() else []
    lines = [
        "# Probes: changes to the LSTM classifier that are not parameters, "
        "and second networks beside it",
        "",
        "Written by `python benchmarks/probes.py --report` from "
        "`probes_results.jsonl` (see the script's docstring for the "
        "protocol). Accuracy on `lodo.py`'s 3-fold splits of the training "
        "sets (fold k of seed set r seeds both models with 1000 r + k), "
        "the mean over the folds; `defaults`: today's "
        "`LSTMAttentionClassifier` on the same folds; `averaged`: the mean "
        "of the two classifiers' predicted probabilities, for probes that "
        "pair a second network with the default one. Fit time: the probe's "
        "over the default's, summed over the folds (one torch thread; two "
        "runs at a time on a 2-core machine). Nothing here chooses a "
        "default; test splits are never read.",
    ]
    for probe, spec in PROBES.items():
        found = [r for r in rows if r["probe"] == probe]
        if not found:
            continue
        what = spec.what[0].upper() + spec.what[1:]
        lines += ["", f"## `{probe}`", "", what + ".", ""]
        columns = ["defaults", "probe"] + (["averaged"] if spec.pair else [])
        table = []
        groups = sorted({(r["dataset"], r["replicate"]) for r in found})
        for name, replicate in groups:
            part = [
                r for r in found if (r["dataset"], r["replicate"]) == (name, replicate)
            ]
            folds = len(part)
            cells = [f"{np.mean([r['scores'][c] for r in part]):.3f}" for c in columns]
            ratio = sum(r["fit_s"]["probe"] for r in part) / sum(
                r["fit_s"]["defaults"] for r in part
            )
            table.append(
                [name, replicate, folds, *cells, f"{ratio:.2f}", part[0]["cpu"]]
            )
        lines.append(
            C.markdown_table(
                ["data set", "seed set", "folds", *columns, "fit time ×", "cpu"],
                table,
            )
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="PickupGestureWiimoteZ,ACSF1")
    parser.add_argument("--probes", default=",".join(PROBES))
    parser.add_argument("--replicate", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--report", action="store_true", help="write PROBES.md only")
    parser.add_argument("--output", default=str(REPORT))
    a = parser.parse_args(argv)
    if not a.report:
        probes = a.probes.split(",")
        unknown = sorted(set(probes) - set(PROBES))
        if unknown:
            raise SystemExit(f"unknown probes {unknown}; known: {sorted(PROBES)}")
        run(a.datasets.split(","), probes, C.data_dir(a.data_dir), a.replicate)
    Path(a.output).write_text(report(), encoding="utf-8")


if __name__ == "__main__":
    main()
