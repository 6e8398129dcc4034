"""Running the same loop under `torchrun`: DistributedDataParallel with gloo (CPU) or nccl.

The task code does not change. `--batch_size` is the global batch: each of the N processes
takes every N-th example of each global batch, DDP averages the gradients, and so a run on N
processes follows the same trajectory as a single process with the same batch size (exactly
when N divides the batch size). The batch order of each epoch is a function of (seed, epoch),
which is what `DistributedSampler.set_epoch` provides, shared by all ranks. Only rank 0
writes files, checkpoints and tracker data; logged training losses are averaged over ranks.

The process group follows the device the run trains on: gloo for CPU, and for CUDA a group
with both backends ("cpu:gloo,cuda:nccl"), so that a CPU tensor can never reach NCCL (which
rejects it). Reductions are made on tensors on the process's own device all the same.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as torch_dist
from torch import nn


def backend_for(device: torch.device) -> str:
    """The process-group backend for training on `device`."""
    if device.type == "cuda":
        return "cpu:gloo,cuda:nccl"
    return "gloo"


@dataclass
class DistributedContext:
    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @classmethod
    def from_env(cls, device: torch.device | None = None) -> DistributedContext:
        """Join the process group torchrun describes in the environment, if any.

        `device` is where this process trains (for CUDA, `resolve_device` has already picked
        `cuda:LOCAL_RANK`); the reductions' tensors live there.
        """
        device = torch.device(device) if device is not None else torch.device("cpu")
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world == 1:
            return cls(device=device)
        if device.type == "cuda":
            # NCCL binds each process to the GPU that is current when the group is made.
            torch.cuda.set_device(device)
        if not torch_dist.is_initialized():
            torch_dist.init_process_group(backend_for(device))
        return cls(rank=torch_dist.get_rank(), world=torch_dist.get_world_size(), device=device)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        where = model_device(model)
        device_ids = [where.index] if where.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def shard(self, global_batches: list) -> list:
        """This rank's part of each global batch (lists or index tensors)."""
        if self.world == 1:
            return global_batches
        return [batch[self.rank :: self.world] for batch in global_batches]

    def tensor(self, values: list[float]) -> torch.Tensor:
        """A float64 tensor of `values` on this process's device, ready for a collective."""
        return torch.tensor(values, dtype=torch.float64, device=self.device)

    def mean_tensor(self, tensor: torch.Tensor) -> torch.Tensor:
        """The element-wise mean of `tensor` over all ranks (one collective for all values)."""
        if self.world == 1:
            return tensor
        tensor = tensor.to(self.device, dtype=torch.float64, copy=True)
        torch_dist.all_reduce(tensor)
        return tensor / self.world

    def mean(self, value: float) -> float:
        """The mean of a Python float over all ranks."""
        if self.world == 1:
            return value
        return float(self.mean_tensor(self.tensor([value]))[0])


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device
