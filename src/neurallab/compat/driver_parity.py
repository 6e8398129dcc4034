"""Drop-in for the course's `driver_parity.py` (CNN/RNN handout Q5-Q7): its names and loop.

    python -m neurallab.compat.driver_parity [--hidden_dim 64]

A student's file or the course's own training and plotting code finds `Parity`, `pad_collate`,
`ParityLSTM`, `dev`, `train_model(model, train_loader, epochs=2000, lr=0.003)`,
`validation_metrics(model, loader)`, `runParityExperiment(model, max_train_length)` and `main`.
As in the starter, `train_model` runs every epoch (`early_stop=True` stops at 100% training
accuracy, as `neurallab parity` does) and every batch goes to the model's device.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from neurallab.data.parity import Parity, all_strings, pad_collate
from neurallab.flags import Parser, positive_float, positive_int
from neurallab.models.parity import ParityLSTM

__all__ = [
    "Parity",
    "ParityLSTM",
    "dev",
    "main",
    "pad_collate",
    "runParityExperiment",
    "train_model",
    "validation_metrics",
]

dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")

MAX_LENGTH = 5  # training strings have lengths 1..5
BATCH_SIZE = 100
TEST_BATCH_SIZE = 1000
TEST_MAX_LENGTH = 20


def model_device(model: nn.Module) -> torch.device:
    """Where the model's parameters live (`dev` for a model without parameters)."""
    return next(model.parameters(), torch.empty(0, device=dev)).device


def to_model_device(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """The batch on the model's device: the course moves batches to `dev`, where its `main` puts
    the model; following the model also serves a model left on another device."""
    where = model_device(model)
    return x.to(where), y.long().to(where)


def train_model(
    model: nn.Module,
    train_loader,
    epochs: int = 2000,
    lr: float = 0.003,
    early_stop: bool = False,
) -> int:
    """The course's loop: Adam (weight decay 1e-5) over the trainable parameters, cross-entropy,
    every epoch run; logs the epoch's loss and accuracy every 10 epochs. `early_stop=True` stops
    after the first epoch with 100% training accuracy. Returns the number of epochs run."""
    criterion = nn.CrossEntropyLoss()
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=lr, weight_decay=1e-5)
    for epoch in range(epochs):
        model.train()
        sum_loss, correct, total = 0.0, 0, 0
        for x, y, lengths in train_loader:
            x, y = to_model_device(model, x, y)
            scores = model(x, lengths)
            loss = criterion(scores, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            sum_loss += loss.item() * len(y)
            correct += int((scores.argmax(1) == y).sum())
            total += len(y)
        if epoch % 10 == 0:
            print(
                f"epoch {epoch} train loss {sum_loss / total:.3f}, train acc {correct / total:.3f}"
            )
        if early_stop and correct == total:
            print(f"epoch {epoch}: 100% training accuracy, stopping early")
            return epoch + 1
    return epochs


@torch.no_grad()
def validation_metrics(model: nn.Module, loader) -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy) over every example of `loader`, in eval mode."""
    model.eval()
    sum_loss, correct, total = 0.0, 0, 0
    for x, y, lengths in loader:
        x, y = to_model_device(model, x, y)
        scores = model(x, lengths)
        sum_loss += nn.functional.cross_entropy(scores, y).item() * len(y)
        correct += int((scores.argmax(1) == y).sum())
        total += len(y)
    return sum_loss / total, correct / total


def length_batches(length: int, batch_size: int = TEST_BATCH_SIZE) -> Iterator:
    """The batches of `DataLoader(Parity("val", length), batch_size, collate_fn=pad_collate)`,
    same strings in the same order, built as one tensor instead of 2**length small ones."""
    strings = all_strings(length)
    for chunk in strings.split(batch_size):
        yield chunk, chunk.sum(1).remainder(2).long(), [length] * len(chunk)


def runParityExperiment(  # noqa: N802 - the course's name
    model: nn.Module, max_train_length: int, max_test_length: int | None = None
) -> list[float]:
    """Accuracy on every string of each length 1..20 (`TEST_MAX_LENGTH`; batches of 1000),
    printed and plotted to `<model>_parity_generalization.png` in the working directory with a
    line at the longest training length. Returns the accuracies, shortest length first."""
    import matplotlib.pyplot as plt

    from neurallab.report.plots import line_plot

    print("\n\nRunning Parity Experiment")
    lengths, accuracy = [], []
    for k in range(1, (max_test_length or TEST_MAX_LENGTH) + 1):
        _, val_acc = validation_metrics(model, length_batches(k))
        lengths.append(k)
        accuracy.append(val_acc)
        print(f"length={k} val accuracy {val_acc:.3f}")
    fig = line_plot(
        {str(model): (lengths, accuracy)},
        str(model),
        "Binary String Length",
        "Accuracy",
        marker_x=max_train_length,
        marker_label=f"longest training length ({max_train_length})",
    )
    fig.savefig(f"{model}_parity_generalization.png", dpi=120)
    plt.close(fig)
    return accuracy


def main(argv: Sequence[str] | None = None) -> None:
    """Build the training data (lengths 1..5, batch 100, shuffled), train, run the experiment."""
    p = Parser(prog="driver_parity.py", description="CNN/RNN Q5-Q7: LSTM on parity (course)")
    p.add_argument("--hidden_dim", type=positive_int, default=64, help="LSTM hidden size")
    p.add_argument(
        "--max_length", type=positive_int, default=MAX_LENGTH, help="training lengths 1..N"
    )
    p.add_argument("--epochs", type=positive_int, default=2000, help="epochs (all run)")
    p.add_argument("--lr", type=positive_float, default=0.003, help="Adam learning rate")
    p.add_argument(
        "--batch_size", type=positive_int, default=BATCH_SIZE, help="training batch size"
    )
    p.add_argument("--early_stop", action="store_true", help="stop at 100% training accuracy")
    p.add_argument("--seed", type=int, default=0, help="torch.manual_seed before training")
    p.add_argument(
        "--test_max_length", type=positive_int, default=None, help="test lengths 1..N (default 20)"
    )
    args = p.parse_args(sys.argv[1:] if argv is None else list(argv))
    torch.manual_seed(args.seed)
    train = Parity(split="train", max_length=args.max_length)
    train_loader = DataLoader(
        train, batch_size=args.batch_size, shuffle=True, collate_fn=pad_collate
    )
    model = ParityLSTM(args.hidden_dim).to(dev)
    train_model(model, train_loader, epochs=args.epochs, lr=args.lr, early_stop=args.early_stop)
    runParityExperiment(model, args.max_length, args.test_max_length)


if __name__ == "__main__":
    main()
