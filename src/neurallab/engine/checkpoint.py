"""Checkpoints: written atomically, loaded safely, with a fallback to the previous one.

A checkpoint is written to a temporary file in the same folder, flushed to disk and renamed
over the old one, so a crash mid-write leaves the old checkpoint intact. The previous `last.pt`
is kept as `last.prev.pt`; if `last.pt` is truncated or corrupt, loading falls back to it with
a warning. Everything is loaded with `weights_only=True`: a checkpoint that would run code on
load is refused.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from neurallab.atomic import previous_path, write_atomic
from neurallab.errors import UserError


class CheckpointError(UserError):
    """A checkpoint that cannot be loaded (missing, corrupt, or unsafe)."""


def save_atomic(state: dict[str, Any], path: Path, keep_previous: bool = False) -> None:
    """`torch.save(state)` to `path` atomically, keeping the replaced file with `keep_previous`."""
    write_atomic(path, lambda f: torch.save(state, f), keep_previous)


def load(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load one checkpoint with `weights_only=True`; raise CheckpointError naming the file."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    with path.open("rb") if path.is_file() else open(os.devnull, "rb") as f:
        magic = f.read(2)
    # torch.save writes a zip archive ("PK") or, in the legacy format, a pickle (0x80 = its
    # protocol byte); anything else is no checkpoint, whatever torch's unpickler then says.
    if path.is_file() and magic not in (b"PK", b"\x80\x02") and magic[:1] != b"\x80":
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (torch.save file)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsafe content"
        raise CheckpointError(
            f"{path}: refused to load: it is not a plain weights file ({first})"
        ) from None
    except KeyError:
        # torch's legacy unpickler reading a file that is no checkpoint at all (text, say)
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (torch.save file)") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint ({first})") from None


def load_latest(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load `path`, or its `.prev` copy if `path` is missing or corrupt."""
    path = Path(path)
    try:
        return load(path, map_location)
    except CheckpointError as exc:
        prev = previous_path(path)
        if not prev.exists():
            raise
        warnings.warn(f"{exc}; using the previous checkpoint {prev}", stacklevel=2)
        return load(prev, map_location)


def model_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state_dict of the underlying model (unwrapping DDP and torch.compile)."""
    inner = getattr(model, "module", model)
    inner = getattr(inner, "_orig_mod", inner)
    return inner.state_dict()


def load_model_weights(model: torch.nn.Module, path: Path) -> dict[str, Any]:
    """Load `best.pt`/`last.pt` weights into `model`; returns the checkpoint dict."""
    state = load(path)
    weights = state.get("model", state)
    weights = {k.removeprefix("_orig_mod.").removeprefix("module."): v for k, v in weights.items()}
    getattr(model, "module", model).load_state_dict(weights)
    return state
