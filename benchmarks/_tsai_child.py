"""Train one tsai model on one bundled data set; print a JSON line.

Run by ``accuracy.py`` in a Python that has tsai:
``python _tsai_child.py DATASET ARCH SEED [--quick]``.

Inputs are standardised per channel with the training split's statistics
(over real steps); unequal-length series are resampled to the longest
training length by linear interpolation, as for MiniRocket (tsai's models
need one length; TST's positional table is sized by the training length).
The arrays then go to tsai's ``TSClassifier`` / ``TSRegressor`` (channels
first) with the whole training split for training (batch size 32, last
partial batch kept) and ``fit_one_cycle(100, 1e-3)``, tsai's defaults
otherwise.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


def main():
    name, arch, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    quick = "--quick" in sys.argv
    from accuracy import TSAI_BATCH_SIZE, TSAI_EPOCHS, TSAI_LR, resample_to_longest
    from tsai.all import TSClassification, TSClassifier, TSRegressor

    from skattn.datasets import load_dataset

    X_tr, X_te, y_tr, y_te = load_dataset(name, return_X_y=True)
    if quick:
        X_tr, y_tr, X_te, y_te = X_tr[:24], y_tr[:24], X_te[:24], y_te[:24]
    loc = np.nanmean(X_tr, axis=(0, 1))
    scale = np.nanstd(X_tr, axis=(0, 1))
    scale[scale == 0] = 1.0

    def prep(X):
        Z = (X - loc) / scale
        return resample_to_longest(Z, X_tr.shape[1]).astype(np.float32)

    A_tr, A_te = prep(X_tr), prep(X_te)
    classification = y_tr.dtype.kind in "OUS"
    splits = (list(range(len(A_tr))), [])
    epochs = 2 if quick else TSAI_EPOCHS
    kwargs = dict(
        splits=splits,
        arch=arch,
        bs=TSAI_BATCH_SIZE,
        drop_last=False,
        metrics=None,
        verbose=False,
        device="cpu",
        seed=seed,
    )
    t0 = time.perf_counter()
    if classification:
        # labels as Python objects: tsai's categorize step rejects numpy str_
        learn = TSClassifier(
            A_tr, y_tr.astype(object), tfms=[None, TSClassification()], **kwargs
        )
    else:
        learn = TSRegressor(A_tr, y_tr.astype(np.float32), **kwargs)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, TSAI_LR)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with learn.no_bar():
        _, _, pred = learn.get_X_preds(A_te)
    predict_s = time.perf_counter() - t0
    pred = np.asarray(pred)
    if classification:
        score = float(np.mean(pred == y_te))
    else:
        score = float(np.sqrt(np.mean((pred.reshape(-1).astype(float) - y_te) ** 2)))
    print(json.dumps(dict(score=score, fit_s=fit_s, predict_s=predict_s)))


if __name__ == "__main__":
    main()
