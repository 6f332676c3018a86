"""Fit one classifier of another skattn version and time its ``predict``.

Run by ``latency.py`` with ``PYTHONPATH`` pointing at that version's source:
``python _latency_child.py FAMILY EPOCHS DATA.npz``. The arrays ``X_train``,
``y_train``, ``one`` and ``many`` come from ``DATA.npz``. The child fits
``FAMILY(max_epochs=EPOCHS, random_state=0, n_threads=1)``, prints
``ready``, then answers each line of its standard input with the seconds of
one call, so that the parent can time it in turns with its own runtimes:
``one`` predicts the single sequence, ``many`` the batch; ``labels`` prints
the labels of ``many`` as one line of JSON; an empty line ends it.
"""

import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main():
    family, epochs, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    import numpy as np

    import skattn

    arrays = np.load(data, allow_pickle=False)
    clf = getattr(skattn, family)(max_epochs=epochs, random_state=0, n_threads=1)
    clf.fit(arrays["X_train"], arrays["y_train"])
    inputs = {"one": arrays["one"], "many": arrays["many"]}
    print("ready", skattn.__file__, flush=True)
    for line in sys.stdin:
        command = line.strip()
        if not command:
            break
        if command == "labels":
            print(json.dumps(clf.predict(inputs["many"]).tolist()), flush=True)
            continue
        X = inputs[command]
        start = time.perf_counter()
        clf.predict(X)
        print(time.perf_counter() - start, flush=True)


if __name__ == "__main__":
    main()
