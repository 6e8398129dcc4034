"""Drop-in for the course's HW0 `img_classifier.py` (§3): its names, defaults, loop and files.

A student's file or harness can `from neurallab.compat.img_classifier import *` and find the
starter's module-level names (`img_size`, `num_labels`, `normalize_mean`, `normalize_std`,
`device`) and functions (`CsvImageDataset`, `get_data`, `NeuralNetwork`, `train_one_epoch`,
`evaluate`, `main`), with the starter's behaviour:

    python -m neurallab.compat.img_classifier --model cnn --n_epochs 5 --use_wandb

reads `./data/img_train.csv` and `./data/img_test.csv` (or, if there are none, the prepared
clip art, saying so), trains with seed 10999, SGD and the summed cross-entropy, prints the
starter's accuracy lines and saves the weights as `model.pth` in the working directory.

`neurallab img` trains the same models faster (images decoded once, cached as tensors) and
tracks more; `to_neurallab_argv` maps this program's flags to it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from neurallab.data import images as data
from neurallab.data import transforms as T
from neurallab.errors import UserError
from neurallab.flags import Parser, positive_float, positive_int
from neurallab.models.images import CNN, NeuralNetwork

__all__ = [
    "CNN",
    "CsvImageDataset",
    "NeuralNetwork",
    "course_transform",
    "device",
    "evaluate",
    "get_data",
    "img_size",
    "main",
    "normalize_mean",
    "normalize_std",
    "num_labels",
    "train_one_epoch",
]

# The starter's module-level names. They are read when used (not frozen at import), so a
# student's change to them, e.g. a smaller `img_size`, takes effect as in the starter.
img_size = (256, 256)
num_labels = 3
normalize_mean = [0.485, 0.456, 0.406]
normalize_std = [0.229, 0.224, 0.225]
device = (
    "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
)

DATA_DIR = "./data"
tracker = None  # set by main() with --use_wandb; train_one_epoch and evaluate log to it


def to_tensor(image: Image.Image | torch.Tensor) -> torch.Tensor:
    """torchvision's `ToTensor`: a PIL picture (or uint8 (3, H, W) tensor) -> float in [0, 1]."""
    if isinstance(image, Image.Image):
        image = torch.from_numpy(np.asarray(image.convert("RGB")).copy()).permute(2, 0, 1)
    return T.to_float(image) if image.dtype == torch.uint8 else image.float()


def course_transform(image: Image.Image | torch.Tensor, grayscale: bool = False) -> torch.Tensor:
    """The starter's `transform_img`: ToTensor -> Resize(256, antialias=True) (shorter side to
    256, longer side truncated: 451x300 -> 384x256) -> CenterCrop(256) (torchvision's rounded
    offsets) -> [Q3.4: one grayscale channel] -> Normalize(normalize_mean, normalize_std)."""
    size = img_size[0]
    if img_size[0] != img_size[1]:
        raise UserError(f"img_size must be square here, got {img_size}")
    x = T.center_crop(T.resize_shorter(to_tensor(image), size, truncate=True), size, True)
    if grayscale:
        x = T.grayscale(x)
    return T.normalize(x, normalize_mean, normalize_std)


class CsvImageDataset(Dataset):
    """The starter's dataset: the rows of an image CSV (`image,prompt,label,label_idx`) as
    `(image, label_idx)`. The image is the RGB PIL picture, or `transform(picture)` if a
    transform is given. Paths are relative to the working directory (`./data/<label>/...`)."""

    def __init__(self, csv_file: str, transform: Callable | None = None) -> None:
        self.csv_file = Path(csv_file)
        self.rows = data.read_image_csv(self.csv_file)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, idx: int) -> tuple[Image.Image | torch.Tensor, int]:
        if torch.is_tensor(idx):
            idx = idx.tolist()
        path, _, label_idx = self.rows[idx]  # IndexError past the end, as in the starter
        image = data.open_rgb(path, self.csv_file, idx + 1)
        if self.transform:
            image = self.transform(image)
        return image, label_idx


