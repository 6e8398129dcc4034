"""CNN/RNN handout Q3 (`test.py`): load the best CIFAR-3 weights and report test accuracy."""

from __future__ import annotations

import argparse
from pathlib import Path

from neurallab.engine import FitConfig, evaluate, load_model_weights
from neurallab.models.cifar import Net
from neurallab.tasks.cifar import add_cifar_data_args, load_cifar_splits, make_step

COMMAND = "cifar-test"
HELP = "CNN/RNN Q3: evaluate saved CIFAR-3 weights on the test split"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, required=True, help="best.pt of a `cifar` run")
    parser.add_argument("--batchnorm", action="store_true", help="the weights have BatchNorm")
    add_cifar_data_args(parser)


def run(args: argparse.Namespace) -> int:
    model = Net(batchnorm=args.batchnorm)
    load_model_weights(model, args.weights)
    test = load_cifar_splits(args)["test"]
    metrics = evaluate(model, test, make_step(augment=False), FitConfig(batch_size=256))
    print(f"test accuracy {metrics['acc']:.4f} on {metrics['n']} images ({args.weights})")
    summary = args.weights.parent / "test.json"
    summary.write_text(f'{{"test_acc": {metrics["acc"]}, "n": {metrics["n"]}}}\n')
    return 0


