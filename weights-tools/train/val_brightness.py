"""How much of a run's LOL-validation error is global brightness?

For each held-out LOL pair: mean brightness of input, output and target (0-255), the PSNR of the
§8 uint8 output, and the PSNR after scaling the output by the one gain that fits the target best
(least squares; an oracle, since the target is unknown at inference). The gap between the two is
the share of the error that no per-pixel improvement can remove without knowing the exposure the
reference photo was taken at. Validation split only: never run this on lol-eval15.

  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 weights-tools/train/val_brightness.py --name ft2
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import load_cached, load_split, validation_set  # noqa: E402
from export import model_to_ship  # noqa: E402
from losses import psnr_u8  # noqa: E402
from train import u8_output_and_target  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="ft2")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = model_to_ship(torch.load(os.path.join(HERE, "runs", args.name, "best.pt"), map_location="cpu"))
    pairs = [v for v in validation_set(load_cached(os.path.join(HERE, "runs", "cache")), load_split())
             if v[0] == "lol"]
    rows = []
    print(f"{'image':8} {'input':>6} {'output':>7} {'target':>7} {'PSNR':>6} {'gain-oracle PSNR':>17}")
    for _group, name, low, high in pairs:
        out, ref = u8_output_and_target(model, low, high)
        gain = float((out * ref).sum() / (out * out).sum())
        scaled = (out * gain).clamp(0, 255).round()
        row = (float(low.mean()), float(out.mean()), float(ref.mean()), psnr_u8(out, ref), psnr_u8(scaled, ref))
        rows.append(row)
        print(f"{name:8} {row[0]:6.1f} {row[1]:7.1f} {row[2]:7.1f} {row[3]:6.2f} {row[4]:17.2f}")
    m = np.array(rows).mean(0)
    print(f"{'mean':8} {m[0]:6.1f} {m[1]:7.1f} {m[2]:7.1f} {m[3]:6.2f} {m[4]:17.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
