"""Training/validation data: LOL real pairs (lol-train160) and synthetic pairs from natural/.

Never touches lol-eval15/ (evaluation only). The decoded images are cached as .npy files under the
runs folder so that later runs and resumes skip WebP/PNG decoding.
"""
from __future__ import annotations

import json
import os
import random
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

DATA_ROOT = "/work/shared/data"
HERE = os.path.dirname(os.path.abspath(__file__))
SPLIT_FILE = os.path.join(HERE, "val_split.json")
SPLIT_SEED = 20261126
N_VAL_LOL = 16
N_VAL_NATURAL = 10


def _read_rgb(path: str) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def lol_names(root: str = DATA_ROOT) -> List[str]:
    names = [f[:-5] for f in os.listdir(os.path.join(root, "lol-train160", "low")) if f.endswith(".webp")]
    return sorted(names, key=int)


def natural_names(root: str = DATA_ROOT) -> List[str]:
    out = []
    for sub in ("CBSD68", "Kodak24"):
        out += [f"{sub}/{f}" for f in sorted(os.listdir(os.path.join(root, "natural", sub))) if f.endswith(".png")]
    return out


def make_split(root: str = DATA_ROOT) -> Dict[str, List[str]]:
    """The validation split, fixed by SPLIT_SEED (the committed val_split.json must equal this)."""
    rng = random.Random(SPLIT_SEED)
    lol = lol_names(root)
    nat = natural_names(root)
    val_lol = sorted(rng.sample(lol, N_VAL_LOL), key=int)
    val_nat = sorted(rng.sample(nat, N_VAL_NATURAL))
    return {
        "seed": SPLIT_SEED,
        "val_lol": val_lol,
        "val_natural": val_nat,
        "train_lol": [n for n in lol if n not in val_lol],
        "train_natural": [n for n in nat if n not in val_nat],
    }


def load_split(root: str = DATA_ROOT) -> Dict[str, List[str]]:
    split = make_split(root)
    if os.path.exists(SPLIT_FILE):
        with open(SPLIT_FILE) as f:
            saved = json.load(f)
        if saved != split:
            raise RuntimeError(f"{SPLIT_FILE} differs from the split made with seed {SPLIT_SEED}")
    else:
        with open(SPLIT_FILE, "w") as f:
            json.dump(split, f, indent=1)
    return split


def load_cached(cache_dir: str, root: str = DATA_ROOT) -> Dict[str, object]:
    """Decoded uint8 images: lol_low/lol_high [160,400,600,3] (order of lol_names) and natural list."""
    os.makedirs(cache_dir, exist_ok=True)
    lol_path = os.path.join(cache_dir, "lol160.npy")
    nat_path = os.path.join(cache_dir, "natural.npz")
    names = lol_names(root)
    if not os.path.exists(lol_path):
        arr = np.stack([np.stack([_read_rgb(os.path.join(root, "lol-train160", side, f"{n}.webp"))
                                  for n in names]) for side in ("low", "high")])
        np.save(lol_path + ".tmp.npy", arr)
        os.replace(lol_path + ".tmp.npy", lol_path)
    nnames = natural_names(root)
    if not os.path.exists(nat_path):
        np.savez(nat_path + ".tmp.npz", **{f"i{i}": _read_rgb(os.path.join(root, "natural", n))
                                           for i, n in enumerate(nnames)})
        os.replace(nat_path + ".tmp.npz", nat_path)
    lol = np.load(lol_path)
    with np.load(nat_path) as z:
        nat = [z[f"i{i}"] for i in range(len(nnames))]
    return {"lol_names": names, "lol_low": lol[0], "lol_high": lol[1], "natural_names": nnames,
            "natural": nat}


# ---- synthetic low-light ----------------------------------------------------------------------

def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def tone_curve(lin: np.ndarray, gamma: float, contrast: float) -> np.ndarray:
    """A camera-like rendering: power-law gamma followed by a mild S-curve (blend of smoothstep)."""
    y = np.clip(lin, 0.0, 1.0) ** (1.0 / gamma)
    s = y * y * (3.0 - 2.0 * y)
    return (1.0 - contrast) * y + contrast * s


