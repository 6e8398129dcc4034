"""HW3 Problem 2: an MLP autoencoder on MNIST, trained with MSE and Adam as in the handout loop."""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from neurallab.data.digits import load_mnist
from neurallab.engine import StepOutput, fit, seed_everything
from neurallab.engine.options import TrainingConfig, add_engine_args, training_config
from neurallab.flags import positive_int
from neurallab.models.autoencoder import Autoencoder
from neurallab.report.plots import image_grid, learning_curves, scatter_by_class
from neurallab.tasks.common import add_run_args, finish, open_run

COMMAND = "autoencoder"
HELP = "HW3 P2: MLP autoencoder on MNIST (MSELoss, Adam lr 1e-3, 10 epochs, 2-d bottleneck)"
SHOWN = 16  # images in the reconstruction grids


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_engine_args(parser, epochs=10, batch_size=64, lr=1e-3, optimizer="adam")
    add_run_args(parser, COMMAND)
    parser.add_argument("--bottleneck", type=positive_int, default=2, help="latent dimensions")
    parser.add_argument(
        "--train_limit",
        type=positive_int,
        default=None,
        help="use only the first N training images (smoke tests)",
    )


def effective_config(args: argparse.Namespace) -> TrainingConfig:
    return training_config(args, best_metric="val/loss", best_mode="min")


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


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = effective_config(args)
    seed_everything(config.seed)
    model = Autoencoder(args.bottleneck)
    train, val, test = (
        load_mnist(s, limit=args.train_limit if s == "train" else None)
        for s in ("train", "val", "test")
    )
    run_ = open_run(COMMAND, args, config, model)
    shown = val.tensors[0][:SHOWN]
    before = reconstructions(model, shown)

    result = fit(
        model,
        config.optimizer.build(model.parameters()),
        train,
        reconstruction_step,
        run_,
        config.fit,
        eval_sets={"val": val, "test": test},
    )

    after = reconstructions(model, shown)
    grid = torch.cat([shown, before, after])
    captions = ["input"] * SHOWN + ["untrained"] * SHOWN + ["trained"] * SHOWN
    run_.save_figure(
        image_grid(
            list(grid),
            captions,
            "HW3 P2: inputs, untrained and trained reconstructions",
            cols=SHOWN,
        ),
        "reconstructions.png",
    )
    codes, labels = latent_codes(model, test)
    title = f"HW3 P2: test-set codes ({args.bottleneck}-d bottleneck" + (
        ", top-2 PCA)" if args.bottleneck > 2 else ")"
    )
    run_.save_figure(scatter_by_class(codes, labels, title), "latent.png")
    run_.save_figure(learning_curves(result.history, "HW3 P2: autoencoder MSE"), "curves.png")
    print(
        f"test reconstruction MSE {result.metrics['test/loss']:.5f} after {result.epochs:g} epochs"
    )
    finish(run_, result, started, test_mse=result.metrics["test/loss"])
    return 0
