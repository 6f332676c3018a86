"""Framework overhead: skattn estimators versus a minimal PyTorch loop.

For a fixed network and batch size, training throughput (samples/second)
of ``est.fit`` is compared with a hand-written loop that trains the same
module (built by ``est._build_network``) on the same standardised tensors,
with the same optimizer (AdamW, same lr and weight decay), the same
warm-up + cosine schedule stepped per batch, the same gradient clipping,
batch size and epochs. Prediction: ``est.predict`` (``inference_dtype``
float32, and the default float64 reported separately; steady state: the
frozen inference copy that the first call after ``fit`` builds already
exists) versus an ``inference_mode`` loop over batches of the float32
module. Both sides run
interleaved in one process, one thread, several repeats; the median is
reported. The estimator's side includes everything ``fit``/``predict`` do
(input validation, standardisation, building the network, skorch's loop and
callbacks); the hand loop starts from ready tensors. The LSTM classifier
runs twice, with its default LSTM cells ("lstm") and with GRU cells
("gru"), which gives what ``cell="gru"`` costs against the default.
"""

import cProfile
import os
import pstats
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
import _common as C  # noqa: E402
import numpy as np  # noqa: E402


def make_data(n, t, c=1, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = rng.normal(size=(n, t, c)).astype(np.float32)
    X[:, : t // 4, 0] += y[:, None]  # a learnable signal
    return X, y


def hand_fit(
    module, values, mask, target, *, epochs, batch_size, lr, weight_decay, clip, seed
):
    import torch

    from skattn._net import WarmupCosine

    torch.manual_seed(seed)
    n = len(values)
    n_batches = -(-n // batch_size)
    total = epochs * n_batches
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = WarmupCosine(total, max(1, total // 20))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    module.train()
    for _ in range(epochs):
        for index in torch.randperm(n, generator=gen).split(batch_size):
            out = module(values[index], mask[index])
            loss = loss_fn(out, target[index])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), clip)
            opt.step()
            sched.step()
    if values.is_cuda:
        torch.cuda.synchronize()  # the timer stops when the work is done
    return module


def hand_predict(module, values, mask, batch_size):
    import torch

    module.eval()
    with torch.inference_mode():
        out = [
            module(values[i : i + batch_size], mask[i : i + batch_size])
            for i in range(0, len(values), batch_size)
        ]
    return torch.cat(out).argmax(1).cpu().numpy()


def _tensors(est, X, device="cpu"):
    seqs = est._validate_input(X, reset=False)
    values, lengths = est._tensors(seqs, np.float32)
    import torch

    mask = torch.arange(values.shape[1]) < lengths[:, None]
    return values.to(device), mask.to(device)


# The networks measured: estimator class and the parameters that make it.
# "gru" is the LSTM classifier with GRU cells, for what that choice costs.
NETWORKS = {
    "transformer": ("TransformerClassifier", {}),
    "lstm": ("LSTMAttentionClassifier", {}),
    "gru": ("LSTMAttentionClassifier", {"cell": "gru"}),
}


def _estimator(family, epochs, batch_size, device, **params):
    """The network's classifier, seeded, on one thread and ``device``."""
    import skattn

    name, settings = NETWORKS[family]
    return getattr(skattn, name)(
        **settings,
        max_epochs=epochs,
        batch_size=batch_size,
        random_state=0,
        n_threads=1,
        device=device,
        **params,
    )


def measure(
    family="transformer",
    n=512,
    t=128,
    epochs=2,
    batch_size=32,
    repeats=5,
    device="cpu",
    log=print,
):
    import torch

    X, y = make_data(n, t)
    est32 = _estimator(family, epochs, batch_size, device, inference_dtype="float32")
    est32.fit(X[:64], y[:64])  # fitted scaling, for the hand loop's tensors
    values, mask = _tensors(est32, X, device)
    target = torch.from_numpy(y.astype(np.int64)).to(device)
    times = {
        k: [] for k in ("fit", "hand_fit", "predict32", "hand_predict32", "predict64")
    }
    p = est32.get_params()
    for r in range(repeats):
        with C.Timer() as tm:
            est32.fit(X, y)
        times["fit"].append(tm.seconds)
        module = est32._build_network(X.shape[2], 2, t).to(device)
        with C.Timer() as tm:
            hand_fit(
                module,
                values,
                mask,
                target,
                epochs=epochs,
                batch_size=batch_size,
                lr=p["lr"],
                weight_decay=p["weight_decay"],
                clip=p["clip_grad_norm"],
                seed=r,
            )
        times["hand_fit"].append(tm.seconds)
        # steady state: the first call after fit builds the frozen inference copy
        est32.predict(X[:batch_size])
        with C.Timer() as tm:
            est32.predict(X)
        times["predict32"].append(tm.seconds)
        with C.Timer() as tm:
            hand_predict(module, values, mask, batch_size)
        times["hand_predict32"].append(tm.seconds)
        est32.set_params(inference_dtype="float64")
        est32.predict(X[:batch_size])
        with C.Timer() as tm:
            est32.predict(X)
        times["predict64"].append(tm.seconds)
        est32.set_params(inference_dtype="float32")
        log(
            f"  {family} repeat {r}: "
            + ", ".join(f"{k} {v[-1]:.3f}s" for k, v in times.items())
        )
    med = {k: statistics.median(v) for k, v in times.items()}
    return dict(
        family=family,
        device=device,
        n=n,
        t=t,
        epochs=epochs,
        batch_size=batch_size,
        repeats=repeats,
        train_sps=n * epochs / med["fit"],
        hand_train_sps=n * epochs / med["hand_fit"],
        predict_sps=n / med["predict32"],
        hand_predict_sps=n / med["hand_predict32"],
        predict64_sps=n / med["predict64"],
        times=times,
    )


def _where(filename):
    if "/skorch/" in filename:
        return "skorch (Python)"
    if "/skattn/modules/" in filename:
        return "skattn.modules (Python, shared with the hand loop)"
    if "/skattn/" in filename:
        return "skattn estimator and net (Python)"
    if "/torch/" in filename:
        return "torch (Python)"
    if filename == "~":
        return "C functions (torch kernels, numpy)"
    return "other Python"


def profile_fit(
    family="transformer", n=512, t=128, epochs=2, batch_size=32, top=6, device="cpu"
):
    """cProfile of one ``fit``: own time grouped by where the code lives, and
    the skorch / skattn functions with the most own time."""
    X, y = make_data(n, t)
    est = _estimator(family, epochs, batch_size, device)
    est.fit(X[:64], y[:64])
    prof = cProfile.Profile()
    prof.enable()
    est.fit(X, y)
    prof.disable()
    stats = pstats.Stats(prof).stats
    groups, funcs = {}, []
    for (filename, line, name), (_, _, own, _, _) in stats.items():
        where = _where(filename)
        groups[where] = groups.get(where, 0.0) + own
        if where.startswith(("skorch", "skattn estimator")):
            short = filename.split("site-packages/")[-1].split("/skattn/")[-1]
            funcs.append((own, f"{short}:{line}({name})"))
    total = sum(groups.values())
    return dict(
        family=family, total=total, groups=groups, top=sorted(funcs, reverse=True)[:top]
    )


def _range(result, hand, ours):
    """``[min–max]`` over repeats of the hand loop's time / skattn's time
    (throughput ratio, skattn / hand), each repeat's pair run back to back."""
    times = result.get("times")
    if not times:
        return ""
    ratios = [h / o for h, o in zip(times[hand], times[ours], strict=True)]
    return f"[{min(ratios):.2f}–{max(ratios):.2f}]"


def _cells(results):
    """The GRU's training speed against the LSTM's, where both were measured
    on the same data (results of earlier runs have no GRU row)."""
    by = {(r["family"], r.get("device", "cpu"), r["n"], r["t"]): r for r in results}
    lines = []
    for (family, device, n, t), gru in by.items():
        lstm = by.get(("lstm", device, n, t))
        if family != "gru" or lstm is None:
            continue
        lines += [
            "",
            '`cell="gru"` against the default LSTM cells'
            + ("" if device == "cpu" else f" on {device}")
            + f": training {gru['train_sps'] / lstm['train_sps']:.2f} times the "
            f"LSTM's samples/second (hand loops "
            f"{gru['hand_train_sps'] / lstm['hand_train_sps']:.2f}), prediction "
            f"{gru['predict_sps'] / lstm['predict_sps']:.2f} times.",
        ]
    return lines


def markdown(results, profile_text=None):
    lines = [
        "## Overhead",
        "",
        "Median of interleaved repeats; samples/second. `ratio` = skattn / "
        "hand-written loop (1.0 = no overhead): the ratio of the medians, "
        "and in brackets the lowest and highest ratio of one repeat's "
        "skattn and hand-loop timings (each repeat runs the two back to "
        "back). Prediction ratio uses "
        '`inference_dtype="float32"`; the default float64 prediction is '
        "compared with the same float32 hand loop in the last column.",
        "",
    ]
    rows = []
    for r in results:
        rows.append(
            [
                r["family"]
                + ("" if r.get("device", "cpu") == "cpu" else " on " + r["device"]),
                f"{r['n']}×{r['t']}",
                r["batch_size"],
                r["epochs"],
                f"{r['train_sps']:.0f}",
                f"{r['hand_train_sps']:.0f}",
                f"**{r['train_sps'] / r['hand_train_sps']:.2f}** "
                + _range(r, "hand_fit", "fit"),
                f"{r['predict_sps']:.0f}",
                f"{r['hand_predict_sps']:.0f}",
                f"**{r['predict_sps'] / r['hand_predict_sps']:.2f}** "
                + _range(r, "hand_predict32", "predict32"),
                f"{r['predict64_sps']:.0f} "
                f"({r['predict64_sps'] / r['hand_predict_sps']:.2f})",
            ]
        )
    lines.append(
        C.markdown_table(
            [
                "network",
                "data n×t",
                "batch",
                "epochs",
                "fit sps",
                "hand fit sps",
                "train ratio",
                "predict sps (f32)",
                "hand predict sps",
                "predict ratio",
                "predict sps f64 (ratio)",
            ],
            rows,
        )
    )
    lines += _cells(results)
    for prof in profile_text or []:
        lines += [
            "",
            f"cProfile of one {prof['family']} `fit` (same data, "
            f"{prof['total']:.2f} s under the profiler): own time by where "
            "the code lives.",
            "",
        ]
        rows = [
            [k, f"{v:.3f}", f"{100 * v / prof['total']:.1f}%"]
            for k, v in sorted(prof["groups"].items(), key=lambda kv: -kv[1])
        ]
        lines.append(C.markdown_table(["code", "own s", "share"], rows))
        lines += [
            "",
            "Largest skorch / skattn-estimator entries: "
            + "; ".join(f"`{name}` {own * 1e3:.1f} ms" for own, name in prof["top"])
            + ".",
        ]
    return "\n".join(lines) + "\n"


def run(quick=False, device="cpu", log=print):
    C.set_one_thread()
    if quick:
        res = [
            measure(
                "transformer", n=64, t=32, epochs=1, repeats=2, device=device, log=log
            ),
            measure("lstm", n=64, t=32, epochs=1, repeats=2, device=device, log=log),
            measure("gru", n=64, t=32, epochs=1, repeats=2, device=device, log=log),
        ]
    else:
        res = [
            measure("transformer", repeats=7, device=device, log=log),
            measure("lstm", repeats=7, device=device, log=log),
            measure("gru", repeats=7, device=device, log=log),
        ]
    prof = [
        profile_fit(f, n=64 if quick else 512, t=32 if quick else 128, device=device)
        for f in ("transformer", "lstm")
    ]
    return res, prof


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--device", default="cpu", help='"cpu" (default) or "cuda"')
    a = p.parse_args()
    res, prof = run(a.quick, a.device)
    print(markdown(res, prof))
