"""HW3 Problem 1: the 784-64-10 MLP on full MNIST, plus the loss questions 1A and 1B."""

from __future__ import annotations

import argparse
import math
import time

import torch

from neurallab.data.digits import load_mnist
from neurallab.engine import StepOutput, fit, seed_everything
from neurallab.engine.options import TrainingConfig, add_engine_args, training_config
from neurallab.flags import positive_int
from neurallab.models.mlp import mnist_mlp
from neurallab.report.plots import learning_curves
from neurallab.tasks.common import add_run_args, classification_step, finish, open_run

COMMAND = "mnist"
HELP = "HW3 P1: MNIST classifier Flatten-Linear(784,64)-ReLU-Linear(64,10) with cross-entropy"

# Problem 1A: the softmax output the handout gives for an image of a 3.
P1A_Y_HAT = [0.1, 0.1, 0.0, 0.4, 0.05, 0.05, 0.05, 0.05, 0.1, 0.1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_engine_args(parser, epochs=10, batch_size=64, lr=1e-3, optimizer="adam")
    add_run_args(parser, COMMAND)
    parser.add_argument("--hidden", type=positive_int, default=64, help="hidden units")
    parser.add_argument(
        "--loss",
        choices=("cross_entropy", "mse"),
        default="cross_entropy",
        help="training loss; mse: MSELoss between softmax probabilities and one-hot labels (P1B)",
    )
    parser.add_argument(
        "--train_limit",
        type=positive_int,
        default=None,
        help="use only the first N training images (smoke tests)",
    )


def loss_questions() -> dict[str, float]:
    """P1A: cross-entropy of the given y_hat for label 3 (natural log).
    P1B: dMSE/dy_hat_3 vs dCE/dy_hat_3 at y_hat_3 = 0.9, computed with autograd.

    For 1B the other nine probabilities share the remaining 0.1 equally; MSE is the mean over
    the 10 components (PyTorch's default). The gradients with respect to the logits are given
    too, since that is what actually reaches the network.
    """
    y_hat = torch.tensor(P1A_Y_HAT, dtype=torch.float64)
    ce_1a = float(-torch.log(y_hat[3]))

    target = torch.nn.functional.one_hot(torch.tensor(3), 10).double()
    probs = torch.full((10,), 0.1 / 9, dtype=torch.float64)
    probs[3] = 0.9
    probs.requires_grad_(True)
    (d_mse,) = torch.autograd.grad(torch.nn.functional.mse_loss(probs, target), probs)
    (d_ce,) = torch.autograd.grad(-torch.log(probs[3]), probs)

    logits = torch.log(probs.detach()).requires_grad_(True)  # softmax(logits) = probs
    (dz_mse,) = torch.autograd.grad(
        torch.nn.functional.mse_loss(torch.softmax(logits, 0), target), logits
    )
    (dz_ce,) = torch.autograd.grad(
        torch.nn.functional.cross_entropy(logits[None], torch.tensor([3])), logits
    )
    return {
        "p1a_cross_entropy": ce_1a,
        "p1a_log10_for_comparison": -math.log10(0.4),
        "p1b_dmse_dyhat3": float(d_mse[3]),
        "p1b_dce_dyhat3": float(d_ce[3]),
        "p1b_dmse_dyhat_other": float(d_mse[0]),
        "p1b_dce_dyhat_other": float(d_ce[0]),
        "p1b_dmse_dlogit3": float(dz_mse[3]),
        "p1b_dce_dlogit3": float(dz_ce[3]),
    }


def effective_config(args: argparse.Namespace) -> TrainingConfig:
    return training_config(args, best_metric="val/acc")


def mse_step(model: torch.nn.Module, batch) -> StepOutput:
    """P1B's alternative: MSELoss between the softmax output and the one-hot label (mean over
    the 10 components, PyTorch's default), with accuracy from the same argmax."""
    images, labels = batch
    logits = model(images)
    target = torch.nn.functional.one_hot(labels, logits.shape[-1]).float()
    loss = torch.nn.functional.mse_loss(torch.softmax(logits.float(), dim=-1), target)
    correct = (logits.argmax(dim=-1) == labels).sum()
    return StepOutput(loss=loss, size=len(labels), correct=correct)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = effective_config(args)
    answers = loss_questions()
    print(f"P1A  cross-entropy of y_hat for label 3: -ln(0.4) = {answers['p1a_cross_entropy']:.4f}")
    print(
        f"P1B  at y_hat_3 = 0.9: dMSE/dy_hat_3 = {answers['p1b_dmse_dyhat3']:.4f}, "
        f"dCE/dy_hat_3 = {answers['p1b_dce_dyhat3']:.4f}  (ratio "
        f"{answers['p1b_dce_dyhat3'] / answers['p1b_dmse_dyhat3']:.1f}x)"
    )

    seed_everything(config.seed)
    model = mnist_mlp(args.hidden)
    train = load_mnist("train", limit=args.train_limit)
    evals = {"val": load_mnist("val"), "test": load_mnist("test")}
    run_ = open_run(COMMAND, args, config, model)
    result = fit(
        model,
        config.optimizer.build(model.parameters()),
        train,
        mse_step if args.loss == "mse" else classification_step,
        run_,
        config.fit,
        eval_sets=evals,
    )
    title = f"HW3 P1: MNIST MLP ({args.loss.replace('_', '-')} loss)"
    run_.save_figure(learning_curves(result.history, title), "curves.png")
    test_acc = result.metrics["test/acc"]
    print(
        f"test accuracy {test_acc:.4f} (val {result.metrics['val/acc']:.4f}) "
        f"after {result.epochs:g} epochs"
    )
    finish(run_, result, started, loss_questions=answers, test_acc=test_acc)
    return 0
