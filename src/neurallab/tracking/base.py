"""The `Tracker` protocol and the conversions every backend needs.

Trackers mirror what a run writes to its folder. Each backend has its quirks (trackio drops
torch scalars and rejects float images; wandb saves float tensors black), so values are
converted once: scalars become Python floats here, images become uint8 HWC arrays with
`neurallab.data.transforms.to_uint8_image` (in `Run.log_images`).
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
