"""HW4 Exercise 4: the 3-4-2 toy network with nn modules, and many of them trained at once."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class ToyModel(nn.Module):
    """x (B, 3) -> Linear(3, 4) -> ReLU -> Linear(4, 2) -> Sigmoid -> y_hat (B, 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ToyEnsemble(nn.Module):
    """N independent ToyModels run as one batched network: one member per initialisation.

    The members' weights are stacked along a first axis of size N. Member k's output depends
    on its own slice only, so the gradient of the *summed* member losses gives each member
    exactly the gradient it would get alone, and an elementwise optimizer (SGD, momentum,
    Adam) then steps each member as if it trained alone (up to float rounding: a batched
    matmul may round differently from a single one). N initialisations cost about what one
    costs, where N separate loops would cost N times as much.
    """

    def __init__(self, members: Sequence[ToyModel] | int) -> None:
        """Stack `members`; an int N makes N zero members to load a state dict into."""
        super().__init__()
        if isinstance(members, int):  # no ToyModel built: the caller's random stream is left
            members = [_zeros() for _ in range(members)]
        first = [m.net[0] for m in members]
        second = [m.net[2] for m in members]
        self.w1 = nn.Parameter(torch.stack([lin.weight.detach() for lin in first]))  # (N, 4, 3)
        self.b1 = nn.Parameter(torch.stack([lin.bias.detach() for lin in first])[:, None])
        self.w2 = nn.Parameter(torch.stack([lin.weight.detach() for lin in second]))  # (N, 2, 4)
        self.b2 = nn.Parameter(torch.stack([lin.bias.detach() for lin in second])[:, None])

    def __len__(self) -> int:
        return len(self.w1)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden layer relu(x W1^T + b1) of every member: x (B, 3) -> (N, B, 4)."""
        xs = x.expand(len(self), *x.shape)
        return torch.relu(torch.baddbmm(self.b1, xs, self.w1.transpose(1, 2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3), shared by all members -> y_hat (N, B, 2)."""
        return torch.sigmoid(torch.baddbmm(self.b2, self.hidden(x), self.w2.transpose(1, 2)))

    def member(self, k: int) -> ToyModel:
        """Member k as a stand-alone ToyModel (a copy of its current weights)."""
        model = ToyModel()
        with torch.no_grad():
            model.net[0].weight.copy_(self.w1[k])
            model.net[0].bias.copy_(self.b1[k, 0])
            model.net[2].weight.copy_(self.w2[k])
            model.net[2].bias.copy_(self.b2[k, 0])
        return model


def _zeros() -> ToyModel:
    with torch.random.fork_rng(devices=[]):
        model = ToyModel()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


def member_mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each member's mse_loss(y_hat, y) (reduction='mean'): (N, B, 2), (B, 2) -> (N,)."""
    return ((y_hat - y) ** 2).mean(dim=(1, 2))
