"""Drop-in for the course's `cifar_pytorch.py` (CNN/RNN handout Q1-Q3): the network, the data,
the course's training settings, and Q3's best weights as a plain state_dict.

    python -m neurallab.compat.cifar_pytorch [--batchnorm] [--epochs 50]

reads the course's pickles `cifar10_hst_{train,val,test}` from the working directory (or, if
there are none, the prepared clip-art CIFAR-3, saying so), trains `Net` with batch 256, Adam lr
1e-4 and weight decay 1e-3 for 50 epochs with the starter's augmentation, and after every epoch
whose validation accuracy beats the best so far saves `net.state_dict()` to `best.pt` in the
working directory, so that the course's `test.py` can run

    net = Net(); net.load_state_dict(torch.load("best.pt"))

The starter's `transforms.ColorJitter()` has no arguments and changes nothing; that is the
default here (`--jitter 0`). `--jitter 0.2` jitters brightness, contrast and saturation by up to
±20% as `neurallab cifar` does. Unlike the starter, importing this module trains nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from neurallab.data import images as data
from neurallab.data.transforms import cifar_augment
from neurallab.errors import UserError
from neurallab.flags import Parser, non_negative_float, positive_float, positive_int
from neurallab.models.cifar import Net

__all__ = ["CIFAR3", "Net", "augment", "device", "evaluate", "main", "normalize"]

device = torch.device(
    "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
)

COLOR_JITTER = 0.0  # the starter's ColorJitter() with no arguments: a no-op
ROTATION = 30.0  # RandomRotation(30)
BEST = "best.pt"


class CIFAR3(Dataset):
    """The starter's dataset: `split` in train/val/test, read from `<data_dir>/cifar10_hst_<split>`
    (else the prepared clip-art pickle). Items are `(x, y)`: x a float (3, 32, 32) tensor of
    pixel values 0..255 (planes R, G, B), `transform(x)` if given; y the label."""

    def __init__(self, split: str = "train", transform=None, data_dir: str | Path = ".") -> None:
        if split not in data.SPLITS:
            raise UserError(f"split must be one of {', '.join(data.SPLITS)}, got {split!r}")
        self.path = data.course_cifar3(Path(data_dir), split) or data.default_cifar3(split)
        images, labels = data.load_cifar3(self.path).tensors
        self.images, self.labels = images, labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, int]:
        x = self.images[idx].float()
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[idx])


def normalize(x: torch.Tensor) -> torch.Tensor:
    """The starter's `Normalize(mean=127.5, std=127.5)`: pixels 0..255 -> [-1, 1]."""
    return (x - 127.5) / 127.5


def augment(
    x: torch.Tensor, jitter: float = COLOR_JITTER, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The starter's training augmentation on a batch of pixel values 0..255 (N, 3, 32, 32):
    colour jitter by up to ±`jitter` (0: none, as `ColorJitter()`), a random rotation of up to
    ±30 degrees (black corners) and a horizontal flip with probability 1/2."""
    return cifar_augment(x / 255.0, generator, jitter=jitter, max_degrees=ROTATION) * 255.0


@torch.no_grad()
def evaluate(net: nn.Module, loader: DataLoader) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of `net` on the normalised batches of `loader`."""
    net.eval()
    dev = next(net.parameters()).device
    correct, total, loss = 0, 0, 0.0
    for x, y in loader:
        x, y = normalize(x).to(dev), y.to(dev)
        scores = net(x)
        loss += nn.functional.cross_entropy(scores, y, reduction="sum").item()
        correct += int((scores.argmax(1) == y).sum())
        total += len(y)
    return correct / total, loss / total


def build_parser() -> Parser:
    p = Parser(prog="cifar_pytorch.py", description="CNN/RNN Q1-Q3: the CIFAR-3 CNN (course)")
    p.add_argument("--batchnorm", action="store_true", help="BatchNorm1d(512) after fc1 (Q2)")
    p.add_argument("--epochs", type=positive_int, default=50, help="passes over the training set")
    p.add_argument("--batch_size", type=positive_int, default=256, help="examples per batch")
    p.add_argument("--lr", type=positive_float, default=1e-4, help="Adam learning rate")
    p.add_argument(
        "--weight_decay", type=non_negative_float, default=1e-3, help="Adam weight decay"
    )
    p.add_argument(
        "--jitter",
        type=non_negative_float,
        default=COLOR_JITTER,
        help="colour jitter strength: 0 is the starter's ColorJitter() (no change); "
        "neurallab cifar uses 0.2",
    )
    p.add_argument("--data_dir", type=Path, default=Path("."), help="folder of cifar10_hst_*")
    p.add_argument("--save", type=Path, default=Path(BEST), help="best weights (a state_dict)")
    p.add_argument(
        "--plot", type=Path, default=Path("training_plot.png"), help="loss and accuracy plot"
    )
    p.add_argument("--seed", type=int, default=0, help="torch.manual_seed before training")
    return p


def main(argv: Sequence[str] | None = None) -> dict[str, list[float]]:
    """Train as the starter does; returns the per-epoch history (train/val loss and accuracy)."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    if data.course_cifar3(args.data_dir, "train") is None:
        print(f"No cifar10_hst_train in {args.data_dir}: using {data.default_cifar3('train')}")
    torch.manual_seed(args.seed)
    trainset = CIFAR3("train", data_dir=args.data_dir)
    valset = CIFAR3("val", data_dir=args.data_dir)
    trainloader = DataLoader(trainset, batch_size=args.batch_size, shuffle=True)
    valloader = DataLoader(valset, batch_size=args.batch_size, shuffle=False)
    net = Net(batchnorm=args.batchnorm).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    history: dict[str, list[float]] = {
        k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc")
    }
    best = -1.0
    for epoch in range(1, args.epochs + 1):
        net.train()
        correct, total, running = 0, 0, 0.0
        for x, y in trainloader:
            x, y = normalize(augment(x, args.jitter)).to(device), y.to(device)
            optimizer.zero_grad()
            scores = net(x)
            loss = criterion(scores, y)
            loss.backward()
            optimizer.step()
            running += loss.item() * len(y)
            correct += int((scores.argmax(1) == y).sum())
            total += len(y)
        val_acc, val_loss = evaluate(net, valloader)
        for key, value in zip(
            history, (running / total, correct / total, val_loss, val_acc), strict=True
        ):
            history[key].append(value)
        line = (
            f"epoch {epoch}: train loss {running / total:.4f}, train acc {correct / total:.4f}, "
            f"val loss {val_loss:.4f}, val acc {val_acc:.4f}"
        )
        if val_acc > best:  # Q3: keep the weights with the best validation accuracy so far
            best = val_acc
            torch.save(net.state_dict(), args.save)
            line += f"; saved {args.save}"
        print(line)
    _plot(history, args)
    print(f"Finished Training: best val acc {best:.4f}, weights in {args.save}")
    return history


def _plot(history: dict[str, list[float]], args: argparse.Namespace) -> None:
    import matplotlib.pyplot as plt

    from neurallab.report.plots import panels

    epochs = list(range(1, len(history["val_acc"]) + 1))
    fig = panels(
        {
            "loss": {
                "train": (epochs, history["train_loss"]),
                "val": (epochs, history["val_loss"]),
            },
            "accuracy": {
                "train": (epochs, history["train_acc"]),
                "val": (epochs, history["val_acc"]),
            },
        },
        "CIFAR-3 Net" + (" + BatchNorm" if args.batchnorm else ""),
        "epoch",
    )
    fig.savefig(args.plot, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    try:
        main()
    except UserError as exc:
        print(f"cifar_pytorch.py: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
