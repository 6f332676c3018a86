"""Serving with ONNX: export a trained model, predict with numpy and onnxruntime.

Trains an LSTMAttentionClassifier on the GunPoint data set bundled with
skattn (UCR archive; Dau et al. 2019), exports it with
``skattn.export_onnx``, and predicts on new sequences of different lengths
with ``predict_onnx``: a function that needs only numpy and onnxruntime (no
torch, no skattn), written to be copied into a web handler. It checks that
its labels equal skattn's ``predict``.

Run: python examples/serve_onnx.py
(set SKATTN_EXAMPLES_FAST=1, or pass --fast, for a quick run with a few
epochs: its accuracy is not meaningful)
"""

import json
import os
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

FAST = os.environ.get("SKATTN_EXAMPLES_FAST") == "1" or "--fast" in sys.argv[1:]
FAST_BANNER = (
    "FAST MODE (SKATTN_EXAMPLES_FAST=1 or --fast): tiny training, "
    "results are not meaningful"
)
# A quick check that the script runs; otherwise 50 epochs (the default is
# 200), enough for this model to be worth serving and quick to train.
EPOCHS = 2 if FAST else 50


# --- serving: numpy and onnxruntime only --------------------------------------


def load_session(path):
    """An ONNX Runtime session and the model's metadata (JSON-decoded)."""
    options = ort.SessionOptions()
    # One request is one small graph run: a single thread answers it as fast
    # as all cores do (benchmarks/LATENCY.md) and leaves the other cores to
    # concurrent requests instead of spin-waiting threads. For large batches
    # more threads can add throughput: they did for the Transformer there,
    # not for the LSTM, whose steps run one after another.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    return session, {key: json.loads(value) for key, value in meta.items()}


def predict_onnx(session, meta, sequences):
    """Labels and class probabilities of variable-length sequences.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
    meta : dict
        The model's metadata, from :func:`load_session`.
    sequences : list of array-like of shape (n_timesteps,) or
        (n_timesteps, n_channels)
        The sequences, each as long as it is.

    Returns
    -------
    labels : list
        The predicted label of each sequence (from metadata ``classes``).
    probabilities : ndarray of shape (n_sequences, n_classes)
    """
    lengths = [len(s) for s in sequences]
    width, n_channels = max(lengths), meta["n_channels"]
    if meta["max_length"] is not None and width > meta["max_length"]:
        # the graph cannot raise; this is the error skattn's predict gives
        raise ValueError(
            f"X has sequences of {width} timesteps, but {meta['estimator']} learned "
            f"positions for {meta['max_length']} (its longest training sequence); "
            "use positional_encoding='sinusoidal' to predict on longer sequences"
        )
    # right-pad to the longest sequence; the mask marks the real steps
    values = np.zeros((len(sequences), width, n_channels), dtype=np.float32)
    for i, sequence in enumerate(sequences):
        values[i, : lengths[i]] = np.asarray(sequence, np.float32).reshape(
            lengths[i], n_channels
        )
    mask = np.arange(width) < np.array(lengths)[:, None]
    probabilities, label_index = session.run(
        ["probabilities", "label_index"], {"values": values, "mask": mask}
    )
    return [meta["classes"][i] for i in label_index], probabilities


# --- training and export: skattn ----------------------------------------------


def train_and_export(path):
    from skattn import LSTMAttentionClassifier, export_onnx
    from skattn.datasets import load_gunpoint

    X_train, X_test, y_train, y_test = load_gunpoint(return_X_y=True)
    clf = LSTMAttentionClassifier(max_epochs=EPOCHS, random_state=0)
    clf.set_params(inference_dtype="float32")  # the precision of the graph
    clf.fit(X_train, y_train)
    print(f"LSTMAttentionClassifier test accuracy: {clf.score(X_test, y_test):.3f}")
    export_onnx(clf, path)
    print(f"Exported to {os.path.basename(path)} ({os.path.getsize(path):,} bytes)")
    return clf, X_test


def main():
    if FAST:
        print(FAST_BANNER + "\n")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "gunpoint_lstm.onnx")
        clf, X_test = train_and_export(path)

        session, meta = load_session(path)
        print(f"Metadata: classes {meta['classes']}, max_length {meta['max_length']}")
        # new sequences of different lengths: cut test series at random points
        rng = np.random.default_rng(0)
        sequences = [x[: rng.integers(60, len(x) + 1)] for x in X_test[:8]]
        start = time.perf_counter()
        labels, probabilities = predict_onnx(session, meta, sequences)
        ms = 1000 * (time.perf_counter() - start)
        print(f"ONNX Runtime predicted {len(labels)} sequences in {ms:.1f} ms:")
        for sequence, label, p in zip(sequences, labels, probabilities, strict=True):
            print(f"  {len(sequence):>3} steps -> {label} (p = {p.max():.3f})")
        same = labels == clf.predict(sequences).tolist()
        print(f"Labels equal skattn's predict: {same}")
    if FAST:
        print("\n" + FAST_BANNER)


if __name__ == "__main__":
    main()
