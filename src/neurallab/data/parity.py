"""The parity task of the CNN/RNN handout: every binary string up to a length, label = sum % 2."""

from __future__ import annotations

import itertools

import torch
from torch.utils.data import Dataset

from neurallab.errors import UserError


class Parity(Dataset):
    """The course's dataset. train: every string of length 1..max_length; otherwise (val):
    every string of exactly max_length. Items are (bits as a 1-D float tensor, parity)."""

    def __init__(self, split: str = "train", max_length: int = 4) -> None:
        if max_length < 1:
            raise UserError(f"max_length must be at least 1, got {max_length}")
        lengths = range(1, max_length + 1) if split == "train" else [max_length]
        self.data = [
            torch.FloatTensor(bits) for n in lengths for bits in itertools.product([0, 1], repeat=n)
        ]

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, idx: int):
        x = self.data[idx]
        return x, x.sum() % 2


def all_strings(length: int) -> torch.Tensor:
    """Every binary string of `length` as rows of a (2**length, length) float tensor."""
    codes = torch.arange(2**length).unsqueeze(1)
    return ((codes >> torch.arange(length - 1, -1, -1)) & 1).float()


def pad_collate(batch):
    """The course's collate: (x_pad (B, T_max) zero-padded, y LongTensor (B,), lengths list)."""
    xs, ys = zip(*batch, strict=True)
    for x in xs:
        if x.numel() == 0:
            raise UserError("a parity string has length 0: every string needs at least one bit")
        if not torch.all((x == 0) | (x == 1)):
            raise UserError(f"parity strings hold only 0 and 1, got {sorted(set(x.tolist()))}")
    lengths = [len(x) for x in xs]
    x_pad = torch.nn.utils.rnn.pad_sequence(list(xs), batch_first=True)
    return x_pad, torch.stack([torch.as_tensor(y) for y in ys]).long(), lengths
