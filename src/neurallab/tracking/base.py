"""The `Tracker` protocol and the conversions every backend needs.

Trackers mirror what a run writes to its folder. Each backend has its quirks (trackio drops
torch scalars and rejects float images; wandb saves float tensors black), so values are
converted here once: scalars become Python floats and images become uint8 HWC arrays.
"""

from __future__ import annotations

import numbers
from typing import Any, Protocol

import numpy as np
import torch


class Tracker(Protocol):
    def log(self, metrics: dict[str, float], step: int) -> None: ...

    def log_images(
        self, key: str, images: list[np.ndarray], captions: list[str] | None, step: int
    ) -> None: ...

    def finish(self) -> None: ...


class NullTracker:
    """`--tracker none`: the run folder alone records the run."""

    def log(self, metrics: dict[str, float], step: int) -> None:
        pass

    def log_images(self, key, images, captions, step) -> None:
        pass

    def finish(self) -> None:
        pass


def to_float(value: Any) -> float:
    """A Python float from a number, 0-d tensor or 0-d array."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"expected a scalar, got a tensor of shape {tuple(value.shape)}")
        return float(value.detach().float().cpu().item())
    if isinstance(value, np.ndarray | np.generic | numbers.Number):
        return float(value)
    raise TypeError(f"cannot log {type(value).__name__} as a scalar")


def to_uint8_image(image: Any) -> np.ndarray:
    """An HWC (or HW for one channel) uint8 array from a CHW/HWC/HW tensor or array.

    Float images are taken to be in [0, 1] and are clipped and scaled to 0..255.
    """
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = array.transpose(1, 2, 0)  # CHW -> HWC
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3):
        raise ValueError(f"expected an image with 2 or 3 dimensions, got shape {array.shape}")
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float64), 0.0, 1.0) * 255.0).round().astype(np.uint8)
    return np.ascontiguousarray(array)


def make_tracker(
    kind: str, project: str, run_name: str, config: dict, folder, resume: bool, online: bool = False
) -> Tracker:
    """Build the tracker named by `--tracker`."""
    if kind == "none":
        return NullTracker()
    if kind == "trackio":
        from neurallab.tracking.trackio_ import TrackioTracker

        return TrackioTracker(project, run_name, config, resume)
    if kind == "wandb":
        from neurallab.tracking.wandb_ import WandbTracker

        return WandbTracker(project, run_name, config, folder, online)
    if kind == "tensorboard":
        from neurallab.tracking.tensorboard_ import TensorboardTracker

        return TensorboardTracker(folder)
    raise ValueError(f"unknown tracker {kind!r}")


TRACKERS = ("trackio", "wandb", "tensorboard", "none")
