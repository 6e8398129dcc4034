"""HW4's synthetic data: a fixed deterministic map from 3-d inputs to two binary outputs."""

from __future__ import annotations

import torch


def generate_data(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exactly the handout's `generate_data(N)`: X ~ N(0, I_3) and Y in {0, 1}^2.

    Y[:, 0] = |(x0 + x1) if x2 > 0 else (x0 - x1)| > 1.33 and Y[:, 1] = ||x|| > 1.33.
    """
    X = torch.randn(n, 3)
    Y = (
        torch.stack(
            [
                (X[:, 0] + X[:, 1]) * (X[:, 2] > 0) + (X[:, 0] - X[:, 1]) * (X[:, 2] < 0),
                X.norm(dim=1),
            ]
        )
        .t()
        .abs()
        > 1.33
    ).float()
    return X, Y
