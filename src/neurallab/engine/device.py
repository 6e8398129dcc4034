"""Device choice (`--device auto|cpu|cuda|mps`) and mixed precision (`--precision`)."""

from __future__ import annotations

import contextlib
import os

import torch

from neurallab.errors import UserError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("fp32", "bf16")


def resolve_device(name: str = "auto") -> torch.device:
    """`auto` picks cuda, then mps, then cpu; an explicit device must be available.

    Under torchrun each process has its own GPU: `auto` and `cuda` mean `cuda:LOCAL_RANK`
    (an explicit `cuda:N` is taken as given).
    """
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name not in DEVICES and not name.startswith("cuda:"):
        raise UserError(f"--device: unknown device {name!r}; choose from {', '.join(DEVICES)}")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"--device {name}: no CUDA device is available on this machine")
        device = torch.device(name) if ":" in name else torch.device("cuda", local_rank)
        if device.index >= torch.cuda.device_count():
            raise UserError(
                f"--device {name}: this process needs GPU {device.index}, but only "
                f"{torch.cuda.device_count()} are visible"
            )
        return device
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserError("--device mps: MPS is not available on this machine")
    return torch.device(name)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 autocast for `--precision bf16`; a no-op for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    raise UserError(f"--precision: unknown precision {precision!r}; choose fp32 or bf16")


def move_to(batch, device: torch.device):
    """Move a batch (tensor, or tuple/list/dict of them) to `device`; other values pass through."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, tuple | list):
        return type(batch)(move_to(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: move_to(v, device) for k, v in batch.items()}
    return batch


@contextlib.contextmanager
def single_thread():
    """Run a tiny model on one intra-op thread, then restore the previous setting.

    For matrices of a few dozen rows the hand-off between threads costs more than the
    arithmetic; the setting is restored because reproduce runs tasks in one process.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
