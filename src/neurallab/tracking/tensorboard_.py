"""TensorBoard backend: event files in `<run folder>/tensorboard/`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurallab.errors import UserError


class TensorboardTracker:
    def __init__(self, folder: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError(
                "--tracker tensorboard needs tensorboard: pip install 'neurallab[tensorboard]'"
            ) from None
        self._writer = SummaryWriter(log_dir=str(Path(folder) / "tensorboard"))

    def log(self, metrics: dict[str, float], step: int) -> None:
        for key, value in metrics.items():
            self._writer.add_scalar(key, value, step)

    def log_images(
        self, key: str, images: list[np.ndarray], captions: list[str] | None, step: int
    ) -> None:
        for i, img in enumerate(images):
            tag = f"{key}/{i}" + (f" {captions[i]}" if captions else "")
            self._writer.add_image(tag, img, step, dataformats="HW" if img.ndim == 2 else "HWC")

    def finish(self) -> None:
        self._writer.close()