def synth_dark(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Darken a well-exposed uint8 RGB image into a plausible low-light capture (uint8)."""
    x = img.astype(np.float32) / 255.0
    lin = srgb_to_linear(x)
    gamma = rng.uniform(1.8, 2.6)
    contrast = rng.uniform(0.0, 0.4)
    # Target mean brightness of the dark result, log-uniform over real dark photos' 4..80 of 255.
    target = np.exp(rng.uniform(np.log(4.0), np.log(80.0))) / 255.0
    k = target ** gamma / max(float(lin.mean()), 1e-4)
    cast = np.exp(rng.normal(0.0, 0.12, size=3)).astype(np.float32)  # white-balance error
    lin = lin * np.float32(k) * cast
    # Poisson-Gaussian sensor noise in linear light: shot noise scale a, read noise sigma_r.
    a = np.exp(rng.uniform(np.log(2e-4), np.log(6e-3)))
    sigma_r = np.exp(rng.uniform(np.log(2e-4), np.log(4e-3)))
    lin = rng.poisson(np.clip(lin, 0, None) / a).astype(np.float32) * np.float32(a)
    lin = lin + rng.normal(0.0, sigma_r, size=lin.shape).astype(np.float32)
    out = tone_curve(lin, gamma, contrast)
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


# The exact §3.3 LUT, uint8 -> [-1, 1]: f32(f32(u/255) - 0.5) / 0.5.
MODEL_RANGE_LUT = ((np.arange(256, dtype=np.float64) / 255.0).astype(np.float32) - np.float32(0.5)) / np.float32(0.5)


def to_model_range(u8: np.ndarray) -> np.ndarray:
    """HWC uint8 -> CHW float32 through MODEL_RANGE_LUT."""
    return MODEL_RANGE_LUT[u8].transpose(2, 0, 1).copy()


def draw_augment(rng: np.random.Generator) -> Tuple[int, bool]:
    """The augmentation of one sample: quarter turns (np.rot90's k) and a left-right flip."""
    return int(rng.integers(4)), bool(rng.integers(2))


def _augment(pair: Tuple[np.ndarray, np.ndarray], rng: np.random.Generator):
    k, flip = draw_augment(rng)
    out = []
    for a in pair:
        a = np.rot90(a, k)
        if flip:
            a = a[:, ::-1]
        out.append(np.ascontiguousarray(a))
    return out


def draw_crop(h: int, w: int, size: int, rng: np.random.Generator) -> Tuple[int, int]:
    """The top-left corner of a random size x size crop of an h x w image."""
    return int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))


def sample_batch(data: Dict[str, object], split: Dict[str, List[str]], it: int, seed: int, batch: int,
                 size: int, p_real: float) -> Tuple[np.ndarray, np.ndarray]:
    """Batch for iteration `it`, a pure function of (seed, it) so that resumed runs see the same data."""
    rng = np.random.default_rng([seed, it])
    idx_lol = [data["lol_names"].index(n) for n in split["train_lol"]]
    idx_nat = [data["natural_names"].index(n) for n in split["train_natural"]]
    xs, ys = [], []
    for _ in range(batch):
        if rng.random() < p_real:
            i = idx_lol[int(rng.integers(len(idx_lol)))]
            lo, hi = data["lol_low"][i], data["lol_high"][i]
            y0, x0 = draw_crop(lo.shape[0], lo.shape[1], size, rng)
            lo, hi = lo[y0:y0 + size, x0:x0 + size], hi[y0:y0 + size, x0:x0 + size]
        else:
            img = data["natural"][idx_nat[int(rng.integers(len(idx_nat)))]]
            y0, x0 = draw_crop(img.shape[0], img.shape[1], size, rng)
            hi = img[y0:y0 + size, x0:x0 + size]
            lo = synth_dark(hi, rng)
        lo, hi = _augment((lo, hi), rng)
        xs.append(to_model_range(lo))
        ys.append(to_model_range(hi))
    return np.stack(xs), np.stack(ys)


def validation_set(data: Dict[str, object], split: Dict[str, List[str]], seed: int = 7):
    """[(group, name, low_u8, high_u8)]: LOL val pairs at full size; natural val images cropped to
    multiples of 4 and darkened once with a fixed seed."""
    out = []
    for n in split["val_lol"]:
        i = data["lol_names"].index(n)
        out.append(("lol", n, data["lol_low"][i], data["lol_high"][i]))
    for j, n in enumerate(split["val_natural"]):
        img = data["natural"][data["natural_names"].index(n)]
        h, w = img.shape[0] // 4 * 4, img.shape[1] // 4 * 4
        img = img[:h, :w]
        out.append(("natural", n, synth_dark(img, np.random.default_rng([seed, j])), img))
    return out
