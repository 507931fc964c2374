"""Export the best-validation checkpoint to weights/default.safetensors (+ a cross-check fixture).

1. Loads runs/<name>/best.pt (EMA weights picked on the LOL validation PSNR).
2. Re-validates with f32 weights and with f16-rounded weights; ships float16 only when that costs
   under --f16-tol dB of validation PSNR (LOL and natural), else float32.
3. Writes weights/default.safetensors with keys `G_A.*`, `Pre.*`, `H.*` (the official state_dict
   keys after the prefix) and a `__metadata__` entry; reads it back and checks it.
4. Writes test/fixtures/default-weights/: input.png (a procedurally made 64x48 dark image, made
   here, no dataset pixels), and fake_B.npy, pre_A.npy, mask.npy from the PyTorch model running
   the exact weights that were shipped.

Usage: /usr/bin/python3 weights-tools/train/export.py --name default
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from data import load_cached, load_split, to_model_range, validation_set  # noqa: E402
from flops import model_macs  # noqa: E402
from model import Nerco, NercoConfig  # noqa: E402
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402
from train import fc1_lr_scale, validate  # noqa: E402

NETS = ("G_A", "Pre", "H")


def shipped_state(model: Nerco, dtype: np.dtype) -> dict:
    out = {}
    for net in NETS:
        for k, v in getattr(model, net).state_dict().items():
            out[f"{net}.{k}"] = v.detach().numpy().astype(dtype)
    return out


def load_into(model: Nerco, tensors: dict) -> None:
    for net in NETS:
        sd = {k[len(net) + 1:]: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()
              if k.startswith(net + ".")}
        getattr(model, net).load_state_dict(sd, strict=True)


def model_to_ship(ck: dict) -> Nerco:
    """The EMA weights of a train.py checkpoint as they are shipped, in f32."""
    model = Nerco(NercoConfig.from_dict(ck["config"])).eval()
    model.load_state_dict(ck["ema"])
    # netH's image head `output` never affects fake_B (§1), so training gives it no gradient; ship it
    # as zeros (H = tanh(0) = 0) rather than as leftover random initialisation.
    with torch.no_grad():
        model.H.output.weight.zero_()
        model.H.output.bias.zero_()
    return model


def describe_run(a: dict) -> str:
    """One train.py call's recipe in words, from the arguments saved in its checkpoint."""
    share = int(round(a.get("p_real", 1.0) * 100))  # train_gpu.py runs have real pairs only
    data = ("LOL-train160 real pairs only" if share == 100 else
            f"{share}% LOL-train160 real pairs / rest synthetic pairs from CBSD68+Kodak24")
    fc1 = fc1_lr_scale(a)
    return (f"{a['iters']} iterations, batch {a['batch']} x {a['crop']}px crops, {data}; loss L1 + "
            f"{a['w_ssim']}(1-SSIM) + {a['w_edge']} Sobel-edge L1 + {a['w_pre']} L1(pre_A)"
            + (f" + {a['w_color']} colour angle" if a.get("w_color") else "")
            + (f" + {a['w_mse']} MSE" if a.get("w_mse") else "")
            + f"; Adam, cosine LR {a['lr']}; EMA {a['ema']}"
            + (("; netH attention revived" if a.get("init_from") or a.get("init") else "; netH attention started alive")
               if a.get("revive_mask") else "")
            + (f"; netH fc1 at {fc1}x LR" if fc1 != 1.0 else ""))


def describe_gpu_run(a: dict, it: int) -> str:
    """A train_gpu.py run (picked by pick_snapshot.py) in words."""
    start = f"fine-tuned from {a['init']}" if a.get("init") else "trained from scratch"
    return (f"NeRCo layout, small widths; {start} on one {a['device_name']} with train_gpu.py: EMA snapshot "
            f"at iteration {it} of a run of {describe_run(a)} (LOL targets re-encoded as JPEG q95 to travel to the "
            f"GPU machine, see gpu_pack.py); snapshot picked on a held-out validation split "
            f"(weights-tools/train/val_split.json) by pick_snapshot.py")


def describe_recipe(a: dict, it: int = 0) -> str:
    """The whole recipe of a checkpoint: its own run, and how many fine-tune stages led to it."""
    if a.get("device_name"):
        return describe_gpu_run(a, it)
    stages, src, root = 1, a.get("init_from"), None
    while src:
        stages += 1
        root = torch.load(os.path.join(HERE, src), map_location="cpu")
        src = root["args"].get("init_from")
    picked = "checkpoint picked on a held-out validation split (weights-tools/train/val_split.json)"
    if stages == 1:
        return f"NeRCo layout, small widths; trained from scratch on CPU with train.py ({describe_run(a)}); {picked}"
    if root["args"].get("device_name"):  # the lineage starts with a GPU run, not on this CPU
        return (f"NeRCo layout, small widths; {stages} stages. Stage {stages} (this checkpoint): fine-tuned on CPU "
                f"with train.py from {a['init_from']} for {describe_run(a)}; {picked}. Stage 1: EMA snapshot at "
                f"iteration {root['it']} of a train_gpu.py run on one {root['args']['device_name']}; "
                f"see docs/MODEL.md")
    return (f"NeRCo layout, small widths; {stages} stages on CPU with train.py. Stage {stages} (this "
            f"checkpoint): fine-tuned from {a['init_from']} for {describe_run(a)}; {picked}; earlier "
            f"stages: see docs/MODEL.md")


