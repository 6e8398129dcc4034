"""HW4 Exercise 4: the 3-4-2 toy network with nn modules."""

from __future__ import annotations

from torch import nn


class ToyModel(nn.Module):
    """x (B, 3) -> Linear(3, 4) -> ReLU -> Linear(4, 2) -> Sigmoid -> y_hat (B, 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)