def get_data(args: argparse.Namespace) -> tuple[DataLoader, DataLoader]:
    """`(train_dataloader, test_dataloader)` over `./data/img_train.csv` and
    `./data/img_test.csv`, batches of `args.batch_size`, not shuffled; prints the first batch's
    shape. `args.grayscale` adds the Q3.4 grayscale step to the transform."""
    folder = Path(getattr(args, "data_dir", None) or DATA_DIR)
    transform = partial(course_transform, grayscale=getattr(args, "grayscale", False))
    train_data = CsvImageDataset(csv_file=str(folder / "img_train.csv"), transform=transform)
    test_data = CsvImageDataset(csv_file=str(folder / "img_test.csv"), transform=transform)
    train_dataloader = DataLoader(train_data, batch_size=args.batch_size)
    test_dataloader = DataLoader(test_data, batch_size=args.batch_size)
    for X, y in train_dataloader:
        print(f"Shape of X [B, C, H, W]: {X.shape}")
        print(f"Shape of y: {y.shape} {y.dtype}")
        break
    return train_dataloader, test_dataloader


def train_one_epoch(
    dataloader: DataLoader, model: nn.Module, loss_fn, optimizer: torch.optim.Optimizer, t: int
) -> None:
    """One pass over `dataloader` (epoch `t`, counted from 0), one optimizer step per batch."""
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        # The loss is summed over the batch (reduction='sum'): report the batch average.
        batch_loss, current = loss.item() / len(X), batch * dataloader.batch_size + len(X)
        if tracker is not None:
            tracker.log(
                {"batch_loss": batch_loss, "examples_seen": t * size + current}, t * size + current
            )
        if batch % 10 == 0:
            print(f"Train batch avg loss = {batch_loss:>7f}  [{current:>5d}/{size:>5d}]")


def evaluate(
    dataloader: DataLoader, dataname: str, model: nn.Module, loss_fn
) -> tuple[float, float]:
    """Prints `<dataname> accuracy = xx.x%, <dataname> avg loss = ...` (the loss summed over
    the examples, divided by the dataset size); returns (accuracy, avg loss)."""
    size = len(dataloader.dataset)
    model.eval()
    avg_loss, correct = 0.0, 0.0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            avg_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    avg_loss /= size
    correct /= size
    print(f"{dataname} accuracy = {(100 * correct):>0.1f}%, {dataname} avg loss = {avg_loss:>8f}")
    return correct, avg_loss


@torch.no_grad()
def captioned_first_batch(
    dataloader: DataLoader, model: nn.Module, label_names: Sequence[str]
) -> tuple[list[torch.Tensor], list[str]]:
    """Q3.5: the first batch's pictures de-normalised to [0, 1], each captioned
    `"<predicted label> / <true label>"`."""
    model.eval()
    X, y = next(iter(dataloader))
    predicted = model(X.to(device)).argmax(1).tolist()
    pictures = [T.denormalize(x, normalize_mean, normalize_std) for x in X]
    captions = [
        f"{label_names[p]} / {label_names[t]}" for p, t in zip(predicted, y.tolist(), strict=True)
    ]
    return pictures, captions


def build_parser() -> Parser:
    p = Parser(prog="img_classifier.py", description="HW0 §3 image classifier (course starter)")
    p.add_argument("--use_wandb", action="store_true", help="log to Weights & Biases (offline)")
    p.add_argument("--n_epochs", type=positive_int, default=5, help="passes over the training set")
    p.add_argument("--batch_size", type=positive_int, default=8, help="examples per batch")
    p.add_argument("--learning_rate", type=positive_float, default=1e-3, help="SGD step size")
    p.add_argument(
        "--model", choices=("simple", "cnn"), default="simple", help="MLP or the Q3.6 CNN"
    )
    p.add_argument("--grayscale", action="store_true", help="one grayscale channel (Q3.4)")
    return p


