"""HW3 Problem 2: an MLP autoencoder on MNIST, trained with MSE and Adam as in the handout loop.

from neurallab.programs import autoencoder
rec = autoencoder.train(autoencoder.Settings(epochs=1), run_dir="runs/autoencoder/try")
rec.final["test/loss"]; model = autoencoder.load(rec.run_dir)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neurallab.data.digits import load_mnist
from neurallab.engine import StepOutput, fit, seed_everything
from neurallab.engine.options import TrainingConfig, TrainSettings
from neurallab.flags import positive_int
from neurallab.models.autoencoder import Autoencoder
from neurallab.programs.run import (
    RunOptions,
    RunRecord,
    finish,
    load_model,
    open_run,
)
from neurallab.report.plots import image_grid, learning_curves, scatter_by_class
from neurallab.settings import setting, with_default

PROGRAM = "autoencoder"
HELP = "HW3 P2: MLP autoencoder on MNIST (MSELoss, Adam lr 1e-3, 10 epochs, 2-d bottleneck)"
SHOWN = 16  # images in the reconstruction grids


@dataclass(frozen=True)
class Settings(TrainSettings):
    """The handout's loop: 10 epochs of Adam (lr 1e-3) at batch 64, MSE on the pixels."""

    PROGRAM = PROGRAM
    epochs: int = with_default(TrainSettings, "epochs", 10)
    batch_size: int = with_default(TrainSettings, "batch_size", 64)
    bottleneck: int = setting(2, "latent dimensions", check=positive_int)
    train_limit: int | None = setting(
        None, "use only the first N training images (smoke tests)", check=positive_int
    )


def model_args(settings: Settings) -> dict[str, Any]:
    """The model's constructor arguments: stored in every checkpoint, so `load` needs no flags."""
    return {"bottleneck": settings.bottleneck}


def effective_config(settings: Settings, options: RunOptions | None = None) -> TrainingConfig:
    """What `train` hands the engine: the settings plus the best-run rule (lowest val MSE)."""
    return settings.training_config(options, best_metric="val/loss", best_mode="min")


def reconstruction_step(model: nn.Module, batch) -> StepOutput:
    """The handout's (c)-(d): x = images.view(B, -1); loss = MSELoss()(model(x), x)."""
    images, _ = batch
    x = images.view(images.size(0), -1)
    return StepOutput(loss=nn.functional.mse_loss(model(x), x), size=len(x))


def reconstructions(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(images.flatten(1)).view_as(images)


def latent_codes(model: Autoencoder, data) -> tuple[np.ndarray, np.ndarray]:
    """Codes of every image in `data`; projected on their top-2 principal axes if wider than 2."""
    images, labels = data.tensors
    model.eval()
    with torch.no_grad():
        codes = model.encode(images)
    if codes.shape[1] > 2:
        centred = codes - codes.mean(0)
        codes = centred @ torch.linalg.svd(centred, full_matrices=False).Vh[:2].T
    return codes.numpy(), labels.numpy()


def baselines(code_size: int = 2, fit_images: int = 5000) -> dict[str, float]:
    """Test MSE per pixel of two reconstructions that need no training loop: the mean training
    image for every input, and the best linear `code_size`-number code (PCA, fitted on the first
    `fit_images` training images), the linear counterpart of the autoencoder."""
    train = load_mnist("train", limit=fit_images).tensors[0].flatten(1)
    test = load_mnist("test").tensors[0].flatten(1)
    mean = train.mean(0)
    centred = train - mean
    covariance = (centred.T @ centred).double() / len(train)  # (784, 784)
    axes = torch.linalg.eigh(covariance).eigenvectors[:, -code_size:].float()  # top components
    pca = (test - mean) @ axes @ axes.T + mean
    return {
        "mean_image": float(((test - mean) ** 2).mean()),
        "pca": float(((test - pca) ** 2).mean()),
    }


def train(settings: Settings, run_dir: Path | str | None = None, **options: Any) -> RunRecord:
    """Train the autoencoder; draw reconstructions, the test codes and the curves."""
    started = time.perf_counter()
    opts = RunOptions(run_dir=run_dir, **options)
    config = effective_config(settings, opts)
    seed_everything(config.seed)
    model = Autoencoder(**model_args(settings))
    train_set = load_mnist("train", limit=settings.train_limit)
    val, test = load_mnist("val"), load_mnist("test")
    run = open_run(settings, opts, config, model)
    shown = val.tensors[0][:SHOWN]
    before = reconstructions(model, shown)
    result = fit(
        model,
        config.optimizer.build(model.parameters()),
        train_set,
        reconstruction_step,
        run,
        config.fit,
        eval_sets={"val": val, "test": test},
        checkpoint_extra={"program": PROGRAM, "model_args": model_args(settings)},
    )
    # The figures show the weights training ended with (on --resume: the resumed model), and the
    # "untrained" row the same seed's initial weights.
    grid = torch.cat([shown, before, reconstructions(model, shown)])
    captions = ["input"] * SHOWN + ["untrained"] * SHOWN + ["trained"] * SHOWN
    title = "HW3 P2: MNIST val inputs, untrained and trained reconstructions"
    run.save_figure(image_grid(list(grid), captions, title, cols=SHOWN), "reconstructions.png")
    codes, labels = latent_codes(model, test)
    wide = settings.bottleneck > 2
    title = f"HW3 P2: MNIST test-set codes ({settings.bottleneck}-d bottleneck" + (
        ", top-2 PCA)" if wide else ")"
    )
    run.save_figure(scatter_by_class(codes, labels, title), "latent.png")
    run.save_figure(
        learning_curves(result.history, "HW3 P2: autoencoder MSE (MNIST)"), "curves.png"
    )
    test_mse = result.metrics["test/loss"]
    print(f"test reconstruction MSE {test_mse:.5f} after {result.epochs:g} epochs")
    return finish(run, started, settings, test_mse=test_mse)


def load(path: Path | str) -> Autoencoder:
    """The trained autoencoder from a run folder (its best.pt) or a checkpoint, in eval mode."""
    return load_model(path, PROGRAM, Autoencoder)
