"""NeRCo-layout networks (Pre, netH, G_A) written from NERCO.md, parameterised by width/depth.

Module trees are laid out so that `state_dict()` keys are exactly the official checkpoint keys
(NERCO.md §2.3/§2.5): the Sequential indices are part of the key names, so the layer lists below
keep every parameter-free layer (pads, norms, activations) in its original slot.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict, field
from typing import List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class NercoConfig:
    pre_ngf: int = 16
    pre_blocks: int = 3
    mlp_hidden: List[int] = field(default_factory=lambda: [48, 48])
    h_ngf: int = 16
    ga_ngf: int = 24
    ga_blocks: int = 4

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "NercoConfig":
        return NercoConfig(**d)


def _instance_norm() -> nn.Module:
    # affine=False, track_running_stats=False, eps=1e-5 (§7.5): no parameters, no buffers.
    return nn.InstanceNorm2d(1, affine=False, track_running_stats=False, eps=1e-5)


class ResnetBlock(nn.Module):
    """§6.2: RP1-conv-IN-ReLU-RP1-conv-IN, plus identity. Indices 0..6 match `conv_block.{1,5}`."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3, bias=True), _instance_norm(), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3, bias=True), _instance_norm(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


def _resnet_trunk(in_ch: int, ngf: int, n_blocks: int) -> List[nn.Module]:
    """Layers 0 .. 15+B of the ResnetGenerator (§4.1), ending after the last IN+ReLU."""
    layers: List[nn.Module] = [
        nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7, bias=True), _instance_norm(), nn.ReLU(True),
        nn.Conv2d(ngf, 2 * ngf, 3, stride=2, padding=1, bias=True), _instance_norm(), nn.ReLU(True),
        nn.Conv2d(2 * ngf, 4 * ngf, 3, stride=2, padding=1, bias=True), _instance_norm(), nn.ReLU(True),
    ]
    layers += [ResnetBlock(4 * ngf) for _ in range(n_blocks)]
    layers += [
        nn.ConvTranspose2d(4 * ngf, 2 * ngf, 3, stride=2, padding=1, output_padding=1, bias=True),
        _instance_norm(), nn.ReLU(True),
        nn.ConvTranspose2d(2 * ngf, ngf, 3, stride=2, padding=1, output_padding=1, bias=True),
        _instance_norm(), nn.ReLU(True),
    ]
    return layers


def rel_cell(n: int) -> float:
    """rc_n = f32(f32(2/n) * n) (§4.3): exactly 2.0 for most n, 2 - 2^-23 for some."""
    return float(np.float32(np.float32(2.0 / n) * np.float32(n)))


class _Imnet(nn.Module):
    def __init__(self, in_dim: int, hidden: List[int], out_dim: int = 3):
        super().__init__()
        mods: List[nn.Module] = []
        last = in_dim
        for h in hidden:
            mods += [nn.Linear(last, h), nn.ReLU(True)]
            last = h
        mods.append(nn.Linear(last, out_dim))
        self.layers = nn.Sequential(*mods)


class _NRN(nn.Module):
    """The NRN in its exact fast form (§4.3): 3x3 conv (from layers.0's 576 feature columns, bias
    folded with columns 610/611 times rc_h/rc_w) then a per-pixel MLP.

    layers.0.weight keeps the checkpoint layout [hidden, ngf*9 + 36]. Columns ngf*9 .. ngf*9+33
    multiply the relative coordinate, which is identically 0 at inference, so they never receive a
    gradient; they are zero-initialised so that the shipped file is honest about that.
    """

    def __init__(self, ngf: int, hidden: List[int]):
        super().__init__()
        self.ngf = ngf
        self.imnet = _Imnet(ngf * 9 + 36, hidden)
        with torch.no_grad():
            self.imnet.layers[0].weight[:, ngf * 9: ngf * 9 + 34].zero_()

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        h, w = feat.shape[-2:]
        lin0 = self.imnet.layers[0]
        nfeat = self.ngf * 9
        w0 = lin0.weight
        wc = w0[:, :nfeat].reshape(w0.shape[0], self.ngf, 3, 3)
        bc = lin0.bias + w0[:, nfeat + 34] * rel_cell(h) + w0[:, nfeat + 35] * rel_cell(w)
        x = F.relu(F.conv2d(feat, wc, bc, padding=1))
        lins = [m for m in self.imnet.layers if isinstance(m, nn.Linear)]
        for i, lin in enumerate(lins[1:]):
            x = F.conv2d(x, lin.weight[:, :, None, None], lin.bias)
            if i < len(lins) - 2:
                x = F.relu(x)
        return x