def procedural_image(w: int = 64, h: int = 48, seed: int = 2026) -> np.ndarray:
    """A dark synthetic test scene: smooth colour gradients, a few shapes, mild noise (uint8 HxWx3)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.35 + 0.3 * xx / w, 0.25 + 0.3 * yy / h, 0.45 - 0.2 * (xx + yy) / (w + h)], -1)
    img[((xx - 20) ** 2 + (yy - 18) ** 2) < 80] = (0.9, 0.75, 0.3)            # a lamp-like disc
    img[30:42, 36:58] = (0.2, 0.55, 0.35)                                        # a green box
    img[8:12, 40:60] = (0.85, 0.85, 0.9)                                         # a bright bar
    img += 0.04 * np.sin(xx * 0.9)[..., None] * np.cos(yy * 0.7)[..., None]      # texture
    dark = np.clip(img, 0, 1) ** 2.2 * 0.05                                      # underexposed, linear
    dark = dark + rng.normal(0, 0.004, dark.shape)
    out = np.clip(dark, 0, 1) ** (1 / 2.2)
    return np.clip(np.round(out * 255), 0, 255).astype(np.uint8)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="default")
    ap.add_argument("--out", default=os.path.join(REPO, "weights", "default.safetensors"))
    ap.add_argument("--fixture-dir", default=os.path.join(REPO, "test", "fixtures", "default-weights"))
    ap.add_argument("--f16-tol", type=float, default=0.01, help="max validation PSNR loss (dB) for f16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--revalidate", action="store_true", help="re-run validation with the f32 weights too")
    ap.add_argument("--smoke", action="store_true", help="validate on 2 images only (pipeline check)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    run_dir = os.path.join(HERE, "runs", args.name)
    ck = torch.load(os.path.join(run_dir, "best.pt"), map_location="cpu")
    cfg = NercoConfig.from_dict(ck["config"])
    model = model_to_ship(ck)
    print(f"best.pt: iteration {ck['it']}, metrics {ck['metrics']}")

    vset = validation_set(load_cached(os.path.join(HERE, "runs", "cache")), load_split())
    if args.smoke:
        vset = [v for v in vset if v[0] == "lol"][:1] + [v for v in vset if v[0] == "natural"][:1]
    # best.pt's metrics were computed by the same validate() on the same split with these f32 weights
    # (H.output does not influence them), so only the f16-rounded weights need a new pass.
    m32 = validate(model, vset) if (args.revalidate or args.smoke) else ck["metrics"]
    t16 = shipped_state(model, np.float16)
    model16 = Nerco(cfg).eval()
    load_into(model16, t16)
    m16 = validate(model16, vset)
    print(f"validation f32: {m32}\nvalidation f16: {m16}")
    use_f16 = (m32["lol_psnr"] - m16["lol_psnr"] <= args.f16_tol
               and m32["natural_psnr"] - m16["natural_psnr"] <= args.f16_tol)
    tensors = t16 if use_f16 else shipped_state(model, np.float32)
    shipped = model16 if use_f16 else model
    mshipped = m16 if use_f16 else m32

    macs = sum(v for rows in model_macs(cfg).values() for _, v in rows)
    recipe = describe_recipe(ck["args"], ck["it"])
    meta = {
        "format": "nerco-webgpu",
        "recipe": recipe,
        "config": json.dumps(cfg.to_dict()),
        "mac_per_pixel": str(int(round(macs))),
        "dtype": "float16" if use_f16 else "float32",
        "checkpoint_iteration": str(ck["it"]),
        "validation": json.dumps({k: round(v, 4) for k, v in mshipped.items()}),
        "license_note": (f"weights trained on research-only data "
                         f"({'LOL' if ck['args'].get('device_name') else 'LOL, BSD, Kodak'}); see docs/MODEL.md"),
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    size = write_safetensors(args.out, tensors, meta)
    back, meta_back = read_safetensors(args.out)
    assert list(back) == list(tensors) and meta_back == meta
    assert all(np.array_equal(back[k], tensors[k]) for k in tensors)
    n_params = sum(v.size for v in tensors.values())
    print(f"wrote {args.out}: {size:,} bytes, {len(tensors)} tensors, {n_params:,} parameters, "
          f"{'float16' if use_f16 else 'float32'}")
    if size > 8 * 1024 * 1024:
        raise RuntimeError("weights file over 8 MB")

    # Cross-check fixture for the WebGPU pipeline: the shipped (possibly f16-rounded) weights, f32 math.
    os.makedirs(args.fixture_dir, exist_ok=True)
    img = procedural_image()
    Image.fromarray(img).save(os.path.join(args.fixture_dir, "input.png"))
    with Image.open(os.path.join(args.fixture_dir, "input.png")) as im:
        assert np.array_equal(np.asarray(im.convert("RGB")), img)
    x = torch.from_numpy(to_model_range(img))[None]
    with torch.no_grad():
        res = shipped(x, with_intermediates=True)
    for k in ("pre_A", "mask", "fake_B"):
        np.save(os.path.join(args.fixture_dir, f"{k}.npy"), res[k].numpy().astype(np.float32))
    info = {
        "weights": "weights/default.safetensors",
        "input": "input.png (64x48, procedurally generated by weights-tools/train/export.py)",
        "size_hw": [int(img.shape[0]), int(img.shape[1])],
        "made_with": f"torch {torch.__version__} CPU float32, model.py",
        "tolerance_hint": 1e-3,
        "stats": {k: {"min": float(res[k].min()), "max": float(res[k].max()), "mean": float(res[k].mean())}
                  for k in ("pre_A", "mask", "fake_B")},
    }
    with open(os.path.join(args.fixture_dir, "meta.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"wrote fixture to {args.fixture_dir}: input mean {img.mean():.1f}/255, "
          f"fake_B mean {float(res['fake_B'].mean()):.3f}")
    with open(os.path.join(run_dir, "export.json"), "w") as f:
        json.dump({"f32": m32, "f16": m16, "shipped": meta["dtype"], "bytes": size, "params": n_params,
                   "iteration": ck["it"]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
