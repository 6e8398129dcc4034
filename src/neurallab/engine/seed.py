"""Seeding and RNG state, so a CPU run is bit-for-bit repeatable and resumable.

One seed per run, used in one way:

* A command seeds once, from `--seed`, with `seed_everything(seed)` just before it builds its
  model: the global Python, NumPy and torch generators then produce the model's initial weights
  and, continuing from there, whatever training draws (dropout masks, augmentation). `fit` does
  not seed again; `--resume` restores the generators' states from the checkpoint instead.
* The batch order of each epoch comes from its own generator, `epoch_generator(seed, epoch)`,
  so that it is a function of (seed, epoch) alone: a resumed run, and every process under
  torchrun, sees the same batches without replaying the global stream. Both the engine's
  seeded permutation and a task's own batch order (e.g. length buckets) draw from it.

The other uses of the seed are named where they happen: toy replays the notebook's draws of
initialisation k from `seed + k` on a forked generator (the run's stream is left alone);
timeseries draws its validation split with `numpy.random.default_rng(seed)`; parity's
`--test_samples` draws from a generator seeded with the seed; `generate`, a command of its
own, seeds once from its `--seed` before sampling.
"""

from __future__ import annotations

import random

import numpy as np
import torch

# Spreads (seed, epoch) pairs apart: seeds s and s + 1 never share an epoch's generator seed
# for runs shorter than a million epochs.
_EPOCH_STRIDE = 1_000_003


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device): once per run."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator of one epoch's batch order: seeded by (seed, epoch) only."""
    return torch.Generator().manual_seed(seed * _EPOCH_STRIDE + epoch)


def rng_state() -> dict:
    """All RNG states, as plain types and tensors so `weights_only=True` can load them.

    Long integer sequences are stored as tensors: one object to pickle instead of 625.
    """
    np_state = np.random.get_state(legacy=False)
    np_state["state"]["key"] = torch.from_numpy(np_state["state"]["key"].astype(np.int64))
    version, internal, gauss = random.getstate()
    python = (version, torch.tensor(internal, dtype=torch.int64), gauss)
    state = {"python": python, "numpy": np_state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    if isinstance(internal, torch.Tensor):
        internal = internal.tolist()
    random.setstate((version, tuple(internal), gauss))
    np_state = dict(state["numpy"])
    np_state["state"] = dict(np_state["state"])
    np_state["state"]["key"] = np_state["state"]["key"].numpy().astype(np.uint32)
    np.random.set_state(np_state)
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