class PreNet(nn.Module):
    """Pre = NRN(trunk(x)); `mlp` is registered before `model` as in the checkpoint order."""

    def __init__(self, ngf: int, n_blocks: int, hidden: List[int]):
        super().__init__()
        self.mlp = _NRN(ngf, hidden)
        self.model = nn.Sequential(*_resnet_trunk(3, ngf, n_blocks))

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.model(x))


class GeneratorA(nn.Module):
    def __init__(self, ngf: int, n_blocks: int):
        super().__init__()
        layers = _resnet_trunk(6, ngf, n_blocks)
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7, bias=True), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class MaskNet(nn.Module):
    """netH (§5): features, channel attention without sigmoid, spatial attention -> sigmoid mask."""

    def __init__(self, ngf: int):
        super().__init__()
        if ngf % 16 != 0:
            raise ValueError(f"netH ngf must be a multiple of 16, got {ngf}")
        self.output = nn.Conv2d(ngf, 3, 7, bias=True)
        self.model = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=True), _instance_norm(), nn.ReLU(True),
            ResnetBlock(ngf), ResnetBlock(ngf), ResnetBlock(ngf),
            nn.ReflectionPad2d(3),
        )
        self.fc1 = nn.Conv2d(2 * ngf, ngf // 16, 1, bias=False)
        self.fc2 = nn.Conv2d(ngf // 16, 2 * ngf, 1, bias=False)
        self.conv1 = nn.Conv2d(2, 1, 7, bias=False)
        self.conv_ca = nn.Conv2d(2 * ngf, ngf, 1, bias=False)

    def forward(self, x: torch.Tensor, with_image: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
        f = self.model(x)
        v = torch.cat([f.mean(dim=(2, 3), keepdim=True), f.amax(dim=(2, 3), keepdim=True)], dim=1)
        ca = self.conv_ca(self.fc2(F.relu(self.fc1(v))))
        o = ca * f
        s = torch.cat([o.mean(dim=1, keepdim=True), o.amax(dim=1, keepdim=True)], dim=1)
        mask = torch.sigmoid(self.conv1(s))
        img = torch.tanh(self.output(f)) if with_image else None
        return img, mask


class Nerco(nn.Module):
    def __init__(self, cfg: NercoConfig):
        super().__init__()
        self.cfg = cfg
        self.Pre = PreNet(cfg.pre_ngf, cfg.pre_blocks, list(cfg.mlp_hidden))
        self.H = MaskNet(cfg.h_ngf)
        self.G_A = GeneratorA(cfg.ga_ngf, cfg.ga_blocks)

    def forward(self, real_a: torch.Tensor, with_intermediates: bool = False):
        trunk = self.Pre.trunk(real_a)
        pre_a = self.Pre.mlp(trunk)
        h_img, mask = self.H(real_a, with_image=with_intermediates)
        fake_b = self.G_A(torch.cat([real_a, pre_a], dim=1) * mask)
        if with_intermediates:
            return {"pre_trunk": trunk, "pre_A": pre_a, "H": h_img, "mask": mask, "fake_B": fake_b}
        return fake_b, pre_a, mask


def config_from_state_dicts(pre: dict, h: dict, ga: dict) -> NercoConfig:
    """Infer widths/depths from shapes and key indices (§2.5)."""
    def n_blocks(sd: dict) -> int:
        return len({k.split(".")[1] for k in sd if ".conv_block." in k})
    hidden_keys = sorted({int(k.split(".")[3]) for k in pre if k.startswith("mlp.imnet.layers.")})
    hidden = [int(pre[f"mlp.imnet.layers.{i}.weight"].shape[0]) for i in hidden_keys[:-1]]
    return NercoConfig(
        pre_ngf=int(pre["model.1.weight"].shape[0]), pre_blocks=n_blocks(pre), mlp_hidden=hidden,
        h_ngf=int(h["model.1.weight"].shape[0]),
        ga_ngf=int(ga["model.1.weight"].shape[0]), ga_blocks=n_blocks(ga),
    )