def make_model(args: argparse.Namespace) -> nn.Module:
    """The starter's `NeuralNetwork` or the Q3.6 CNN for `img_size` and the channels used."""
    channels = 1 if getattr(args, "grayscale", False) else 3
    kind = NeuralNetwork if getattr(args, "model", "simple") == "simple" else CNN
    return kind(channels, img_size[0], num_labels)


def main(args: argparse.Namespace | Sequence[str] | None = None) -> None:
    """The starter's `main`: seed 10999, train `n_epochs` (evaluating train and test after
    each), save `model.pth` in the working directory and load it back."""
    global tracker
    if args is None or not isinstance(args, argparse.Namespace):
        args = build_parser().parse_args(sys.argv[1:] if args is None else list(args))
    print(f"Using {device} device")
    if getattr(args, "data_dir", None) is None and not Path(DATA_DIR, "img_train.csv").exists():
        args.data_dir = str(data.default_csv("train").parent)
        print(
            f"No ./data/img_train.csv here: using the prepared clip art in {args.data_dir} "
            "(animals/food/transportation, standing in for the course's pictures)"
        )
    torch.manual_seed(10999)
    if getattr(args, "use_wandb", False):
        from neurallab.tracking import make_tracker

        tracker = make_tracker("wandb", "hw0-img", None, vars(args), Path("."), resume=False)
    try:
        train_dataloader, test_dataloader = get_data(args)
        model = make_model(args).to(device)
        print(model)
        loss_fn = nn.CrossEntropyLoss(reduction="sum")
        optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate)
        size = len(train_dataloader.dataset)
        for t in range(args.n_epochs):
            print(f"\nEpoch {t + 1}\n-------------------------------")
            train_one_epoch(train_dataloader, model, loss_fn, optimizer, t)
            train_acc, train_loss = evaluate(train_dataloader, "Train", model, loss_fn)
            test_acc, test_loss = evaluate(test_dataloader, "Test", model, loss_fn)
            if tracker is not None:
                metrics = {"train_acc": train_acc, "train_loss": train_loss, "epoch": t + 1}
                metrics |= {"test_acc": test_acc, "test_loss": test_loss}
                tracker.log(metrics, (t + 1) * size)
                if t == args.n_epochs - 1:  # Q3.5: the first batches, on the last epoch only
                    _log_first_batches(model, train_dataloader, test_dataloader, (t + 1) * size)
        print("Done!")
        torch.save(model.state_dict(), "model.pth")
        print("Saved PyTorch Model State to model.pth")
        model = make_model(args).to(device)
        model.load_state_dict(torch.load("model.pth", weights_only=True))
    finally:
        if tracker is not None:
            tracker.finish()
            tracker = None


def _log_first_batches(model: nn.Module, train_dl: DataLoader, test_dl: DataLoader, step: int):
    from neurallab.data.transforms import to_uint8_image

    names = data.label_names_of(train_dl.dataset.csv_file)
    for split, loader in (("train", train_dl), ("test", test_dl)):
        pictures, captions = captioned_first_batch(loader, model, names)
        tracker.log_images(
            f"{split}_first_batch", [to_uint8_image(p) for p in pictures], captions, step
        )


def to_neurallab_argv(argv: list[str]) -> list[str]:
    """This program's flags -> `neurallab img` (same defaults: 5 epochs, batch 8, lr 1e-3)."""
    a = build_parser().parse_args(argv)
    forwarded = ["img", "--epochs", str(a.n_epochs), "--batch_size", str(a.batch_size)]
    forwarded += ["--lr", str(a.learning_rate), "--model", a.model]
    forwarded += ["--grayscale"] * a.grayscale + ["--use_wandb"] * a.use_wandb
    if Path(DATA_DIR, "img_train.csv").exists():  # the course's own files, if run in its folder
        forwarded += ["--data_dir", DATA_DIR]
    return forwarded


if __name__ == "__main__":
    try:
        main()
    except UserError as exc:
        print(f"img_classifier.py: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
