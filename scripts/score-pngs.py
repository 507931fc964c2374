#!/usr/bin/python3
"""Score enhanced PNGs against references with scikit-image, independently of the TypeScript metrics.

A second opinion on `nerco-webgpu eval`: the CLI writes PNGs (`enhance <dir> -o <out>`), this reads
them back and computes PSNR (RGB, data range 255) and SSIM (Gaussian 11x11, sigma 1.5, per channel,
mean; skimage's `gaussian_weights=True, use_sample_covariance=False`) with Debian's python3-skimage
(and python3-pil), not part of the package or its tests.

  /usr/bin/python3 scripts/score-pngs.py <enhanced dir> <reference dir> [--json]
"""
import json
import os
import sys

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def load(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--json"]
    if len(args) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    out_dir, ref_dir = args
    refs = {os.path.splitext(n)[0]: n for n in os.listdir(ref_dir)}
    rows = []
    for name in sorted(n for n in os.listdir(out_dir) if n.lower().endswith(".png")):
        stem = os.path.splitext(name)[0]
        if stem not in refs:
            raise SystemExit(f"{name}: no reference in {ref_dir}")
        a, b = load(os.path.join(out_dir, name)), load(os.path.join(ref_dir, refs[stem]))
        if a.shape != b.shape:
            raise SystemExit(f"{name}: {a.shape} vs reference {b.shape}")
        rows.append({"name": stem, "psnr": float(peak_signal_noise_ratio(b, a, data_range=255)),
                     "ssim": float(structural_similarity(b, a, channel_axis=2, data_range=255, gaussian_weights=True,
                                                         sigma=1.5, use_sample_covariance=False))})
    if not rows:
        raise SystemExit(f"{out_dir}: no PNGs")
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim")}
    if "--json" in sys.argv:
        print(json.dumps({"images": len(rows), **mean, "perImage": rows}))
    else:
        for r in rows:
            print(f"{r['name']:12} PSNR {r['psnr']:.2f} dB  SSIM {r['ssim']:.4f}")
        print(f"mean over {len(rows)} images: PSNR {mean['psnr']:.2f} dB  SSIM {mean['ssim']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
