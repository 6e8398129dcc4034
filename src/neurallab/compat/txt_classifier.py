"""Drop-in for the course's `txt_classifier.py` (HW0 §4): its names and its flags.

    python -m neurallab.compat.txt_classifier --batch_size 32 --max_len 1024 --optimizer adam

Batching is the starter's: every article is padded to `--max_len` and batches are stacked, so
`--batch_size 32 --max_len -1` fails as in handout question 4.2.b, but with one clear line
that names the fix instead of torch's stack error. Data: `./data/txt_*.csv` if present, else
the prepared BBC News CSVs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from torch.utils.data import Dataset

from neurallab.data.text import (
    CorpusInfo,
    PadToMaxLen,
    SimpleTokenizer,
    TruncateToMaxLen,
    Vocab,
    read_text_csv,
)
from neurallab.errors import UserError
from neurallab.models.text import LSTMClassifier, TextClassificationModel

__all__ = [
    "CorpusInfo",
    "CsvTextDataset",
    "LSTMClassifier",
    "PadToMaxLen",
    "SimpleTokenizer",
    "TextClassificationModel",
    "TruncateToMaxLen",
    "Vocab",
    "main",
]


class CsvTextDataset(Dataset):
    """The starter's dataset: rows of a text CSV as (transformed article, label_idx)."""

    def __init__(self, csv_file: str, transform=None) -> None:
        self.articles = read_text_csv(Path(csv_file))
        self.transform = transform

    def __len__(self) -> int:
        return len(self.articles)

    def __getitem__(self, i: int):
        a = self.articles[i]
        return (self.transform(a.text) if self.transform else a.text), a.label_idx


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="txt_classifier.py", description=__doc__.splitlines()[0])
    p.add_argument("--use_wandb", action="store_true")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=5.0)
    p.add_argument("--batch_size", type=int, default=8)
    p.add_argument("--embed_dim", type=int, default=64)
    p.add_argument("--max_len", type=int, default=1024)
    p.add_argument("--model", choices=("simple", "lstm"), default="simple")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    p.add_argument("--length_histogram", action="store_true")
    return p.parse_args(argv)


def to_neurallab_argv(args: argparse.Namespace) -> list[str]:
    argv = [
        "txt",
        "--epochs",
        str(args.epochs),
        "--lr",
        str(args.lr),
        "--batch_size",
        str(args.batch_size),
        "--embed_dim",
        str(args.embed_dim),
        "--max_len",
        str(args.max_len),
        "--model",
        args.model,
        "--optimizer",
        args.optimizer,
        "--pad_to_max_len",
    ]
    if Path("data/txt_train.csv").exists():
        argv += ["--data_dir", "data"]
    if args.length_histogram:
        argv.append("--length_histogram")
    if args.use_wandb:
        argv += ["--tracker", "wandb"]
    return argv


def main(argv: list[str] | None = None) -> int:
    from neurallab.cli import build_parser

    args = build_parser().parse_args(to_neurallab_argv(parse_args(argv)))
    args._argv = to_neurallab_argv(parse_args(argv))
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"txt_classifier.py: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
