"""Drop-in for the course's HW0 `txt_classifier.py` (§4): its names, defaults, loop and errors.

A student's file or harness can `from neurallab.compat.txt_classifier import *` and find the
starter's classes (`CsvTextDataset`, `SimpleTokenizer`, `Vocab`, `CorpusInfo`,
`TextTransform`, `ToIntTensor`, `TruncateToMaxLen`, `PadToMaxLen`, `TextClassificationModel`)
and functions (`get_data`, `train_one_epoch`, `evaluate`, `main`) with the behaviour
shared/spec/course-interfaces.md (HW0 text) describes:

    python -m neurallab.compat.txt_classifier --optimizer adam --epochs 5

reads `./data/txt_{train,val,test}.csv` (or, if there are none, the prepared BBC News,
saying so), builds the vocabulary in a tokenise-only first pass, pads every article to
`--max_len` and stacks batches with the default collate, so `--batch_size 32 --max_len -1`
fails with torch's "stack expects each tensor to be equal size" as in handout question 4.2.b.
Training: seed 10999, SGD lr 5.0 (Adam: its default 0.001), gradient clipping at 0.1, and the
learning rate divided by 10 when validation accuracy falls below its best so far.

`neurallab txt` runs the same pipeline faster (articles numericalised once) and tracks more;
`to_neurallab_argv` maps this program's flags to it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from neurallab.data import text as data
from neurallab.data.text import (
    CorpusInfo,
    CsvTextDataset,
    PadToMaxLen,
    SimpleTokenizer,
    TextTransform,
    ToIntTensor,
    TruncateToMaxLen,
    Vocab,
)
from neurallab.errors import UserError
from neurallab.flags import Parser, positive_float, positive_int
from neurallab.models.text import LSTMClassifier, TextClassificationModel

__all__ = [
    "Compose",
    "CorpusInfo",
    "CsvTextDataset",
    "LSTMClassifier",
    "PadToMaxLen",
    "SimpleTokenizer",
    "TextClassificationModel",
    "TextTransform",
    "ToIntTensor",
    "TruncateToMaxLen",
    "Vocab",
    "device",
    "evaluate",
    "get_data",
    "main",
    "train_one_epoch",
]

device = (
    "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
)
DATA_DIR = "./data"
SEED = 10999
LOG_INTERVAL = 50  # batches between the training progress lines
tracker = None  # set by main() with --use_wandb


class Compose:
    """Apply transforms in order (torchvision's `Compose`, which cannot be imported here)."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x):
        for transform in self.transforms:
            x = transform(x)
        return x


def _data_dir(args: argparse.Namespace) -> Path:
    """`args.data_dir` if set, else `./data` if it holds the course CSVs, else BBC News."""
    if getattr(args, "data_dir", None):
        return Path(args.data_dir)
    if Path(DATA_DIR, "txt_train.csv").exists():
        return Path(DATA_DIR)
    folder = data.default_csv("train").parent
    print(
        f"No {DATA_DIR}/txt_train.csv here: using the prepared BBC News in {folder} (a 5-class "
        "topic task standing in for the course's 2-class real/fake news)"
    )
    return folder


def get_data(args: argparse.Namespace) -> tuple[DataLoader, DataLoader, DataLoader, CorpusInfo]:
    """`(train_dataloader, val_dataloader, test_dataloader, corpus_info)`.

    The training CSV is read twice, as in the starter: untransformed, to build the vocabulary
    (`CorpusInfo`), then with the transform text -> ids -> truncate -> pad -> int64 tensor.
    `args.max_len < 1` leaves out truncation and padding. Batches use the default collate
    (which stacks), `args.batch_size` articles each; the training set is shuffled.
    """
    folder = _data_dir(args)
    corpus_info = CorpusInfo(CsvTextDataset(folder / "txt_train.csv"), SimpleTokenizer())
    steps: list[Callable] = [TextTransform(corpus_info.tokenizer, corpus_info.vocab)]
    if args.max_len < 1:
        print("No padding or truncation will be applied.")
    else:
        steps += [TruncateToMaxLen(args.max_len), PadToMaxLen(args.max_len, corpus_info.pad_idx)]
    transform = Compose([*steps, ToIntTensor()])
    loaders = [
        DataLoader(
            CsvTextDataset(folder / f"txt_{split}.csv", transform=transform),
            batch_size=args.batch_size,
            shuffle=split == "train",
        )
        for split in data.SPLITS
    ]
    return loaders[0], loaders[1], loaders[2], corpus_info


def train_one_epoch(
    dataloader: DataLoader,
    model: nn.Module,
    criterion: nn.Module,
    optimizer: torch.optim.Optimizer,
    epoch: int,
) -> float:
    """One pass over `dataloader`, gradients clipped at norm 0.1; returns the training
    accuracy over the epoch and prints it every `LOG_INTERVAL` batches."""
    model.train()
    total_acc, total_count = 0, 0
    epoch_acc, epoch_count = 0, 0
    for idx, (text, label) in enumerate(dataloader):
        text, label = text.to(device), label.to(device)
        optimizer.zero_grad()
        predicted_label = model(text)
        loss = criterion(predicted_label, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        correct = (predicted_label.argmax(1) == label).sum().item()
        total_acc, total_count = total_acc + correct, total_count + label.size(0)
        epoch_acc, epoch_count = epoch_acc + correct, epoch_count + label.size(0)
        if idx % LOG_INTERVAL == 0 and idx > 0:
            print(
                f"| epoch {epoch:3d} | {idx:5d}/{len(dataloader):5d} batches "
                f"| accuracy {total_acc / total_count:8.3f}"
            )
            total_acc, total_count = 0, 0
    return epoch_acc / max(1, epoch_count)


def evaluate(dataloader: DataLoader, model: nn.Module, criterion: nn.Module) -> float:
    """The accuracy of `model` over `dataloader` (no gradients)."""
    model.eval()
    total_acc, total_count = 0, 0
    with torch.no_grad():
        for text, label in dataloader:
            text, label = text.to(device), label.to(device)
            predicted_label = model(text)
            criterion(predicted_label, label)
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
    return total_acc / max(1, total_count)


def build_parser() -> Parser:
    p = Parser(prog="txt_classifier.py", description="HW0 §4 text classifier (course starter)")
    p.add_argument("--use_wandb", action="store_true", help="log to Weights & Biases (offline)")
    p.add_argument("--epochs", type=positive_int, default=5)
    p.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help="learning rate (default: 5.0 for SGD, Adam's default 0.001 for Adam)",
    )
    p.add_argument("--batch_size", type=positive_int, default=8)
    p.add_argument("--embed_dim", type=positive_int, default=64)
    p.add_argument("--max_len", type=int, default=1024, help="< 1: no truncation or padding")
    p.add_argument("--model", choices=("simple", "lstm"), default="simple")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    p.add_argument(
        "--length_histogram",
        action="store_true",
        help="save a histogram of the raw training article lengths as length_histogram.png",
    )
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    if args.lr is None:
        args.lr = 5.0 if args.optimizer == "sgd" else 0.001
    return args


def make_model(args: argparse.Namespace, corpus_info: CorpusInfo) -> nn.Module:
    """The starter's `TextClassificationModel`, or (`--model lstm`) neurallab's LSTM."""
    if getattr(args, "model", "simple") == "lstm":
        return LSTMClassifier(
            corpus_info.vocab_size,
            args.embed_dim,
            64,
            corpus_info.num_labels,
            corpus_info.pad_idx,
        )
    return TextClassificationModel(corpus_info.vocab_size, args.embed_dim, corpus_info.num_labels)


def save_length_histogram(corpus_info: CorpusInfo, path: str = "length_histogram.png") -> None:
    """Q4.1: the number of tokens of each raw training article (no truncation or padding)."""
    import matplotlib.pyplot as plt

    from neurallab.report.plots import histogram

    lengths = [len(corpus_info.tokenizer(text)) for text, _ in corpus_info.dataset]
    fig = histogram(lengths, "Raw article lengths (training set)", "tokens per article")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"Saved the histogram of {len(lengths)} article lengths to {path}")


