"""HW3 Problem 5: classify multivariate time series with an MLP, a 1-D CNN, an LSTM or a GRU.

from neurallab.programs import timeseries
rec = timeseries.train(timeseries.Settings(model="cnn", epochs=5), run_dir="runs/ts/try")
rec.final["test/acc"]; model = timeseries.load(rec.run_dir)   # model(x, lengths) -> logits
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from neurallab.data.timeseries import UEA_SETS, load_splits
from neurallab.engine import StepOutput, fit, seed_everything
from neurallab.engine.options import TrainingConfig, TrainSettings
from neurallab.errors import UserError
from neurallab.models.timeseries import MODELS, build_series_model
from neurallab.programs.run import (
    RunOptions,
    RunRecord,
    finish,
    load_model,
    open_run,
)
from neurallab.report.plots import learning_curves
from neurallab.settings import setting, with_default

PROGRAM = "timeseries"
HELP = "HW3 P5: multivariate time-series classification (UEA BasicMotions, JapaneseVowels, .npy)"


@dataclass(frozen=True)
class Settings(TrainSettings):
    """60 epochs of Adam (lr 1e-3) at batch 16 (the handout fixes no training settings)."""

    PROGRAM = PROGRAM
    epochs: int = with_default(TrainSettings, "epochs", 60)
    batch_size: int = with_default(TrainSettings, "batch_size", 16)
    model: str = setting("lstm", "model family", choices=MODELS)
    dataset: str = setting("BasicMotions", "UEA dataset (ignored with npy)", choices=UEA_SETS)
    npy: tuple[Path, ...] | None = setting(
        None,
        "your own data, two files X.npy Y.npy: X of shape (N, T, F), labels Y of shape (N,)",
        nargs=2,  # type: ignore[arg-type]  # argparse takes a count as well as "+"/"*"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        # NumPy's generator draws the validation split and refuses other seeds (with a traceback).
        if not 0 <= self.seed < 2**32:
            raise UserError(
                f"{self._where()}seed: must be an integer from 0 to 2**32 - 1, got {self.seed}"
            )
        if self.npy is not None:
            if len(self.npy) != 2:
                raise UserError(
                    f"{self._where()}npy: give two files, X.npy and Y.npy (got {len(self.npy)})"
                )
            object.__setattr__(self, "npy", tuple(Path(p) for p in self.npy))

    @property
    def data_name(self) -> str:
        """What the run trained on, for titles and the summary."""
        return "your arrays" if self.npy else self.dataset


def effective_config(settings: Settings, options: RunOptions | None = None) -> TrainingConfig:
    """What `train` hands the engine: the settings plus the best-run rule (val accuracy)."""
    return settings.training_config(options, best_metric="val/acc")


def series_step(model: torch.nn.Module, batch) -> StepOutput:
    x, lengths, y = batch
    logits = model(x, lengths)
    return StepOutput(
        loss=torch.nn.functional.cross_entropy(logits, y),
        size=len(y),
        correct=(logits.argmax(1) == y).sum(),
    )


def train(settings: Settings, run_dir: Path | str | None = None, **options: Any) -> RunRecord:
    """Train one model on one dataset; the checkpoint keeps the model's shape, the class names
    and the training split's channel statistics, so `load` needs nothing else."""
    started = time.perf_counter()
    opts = RunOptions(run_dir=run_dir, **options)
    config = effective_config(settings, opts)
    # The seed also draws the validation series out of the training split.
    splits = load_splits(settings.dataset, settings.npy, seed=config.seed)
    (train_set, val, test), classes = splits.sets, splits.classes
    model_args = {
        "kind": settings.model,
        "steps": splits.steps,
        "features": splits.features,
        "classes": len(classes),
    }
    seed_everything(config.seed)
    model = build_series_model(**model_args)
    run = open_run(settings, opts, config, model)
    name = settings.data_name
    print(
        f"{name}: {len(train_set)}/{len(val)}/{len(test)} series, {splits.features} channels, "
        f"up to {splits.steps} steps, {len(classes)} classes; {settings.model} with "
        f"{sum(p.numel() for p in model.parameters()):,} parameters"
    )
    extra = {
        "program": PROGRAM,
        "model_args": model_args,
        "class_names": classes,
        "channel_mean": splits.mean.tolist(),
        "channel_std": splits.std.tolist(),
    }
    result = fit(
        model,
        config.optimizer.build(model.parameters()),
        train_set,
        series_step,
        run,
        config.fit,
        eval_sets={"val": val, "test": test},
        checkpoint_extra=extra,
    )
    title = f"HW3 P5: {settings.model} on {name}"
    run.save_figure(learning_curves(result.history, title), "curves.png")
    test_acc = result.metrics["test/acc"]
    print(f"test accuracy {test_acc:.4f}")
    return finish(run, started, settings, test_acc=test_acc, dataset=name)


def load(path: Path | str) -> torch.nn.Module:
    """The trained model from a run folder (its best.pt) or a checkpoint, in eval mode. It takes
    (x, lengths) with x z-scored with the checkpoint's channel_mean and channel_std."""
    return load_model(path, PROGRAM, build_series_model)
