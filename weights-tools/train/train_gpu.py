"""A training stage on a lent CUDA GPU, on the LOL pairs packed by gpu_pack.py.

The same model, losses, optimiser, LR schedule and EMA as train.py (it imports them), and the same
batches: the crops and flips of iteration i are drawn exactly as train.py's sample_batch draws them
for real pairs (a pure function of (seed, i)); only the cutting happens on the GPU, from uint8
images held there. What differs from a CPU stage:
- no validation here: the held-out pairs never travel (gpu_pack.py packs the training pairs only).
  The EMA weights are saved as snapshots at fixed shares of the run, and pick_snapshot.py
  validates them on the CPU and picks one, as train.py picks best.pt;
- the run's length can be given in seconds (--budget-s): the step time is measured over steps
  [--calib-from, --warmup) and sets --iters, which is then fixed, printed and saved with every
  snapshot (a re-run passes it as --iters). The cosine LR only depends on --iters after the warmup.
- cuDNN and PyTorch are asked for deterministic algorithms (a warning, not an error, names any op
  that has none); TF32 convolutions and matmuls unless --no-tf32.

  python3 weights-tools/train/train_gpu.py --name g4a --init weights/default.safetensors --budget-s 420
"""
from __future__ import annotations

import os

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS; before CUDA starts

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import List, Tuple  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from data import MODEL_RANGE_LUT, draw_augment, draw_crop  # noqa: E402
from export import load_into  # noqa: E402
from model import Nerco, NercoConfig  # noqa: E402
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402
from train import (DEFAULT_MODEL, add_step_args, fc1_lr_scale, lr_at, make_optimizer, revive_mask,  # noqa: E402
                   train_step)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--out-dir", default="", help="where snapshots go (default runs/<name>)")
    ap.add_argument("--data", default=os.path.join(REPO, ".gpudata", "lol"))
    ap.add_argument("--init", default="", help="safetensors weights to fine-tune (default: from scratch)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--iters", type=int, default=0, help="0: set from --budget-s")
    ap.add_argument("--budget-s", type=float, default=0.0, help="training seconds, with --iters 0")
    ap.add_argument("--hard-stop-s", type=float, default=0.0,
                    help="save a snapshot and stop if the process has run this long (0: never)")
    ap.add_argument("--calib-from", type=int, default=10)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=384)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--lr-min", type=float, default=1e-6)
    ap.add_argument("--warmup", type=int, default=60)
    add_step_args(ap, w_color=0.5)
    ap.add_argument("--revive-mask", action="store_true")
    ap.add_argument("--fc1-lr-scale", type=float, default=0.05)
    ap.add_argument("--stop-after", type=int, default=0,
                    help="stop after this iteration (a re-run that only needs an earlier snapshot)")
    ap.add_argument("--snap-at", default="0.333,0.667,1.0", help="shares of --iters to snapshot the EMA at")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--no-tf32", action="store_true")
    ap.add_argument("--model", default=json.dumps(DEFAULT_MODEL))
    args = ap.parse_args(argv)
    if args.iters <= 0 and args.budget_s <= 0:
        ap.error("give --iters or --budget-s")
    if args.iters <= 0 and args.warmup - args.calib_from < 10:
        ap.error("--budget-s times steps [--calib-from, --warmup): make that at least 10 steps")
    return args


def load_pairs(data_dir: str, device: torch.device) -> Tuple[List[str], torch.Tensor, torch.Tensor]:
    """The packed pairs as uint8 [N, H, W, 3] tensors on the device (low, high), in manifest order."""
    with open(os.path.join(data_dir, "manifest.json")) as f:
        names = json.load(f)["names"]

    def read(path: str) -> np.ndarray:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)

    low = np.stack([read(os.path.join(data_dir, "low", f"{n}.webp")) for n in names])
    high = np.stack([read(os.path.join(data_dir, "high", f"{n}.jpg")) for n in names])
    return names, torch.from_numpy(low).to(device), torch.from_numpy(high).to(device)