def main(args: argparse.Namespace | Sequence[str] | None = None) -> None:
    """The starter's `main`: seed 10999, train `args.epochs` epochs (validation accuracy after
    each, learning rate / 10 when it falls below its best), then the test accuracy."""
    global tracker
    if args is None or not isinstance(args, argparse.Namespace):
        args = parse_args(sys.argv[1:] if args is None else list(args))
    torch.manual_seed(SEED)
    if getattr(args, "use_wandb", False):
        from neurallab.tracking import make_tracker

        tracker = make_tracker("wandb", "txt_classifier", None, vars(args), Path("."), resume=False)
    try:
        train_dataloader, val_dataloader, test_dataloader, corpus_info = get_data(args)
        if getattr(args, "length_histogram", False):
            save_length_histogram(corpus_info)
        model = make_model(args, corpus_info).to(device)
        criterion = nn.CrossEntropyLoss()
        if getattr(args, "optimizer", "sgd") == "adam":
            optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        else:
            optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.1)
        total_accu = None
        for epoch in range(1, args.epochs + 1):
            epoch_start_time = time.time()
            train_acc = train_one_epoch(train_dataloader, model, criterion, optimizer, epoch)
            accu_val = evaluate(val_dataloader, model, criterion)
            if total_accu is not None and total_accu > accu_val:
                scheduler.step()
            else:
                total_accu = accu_val
            print("-" * 59)
            print(
                f"| end of epoch {epoch:3d} | time: {time.time() - epoch_start_time:5.2f}s "
                f"| valid accuracy {accu_val:8.3f} "
            )
            print("-" * 59)
            if tracker is not None:
                metrics = {"epoch": epoch, "train_acc": train_acc, "val_acc": accu_val}
                tracker.log(metrics, epoch)
        print("Checking the results of test dataset.")
        accu_test = evaluate(test_dataloader, model, criterion)
        print(f"test accuracy {accu_test:8.3f}")
        if tracker is not None:
            tracker.log({"test_acc": accu_test}, args.epochs)
    finally:
        if tracker is not None:
            tracker.finish()
            tracker = None


def to_neurallab_argv(argv: Sequence[str]) -> list[str]:
    """This program's flags -> `neurallab txt` (the same course pipeline and defaults)."""
    a = parse_args(argv)
    forwarded = ["txt", "--epochs", str(a.epochs), "--lr", str(a.lr)]
    forwarded += ["--batch_size", str(a.batch_size), "--embed_dim", str(a.embed_dim)]
    forwarded += ["--max_len", str(a.max_len), "--model", a.model, "--optimizer", a.optimizer]
    forwarded += ["--length_histogram"] * a.length_histogram + ["--use_wandb"] * a.use_wandb
    if Path(DATA_DIR, "txt_train.csv").exists():  # the course's own files, if run in its folder
        forwarded += ["--data_dir", DATA_DIR]
    return forwarded


def _run_as_script() -> int:
    try:
        main()
    except UserError as exc:
        print(f"txt_classifier.py: error: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        if "stack expects each tensor to be equal size" not in str(exc):
            raise
        # Handout Q4.2.b: the starter dies here with torch's traceback; one line says why.
        print(
            f"txt_classifier.py: error: RuntimeError: {exc} (the articles of a batch differ "
            "in length: pad them with --max_len N > 0, or use --batch_size 1)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(_run_as_script())
