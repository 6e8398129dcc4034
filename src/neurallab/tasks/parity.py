"""CNN/RNN handout Q5-Q6: train ParityLSTM on strings of length 1..5, then test lengths 1..20.

Training follows the course driver: batch 100, Adam lr 0.003, weight decay 1e-5, up to 2000
epochs, stopping as soon as training accuracy reaches 100%.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import TensorDataset

from neurallab.data.parity import Parity, all_strings, pad_collate
from neurallab.engine import Callback, StepOutput, fit, seed_everything
from neurallab.engine.device import single_thread
from neurallab.engine.options import TrainingConfig, add_engine_args, training_config
from neurallab.flags import positive_int
from neurallab.models.parity import ParityLSTM
from neurallab.report.plots import line_plot
from neurallab.tasks.common import add_run_args, finish, open_run

COMMAND = "parity"
HELP = "CNN/RNN Q5-Q6: train an LSTM on parity (lengths 1..5) and test length generalisation"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_engine_args(
        parser, epochs=2000, batch_size=100, lr=0.003, optimizer="adam", weight_decay=1e-5
    )
    add_run_args(parser, COMMAND)
    parser.add_argument("--hidden_dim", type=positive_int, default=64)
    parser.add_argument("--max_length", type=positive_int, default=5, help="training lengths 1..N")
    parser.add_argument("--test_max_length", type=positive_int, default=20)
    parser.add_argument(
        "--test_samples",
        type=positive_int,
        default=None,
        help="test at most this many strings per length (default: all 2**L)",
    )


def effective_config(args: argparse.Namespace) -> TrainingConfig:
    # Evaluated on the training set every epoch (or --eval_every steps): it stops when fit.
    return training_config(args, best_metric="train/acc")


class StopWhenTrainingSetIsFit(Callback):
    """The course driver's rule: stop as soon as training accuracy reaches 100%."""

    def on_evaluation(self, step: int, metrics: dict[str, float]) -> bool:
        return metrics["train/acc"] == 1.0


def parity_step(model: torch.nn.Module, batch) -> StepOutput:
    x, y, lengths = batch
    scores = model(x, lengths)
    loss = torch.nn.functional.cross_entropy(scores, y)
    return StepOutput(loss=loss, size=len(y), correct=(scores.argmax(1) == y).sum())


@torch.no_grad()
def accuracy_by_length(
    model: ParityLSTM,
    max_length: int,
    samples: int | None = None,
    batch_size: int = 1000,
    seed: int = 0,
) -> list[float]:
    """Accuracy on all strings of each length 1..max_length (or a seeded sample of them)."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    accuracies = []
    for length in range(1, max_length + 1):
        if samples is not None and 2**length > samples:
            codes = torch.randint(0, 2**length, (samples,), generator=generator)
            strings = ((codes.unsqueeze(1) >> torch.arange(length - 1, -1, -1)) & 1).float()
        else:
            strings = all_strings(length)
        correct = 0
        for chunk in strings.split(batch_size):
            scores = model(chunk, [length] * len(chunk))
            correct += int((scores.argmax(1) == chunk.sum(1).remainder(2).long()).sum())
        accuracies.append(correct / len(strings))
    return accuracies


def run(args: argparse.Namespace) -> int:
    # One LSTM step over at most 100 strings is far too small to split across threads: the
    # hand-offs cost more than the arithmetic (on a busy 2-core machine 100 epochs of the
    # hidden-64 model took 6.4 s of CPU on 1 thread and 23.5 s on 2).
    with single_thread():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = effective_config(args)
    seed_everything(config.seed)
    model = ParityLSTM(args.hidden_dim)
    # The course's dataset, padded once by the course's collate: with every string of the
    # training set in memory, each batch is then one index into three tensors instead of
    # 62 items collated again every epoch (packing ignores the padding, so a batch padded to
    # the longest training length gives the same states as one padded to its own longest).
    strings = Parity("train", args.max_length)
    x, y, lengths = pad_collate([strings[i] for i in range(len(strings))])
    train = TensorDataset(x, y, torch.tensor(lengths))
    run_ = open_run(COMMAND, args, config, model)
    result = fit(
        model,
        config.optimizer.build(model.parameters()),
        train,
        parity_step,
        run_,
        config.fit,
        eval_sets={"train": train},
        callbacks=[StopWhenTrainingSetIsFit()],
    )
    accuracies = accuracy_by_length(model, args.test_max_length, args.test_samples, seed=args.seed)
    lengths = list(range(1, args.test_max_length + 1))
    run_.save_figure(
        line_plot(
            {str(model): (lengths, accuracies)},
            f"{model}: parity accuracy by string length",
            "string length",
            "accuracy",
            marker_x=args.max_length,
            marker_label=f"longest training length ({args.max_length})",
        ),
        f"{model}_parity_generalization.png",
    )
    fitted = result.metrics["train/acc"] == 1.0
    print(
        f"{model}: train accuracy {result.metrics['train/acc']:.4f} after {result.epochs:g} "
        f"epochs ({'fit' if fitted else 'not fit'}); accuracy at length 20: {accuracies[-1]:.4f}"
    )
    finish(
        run_,
        result,
        started,
        fitted=fitted,
        epochs_to_fit=result.epochs if fitted else None,
        accuracy_by_length=dict(zip(lengths, accuracies, strict=True)),
    )
    return 0
