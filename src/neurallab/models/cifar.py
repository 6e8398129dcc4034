"""The CIFAR-3 CNN of the CNN/RNN handout (Q1), with Q2's optional BatchNorm after fc1."""

from __future__ import annotations

import torch
from torch import nn


class Net(nn.Module):
    """conv(32) relu conv(32) pool relu conv(64) relu conv(64) relu pool fc1(512) [bn] relu fc2(3).

    All convolutions are 3x3 with padding 1. 2,164,771 parameters; 2,165,795 with batchnorm.
    """

    def __init__(self, batchnorm: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.pool1 = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv4 = nn.Conv2d(64, 64, 3, padding=1)
        self.pool2 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64 * 8 * 8, 512)
        self.bn = nn.BatchNorm1d(512) if batchnorm else nn.Identity()
        self.fc2 = nn.Linear(512, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.pool1(self.conv2(torch.relu(self.conv1(x)))))
        out = self.pool2(torch.relu(self.conv4(torch.relu(self.conv3(out)))))
        out = out.view(-1, self.num_flat_features(out))
        return self.fc2(torch.relu(self.bn(self.fc1(out))))

    @staticmethod
    def num_flat_features(x: torch.Tensor) -> int:
        """Product of all dimensions but the batch dimension."""
        n = 1
        for d in x.shape[1:]:
            n *= d
        return n
