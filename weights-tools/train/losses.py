"""Losses and metrics, on images in [0, 1]."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _gauss_window(size: int = 11, sigma: float = 1.5, device=None) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim_map(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """SSIM (Wang et al. 2004) per channel with an 11x11 Gaussian window (sigma 1.5), valid region."""
    c = a.shape[1]
    w = _gauss_window(device=a.device).expand(c, 1, 11, 11).contiguous()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = F.conv2d(a, w, groups=c), F.conv2d(b, w, groups=c)
    saa = F.conv2d(a * a, w, groups=c) - mu_a ** 2
    sbb = F.conv2d(b * b, w, groups=c) - mu_b ** 2
    sab = F.conv2d(a * b, w, groups=c) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))


def sobel(x: torch.Tensor) -> torch.Tensor:
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device)
    k = torch.stack([kx, kx.t()])[:, None]  # [2,1,3,3]
    c = x.shape[1]
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k.repeat(c, 1, 1, 1), groups=c)


def enhancement_loss(pred: torch.Tensor, target: torch.Tensor, w_ssim: float, w_edge: float):
    l1 = (pred - target).abs().mean()
    ss = 1.0 - ssim_map(pred, target).mean()
    edge = (sobel(pred) - sobel(target)).abs().mean()
    return l1 + w_ssim * ss + w_edge * edge, {"l1": l1.item(), "ssim": 1 - ss.item(), "edge": edge.item()}


def color_angle_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 − cosine between per-pixel RGB vectors: penalises hue/saturation errors, not brightness."""
    return (1.0 - F.cosine_similarity(pred, target, dim=1, eps=1e-4)).mean()


def psnr_u8(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = ((a.double() - b.double()) ** 2).mean().item()
    return 10.0 * torch.log10(torch.tensor(255.0 ** 2 / max(mse, 1e-12))).item()


def ssim_u8(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean SSIM over RGB channels of two [1,3,H,W] uint8-valued tensors."""
    return ssim_map(a.float() / 255.0, b.float() / 255.0).mean().item()


def to_u8_reference(fake_b: torch.Tensor) -> torch.Tensor:
    """§8 post-processing: trunc(f32(f32(a + 1) / 2) * 255) as float values 0..255."""
    return torch.trunc(((fake_b + 1) / 2) * 255).clamp(0, 255)
