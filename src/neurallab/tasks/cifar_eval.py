"""CNN/RNN handout Q3 (`test.py`): load the best CIFAR-3 weights and report test accuracy.

The weights may be a `cifar` run's `best.pt` or a plain state_dict (what the course's
`torch.save(net.state_dict(), ...)` writes). The test split is the course's pickle
`cifar10_hst_test` when there is one (in `--data_dir`, or else in the working directory), else
`test.pkl` in `--data_dir`, else the prepared clip-art CIFAR-3; one line says which.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from torch.utils.data import TensorDataset

from neurallab.data import images as data
from neurallab.engine import FitConfig, evaluate, load_model_weights, resolve_device
from neurallab.engine.checkpoint import load
from neurallab.engine.device import DEVICES
from neurallab.errors import UserError
from neurallab.models.cifar import Net
from neurallab.tasks.cifar import add_cifar_data_args, make_step

COMMAND = "cifar-test"
HELP = "CNN/RNN Q3: evaluate saved CIFAR-3 weights on the test split"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weights",
        type=Path,
        required=True,
        help="best.pt of a `cifar` run, or a plain state_dict of Net",
    )
    parser.add_argument(
        "--batchnorm", action="store_true", help="the weights have BatchNorm (else detected)"
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where to evaluate (auto: CUDA, then MPS, then the CPU)",
    )
    add_cifar_data_args(
        parser,
        data_dir_help="folder with the course's cifar10_hst_test or a test.pkl (default: "
        "./cifar10_hst_test if present, else the prepared clip-art CIFAR-3)",
        cifar10_help="real CIFAR-10 python batches instead (its test_batch)",
    )


def load_test_split(args: argparse.Namespace) -> tuple[TensorDataset, str]:
    """The test split named by the flags (see the module docstring) and a description of it."""
    if args.cifar10_dir:
        path = args.cifar10_dir / "test_batch"
        test = data.load_cifar10_batches([path], tuple(args.classes))
        return test, f"{path} (CIFAR-10 classes {' '.join(map(str, args.classes))})"
    if args.data_dir:
        course = data.course_cifar3(args.data_dir, "test")
        path = course or args.data_dir / "test.pkl"
        if not path.is_file():
            raise UserError(
                f"--data_dir: {args.data_dir} holds neither cifar10_hst_test nor test.pkl"
            )
    else:
        course = data.course_cifar3(Path("."), "test")
        path = course or data.default_cifar3("test")
    kind = "the course's pickle" if course else "CIFAR-3 pickle"
    if not args.data_dir and not course:
        kind = "the prepared clip-art CIFAR-3"
    return data.load_cifar3(path), f"{path} ({kind})"


def effective_config(args: argparse.Namespace) -> FitConfig:
    """How the test split is evaluated: on --device, in batches of 256 (no gradients)."""
    return FitConfig(batch_size=256, device=resolve_device(args.device))


def run(args: argparse.Namespace) -> int:
    config = effective_config(args)
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
    test, described = load_test_split(args)
    print(f"cifar-test: test data {described}, {len(test)} images")
    metrics = evaluate(model.to(config.device), test, make_step(augment=False), config)
    print(f"test accuracy {metrics['acc']:.4f} on {metrics['n']} images ({args.weights})")
    result = {"test_acc": metrics["acc"], "test_loss": metrics["loss"], "n": metrics["n"]}
    (args.weights.parent / "test.json").write_text(json.dumps(result) + "\n")
    return 0
