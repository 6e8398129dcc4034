"""Drop-in for the course's `img_classifier.py` (HW0 §3): its names and flags.

    python -m neurallab.compat.img_classifier --model cnn --n_epochs 5 --use_wandb

Data: `./data/img_*.csv` if present (the course's files), else the prepared clip art.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.utils.data import Dataset

from neurallab.data import images as data
from neurallab.data import transforms as T
from neurallab.models.image import CNN, NeuralNetwork

__all__ = ["CNN", "CsvImageDataset", "NeuralNetwork", "get_data", "main"]


def course_transform(img: torch.Tensor) -> torch.Tensor:
    """to tensor -> resize shorter side to 256 (antialiased) -> centre crop 256 -> ImageNet normalise."""
    return T.normalize(T.to_float(T.center_crop(T.resize_shorter(img, 256), 256)))


class CsvImageDataset(Dataset):
    """The starter's dataset: rows of an image CSV as (transformed image, label_idx)."""

    def __init__(self, csv_file: str, transform=course_transform) -> None:
        self.csv_file = Path(csv_file)
        self.rows = data.read_image_csv(self.csv_file)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, idx: int):
        path, _, label_idx = self.rows[idx]
        image = data.decode(path, self.csv_file, idx + 1, size=256)
        return (self.transform(image) if self.transform else image), label_idx


def get_data(data_dir: str = "data") -> tuple[CsvImageDataset, CsvImageDataset, CsvImageDataset]:
    """train, val and test datasets from `<data_dir>/img_{split}.csv`."""
    return tuple(CsvImageDataset(str(Path(data_dir) / f"img_{s}.csv")) for s in data.SPLITS)


def main(argv: list[str] | None = None) -> int:
    from neurallab.cli import main as neurallab_main

    p = argparse.ArgumentParser(prog="img_classifier.py", description=__doc__.splitlines()[0])
    p.add_argument("--use_wandb", action="store_true")
    p.add_argument("--n_epochs", type=int, default=5)
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--learning_rate", type=float, default=1e-3)
    p.add_argument("--model", choices=("simple", "cnn"), default="simple")
    p.add_argument("--grayscale", action="store_true")
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    forwarded = ["img", "--epochs", str(a.n_epochs), "--batch_size", str(a.batch_size),
                 "--lr", str(a.learning_rate), "--model", a.model]
    if a.grayscale:
        forwarded.append("--grayscale")
    if a.use_wandb:
        forwarded.append("--use_wandb")
    if Path("data/img_train.csv").exists():
        forwarded += ["--data_dir", "data"]
    return neurallab_main(forwarded)


if __name__ == "__main__":
    raise SystemExit(main())
