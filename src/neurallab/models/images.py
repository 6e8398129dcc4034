"""HW0 §3 image classifiers: the starter's MLP and the Q3.6 convolutional model."""

from __future__ import annotations

import torch
from torch import nn


class NeuralNetwork(nn.Module):
    """flatten -> Linear(C*S*S, 512) -> ReLU -> Linear(512, 512) -> ReLU -> Linear(512, classes).

    At the course's 3 x 256 x 256 input this has 100,928,003 parameters, 99.8% of them in the
    first layer.
    """

    def __init__(self, channels: int = 3, size: int = 256, classes: int = 3) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(channels * size * size, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_relu_stack(self.flatten(x))


class CNN(nn.Module):
    """Q3.6's "new model" (3,365,507 parameters at 3 x 256 x 256):

    Conv(k4, s4) patchify -> LayerNorm -> Conv(k7, pad 3) -> LayerNorm -> Conv(k1) -> GELU
    -> Conv(k1) -> AvgPool(2) -> flatten -> Linear. LayerNorm and the final Linear depend on the
    input size, so `size` sets them (S/4 after the stem, S/8 after pooling).
    """

    def __init__(self, channels: int = 3, size: int = 256, classes: int = 3) -> None:
        super().__init__()
        if size % 8:
            raise ValueError(f"image size must be a multiple of 8, got {size}")
        s = size // 4
        self.layers = nn.Sequential(
            nn.Conv2d(channels, 128, kernel_size=4, stride=4),
            nn.LayerNorm([128, s, s]),
            nn.Conv2d(128, 128, kernel_size=7, padding=3),
            nn.LayerNorm([128, s, s]),
            nn.Conv2d(128, 256, kernel_size=1),
            nn.GELU(),
            nn.Conv2d(256, 128, kernel_size=1),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(128 * (s // 2) ** 2, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
