"""Check model.py against the fixtures produced by the original NeRCo code (random weights).

Loads /work/shared/fixtures/nerco-random/weights/*.pth into the PyTorch model (strict), runs each
fixture case and compares pre_trunk / pre_A / H / mask / fake_B. Exits non-zero above tolerance.
Usage: /usr/bin/python3 weights-tools/train/verify_model.py [--fixtures DIR] [--tol 1e-4]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Nerco, config_from_state_dicts, rel_cell  # noqa: E402

CASES = ["dark-40x56", "dark-48x64", "resize-50x62"]
NAMES = ["pre_trunk", "pre_A", "H", "mask", "fake_B"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default="/work/shared/fixtures/nerco-random")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    torch.set_num_threads(2)
    wdir = os.path.join(args.fixtures, "weights")
    sds = {n: torch.load(os.path.join(wdir, f"latest_net_{n}.pth"), map_location="cpu")
           for n in ("Pre", "H", "G_A")}
    cfg = config_from_state_dicts(sds["Pre"], sds["H"], sds["G_A"])
    print("inferred config:", cfg)
    model = Nerco(cfg).eval()
    model.Pre.load_state_dict(sds["Pre"], strict=True)
    model.H.load_state_dict(sds["H"], strict=True)
    model.G_A.load_state_dict(sds["G_A"], strict=True)
    ok = True
    for case in CASES:
        cdir = os.path.join(args.fixtures, case)
        x = torch.from_numpy(np.load(os.path.join(cdir, "input.npy")))
        h, w = x.shape[-2:]
        with torch.no_grad():
            out = model(x, with_intermediates=True)
        print(f"{case}: {h}x{w}, rc_h={rel_cell(h)!r} rc_w={rel_cell(w)!r}")
        for name in NAMES:
            ref = np.load(os.path.join(cdir, f"{name}.npy"))
            got = out[name].numpy()
            if got.shape != ref.shape:
                print(f"  {name}: shape {got.shape} != {ref.shape}  FAIL")
                ok = False
                continue
            err = float(np.abs(got - ref).max())
            status = "ok" if err <= args.tol else "FAIL"
            ok &= err <= args.tol
            print(f"  {name:9s} max|diff| = {err:.3e}  (|ref|max {np.abs(ref).max():.3g})  {status}")
    print("ALL OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
