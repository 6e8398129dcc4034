"""Running the same loop under `torchrun`: DistributedDataParallel with gloo (CPU) or nccl.

The task code does not change. `--batch_size` is the global batch: each of the N processes
takes every N-th example of each global batch, DDP averages the gradients, and so a run on N
processes follows the same trajectory as a single process with the same batch size (exactly
when N divides the batch size). The batch order of each epoch is a function of (seed, epoch),
which is what `DistributedSampler.set_epoch` provides, shared by all ranks. Only rank 0
writes files, checkpoints and tracker data; logged training losses are averaged over ranks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as torch_dist
from torch import nn


@dataclass
class DistributedContext:
    rank: int = 0
    world: int = 1

    @classmethod
    def from_env(cls) -> DistributedContext:
        """Join the process group torchrun describes in the environment, if any."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls()
        if not torch_dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            torch_dist.init_process_group(backend)
        return cls(rank=torch_dist.get_rank(), world=torch_dist.get_world_size())

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [model_device(model).index] if model_device(model).type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def shard(self, global_batches: list[list[int]]) -> list[list[int]]:
        """This rank's part of each global batch."""
        if self.world == 1:
            return global_batches
        return [batch[self.rank :: self.world] for batch in global_batches]

    def mean(self, value: float) -> float:
        """The mean of a Python float over all ranks."""
        if self.world == 1:
            return value
        tensor = torch.tensor([value], dtype=torch.float64)
        torch_dist.all_reduce(tensor)
        return float(tensor.item()) / self.world


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device
