"""CNN/RNN handout Q5-Q7: train ParityLSTM on strings of length 1..5, then test lengths 1..20.

Training follows the course driver: batch 100, Adam lr 0.003, weight decay 1e-5, 2000 epochs.
The driver runs every epoch; by default this program stops at the first epoch with 100%
training accuracy (`stop_when_fit`; `--no_stop_when_fit` runs every epoch as the driver does).
Either way the summary records whether and when the training set was first fit.

    from neurallab.programs import parity
    rec = parity.train(parity.Settings(hidden_dim=16), run_dir="runs/parity/try")
    rec.summary["epochs_to_fit"], rec.summary["accuracy_by_length"]
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from neurallab.data.parity import Parity, all_strings, pad_collate
from neurallab.engine import Callback, StepOutput, fit, seed_everything
from neurallab.engine.device import single_thread
from neurallab.engine.options import TrainingConfig, TrainSettings
from neurallab.flags import positive_int
from neurallab.models.parity import ParityLSTM
from neurallab.programs.run import (
    RunOptions,
    RunRecord,
    finish,
    load_model,
    open_run,
)
from neurallab.report.plots import line_plot
from neurallab.settings import setting, with_default

PROGRAM = "parity"
HELP = "CNN/RNN Q5-Q6: train an LSTM on parity (lengths 1..5) and test length generalisation"


@dataclass(frozen=True)
class Settings(TrainSettings):
    """The course driver's defaults: up to 2000 epochs of Adam (lr 0.003, weight decay 1e-5)
    at batch 100, hidden size 64, training lengths 1..5, test lengths 1..20."""

    PROGRAM = PROGRAM
    epochs: int = with_default(TrainSettings, "epochs", 2000)
    batch_size: int = with_default(TrainSettings, "batch_size", 100)
    lr: float = with_default(TrainSettings, "lr", 0.003)
    weight_decay: float = with_default(TrainSettings, "weight_decay", 1e-5)
    hidden_dim: int = setting(64, "LSTM hidden size", check=positive_int)
    max_length: int = setting(5, "training lengths 1..N", check=positive_int)
    test_max_length: int = setting(20, "test lengths 1..N", check=positive_int)
    test_samples: int | None = setting(
        None, "test at most this many strings per length (default: all 2**L)", check=positive_int
    )
    stop_when_fit: bool = setting(
        True,
        "run every epoch as the course driver does, instead of stopping at the first epoch "
        "with 100% training accuracy",
        negate=True,
    )


class StopWhenTrainingSetIsFit(Callback):
    """Notes the first evaluation with 100% training accuracy and, if `stop`, stops there."""

    def __init__(self, stop: bool = True) -> None:
        self.stop = stop
        self.first_fit: dict[str, float] | None = None  # {"epoch": ..., "step": ...}

    def on_evaluation(self, step: int, metrics: dict[str, float]) -> bool:
        fitted = metrics["train/acc"] == 1.0
        if fitted and self.first_fit is None:
            self.first_fit = {"epoch": float(metrics["epoch"]), "step": float(step)}
        return fitted and self.stop

    def state_dict(self) -> dict[str, Any]:
        return {"first_fit": self.first_fit}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.first_fit = state.get("first_fit")


def model_args(settings: Settings) -> dict[str, Any]:
    return {"hidden_dim": settings.hidden_dim}


def effective_config(settings: Settings, options: RunOptions | None = None) -> TrainingConfig:
    # Evaluated on the training set every epoch (or eval_every steps): that is how a fit is seen.
    return settings.training_config(options, best_metric="train/acc")


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


def training_set(max_length: int) -> TensorDataset:
    """The course's dataset, padded once by the course's collate: with every string in memory,
    a batch is one index into three tensors instead of items collated again every epoch
    (packing ignores the padding, so padding to the longest training length changes nothing)."""
    strings = Parity("train", max_length)
    x, y, lengths = pad_collate([strings[i] for i in range(len(strings))])
    return TensorDataset(x, y, torch.tensor(lengths))


def train(settings: Settings, run_dir: Path | str | None = None, **options: Any) -> RunRecord:
    """Train, then test every length up to test_max_length."""
    # One LSTM step over at most 100 strings is far too small to split across threads: the
    # hand-offs cost more than the arithmetic (on a busy 2-core machine 100 epochs of the
    # hidden-64 model took 6.4 s of CPU on 1 thread and 23.5 s on 2).
    with single_thread():
        return _train(settings, RunOptions(run_dir=run_dir, **options))


def _train(settings: Settings, opts: RunOptions) -> RunRecord:
    started = time.perf_counter()
    config = effective_config(settings, opts)
    seed_everything(config.seed)
    model = ParityLSTM(**model_args(settings))
    train_set = training_set(settings.max_length)
    run = open_run(settings, opts, config, model)
    watch = StopWhenTrainingSetIsFit(stop=settings.stop_when_fit)
    result = fit(
        model,
        config.optimizer.build(model.parameters()),
        train_set,
        parity_step,
        run,
        config.fit,
        eval_sets={"train": train_set},
        callbacks=[watch],
        checkpoint_extra={"program": PROGRAM, "model_args": model_args(settings)},
    )
    accuracies = accuracy_by_length(
        model, settings.test_max_length, settings.test_samples, seed=settings.seed
    )
    lengths = list(range(1, settings.test_max_length + 1))
    run.save_figure(
        line_plot(
            {str(model): (lengths, accuracies)},
            f"{model}: parity accuracy by string length",
            "string length",
            "accuracy",
            marker_x=settings.max_length,
            marker_label=f"longest training length ({settings.max_length})",
        ),
        f"{model}_parity_generalization.png",
    )
    first = watch.first_fit
    final_acc = result.metrics["train/acc"]
    fit_text = f"first fit at epoch {first['epoch']:g}" if first else "never fit"
    print(
        f"{model}: train accuracy {final_acc:.4f} after {result.epochs:g} epochs ({fit_text}); "
        f"accuracy at length {lengths[-1]}: {accuracies[-1]:.4f}"
    )
    return finish(
        run,
        started,
        settings,
        fitted=first is not None,
        fit_at_end=final_acc == 1.0,
        epochs_to_fit=first["epoch"] if first else None,
        accuracy_by_length=dict(zip(map(str, lengths), accuracies, strict=True)),
    )


def load(path: Path | str) -> ParityLSTM:
    """The trained ParityLSTM from a run folder (its best.pt) or a checkpoint, in eval mode."""
    return load_model(path, PROGRAM, ParityLSTM)
