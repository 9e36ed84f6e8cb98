"""Save a checkpoint where the file system says no; run by test_save_faults.py in a prepared folder.

Usage: python save_faults_job.py prepare FOLDER   (write FOLDER/model.keras and FOLDER/model.h5: small)
       python save_faults_job.py overwrite FOLDER (save a bigger model over them; expect an OSError)

`overwrite` prints one JSON line: for each file, the error class and message, whether the previous
file still loads with its old weights, and what else is in the folder (temp files left behind).
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

import nerve  # noqa: E402

NAMES = ("model.keras", "model.h5")


def build(units: int) -> nerve.Model:
    model = nerve.Sequential([nerve.Input((64,)), nerve.layers.Dense(units), nerve.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def main() -> None:
    mode, folder = sys.argv[1], sys.argv[2]
    if mode == "prepare":
        small = build(4)
        for name in NAMES:
            small.save(os.path.join(folder, name))
        return
    big = build(4096)  # ~1 MB of weights, ~3 MB with Adam's slots: more than the small tmpfs holds
    big.fit(np.zeros((4, 64), "float32"), np.zeros((4, 2), "float32"), verbose=0)
    result = {}
    for name in NAMES:
        path = os.path.join(folder, name)
        entry: dict = {"error": None}
        try:
            big.save(path)
        except OSError as err:
            entry["error"] = type(err).__name__
            entry["message"] = str(err)
        previous = nerve.models.load_model(path)
        entry["previous_loads"] = previous.count_params() == build(4).count_params()
        result[name] = entry
    result["folder"] = sorted(os.listdir(folder))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
