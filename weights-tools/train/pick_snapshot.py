"""Validate train_gpu.py's snapshots on the held-out split (CPU) and keep the best as a run.

Every snapshot of every given file is validated with train.py's validate() on the same split that
train.py uses (LOL pairs at full size, lossless; darkened natural images). The snapshot with the best
LOL validation PSNR becomes runs/<name>/best.pt in train.py's format, so export.py ships it as it
ships any run; runs/<name>/val.csv lists every snapshot. Never reads lol-eval15/.

  /usr/bin/python3 weights-tools/train/pick_snapshot.py --name gpu4 runs/gpu/g4a.snapshots.safetensors ...
"""
from __future__ import annotations

import argparse
import csv
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import load_cached, load_split, validation_set  # noqa: E402
from model import Nerco, NercoConfig  # noqa: E402
from train import validate  # noqa: E402
from train_gpu import read_snapshots  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True, help="the run to write: runs/<name>/best.pt and val.csv")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("files", nargs="+", help="*.snapshots.safetensors written by train_gpu.py")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    run_dir = os.path.join(HERE, "runs", args.name)
    if os.path.exists(os.path.join(run_dir, "best.pt")):
        raise RuntimeError(f"{run_dir}/best.pt exists: choose another --name")
    os.makedirs(run_dir, exist_ok=True)
    vset = validation_set(load_cached(os.path.join(HERE, "runs", "cache")), load_split())
    rows, best = [], None
    for path in args.files:
        config, run_args, snaps = read_snapshots(path)
        run = run_args["name"]
        for it, sd in sorted(snaps.items()):
            model = Nerco(NercoConfig.from_dict(config)).eval()
            model.load_state_dict(sd)
            m = validate(model, vset)
            rows.append([run, it, run_args["iters"], m["lol_psnr"], m["lol_ssim"], m["natural_psnr"],
                         m["natural_ssim"]])
            print(f"{run} it {it}/{run_args['iters']}: LOL {m['lol_psnr']:.3f} dB / {m['lol_ssim']:.4f}, "
                  f"natural {m['natural_psnr']:.3f} dB / {m['natural_ssim']:.4f}", flush=True)
            if best is None or m["lol_psnr"] > best["metrics"]["lol_psnr"]:
                best = {"config": config, "ema": model.state_dict(), "it": it, "metrics": m,
                        "args": dict(run_args, snapshot_file=os.path.basename(path))}
    with open(os.path.join(run_dir, "val.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["run", "iter", "iters", "lol_psnr", "lol_ssim", "natural_psnr", "natural_ssim"])
        w.writerows([r[:3] + [f"{v:.4f}" for v in r[3:]] for r in rows])
    torch.save(best, os.path.join(run_dir, "best.pt"))
    print(f"picked {best['args']['name']} it {best['it']}: LOL val {best['metrics']['lol_psnr']:.3f} dB "
          f"-> {run_dir}/best.pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
