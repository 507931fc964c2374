"""Train the default nerco-webgpu weights (NeRCo layout, small widths) on CPU.

Deterministic (seeded; the batch of iteration i is a pure function of (seed, i)), resumable
(`--resume` continues from runs/<name>/last.pt), with a validation CSV runs/<name>/val.csv and the
best-validation checkpoint runs/<name>/best.pt (chosen on the LOL validation PSNR).

  mkdir -p weights-tools/train/runs/default
  OMP_WAIT_POLICY=PASSIVE nohup nice -n 10 /usr/bin/python3 weights-tools/train/train.py --name default \
      > weights-tools/train/runs/default/log.txt 2>&1 &

OMP_WAIT_POLICY=PASSIVE matters on a shared CPU: libgomp's spinning threads otherwise burn about
twice the CPU time per iteration when the cores are oversubscribed. The CPU recipe's three-stage
run (stages 1 and 2 had their schedules shortened twice with --reschedule) is recipe.sh; docs/MODEL.md
explains it. train_gpu.py runs the same training step on a CUDA GPU (the shipped weights).
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import load_cached, load_split, sample_batch, to_model_range, validation_set  # noqa: E402
from losses import color_angle_loss, enhancement_loss, psnr_u8, ssim_u8, to_u8_reference  # noqa: E402
from model import Nerco, NercoConfig  # noqa: E402

try:
    from tqdm import tqdm  # Debian: python3-tqdm
except ImportError:  # pragma: no cover - fallback when tqdm is not installed
    tqdm = None


DEFAULT_MODEL = {"pre_ngf": 16, "pre_blocks": 3, "mlp_hidden": [32, 32], "h_ngf": 16, "ga_ngf": 32,
                 "ga_blocks": 5}


def add_step_args(ap: argparse.ArgumentParser, w_color: float = 0.0) -> None:
    """The arguments train_step() reads: loss weights and the EMA decay (train_gpu.py shares them)."""
    ap.add_argument("--w-ssim", type=float, default=0.3)
    ap.add_argument("--w-edge", type=float, default=0.2)
    ap.add_argument("--w-pre", type=float, default=0.25, help="auxiliary L1 of pre_A vs the target")
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--w-color", type=float, default=w_color,
                    help="weight of the colour-angle loss (1 - cosine of per-pixel RGB vectors)")
    ap.add_argument("--w-mse", type=float, default=0.0,
                    help="weight of the mean squared error on [0, 1] images (the loss PSNR measures)")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="default")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--iters", type=int, default=1100)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--crop", type=int, default=112)
    ap.add_argument("--p-real", type=float, default=0.75, help="share of real LOL pairs per batch")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-min", type=float, default=1e-5)
    ap.add_argument("--warmup", type=int, default=50)
    add_step_args(ap)
    ap.add_argument("--init-from", default="",
                    help="fine-tune: start from this run's best.pt (EMA weights), e.g. runs/default/best.pt")
    ap.add_argument("--revive-mask", action="store_true",
                    help="start netH's attention alive and train fc1 at 0.05x the LR: with --init-from it "
                         "restarts an attention whose fc1 unit(s) died (ReLU never active, so mask = "
                         "sigmoid(0) = 0.5 everywhere); from scratch it is the initialisation; see revive_mask()")
    ap.add_argument("--fc1-lr-scale", type=float, default=None,
                    help="LR multiplier of netH's fc1 (default: 0.05 with --revive-mask, else 1); a "
                         "fine-tune of a revived netH keeps it slow so that the unit stays alive")
    ap.add_argument("--val-every", type=int, default=325)
    ap.add_argument("--ckpt-every", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default=json.dumps(DEFAULT_MODEL), help="NercoConfig as JSON")
    ap.add_argument("--max-val-natural", type=int, default=10)
    ap.add_argument("--max-val-lol", type=int, default=16, help="fewer only for smoke tests")
    ap.add_argument("--reschedule", action="store_true",
                    help="with --resume: accept a new --iters (the cosine LR is recomputed for the new total)")
    ap.add_argument("--stop-after", type=int, default=0, help="exit after this iteration (tests --resume)")
    return ap.parse_args()


@torch.no_grad()
def revive_mask(model: Nerco) -> None:
    """Bring netH's channel attention back to life without changing the network's output.

    A dead fc1 (pre-activation negative on every image) passes no gradient to anything behind it,
    so the mask is stuck at 0.5. fc1 is reset to weigh only the per-channel spatial maxima, which
    are positive on real images, so its ReLU is active; conv1 (the 7x7 spatial-attention conv) is
    zeroed so that the mask is still exactly 0.5 at the first step and the fine-tune starts from the
    same function. The gradient then reaches conv1 first (its input is no longer 0) and through it
    fc1, fc2 and conv_ca. A single-unit bottleneck is easily killed again by Adam's early steps
    (measured: dead again within 250 iterations at the full LR), so fc1 also trains at a reduced
    LR (fc1_lr_scale()).
    """
    h = model.H
    ngf = h.conv_ca.weight.shape[0]
    h.fc1.weight.zero_()
    h.fc1.weight[:, ngf:] = 0.5 / ngf  # pre-activation ~ half the mean channel maximum: ~4-8
    h.conv1.weight.zero_()


def fc1_lr_scale(args: dict) -> float:
    """LR multiplier of netH's fc1 for a run's arguments (checkpoints from before --fc1-lr-scale lack it)."""
    if args.get("fc1_lr_scale") is not None:
        return args["fc1_lr_scale"]
    return 0.05 if args.get("revive_mask") else 1.0


def make_optimizer(model: Nerco, args) -> torch.optim.Adam:
    """Adam with netH's fc1 in its own group: fc1 is a 1-unit ReLU bottleneck (ngf // 16 units), and a
    slower LR (args.fc1_lr_scale) keeps it from dying. Each group's LR is lr_at() * its lr_scale."""
    fc1 = [p for n, p in model.named_parameters() if n.startswith("H.fc1.")]
    rest = [p for n, p in model.named_parameters() if not n.startswith("H.fc1.")]
    return torch.optim.Adam([{"params": rest, "lr_scale": 1.0}, {"params": fc1, "lr_scale": args.fc1_lr_scale}],
                            lr=args.lr, betas=(0.9, 0.99))


