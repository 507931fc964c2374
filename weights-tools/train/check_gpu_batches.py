"""Check that train_gpu.py cuts the same batches as train.py (real pairs), bit for bit.

Runs train_gpu.batch_on_device on the CPU against train.py's sample_batch with p_real = 1, over the
packed inputs (.gpudata/lol, from gpu_pack.py) and the lossless targets of the decoded-image cache
(the packed JPEG targets differ by design). Exit status 0 only when every batch is identical.

  /usr/bin/python3 weights-tools/train/check_gpu_batches.py
"""
from __future__ import annotations

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from data import MODEL_RANGE_LUT, load_cached, load_split, sample_batch  # noqa: E402
from train_gpu import batch_on_device, load_pairs  # noqa: E402


def main() -> int:
    split = load_split()
    data = load_cached(os.path.join(HERE, "runs", "cache"))
    cpu = torch.device("cpu")
    names, low, _ = load_pairs(os.path.join(REPO, ".gpudata", "lol"), cpu)
    if names != split["train_lol"]:
        print("packed pairs are not val_split.json's train_lol: re-run gpu_pack.py")
        return 1
    idx = [data["lol_names"].index(n) for n in names]
    if not torch.equal(low, torch.from_numpy(data["lol_low"][idx])):
        print("packed inputs differ from lol-train160/low")
        return 1
    high = torch.from_numpy(data["lol_high"][idx])
    lut = torch.from_numpy(MODEL_RANGE_LUT)
    checked = 0
    for it in range(8):
        for size in (64, 256, 384, 400):
            x, y = sample_batch(data, split, it, 1, 3, size, 1.0)
            gx, gy = batch_on_device(low, high, lut, it, 1, 3, size)
            if not (np.array_equal(x, gx.numpy()) and np.array_equal(y, gy.numpy())):
                print(f"iteration {it}, crop {size}: batches differ")
                return 1
            checked += 1
    print(f"{checked} batches (iterations 0-7, crops 64/256/384/400, batch 3) identical to sample_batch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
