"""Train/validation/test splits with a fixed seed, shared by every dataset builder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

Item = TypeVar("Item")


def stratified_split(labels: Sequence[int], fractions=(0.7, 0.15), seed: int = 0) -> list[str]:
    """Assign each example to train/val/test, per class, with a fixed seed."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    assignment = np.empty(len(labels), dtype=object)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_train = round(fractions[0] * len(idx))
        n_val = round(fractions[1] * len(idx))
        assignment[idx[:n_train]] = "train"
        assignment[idx[n_train : n_train + n_val]] = "val"
        assignment[idx[n_train + n_val :]] = "test"
    return assignment.tolist()


def shuffled(items: Sequence[Item], seed: int = 0) -> list[Item]:
    """`items` in a fixed random order.

    Builders read their sources folder by folder, i.e. class by class. Written in that order,
    a split's file would list one class after another, and anything that reads it in order
    (the handout's "first batch" grids, an unshuffled evaluation) would see a single class.
    """
    order = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in order]
