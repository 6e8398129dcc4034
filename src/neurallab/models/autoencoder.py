"""HW3 Problem 2: an MLP autoencoder for 28x28 digits with a small bottleneck."""

from __future__ import annotations

import torch
from torch import nn


class Autoencoder(nn.Module):
    """784 -> 256 -> 64 -> bottleneck -> 64 -> 256 -> 784, sigmoid output in (0, 1).

    With a 2-unit bottleneck the code is a point in the plane, so the latent space can be
    drawn directly (the handout's "map the image onto just a few numbers").
    """

    def __init__(self, bottleneck: int = 2, widths: tuple[int, ...] = (256, 64)) -> None:
        super().__init__()
        sizes = [784, *widths, bottleneck]
        self.encoder = _mlp(sizes)
        self.decoder = nn.Sequential(_mlp(sizes[::-1]), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened images (B, 784) -> reconstructions (B, 784)."""
        return self.decoder(self.encode(x))


def _mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)
