"""Weights & Biases backend: offline unless `--wandb_online` (no account needed offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurallab.errors import UserError


class WandbTracker:
    def __init__(
        self, project: str, run_name: str, config: dict, folder: Path, online: bool
    ) -> None:
        try:
            import wandb
        except ImportError:
            raise UserError("--tracker wandb needs wandb: pip install 'neurallab[wandb]'") from None
        self._wandb = wandb
        self._run = wandb.init(
            project=project,
            name=run_name,
            config=config,
            dir=str(folder),
            mode="online" if online else "offline",
        )

    def log(self, metrics: dict[str, float], step: int) -> None:
        self._run.log(metrics, step=step)

    def log_images(
        self, key: str, images: list[np.ndarray], captions: list[str] | None, step: int
    ) -> None:
        captions = captions or [None] * len(images)
        # Images arrive as uint8 HWC: float tensors would be saved black by wandb.
        items = [self._wandb.Image(img, caption=c) for img, c in zip(images, captions, strict=True)]
        self._run.log({key: items}, step=step)

    def finish(self) -> None:
        self._run.finish()
