"""MACs per output pixel of a NeRCo-layout model, counted exactly as NERCO.md §9 counts them.

Conventions (§9): MACs per output pixel (H·W); stride-2 convs at their output resolution;
ConvTranspose counted nominally as Cin·Cout·9·Hin·Win; the NRN in its fast form (3x3 conv from the
ngf·9 feature columns, then the per-pixel MLP); netH without the optional image head `output`;
netH's per-image channel attention (fc1, fc2, conv_ca) listed apart, not per pixel.

Usage:
  /usr/bin/python3 weights-tools/train/flops.py                 # the default config (model.py)
  /usr/bin/python3 weights-tools/train/flops.py --config runs/<name>/config.json
  /usr/bin/python3 weights-tools/train/flops.py --full          # full NeRCo (must print 2,022,178)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import NercoConfig  # noqa: E402

FULL_NERCO = NercoConfig(pre_ngf=64, pre_blocks=9, mlp_hidden=[256, 256, 256], h_ngf=64, ga_ngf=64,
                         ga_blocks=9)


def trunk_macs(in_ch: int, ngf: int, blocks: int) -> List[Tuple[str, float]]:
    """Per-pixel MACs of the ResnetGenerator trunk (stem .. second ConvTranspose)."""
    q, s = 1 / 4, 1 / 16  # pixel fraction at 1/2 and 1/4 resolution
    return [
        ("stem 7x7", in_ch * ngf * 49),
        ("down 1", 2 * ngf * ngf * 9 * q),
        ("down 2", 4 * ngf * 2 * ngf * 9 * s),
        (f"{2 * blocks} res convs", 2 * blocks * (4 * ngf) ** 2 * 9 * s),
        ("ConvT 1", 4 * ngf * 2 * ngf * 9 * s),
        ("ConvT 2", 2 * ngf * ngf * 9 * q),
    ]


def model_macs(cfg: NercoConfig) -> Dict[str, List[Tuple[str, float]]]:
    widths = [cfg.pre_ngf * 9] + list(cfg.mlp_hidden) + [3]
    nrn = [(f"NRN {a}->{b}" + (" (3x3 conv)" if i == 0 else ""), a * b)
           for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))]
    n = cfg.h_ngf
    return {
        "Pre": trunk_macs(3, cfg.pre_ngf, cfg.pre_blocks) + nrn,
        "G_A": trunk_macs(6, cfg.ga_ngf, cfg.ga_blocks) + [("head 7x7", cfg.ga_ngf * 3 * 49)],
        "netH": [("stem 7x7", 3 * n * 49), ("6 res convs (full res)", 6 * n * n * 9),
                 ("spatial attention conv1", 2 * 49)],
    }


def per_image_macs(cfg: NercoConfig) -> int:
    n = cfg.h_ngf
    return 2 * n * (n // 16) * 2 + 2 * n * n  # fc1 + fc2 + conv_ca


def param_count(cfg: NercoConfig) -> int:
    import torch  # noqa: F401  (only to build the model)
    from model import Nerco
    return sum(p.numel() for p in Nerco(cfg).parameters())


def report(cfg: NercoConfig, params: bool = True) -> float:
    parts = model_macs(cfg)
    total = 0.0
    print(f"config: {json.dumps(cfg.to_dict())}")
    for net, rows in parts.items():
        sub = sum(v for _, v in rows)
        total += sub
        print(f"  {net}: {sub:,.0f} MAC/px")
        for name, v in rows:
            print(f"    {name:28s} {v:>12,.0f}")
    full = sum(v for rows in model_macs(FULL_NERCO).values() for _, v in rows)
    print(f"  netH per image (fc1, fc2, conv_ca): {per_image_macs(cfg):,} MAC")
    print(f"total: {total:,.0f} MAC/px = {2 * total / 1e6:.4f} TFLOP per megapixel "
          f"({total / full:.4f} of full NeRCo's {full:,.0f} MAC/px)")
    print(f"at 600x400: {total * 240000 / 1e9:.2f} GMAC")
    if params:
        print(f"parameters: {param_count(cfg):,}")
    return total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", help="JSON file with a NercoConfig (e.g. runs/<name>/config.json)")
    ap.add_argument("--full", action="store_true", help="count full NeRCo (sanity check vs §9)")
    ap.add_argument("--limit", type=float, default=200_000, help="MAC/px budget to check against")
    args = ap.parse_args()
    if args.full:
        cfg = FULL_NERCO
    elif args.config:
        with open(args.config) as f:
            d = json.load(f)
        cfg = NercoConfig.from_dict(d.get("model", d))
    else:
        cfg = NercoConfig()
    total = report(cfg)
    if not args.full:
        ok = total <= args.limit
        print(f"budget {args.limit:,.0f} MAC/px: {'within' if ok else 'OVER'}")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
