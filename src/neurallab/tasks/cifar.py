"""CNN/RNN handout Q1-Q3: the CIFAR-3 CNN, optionally with BatchNorm after fc1.

Course settings: batch 256, Adam lr 1e-4 with weight decay 1e-3, 50 epochs, augmentation
(colour jitter, rotation up to 30 degrees, horizontal flip), pixels normalised as x/127.5 - 1.
The weights of the epoch with the best validation accuracy are kept (`best.pt`, written with
each checkpoint; the handout says "lower", a slip: a lower accuracy is worse); `neurallab
cifar-test` evaluates them on test.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from neurallab.data import images as data
from neurallab.data.transforms import cifar_augment
from neurallab.engine import StepOutput, fit, seed_everything
from neurallab.engine.options import TrainingConfig, add_engine_args, training_config
from neurallab.models.cifar import Net
from neurallab.report.plots import panels
from neurallab.tasks.common import add_run_args, finish, open_run
from neurallab.tracking import metric_series

COMMAND = "cifar"
HELP = "CNN/RNN Q1-Q2: the CIFAR-3 CNN (--batchnorm for Q2), saving the best weights"


def add_cifar_data_args(
    parser: argparse.ArgumentParser,
    data_dir_help: str = "folder with the CIFAR-3 pickles train.pkl/val.pkl/test.pkl "
    "(default: the prepared clip-art CIFAR-3)",
    cifar10_help: str = "real CIFAR-10 python batches instead (cifar-10-batches-py)",
) -> None:
    """The data flags of `cifar` and `cifar-test`: course pickles, or real CIFAR-10 classes."""
    g = parser.add_argument_group("data")
    g.add_argument("--data_dir", type=Path, default=None, help=data_dir_help)
    g.add_argument("--cifar10_dir", type=Path, default=None, help=cifar10_help)
    g.add_argument(
        "--classes",
        type=int,
        nargs=3,
        default=(0, 1, 2),
        metavar="C",
        help="the three CIFAR-10 classes to keep (with --cifar10_dir)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_engine_args(parser, epochs=50, batch_size=256, lr=1e-4, optimizer="adam", weight_decay=1e-3)
    add_run_args(parser, COMMAND)
    parser.add_argument("--batchnorm", action="store_true", help="BatchNorm1d(512) after fc1 (Q2)")
    parser.add_argument("--no_augment", action="store_true", help="train without augmentation")
    add_cifar_data_args(parser)


def effective_config(args: argparse.Namespace) -> TrainingConfig:
    return training_config(args, best_metric="val/acc")


def load_cifar_splits(args: argparse.Namespace) -> dict:
    if args.cifar10_dir:
        d = args.cifar10_dir
        train = data.load_cifar10_batches(
            [d / f"data_batch_{i}" for i in range(1, 5)], tuple(args.classes)
        )
        val = data.load_cifar10_batches([d / "data_batch_5"], tuple(args.classes))
        test = data.load_cifar10_batches([d / "test_batch"], tuple(args.classes))
        return {"train": train, "val": val, "test": test}
    paths = {
        s: (args.data_dir / f"{s}.pkl" if args.data_dir else data.default_cifar3(s))
        for s in data.SPLITS
    }
    return {s: data.load_cifar3(p) for s, p in paths.items()}


def make_step(augment: bool):
    def step(model: torch.nn.Module, batch) -> StepOutput:
        images, labels = batch
        x = images.float() / 255.0
        if augment and model.training:  # augmentation only while training
            x = cifar_augment(x)
        logits = model(x * 2.0 - 1.0)  # = pixels / 127.5 - 1
        loss = torch.nn.functional.cross_entropy(logits, labels)
        return StepOutput(loss=loss, size=len(labels), correct=(logits.argmax(1) == labels).sum())

    return step


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = effective_config(args)
    sets = load_cifar_splits(args)
    seed_everything(config.seed)
    model = Net(batchnorm=args.batchnorm)
    run_ = open_run(COMMAND, args, config, model)
    result = fit(
        model,
        config.optimizer.build(model.parameters()),
        sets["train"],
        make_step(not args.no_augment),
        run_,
        config.fit,
        eval_sets={"val": sets["val"]},
    )
    metrics = run_.dir / "metrics.csv"
    per_batch = result.samples / result.steps if result.steps else 1  # examples per iteration
    series = {}
    for label, key in (("train (per batch)", "train/batch_loss"), ("val", "val/loss")):
        xs, ys = metric_series(metrics, key)
        series[label] = ([x / per_batch for x in xs], ys)
    acc = {
        label: ([x / per_batch for x in xs], ys)
        for label, (xs, ys) in (
            ("train (running)", metric_series(metrics, "train/avg_acc")),
            ("val", metric_series(metrics, "val/acc")),
        )
    }
    title = "CIFAR-3 Net" + (" + BatchNorm" if args.batchnorm else "")
    run_.save_figure(panels({"loss": series, "accuracy": acc}, title, "iteration"), "training.png")
    print(f"{title}: best val acc {result.best['val/acc']:.4f}; weights in {run_.dir / 'best.pt'}")
    finish(run_, result, started, best_val_acc=result.best["val/acc"])
    return 0
