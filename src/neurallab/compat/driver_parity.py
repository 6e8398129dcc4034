"""Drop-in for the course's `driver_parity.py` (CNN/RNN handout Q5-Q6): its names and loop.

    python -m neurallab.compat.driver_parity [--hidden_dim 64]

`train_model` is the course's own plain loop (Adam, weight decay 1e-5, stop at 100% training
accuracy); `neurallab parity` trains the same model with the neurallab engine.
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.data import DataLoader

from neurallab.data.parity import Parity, pad_collate
from neurallab.models.parity import ParityLSTM
from neurallab.report.plots import line_plot
from neurallab.tasks.parity import accuracy_by_length

__all__ = ["Parity", "ParityLSTM", "pad_collate", "runParityExperiment", "train_model"]

MAX_LENGTH = 5
BATCH_SIZE = 100


def train_model(
    model: ParityLSTM, loader: DataLoader, epochs: int = 2000, lr: float = 0.003
) -> int:
    """Train until 100% training accuracy or `epochs`; returns the epochs used."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-5)
    criterion = torch.nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        model.train()
        correct = total = 0
        total_loss = 0.0
        for x, y, lengths in loader:
            scores = model(x, lengths)
            loss = criterion(scores, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += float(loss) * len(y)
            correct += int((scores.argmax(1) == y).sum())
            total += len(y)
        if epoch % 100 == 0 or correct == total:
            print(f"epoch {epoch}: loss {total_loss / total:.4f}, train acc {correct / total:.4f}")
        if correct == total:
            return epoch
    return epochs


def runParityExperiment(model: ParityLSTM, max_train_length: int = MAX_LENGTH) -> list[float]:  # noqa: N802
    """Train on lengths 1..max_train_length, test lengths 1..20, save the course's plot."""
    train = Parity("train", max_train_length)
    loader = DataLoader(train, batch_size=BATCH_SIZE, shuffle=True, collate_fn=pad_collate)
    train_model(model, loader)
    accuracies = accuracy_by_length(model, 20)
    lengths = list(range(1, 21))
    fig = line_plot(
        {str(model): (lengths, accuracies)},
        f"{model}: parity accuracy by length",
        "string length",
        "accuracy",
        marker_x=max_train_length,
        marker_label=f"longest training length ({max_train_length})",
    )
    fig.savefig(f"{model}_parity_generalization.png", dpi=120)
    return accuracies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden_dim", type=int, default=64)
    torch.manual_seed(0)
    runParityExperiment(ParityLSTM(parser.parse_args().hidden_dim))


if __name__ == "__main__":
    main()
