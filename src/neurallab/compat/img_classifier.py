"""Drop-in for the course's `img_classifier.py` (HW0 §3): its names and flags.

    python -m neurallab.compat.img_classifier --model cnn --n_epochs 5 --use_wandb

Data: `./data/img_*.csv` if present (the course's files), else the prepared clip art.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from torch.utils.data import Dataset

from neurallab.data import images as data
from neurallab.data import transforms as T
from neurallab.flags import Parser, positive_float, positive_int
from neurallab.models.image import CNN, NeuralNetwork

__all__ = ["CNN", "CsvImageDataset", "NeuralNetwork", "course_transform", "get_data", "main"]


def course_transform(img: torch.Tensor, grayscale: bool = False) -> torch.Tensor:
    """The starter's `transform_img`: to tensor (float in [0, 1]) -> resize shorter side to 256
    (antialiased) -> centre crop 256x256 -> [Q3.4: grayscale] -> ImageNet normalise."""
    x = T.center_crop(T.resize_shorter(T.to_float(img), 256), 256)
    return T.normalize(T.grayscale(x) if grayscale else x)


class CsvImageDataset(Dataset):
    """The starter's dataset: the rows of an image CSV as (image, label_idx).

    Without a transform the image is the decoded picture as uint8 (3, H, W), as
    `torchvision.io.read_image` gives it."""

    def __init__(self, csv_file: str, transform: Callable | None = None) -> None:
        self.csv_file = Path(csv_file)
        self.rows = data.read_image_csv(self.csv_file)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, int]:
        path, _, label_idx = self.rows[idx]
        image = data.decode(path, self.csv_file, idx + 1, size=None)
        return (self.transform(image) if self.transform else image), label_idx


def get_data(
    data_dir: str = "data", grayscale: bool = False
) -> tuple[CsvImageDataset, CsvImageDataset, CsvImageDataset]:
    """train, val and test datasets from `<data_dir>/img_{split}.csv` with the course transform."""
    transform = partial(course_transform, grayscale=grayscale)
    return tuple(
        CsvImageDataset(str(Path(data_dir) / f"img_{s}.csv"), transform) for s in data.SPLITS
    )


def to_neurallab_argv(argv: list[str]) -> list[str]:
    """The starter's flags -> `neurallab img` (same defaults: 5 epochs, batch 8, lr 1e-3)."""
    p = Parser(prog="img_classifier.py", description=__doc__.splitlines()[0])
    p.add_argument("--use_wandb", action="store_true")
    p.add_argument("--n_epochs", type=positive_int, default=5)
    p.add_argument("--batch_size", type=positive_int, default=8)
    p.add_argument("--learning_rate", type=positive_float, default=1e-3)
    p.add_argument("--model", choices=("simple", "cnn"), default="simple")
    p.add_argument("--grayscale", action="store_true")
    a = p.parse_args(argv)
    forwarded = ["img", "--epochs", str(a.n_epochs), "--batch_size", str(a.batch_size)]
    forwarded += ["--lr", str(a.learning_rate), "--model", a.model]
    forwarded += ["--grayscale"] * a.grayscale + ["--use_wandb"] * a.use_wandb
    if Path("data/img_train.csv").exists():  # the course's own files, if run in its folder
        forwarded += ["--data_dir", "data"]
    return forwarded


def main(argv: list[str] | None = None) -> int:
    from neurallab.cli import main as neurallab_main

    return neurallab_main(to_neurallab_argv(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    raise SystemExit(main())