def batch_on_device(low: torch.Tensor, high: torch.Tensor, lut: torch.Tensor, it: int, seed: int, batch: int,
                    size: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """train.py's sample_batch for real pairs (p_real = 1), with the same draws in the same order:
    the real-or-synthetic draw, the image, the crop corner (draw_crop), the rotation and flip
    (draw_augment). lut is data.MODEL_RANGE_LUT on the device."""
    rng = np.random.default_rng([seed, it])
    n, h, w = low.shape[:3]
    xs, ys = [], []
    for _ in range(batch):
        rng.random()  # sample_batch's real-or-synthetic draw: always real here
        i = int(rng.integers(n))
        y0, x0 = draw_crop(h, w, size, rng)
        k, flip = draw_augment(rng)
        out = []
        for img in (low[i], high[i]):
            t = torch.rot90(img[y0:y0 + size, x0:x0 + size], k, (0, 1))
            if flip:
                t = torch.flip(t, (1,))
            out.append(lut[t.long()].permute(2, 0, 1))
        xs.append(out[0])
        ys.append(out[1])
    return torch.stack(xs), torch.stack(ys)


def save_snapshots(path: str, snaps: dict, cfg: NercoConfig, args: argparse.Namespace) -> None:
    """All snapshots so far in one safetensors file, keys "<iteration>/<state_dict key>" (float16 EMA
    weights: the precision that ships), with the config and arguments as metadata. safetensors, not
    torch.save, so that any PyTorch (or none) reads what the GPU machine's PyTorch wrote."""
    tensors = {f"{it}/{k}": v for it, sd in snaps.items() for k, v in sd.items()}
    write_safetensors(path + ".tmp", tensors, {"config": json.dumps(cfg.to_dict()), "args": json.dumps(vars(args))})
    os.replace(path + ".tmp", path)


def read_snapshots(path: str) -> Tuple[dict, dict, dict]:
    """(config, args, {iteration: float32 state_dict}) from a save_snapshots() file."""
    tensors, meta = read_safetensors(path)
    snaps: dict = {}
    for key, arr in tensors.items():
        it, name = key.split("/", 1)
        snaps.setdefault(int(it), {})[name] = torch.from_numpy(arr.astype(np.float32))
    return json.loads(meta["config"]), json.loads(meta["args"]), snaps


def main(argv=None) -> int:
    t_proc = time.time()
    args = parse_args(argv)
    dev = torch.device(args.device)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cuda.matmul.allow_tf32 = not args.no_tf32
    torch.backends.cudnn.allow_tf32 = not args.no_tf32
    out_dir = args.out_dir or os.path.join(HERE, "runs", args.name)
    os.makedirs(out_dir, exist_ok=True)
    snap_path = os.path.join(out_dir, f"{args.name}.snapshots.safetensors")
    cfg = NercoConfig.from_dict(json.loads(args.model))

    torch.manual_seed(args.seed)
    model = Nerco(cfg)
    if args.init:
        load_into(model, read_safetensors(os.path.join(REPO, args.init))[0])
    if args.revive_mask:
        revive_mask(model)
    model = model.to(dev)
    ema = copy.deepcopy(model)
    args.fc1_lr_scale = fc1_lr_scale(vars(args))
    opt = make_optimizer(model, args)
    names, low, high = load_pairs(args.data, dev)
    lut = torch.from_numpy(MODEL_RANGE_LUT).to(dev)
    args.device_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    args.torch = torch.__version__
    print(f"{args.name}: {len(names)} pairs on {args.device_name}, torch {args.torch}, "
          f"init {args.init or 'scratch'}, setup {time.time() - t_proc:.1f} s", flush=True)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    snaps: dict = {}
    shares = [float(s) for s in args.snap_at.split(",")]
    snap_its: set = set()
    sync()
    t0 = time.time()
    t_calib, it = 0.0, 0
    while args.iters <= 0 or it < args.iters:
        if it == args.calib_from:
            sync()
            t_calib = time.time()
        if args.iters <= 0 and it == args.warmup:
            sync()
            step_s = (time.time() - t_calib) / (args.warmup - args.calib_from)
            args.iters = args.warmup + max(1, int((args.budget_s - (time.time() - t0)) / step_s))
            args.step_s = step_s
            print(f"{args.name}: {step_s * 1000:.1f} ms/step -> --iters {args.iters}", flush=True)
        if args.iters > 0 and not snap_its:
            snap_its = {max(1, round(s * args.iters)) for s in shares}
        lr = lr_at(it, args)
        for g in opt.param_groups:
            g["lr"] = lr * g["lr_scale"]
        model.train()
        x, y = batch_on_device(low, high, lut, it, args.seed, args.batch, args.crop)
        loss, _ = train_step(model, ema, opt, x, y, it, args)
        it += 1
        hard_stop = args.hard_stop_s > 0 and time.time() - t_proc > args.hard_stop_s
        if it % args.log_every == 0:
            print(f"{args.name}: it {it}/{args.iters or '?'} loss {float(loss.detach()):.4f} lr {lr:.2e} "
                  f"{time.time() - t0:.0f} s", flush=True)
        if it in snap_its or hard_stop:
            snaps[it] = {k: v.detach().to("cpu", torch.float16).numpy() for k, v in ema.state_dict().items()}
            args.elapsed_s = time.time() - t0
            save_snapshots(snap_path, snaps, cfg, args)
            print(f"{args.name}: snapshot at it {it} ({args.elapsed_s:.0f} s)", flush=True)
        if args.stop_after and it >= args.stop_after:
            print(f"{args.name}: stopping after iteration {it} (--stop-after)", flush=True)
            return 0
        if hard_stop:
            print(f"{args.name}: hard stop after {time.time() - t_proc:.0f} s", flush=True)
            return 1
    print(f"{args.name}: done, {args.iters} iterations in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
