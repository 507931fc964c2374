"""Check that a re-run of the recipe (recipe.sh) made exactly the shipped weights.

Compares runs/<name>/best.pt, rounded and laid out as export.py ships it, with the tensors of
weights/default.safetensors, bit for bit; with --against it also compares the f32 EMA weights of
two runs' best.pt. Exit status 0 only when every tensor is identical.

  /usr/bin/python3 weights-tools/train/check_reproduction.py --name repro2 --against runs/ft2/best.pt
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from export import model_to_ship, shipped_state  # noqa: E402
from safetensors_io import read_safetensors  # noqa: E402


def compare(a: dict, b: dict, what: str) -> bool:
    if sorted(a) != sorted(b):
        print(f"{what}: different keys ({len(a)} vs {len(b)})")
        return False
    differ = [k for k in a if a[k].shape != b[k].shape or not np.array_equal(a[k], b[k])]
    worst = max((float(np.abs(a[k].astype(np.float64) - b[k].astype(np.float64)).max())
                 for k in differ if a[k].shape == b[k].shape), default=0.0)
    print(f"{what}: {len(a) - len(differ)} of {len(a)} tensors identical"
          + (f"; {len(differ)} differ (max abs {worst:.3g}), e.g. {differ[:3]}" if differ else ""))
    return not differ


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True, help="the run whose best.pt is checked")
    ap.add_argument("--weights", default=os.path.join(REPO, "weights", "default.safetensors"))
    ap.add_argument("--against", default="", help="another run's best.pt (relative to this folder)")
    args = ap.parse_args()
    ck = torch.load(os.path.join(HERE, "runs", args.name, "best.pt"), map_location="cpu")
    print(f"runs/{args.name}/best.pt: iteration {ck['it']}, validation {ck['metrics']}")
    shipped, meta = read_safetensors(args.weights)
    ok = compare(shipped_state(model_to_ship(ck), np.dtype(meta["dtype"])), shipped,
                 f"as shipped ({meta['dtype']}) vs {os.path.relpath(args.weights, REPO)}")
    if args.against:
        ref = torch.load(os.path.join(HERE, args.against), map_location="cpu")
        ok = compare({k: v.numpy() for k, v in ck["ema"].items()},
                     {k: v.numpy() for k, v in ref["ema"].items()}, f"f32 EMA vs {args.against}") and ok
    print("identical" if ok else "NOT identical")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
