"""CNN/RNN handout Q3 (`test.py`): load the best CIFAR-3 weights and report test accuracy."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neurallab.engine import FitConfig, evaluate, load_model_weights
from neurallab.engine.checkpoint import load
from neurallab.errors import UserError
from neurallab.models.cifar import Net
from neurallab.tasks.cifar import add_cifar_data_args, load_cifar_splits, make_step

COMMAND = "cifar-test"
HELP = "CNN/RNN Q3: evaluate saved CIFAR-3 weights on the test split"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, required=True, help="best.pt of a `cifar` run")
    parser.add_argument(
        "--batchnorm", action="store_true", help="the weights have BatchNorm (else detected)"
    )
    add_cifar_data_args(parser)


def run(args: argparse.Namespace) -> int:
    if not args.weights.is_file():
        raise UserError(f"--weights: {args.weights} is not a file")
    state = load(args.weights)
    if not isinstance(state, dict):
        raise UserError(f"--weights: {args.weights} holds no state_dict")
    keys = state.get("model", state).keys()
    # Q2's weights carry the BatchNorm layer's entries: build the matching network.
    model = Net(batchnorm=args.batchnorm or any(k.startswith("bn.") for k in keys))
    try:
        load_model_weights(model, args.weights)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise UserError(f"--weights: {args.weights} does not fit the CIFAR Net ({first})") from None
    test = load_cifar_splits(args)["test"]
    metrics = evaluate(model, test, make_step(augment=False), FitConfig(batch_size=256))
    print(f"test accuracy {metrics['acc']:.4f} on {metrics['n']} images ({args.weights})")
    result = {"test_acc": metrics["acc"], "test_loss": metrics["loss"], "n": metrics["n"]}
    (args.weights.parent / "test.json").write_text(json.dumps(result) + "\n")
    return 0