def train_step(model: Nerco, ema: Nerco, opt: torch.optim.Adam, x: torch.Tensor, y: torch.Tensor, it: int,
               args) -> tuple:
    """One optimisation step on a batch in model range ([-1, 1]) and the EMA update; (loss, parts)."""
    fake_b, pre_a, _ = model(x)
    loss, parts = enhancement_loss((fake_b + 1) / 2, (y + 1) / 2, args.w_ssim, args.w_edge)
    loss = loss + args.w_pre * (pre_a - y).abs().mean()
    if args.w_color > 0:
        loss = loss + args.w_color * color_angle_loss((fake_b + 1) / 2, (y + 1) / 2)
    if args.w_mse > 0:
        loss = loss + args.w_mse * (((fake_b - y) / 2) ** 2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    with torch.no_grad():
        d = min(args.ema, (1 + it) / (10 + it))
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.mul_(d).add_(pm, alpha=1 - d)
    return loss, parts


def lr_at(it: int, args) -> float:
    if it < args.warmup:
        return args.lr * (it + 1) / args.warmup
    t = (it - args.warmup) / max(1, args.iters - args.warmup)
    return args.lr_min + 0.5 * (args.lr - args.lr_min) * (1 + math.cos(math.pi * min(t, 1.0)))


@torch.no_grad()
def u8_output_and_target(model: Nerco, low: np.ndarray, high: np.ndarray) -> tuple:
    """The §8 uint8 output for a uint8 HxWx3 input, and the target, both as 1x3xHxW float 0..255."""
    fake_b, _, _ = model(torch.from_numpy(to_model_range(low))[None])
    return to_u8_reference(fake_b), torch.from_numpy(high.transpose(2, 0, 1).astype(np.float32))[None]


@torch.no_grad()
def validate(model: Nerco, vset) -> dict:
    model.eval()
    res = {"lol": [], "natural": []}
    for group, _name, lo, hi in vset:
        pred, ref = u8_output_and_target(model, lo, hi)
        res[group].append((psnr_u8(pred, ref), ssim_u8(pred, ref)))
    out = {}
    for g, vals in res.items():
        arr = np.array(vals)
        out[f"{g}_psnr"] = float(arr[:, 0].mean())
        out[f"{g}_ssim"] = float(arr[:, 1].mean())
    return out


def atomic_save(obj, path: str) -> None:
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


class Progress:
    def __init__(self, start: int, total: int):
        self.bar = tqdm(total=total, initial=start, dynamic_ncols=True, mininterval=5) if tqdm else None
        self.start, self.total, self.t0 = start, total, time.time()

    def update(self, it: int, msg: str) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(msg, refresh=False)
        elif it % 10 == 0 or it == self.total:
            done = it - self.start
            rate = (time.time() - self.t0) / max(done, 1)
            eta = rate * (self.total - it) / 60
            n = int(30 * it / self.total)
            print(f"[{'#' * n}{'.' * (30 - n)}] {it}/{self.total} {rate:.2f}s/it ETA {eta:.1f}min {msg}",
                  flush=True)

    def write(self, msg: str) -> None:
        (self.bar.write if self.bar is not None else print)(msg)
        sys.stdout.flush()


def main() -> int:
    args = parse_args()
    torch.set_num_threads(args.threads)
    run_dir = os.path.join(HERE, "runs", args.name)
    os.makedirs(run_dir, exist_ok=True)
    cfg = NercoConfig.from_dict(json.loads(args.model))
    last_path, best_path = os.path.join(run_dir, "last.pt"), os.path.join(run_dir, "best.pt")

    torch.manual_seed(args.seed)
    model = Nerco(cfg)
    ema = copy.deepcopy(model)
    args.fc1_lr_scale = fc1_lr_scale(vars(args))  # saved resolved, so --resume compares like with like
    opt = make_optimizer(model, args)
    start_it, best, elapsed0 = 0, -1.0, 0.0
    resumed = args.resume and os.path.exists(last_path)
    if resumed:
        ck = torch.load(last_path, map_location="cpu")
        if ck["config"] != cfg.to_dict():
            raise RuntimeError("config differs from the checkpoint's")
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        start_it, best, elapsed0 = ck["it"], ck["best"], ck["elapsed"]
        args_saved = ck["args"]
        fixed = ("seed", "batch", "crop", "p_real", "lr", "lr_min", "w_ssim", "w_edge", "w_pre", "w_color",
                 "w_mse", "fc1_lr_scale", "warmup", "ema", "init_from", "revive_mask")
        for k in fixed + (() if args.reschedule else ("iters",)):
            if args_saved.get(k, vars(args)[k]) != vars(args)[k]:
                raise RuntimeError(f"--{k.replace('_', '-')} differs from the checkpoint's ({args_saved[k]})")
        if args_saved["iters"] != args.iters:
            with open(os.path.join(run_dir, "history.txt"), "a") as f:
                f.write(f"at iteration {start_it}: --iters {args_saved['iters']} -> {args.iters}\n")
        print(f"resumed from iteration {start_it} (best LOL val PSNR {best:.3f})", flush=True)
    elif os.path.exists(last_path):
        raise RuntimeError(f"{last_path} exists: pass --resume or choose another --name")
    elif args.init_from:
        ck = torch.load(os.path.join(HERE, args.init_from), map_location="cpu")
        model.load_state_dict(ck["ema"])
        ema.load_state_dict(ck["ema"])
        print(f"fine-tuning from {args.init_from}{' (netH attention revived)' if args.revive_mask else ''}",
              flush=True)
    if args.revive_mask and not resumed:
        # From scratch the same start keeps fc1's unit alive from the first step (stage 1 of the
        # previous recipe lost it early: its mask was a constant 0.5).
        revive_mask(model)
        revive_mask(ema)
    with open(os.path.join(run_dir, "config.json"), "w") as f:
        json.dump({"model": cfg.to_dict(), "args": vars(args)}, f, indent=1)

    split = load_split()
    data = load_cached(os.path.join(HERE, "runs", "cache"))
    vset = validation_set(data, split)
    vset = [v for v in vset if v[0] == "lol"][: args.max_val_lol] + [v for v in vset if v[0] == "natural"][: args.max_val_natural]
    csv_path = os.path.join(run_dir, "val.csv")
    if not os.path.exists(csv_path):
        with open(csv_path, "w", newline="") as f:
            csv.writer(f).writerow(["iter", "elapsed_min", "lr", "train_loss", "lol_psnr", "lol_ssim",
                                    "natural_psnr", "natural_ssim"])

    t_start = time.time()
    prog = Progress(start_it, args.iters)
    run_loss, run_n = 0.0, 0
    for it in range(start_it, args.iters):
        model.train()
        lr = lr_at(it, args)
        for g in opt.param_groups:
            g["lr"] = lr * g["lr_scale"]
        x, y = (torch.from_numpy(a) for a in sample_batch(data, split, it, args.seed, args.batch, args.crop,
                                                           args.p_real))
        loss, parts = train_step(model, ema, opt, x, y, it, args)
        run_loss += loss.item()
        run_n += 1
        done = it + 1
        prog.update(done, f"loss {loss.item():.4f} l1 {parts['l1']:.4f} ssim {parts['ssim']:.3f} lr {lr:.2e}")

        is_val = done % args.val_every == 0 or done == args.iters
        elapsed = elapsed0 + time.time() - t_start
        if is_val:
            tv = time.time()
            m = validate(ema, vset)
            elapsed = elapsed0 + time.time() - t_start
            with open(csv_path, "a", newline="") as f:
                csv.writer(f).writerow([done, f"{elapsed / 60:.2f}", f"{lr:.3e}", f"{run_loss / max(run_n, 1):.5f}",
                                        f"{m['lol_psnr']:.4f}", f"{m['lol_ssim']:.5f}",
                                        f"{m['natural_psnr']:.4f}", f"{m['natural_ssim']:.5f}"])
            run_loss, run_n = 0.0, 0
            prog.write(f"val @ {done}: LOL {m['lol_psnr']:.3f} dB / {m['lol_ssim']:.4f}, natural "
                       f"{m['natural_psnr']:.3f} dB / {m['natural_ssim']:.4f} ({time.time() - tv:.0f}s)")
            if m["lol_psnr"] > best:
                best = m["lol_psnr"]
                atomic_save({"config": cfg.to_dict(), "ema": ema.state_dict(), "it": done, "metrics": m,
                             "args": vars(args)}, best_path)
        stopping = bool(args.stop_after) and done >= args.stop_after
        if is_val or done % args.ckpt_every == 0 or stopping:  # a stop between checkpoints must resume there
            atomic_save({"config": cfg.to_dict(), "model": model.state_dict(), "ema": ema.state_dict(),
                         "opt": opt.state_dict(), "it": done, "best": best, "elapsed": elapsed,
                         "args": vars(args)}, last_path)
        if stopping:
            prog.write(f"stopping after iteration {done} (--stop-after)")
            return 0
    prog.write(f"done: {args.iters} iterations, {(elapsed0 + time.time() - t_start) / 60:.1f} min, "
               f"best LOL val PSNR {best:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
