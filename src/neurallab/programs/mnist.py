"""HW3 Problem 1: the 784-64-10 MLP on full MNIST, plus the loss questions 1A and 1B.

from neurallab.programs import mnist
rec = mnist.train(mnist.Settings(epochs=1), run_dir="runs/mnist/try")
rec.final["test/acc"]; model = mnist.load(rec.run_dir)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from neurallab.data.digits import load_mnist
from neurallab.engine import StepOutput, fit, seed_everything
from neurallab.engine.options import TrainingConfig, TrainSettings
from neurallab.flags import positive_int
from neurallab.models.mlp import mnist_mlp
from neurallab.programs.run import (
    RunOptions,
    RunRecord,
    classification_step,
    finish,
    load_model,
    open_run,
)
from neurallab.report.plots import learning_curves
from neurallab.settings import setting, with_default

PROGRAM = "mnist"
HELP = "HW3 P1: MNIST classifier Flatten-Linear(784,64)-ReLU-Linear(64,10) with cross-entropy"

# Problem 1A: the softmax output the handout gives for an image of a 3.
P1A_Y_HAT = [0.1, 0.1, 0.0, 0.4, 0.05, 0.05, 0.05, 0.05, 0.1, 0.1]


@dataclass(frozen=True)
class Settings(TrainSettings):
    """The handout's defaults: 10 epochs of Adam (lr 1e-3) at batch 64."""

    PROGRAM = PROGRAM
    epochs: int = with_default(TrainSettings, "epochs", 10)
    batch_size: int = with_default(TrainSettings, "batch_size", 64)
    hidden: int = setting(64, "hidden units", check=positive_int)
    loss: str = setting(
        "cross_entropy",
        "training loss; mse: MSELoss between softmax probabilities and one-hot labels (P1B)",
        choices=("cross_entropy", "mse"),
    )
    train_limit: int | None = setting(
        None, "use only the first N training images (smoke tests)", check=positive_int
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

    dz = logit_gradients(0.9)
    return {
        "p1a_cross_entropy": ce_1a,
        "p1a_log10_for_comparison": -math.log10(0.4),
        "p1b_dmse_dyhat3": float(d_mse[3]),
        "p1b_dce_dyhat3": float(d_ce[3]),
        "p1b_dmse_dyhat_other": float(d_mse[0]),
        "p1b_dce_dyhat_other": float(d_ce[0]),
        "p1b_dmse_dlogit3": dz["mse"],
        "p1b_dce_dlogit3": dz["ce"],
    }


def logit_gradients(p_correct: float, classes: int = 10, label: int = 3) -> dict[str, float]:
    """dL/dz for the correct class's logit under CE and under MSE-on-softmax, at a softmax
    output giving `p_correct` to the label and sharing the rest equally (autograd)."""
    probs = torch.full((classes,), (1 - p_correct) / (classes - 1), dtype=torch.float64)
    probs[label] = p_correct
    target = torch.nn.functional.one_hot(torch.tensor(label), classes).double()
    grads = {}
    for name in ("ce", "mse"):
        logits = torch.log(probs).requires_grad_(True)  # softmax(logits) == probs
        if name == "ce":
            loss = torch.nn.functional.cross_entropy(logits[None], torch.tensor([label]))
        else:
            loss = torch.nn.functional.mse_loss(torch.softmax(logits, 0), target)
        (grad,) = torch.autograd.grad(loss, logits)
        grads[name] = float(grad[label])
    return grads


def mse_step(model: torch.nn.Module, batch) -> StepOutput:
    """P1B's alternative: MSELoss between the softmax output and the one-hot label (mean over
    the 10 components, PyTorch's default), with accuracy from the same argmax."""
    images, labels = batch
    logits = model(images)
    target = torch.nn.functional.one_hot(labels, logits.shape[-1]).float()
    loss = torch.nn.functional.mse_loss(torch.softmax(logits.float(), dim=-1), target)
    correct = (logits.argmax(dim=-1) == labels).sum()
    return StepOutput(loss=loss, size=len(labels), correct=correct)


def model_args(settings: Settings) -> dict[str, Any]:
    """The model's constructor arguments: stored in every checkpoint, so `load` needs no flags."""
    return {"hidden": settings.hidden}


def effective_config(settings: Settings, options: RunOptions | None = None) -> TrainingConfig:
    """What `train` hands the engine: the settings plus what this program fixes itself."""
    return settings.training_config(options, best_metric="val/acc")


def train(settings: Settings, run_dir: Path | str | None = None, **options: Any) -> RunRecord:
    """Train the MLP; print the loss questions' answers and the test accuracy."""
    started = time.perf_counter()
    opts = RunOptions(run_dir=run_dir, **options)
    config = effective_config(settings, opts)
    answers = loss_questions()
    print(f"P1A  cross-entropy of y_hat for label 3: -ln(0.4) = {answers['p1a_cross_entropy']:.4f}")
    print(
        f"P1B  at y_hat_3 = 0.9: dMSE/dy_hat_3 = {answers['p1b_dmse_dyhat3']:.4f}, "
        f"dCE/dy_hat_3 = {answers['p1b_dce_dyhat3']:.4f}  (ratio "
        f"{answers['p1b_dce_dyhat3'] / answers['p1b_dmse_dyhat3']:.1f}x)"
    )

    seed_everything(config.seed)
    model = mnist_mlp(**model_args(settings))
    train_set = load_mnist("train", limit=settings.train_limit)
    evals = {"val": load_mnist("val"), "test": load_mnist("test")}
    run = open_run(settings, opts, config, model)
    result = fit(
        model,
        config.optimizer.build(model.parameters()),
        train_set,
        mse_step if settings.loss == "mse" else classification_step,
        run,
        config.fit,
        eval_sets=evals,
        checkpoint_extra={"program": PROGRAM, "model_args": model_args(settings)},
    )
    title = f"HW3 P1: MNIST MLP ({settings.loss.replace('_', '-')} loss)"
    run.save_figure(learning_curves(result.history, title), "curves.png")
    test_acc = result.metrics["test/acc"]
    print(
        f"test accuracy {test_acc:.4f} (val {result.metrics['val/acc']:.4f}) "
        f"after {result.epochs:g} epochs"
    )
    return finish(run, started, settings, loss_questions=answers, test_acc=test_acc)


def load(path: Path | str) -> torch.nn.Module:
    """The trained MLP from a run folder (its best.pt) or a checkpoint, in eval mode."""
    return load_model(path, PROGRAM, mnist_mlp)
