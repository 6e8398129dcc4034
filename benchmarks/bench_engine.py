"""The engine's own overheads: in-memory tensor batches vs a DataLoader, on MNIST-sized data."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from harness import Benchmark
from neurallab.engine.loop import FitConfig, _loader, epoch_order


def _batching():
    data = TensorDataset(torch.rand(50_000, 1, 28, 28), torch.randint(0, 10, (50_000,)))
    order = epoch_order(len(data), seed=0, epoch=0, shuffle=True)
    batches = [order[i : i + 64].tolist() for i in range(0, len(order), 64)]
    cfg = FitConfig()

    def dataloader_epoch():
        for _ in DataLoader(data, batch_sampler=batches):
            pass

    def engine_epoch():
        for _ in _loader(data, batches, None, cfg):
            pass

    return dataloader_epoch, engine_epoch


BENCHMARKS = [
    Benchmark(
        "one epoch of MNIST batches (64)",
        "DataLoader",
        "engine tensor slicing",
        _batching,
        repeats=3,
    ),
]
