"""Pack the LOL training pairs for a lent GPU machine, whose call carries at most 64 MiB.

The 144 training pairs of lol-train160 (val_split.json's train_lol) are 78 MB as lossless WebP, and
lossless re-encoding gains nothing (measured: WebP -m 6 gives the same bytes). So the inputs (low/,
noisy dark captures whose noise is part of what the network learns) are copied byte for byte, and
only the targets (high/) are re-encoded as JPEG, quality 95, 4:4:4 chroma: 15 MB, 42 dB PSNR
against the originals on average (its error, ~2/255 RMS, is small beside the network's ~29/255).
Validation never runs on the packed data: the held-out pairs are not packed at all.

  /usr/bin/python3 weights-tools/train/gpu_pack.py   # writes .gpudata/lol (ignored by git)
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from data import DATA_ROOT, load_split  # noqa: E402

JPEG_QUALITY = 95


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, ".gpudata", "lol"))
    args = ap.parse_args()
    names = load_split()["train_lol"]
    src = os.path.join(DATA_ROOT, "lol-train160")
    for side in ("low", "high"):
        os.makedirs(os.path.join(args.out, side), exist_ok=True)
    psnrs = []
    for n in names:
        shutil.copyfile(os.path.join(src, "low", f"{n}.webp"), os.path.join(args.out, "low", f"{n}.webp"))
        with Image.open(os.path.join(src, "high", f"{n}.webp")) as im:
            hi = np.asarray(im.convert("RGB"))
        buf = io.BytesIO()
        Image.fromarray(hi).save(buf, "JPEG", quality=JPEG_QUALITY, subsampling=0)
        with open(os.path.join(args.out, "high", f"{n}.jpg"), "wb") as f:
            f.write(buf.getvalue())
        back = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")).astype(np.float64)
        psnrs.append(10 * np.log10(255.0 ** 2 / np.mean((back - hi) ** 2)))
    manifest = {
        "names": names,
        "low": "lol-train160/low/<name>.webp, byte for byte",
        "high": f"lol-train160/high/<name>.webp re-encoded as JPEG q{JPEG_QUALITY} 4:4:4",
        "high_psnr_db": {"mean": float(np.mean(psnrs)), "min": float(np.min(psnrs))},
        "sha256_low": {n: _sha256(os.path.join(args.out, "low", f"{n}.webp")) for n in names},
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print(f"packed {len(names)} pairs into {args.out}: {size / 1e6:.1f} MB, targets "
          f"{np.mean(psnrs):.2f} dB mean / {np.min(psnrs):.2f} dB min PSNR vs lossless")
    return 0


if __name__ == "__main__":
    sys.exit(main())
