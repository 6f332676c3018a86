"""Time per epoch and peak memory as sequences get longer and more numerous.

Every measurement runs in its own child process (``--child``), so its peak
resident memory is its own: the child reports ``VmHWM`` from
``/proc/self/status`` (the high-water mark of its own address space; the
``ru_maxrss`` that ``wait4`` returns would start from the parent's RSS at
``fork``). A child
builds synthetic univariate data, fits one epoch of an estimator (batch
size 32, width 64: ``d_model=64`` / ``hidden_size=64``) and reports the fit
time, after a tiny warm-up fit that absorbs torch's one-off start-up
costs. A child that only imports the libraries and runs that warm-up fit
gives the baseline RSS.

Sequences get a padding mask in every batch (a quarter of them are 3/4 of
the longest length), so the masked attention path is the one measured.

The kernel check profiles one forward and backward pass of a Transformer
encoder layer with a key-padding mask and lists the attention operators
torch ran, with the memory they allocated.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import _common as C  # noqa: E402

HERE = os.path.abspath(__file__)
TIMEOUT_S = 240


def _vm_hwm_mib(pid="self"):
    """Peak RSS (``VmHWM``) of a process, in MiB, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def child(spec):
    """Runs inside the child process."""
    C.set_one_thread()
    import numpy as np

    import skattn

    n, t = spec["n"], spec["t"]
    if spec["model"] == "baseline":  # imports and the tiny warm-up fit only
        n, t, spec["model"] = 8, 16, "transformer"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, t, 1)).astype(np.float32)
    X[: n // 4, (3 * t) // 4 :] = np.nan  # some padding in most batches
    y = rng.integers(0, 2, n)
    Model = {
        "transformer": skattn.TransformerClassifier,
        "lstm": skattn.LSTMAttentionClassifier,
    }[spec["model"]]
    width = {"transformer": {"d_model": 64}, "lstm": {"hidden_size": 64}}[spec["model"]]
    est = Model(
        max_epochs=1,
        batch_size=32,
        random_state=0,
        n_threads=1,
        **width,
        **spec.get("params", {}),
    )
    # torch imports its compiler stack the first time an optimizer is built
    # (seconds); a tiny warm-up fit keeps that one-off cost out of the timing.
    est.fit(X[:8, :16], y[:8])
    if n == 8 and t == 16:
        print(json.dumps({"fit_s": 0.0, "hwm_mib": _vm_hwm_mib()}))
        return
    t0 = time.perf_counter()
    est.fit(X, y)
    fit_s = time.perf_counter() - t0
    print(json.dumps({"fit_s": fit_s, "hwm_mib": _vm_hwm_mib()}))


def measure(model, n, t, params=None):
    spec = {"model": model, "n": n, "t": t, "params": params or {}}
    proc = subprocess.Popen(
        [sys.executable, HERE, "--child", json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    start = time.monotonic()
    status = None
    while time.monotonic() - start < TIMEOUT_S:
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    else:
        peak = _vm_hwm_mib(proc.pid)
        proc.kill()
        os.wait4(proc.pid, 0)
        return dict(spec, error=f"timeout after {TIMEOUT_S}s", peak_mib=peak or 0.0)
    out = proc.stdout.read()
    err = proc.stderr.read()
    code = os.waitstatus_to_exitcode(status)
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if code or not lines:
        last = (err.strip().splitlines() or ["killed"])[-1]
        return dict(spec, error=f"exit {code}: {last[:200]}", peak_mib=0.0)
    result = json.loads(lines[-1])
    return dict(spec, peak_mib=result.pop("hwm_mib"), **result)


def kernel_check(t=1024, b=8):
    """Attention operators of one masked forward/backward pass."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from skattn.modules import TransformerEncoderLayer

    C.set_one_thread()
    torch.manual_seed(0)
    layer = TransformerEncoderLayer(64, 4, 128, dropout=0.1)
    x = torch.randn(b, t, 64, requires_grad=True)
    mask = torch.arange(t) < torch.randint(t // 2, t + 1, (b,))[:, None]
    mask[0] = True
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        layer(x, mask).sum().backward()
    ops = []
    for e in prof.key_averages():
        if "attention" in e.key or e.key in (
            "aten::softmax",
            "aten::_softmax",
            "aten::bmm",
            "aten::baddbmm",
        ):
            ops.append((e.key, e.count, e.cpu_time_total / 1e3))
    return dict(t=t, b=b, heads=4, ops=ops, txt_mib=b * 4 * t * t * 4 / 2**20)


def run(quick=False, log=print):
    results = {"base": measure("baseline", 8, 16)}
    log(f"  baseline child: {results['base']['peak_mib']:.0f} MiB")
    if quick:
        tf_lengths, lstm_lengths, counts = [64], [64], [64]
    else:
        tf_lengths = [128, 256, 512, 1024, 2048, 4096, 8192]
        lstm_lengths = [128, 256, 512, 1024, 2048, 4096, 8192]
        counts = [256, 1024, 4096, 16384]
    series = {}
    for model, lengths in (("transformer", tf_lengths), ("lstm", lstm_lengths)):
        for label, params in (("default", {}), ("conv_stem=None", {"conv_stem": None})):
            key = f"{model} ({label})"
            series[key] = []
            for t in lengths:
                r = measure(model, 32, t, params)
                series[key].append(r)
                log(
                    f"  {key:>28} t={t:>5}: "
                    + (r.get("error") or f"{r['fit_s']:.2f}s, {r['peak_mib']:.0f} MiB")
                )
    results["length"] = series
    by_n = {}
    for model in ("transformer", "lstm"):
        by_n[model] = []
        for n in counts:
            r = measure(model, n, 128)
            by_n[model].append(r)
            log(
                f"  {model:>28} n={n:>5}: "
                + (r.get("error") or f"{r['fit_s']:.2f}s, {r['peak_mib']:.0f} MiB")
            )
    results["count"] = by_n
    results["kernel"] = kernel_check(t=256 if quick else 1024)
    return results


def _cell(r, base):
    if "error" in r:
        return f"failed ({r['error']}), {r['peak_mib']:.0f} MiB"
    return f"{r['fit_s']:.2f} s, {r['peak_mib']:.0f} MiB (+{r['peak_mib'] - base:.0f})"


def markdown(results):
    base = results["base"]["peak_mib"]
    lines = [
        "## Scaling",
        "",
        "One epoch of `fit` per child process, batch size 32, width 64, "
        "univariate synthetic data with padding in most batches; peak RSS of "
        "the child (`VmHWM`; in brackets: above the "
        f"{base:.0f} MiB of a child that only imports the libraries and "
        "runs the tiny warm-up fit).",
        "",
        "Each length is one batch timed once on a machine shared with "
        "other processes: a point far off both neighbours (a large step "
        "up followed by a step down) is interference, not the model.",
        "",
        "### Sequence length (32 sequences = one batch per epoch)",
        "",
    ]
    series = results["length"]
    lengths = sorted({r["t"] for rs in series.values() for r in rs})
    header = ["length", *series]
    rows = []
    for t in lengths:
        row = [t]
        for rs in series.values():
            match = [r for r in rs if r["t"] == t]
            row.append(_cell(match[0], base) if match else "-")
        rows.append(row)
    lines += [C.markdown_table(header, rows), ""]
    # growth factors per doubling of the length
    lines += ["Growth of time and extra memory per doubling of the length:", ""]
    grow_rows = []
    for key, rs in series.items():
        ok = [r for r in rs if "error" not in r]
        cells = []
        for a, b in zip(ok, ok[1:], strict=False):
            mem = max(b["peak_mib"] - base, 1) / max(a["peak_mib"] - base, 1)
            cells.append(
                f"{a['t']}→{b['t']}: ×{b['fit_s'] / a['fit_s']:.1f} time, "
                f"×{mem:.1f} mem"
            )
        grow_rows.append([key, "; ".join(cells)])
    lines += [C.markdown_table(["series", "per doubling"], grow_rows), ""]
    lines += ["### Number of sequences (length 128, one epoch)", ""]
    rows = []
    counts = sorted({r["n"] for rs in results["count"].values() for r in rs})
    for n in counts:
        row = [n]
        for rs in results["count"].values():
            match = [r for r in rs if r["n"] == n]
            if match and "error" not in match[0]:
                r = match[0]
                row.append(
                    f"{r['fit_s']:.2f} s ({r['n'] / r['fit_s']:.0f} seq/s), "
                    f"{r['peak_mib']:.0f} MiB"
                )
            else:
                row.append(_cell(match[0], base) if match else "-")
        rows.append(row)
    lines += [C.markdown_table(["sequences", *results["count"]], rows), ""]
    k = results["kernel"]
    lines += [
        "### Attention kernel",
        "",
        f"One forward + backward pass of `TransformerEncoderLayer` (d_model 64, "
        f"{k['heads']} heads, dropout 0.1 outside the attention) on a batch of "
        f"{k['b']} × {k['t']} steps with a boolean key-padding mask ran these "
        "attention operators (a materialised T×T weight tensor for this batch "
        f"would take {k['txt_mib']:.0f} MiB):",
        "",
    ]
    ops = [[f"`{o}`", c, f"{ms:.1f}"] for o, c, ms in k["ops"]]
    lines += [C.markdown_table(["operator", "calls", "CPU ms"], ops), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(json.loads(sys.argv[2]))
    else:
        import argparse

        p = argparse.ArgumentParser()
        p.add_argument("--quick", action="store_true")
        a = p.parse_args()
        print(markdown(run(a.quick)))
