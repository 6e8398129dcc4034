"""HW3 Problem 5: classify multivariate time series with an MLP, a 1-D CNN, an LSTM or a GRU."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from neurallab.data.timeseries import UEA_SETS, load_splits
from neurallab.engine import StepOutput, fit, seed_everything
from neurallab.engine.options import TrainingConfig, add_engine_args, training_config
from neurallab.models.timeseries import build_series_model
from neurallab.report.plots import learning_curves
from neurallab.tasks.common import add_run_args, finish, open_run

COMMAND = "timeseries"
HELP = "HW3 P5: multivariate time-series classification (UEA BasicMotions, JapaneseVowels, .npy)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_engine_args(parser, epochs=60, batch_size=16, lr=1e-3, optimizer="adam")
    add_run_args(parser, COMMAND)
    parser.add_argument("--model", choices=("mlp", "cnn", "lstm", "gru"), default="lstm")
    parser.add_argument("--dataset", choices=UEA_SETS, default="BasicMotions")
    parser.add_argument(
        "--npy",
        type=Path,
        nargs=2,
        metavar=("X.npy", "Y.npy"),
        default=None,
        help="your own data: X of shape (N, T, F) and labels of shape (N,)",
    )


def effective_config(args: argparse.Namespace) -> TrainingConfig:
    return training_config(args, best_metric="val/acc")


def series_step(model: torch.nn.Module, batch) -> StepOutput:
    x, lengths, y = batch
    logits = model(x, lengths)
    return StepOutput(
        loss=torch.nn.functional.cross_entropy(logits, y),
        size=len(y),
        correct=(logits.argmax(1) == y).sum(),
    )


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = effective_config(args)
    # --seed also draws the validation series out of the training split (was fixed at 0).
    (train, val, test), classes, features, steps = load_splits(
        args.dataset, args.npy, seed=config.seed
    )
    seed_everything(config.seed)
    model = build_series_model(args.model, steps, features, len(classes))
    run_ = open_run(COMMAND, args, config, model)
    name = "your arrays" if args.npy else args.dataset
    print(
        f"{name}: {len(train)}/{len(val)}/{len(test)} series, {features} channels, up to "
        f"{steps} steps, {len(classes)} classes; {args.model} with "
        f"{sum(p.numel() for p in model.parameters()):,} parameters"
    )
    result = fit(
        model,
        config.optimizer.build(model.parameters()),
        train,
        series_step,
        run_,
        config.fit,
        eval_sets={"val": val, "test": test},
    )
    run_.save_figure(
        learning_curves(result.history, f"HW3 P5: {args.model} on {name}"), "curves.png"
    )
    print(f"test accuracy {result.metrics['test/acc']:.4f}")
    finish(run_, result, started, test_acc=result.metrics["test/acc"], dataset=name)
    return 0
