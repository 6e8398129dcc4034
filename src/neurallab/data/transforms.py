"""Image transforms on tensors, without torchvision (its compiled ops do not load here).

Images are uint8 or float tensors shaped (C, H, W) or (N, C, H, W). Each transform is checked
against Pillow or a hand computation in tests/test_images.py. `to_uint8_image` is the one
conversion to a displayable uint8 array, used by the trackers, the plots and compat.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as PIL's convert("L")


def _batched(img: torch.Tensor) -> tuple[torch.Tensor, bool]:
    return (img, False) if img.dim() == 4 else (img.unsqueeze(0), True)


def resize_shorter(img: torch.Tensor, size: int, truncate: bool = False) -> torch.Tensor:
    """Resize so the shorter side is `size`, keeping the aspect ratio; antialiased bilinear.

    The longer side is rounded to the nearest pixel; with `truncate` it is
    `int(size * long / short)` and an image whose shorter side is already `size` is returned
    as it is, as torchvision's `Resize(size)` does (the course's starters: 451x300 -> 384x256,
    where rounding gives 385x256).
    """
    x, single = _batched(img)
    h, w = x.shape[-2:]
    if truncate:
        if min(h, w) == size:
            return img
        short, long = min(h, w), max(h, w)
        long_new = int(size * long / short)
        new = (size, long_new) if h <= w else (long_new, size)
    else:
        scale = size / min(h, w)
        new = (max(size, round(h * scale)), max(size, round(w * scale)))
    out = F.interpolate(x.float(), size=new, mode="bilinear", antialias=True, align_corners=False)
    if img.dtype == torch.uint8:
        out = out.round().clamp(0, 255).to(torch.uint8)
    return out[0] if single else out


def center_crop(img: torch.Tensor, size: int, round_offsets: bool = False) -> torch.Tensor:
    """The centre size x size pixels. An odd margin leaves the extra pixel at the bottom/right;
    with `round_offsets` the offset is `int(round(margin / 2))` (Python rounds halves to even),
    as torchvision's `CenterCrop` computes it: a margin of 3 starts at 2, not 1."""
    h, w = img.shape[-2:]
    if round_offsets:
        top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    else:
        top, left = (h - size) // 2, (w - size) // 2
    return img[..., top : top + size, left : left + size]


def to_float(img: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float 0..1."""
    return img.float() / 255.0


def normalize(x: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """(x - mean) / std per channel; grayscale input uses the mean of the channel statistics."""
    channels = x.shape[-3]
    m, s = torch.tensor(mean), torch.tensor(std)
    if channels == 1:
        m, s = m.mean(0, keepdim=True), s.mean(0, keepdim=True)
    return (x - m.view(-1, 1, 1)) / s.view(-1, 1, 1)


def denormalize(x: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """Undo `normalize` for display: back to [0, 1]."""
    channels = x.shape[-3]
    m, s = torch.tensor(mean), torch.tensor(std)
    if channels == 1:
        m, s = m.mean(0, keepdim=True), s.mean(0, keepdim=True)
    return (x * s.view(-1, 1, 1) + m.view(-1, 1, 1)).clamp(0, 1)


def grayscale(img: torch.Tensor) -> torch.Tensor:
    """One luma channel L = 0.299 R + 0.587 G + 0.114 B."""
    weights = torch.tensor(LUMA).view(3, 1, 1)
    luma = (img.float() * weights).sum(dim=-3, keepdim=True)
    return luma.round().clamp(0, 255).to(torch.uint8) if img.dtype == torch.uint8 else luma


def hflip(img: torch.Tensor) -> torch.Tensor:
    return img.flip(-1)


def adjust_brightness(x: torch.Tensor, factor: float | torch.Tensor) -> torch.Tensor:
    """Blend with black: x * factor (PIL ImageEnhance.Brightness), x in [0, 1]."""
    return (x * factor).clamp(0, 1)


def adjust_contrast(x: torch.Tensor, factor: float | torch.Tensor) -> torch.Tensor:
    """Blend with the mean luma: mean + factor * (x - mean) (PIL ImageEnhance.Contrast)."""
    mean = grayscale(x).mean(dim=(-3, -2, -1), keepdim=True)
    return (mean + factor * (x - mean)).clamp(0, 1)


def adjust_saturation(x: torch.Tensor, factor: float | torch.Tensor) -> torch.Tensor:
    """Blend with the grayscale image (PIL ImageEnhance.Color)."""
    gray = grayscale(x)
    return (gray + factor * (x - gray)).clamp(0, 1)


def rotate(x: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Rotate each image of a batch (N, C, H, W) counter-clockwise about its centre; bilinear,
    zeros outside (the CIFAR handout's rotation augmentation)."""
    theta = degrees * math.pi / 180
    cos, sin = torch.cos(theta), torch.sin(theta)
    zeros = torch.zeros_like(cos)
    # The grid maps output pixels to input pixels: the inverse rotation.
    matrix = torch.stack(
        [torch.stack([cos, -sin, zeros], -1), torch.stack([sin, cos, zeros], -1)], 1
    )
    grid = F.affine_grid(matrix, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def cifar_augment(
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    jitter: float = 0.2,
    max_degrees: float = 30.0,
) -> torch.Tensor:
    """The CIFAR handout's augmentation on a float batch in [0, 1]: colour jitter (brightness,
    contrast, saturation by factors in [1 - jitter, 1 + jitter]), a random rotation of up to
    ±max_degrees, and a horizontal flip with probability 1/2.

    `jitter=0` skips the colour step entirely, as the course's no-argument `ColorJitter()`
    does (it leaves every pixel unchanged)."""
    n = x.shape[0]

    def factors() -> torch.Tensor:
        return (1 + jitter * (2 * torch.rand(n, generator=generator) - 1)).view(n, 1, 1, 1)

    if jitter > 0:
        x = adjust_brightness(x, factors())
        x = adjust_contrast(x, factors())
        x = adjust_saturation(x, factors())
    x = rotate(x, max_degrees * (2 * torch.rand(n, generator=generator) - 1))
    flip = torch.rand(n, generator=generator) < 0.5
    return torch.where(flip.view(n, 1, 1, 1), x.flip(-1), x)


def to_uint8_image(image: Any) -> np.ndarray:
    """An HWC (or HW for one channel) uint8 array from a CHW/HWC/HW tensor or array.

    Float images are taken to be in [0, 1] and are clipped and scaled to 0..255.
    """
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = array.transpose(1, 2, 0)  # CHW -> HWC
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3):
        raise ValueError(f"expected an image with 2 or 3 dimensions, got shape {array.shape}")
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float64), 0.0, 1.0) * 255.0).round().astype(np.uint8)
    return np.ascontiguousarray(array)
