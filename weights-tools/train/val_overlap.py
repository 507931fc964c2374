"""Which LOL validation pairs show a scene that is also in the training pairs, and how a run scores
on the pairs that do and on those that do not.

LOL photographs many scenes more than once, so a random split of lol-train160 leaves some held-out
pairs with a near-copy of their scene among the training pairs: on those, validation rewards
remembering the scene. A pair counts as overlapping when the correlation of its target image with
some training pair's target (40 x 60 gray thumbnails, mean and scale removed) is at least
--threshold. Validation split only: never run this on lol-eval15.

  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 weights-tools/train/val_overlap.py                 # the split alone
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 weights-tools/train/val_overlap.py --name c10      # runs/c10/best.pt
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 weights-tools/train/val_overlap.py --checkpoint runs/c9/val600.pt
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List, Tuple

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import load_cached, load_split, validation_set  # noqa: E402
from export import model_to_ship  # noqa: E402
from losses import psnr_u8, ssim_u8  # noqa: E402
from train import u8_output_and_target  # noqa: E402

THUMB_H, THUMB_W = 40, 60


def thumbnail_feature(img: np.ndarray) -> np.ndarray:
    """Unit-norm, zero-mean gray thumbnail of a HxWx3 uint8 image whose sides divide by 40 x 60."""
    h, w = img.shape[:2]
    g = img.astype(np.float64).mean(-1).reshape(THUMB_H, h // THUMB_H, THUMB_W, w // THUMB_W).mean((1, 3))
    g -= g.mean()
    return (g / max(np.linalg.norm(g), 1e-9)).ravel()


def nearest_training_scene(data: Dict[str, object], split: Dict[str, List[str]]) -> Dict[str, Tuple[str, float]]:
    """For each LOL validation pair: the training pair whose target correlates best, and the correlation."""
    names: List[str] = data["lol_names"]
    feats = {n: thumbnail_feature(data["lol_high"][i]) for i, n in enumerate(names)}
    train = split["train_lol"]
    train_feats = np.stack([feats[n] for n in train])
    out = {}
    for n in split["val_lol"]:
        corr = train_feats @ feats[n]
        j = int(np.argmax(corr))
        out[n] = (train[j], float(corr[j]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", help="score runs/<name>/best.pt")
    ap.add_argument("--checkpoint", help="score this train.py checkpoint instead (path)")
    ap.add_argument("--threshold", type=float, default=0.95)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="last line: the means as one JSON object")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_cached(os.path.join(HERE, "runs", "cache"))
    split = load_split()
    nearest = nearest_training_scene(data, split)
    path = args.checkpoint or (os.path.join(HERE, "runs", args.name, "best.pt") if args.name else None)
    model = model_to_ship(torch.load(path, map_location="cpu")) if path else None

    scores: Dict[str, List[Tuple[float, float]]] = {"overlap": [], "disjoint": []}
    print(f"{'pair':6} {'nearest training pair':>22} {'corr':>6} {'subset':>9}" + (f" {'PSNR':>6} {'SSIM':>6}" if model else ""))
    for group, name, low, high in validation_set(data, split):
        if group != "lol":
            continue
        other, corr = nearest[name]
        subset = "overlap" if corr >= args.threshold else "disjoint"
        line = f"{name:6} {other:>22} {corr:6.3f} {subset:>9}"
        if model is not None:
            with torch.no_grad():
                pred, ref = u8_output_and_target(model, low, high)
            s = (psnr_u8(pred, ref), ssim_u8(pred, ref))
            scores[subset].append(s)
            line += f" {s[0]:6.2f} {s[1]:6.3f}"
        print(line)
    counts = {k: sum(1 for _, c in nearest.values() if (c >= args.threshold) == (k == "overlap")) for k in scores}
    print(f"overlap: {counts['overlap']} pairs, disjoint: {counts['disjoint']} (threshold {args.threshold})")
    if model is None:
        return 0
    summary = {"checkpoint": os.path.relpath(path, HERE)}
    for subset, vals in scores.items():
        if vals:
            arr = np.array(vals)
            summary[f"{subset}_psnr"], summary[f"{subset}_ssim"] = float(arr[:, 0].mean()), float(arr[:, 1].mean())
            print(f"{subset:9} mean PSNR {summary[f'{subset}_psnr']:.3f} dB, SSIM {summary[f'{subset}_ssim']:.4f}")
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
