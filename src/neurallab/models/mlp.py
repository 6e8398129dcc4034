"""HW3 Problem 1: the MNIST classifier, exactly the handout's nn.Sequential."""

from __future__ import annotations

from torch import nn


def mnist_mlp(hidden: int = 64) -> nn.Sequential:
    """Flatten -> Linear(784, 64) -> ReLU -> Linear(64, 10): logits for CrossEntropyLoss.

    No Softmax at the end: `nn.CrossEntropyLoss` applies log-softmax itself (handout P1 C).
    """
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))
