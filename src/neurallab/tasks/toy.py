"""HW4: the 3-4-2 toy network, by hand (Exercises 1-3) and with nn modules (Exercises 4-5).

Exercise 2's gradients are checked against autograd in float64, where they agree to ~1e-16.
Exercise 5 trains ToyModel on the 20 fixed points with the engine; then, as the handout's
ungraded part asks, the model is scored on fresh data, and a second model is trained on a
fresh sample at every step to show what generalising to the distribution takes.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.nn.functional import mse_loss
from torch.utils.data import TensorDataset

from neurallab.data.toy import generate_data
from neurallab.engine import StepOutput, fit
from neurallab.flags import positive_float, positive_int
from neurallab.internals import backprop as hand
from neurallab.models.toy import ToyModel
from neurallab.report.plots import line_plot
from neurallab.tasks.common import add_engine_args, finish, fit_config, make_optimizer, open_run
from neurallab.tracking import Run, metric_series

COMMAND = "toy"
HELP = "HW4: toy network forward/backward by hand, checked against autograd, then trained"
N_POINTS = 20  # the handout's fixed training set: torch.manual_seed(0); generate_data(20)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_engine_args(parser, epochs=5_000, batch_size=N_POINTS, lr=0.03, optimizer="adam")
    parser.add_argument(
        "--small_lr",
        type=positive_float,
        default=0.01,
        help="Exercise 3: learning rate of the step that lowers the loss",
    )
    parser.add_argument(
        "--large_lr",
        type=positive_float,
        default=50.0,
        help="Exercise 3: learning rate of the step that overshoots",
    )
    parser.add_argument(
        "--fresh_batch",
        type=positive_int,
        default=100,
        help="batch size of the variant trained on fresh samples each step",
    )
    parser.add_argument(
        "--fresh_test",
        type=positive_int,
        default=100,
        help="size of the fresh test set (the handout uses 100)",
    )


def mse_step(model: nn.Module, batch) -> StepOutput:
    """Exercise 4/5 loss: mse_loss with its default reduction='mean'."""
    x, y = batch
    return StepOutput(loss=mse_loss(model(x), y), size=len(x))


def exercises_1_to_3(
    X: torch.Tensor, Y: torch.Tensor, params: hand.ToyParams, small_lr: float, large_lr: float
) -> dict[str, float]:
    """Forward, manual backward vs autograd (float64), and one gradient step at two rates."""
    loss = float(hand.sum_squared_error(hand.forward(X, params), Y))
    X64, Y64 = X.double(), Y.double()
    p64 = hand.ToyParams(*(t.double() for t in params.tensors()))
    manual = hand.backprop(X64, Y64, p64)
    auto = hand.autograd_gradients(X64, Y64, p64)
    out = {"ex1_loss": loss}
    for name, m, a in zip(("W1", "B1", "W2", "B2"), manual, auto, strict=True):
        out[f"ex2_{name}_grad_distance"] = float((m.reshape(a.shape) - a).norm())
    grads = hand.backprop(X, Y, params)
    for tag, lr in (("small", small_lr), ("large", large_lr)):
        stepped = hand.gradient_step(params, grads, lr)
        out[f"ex3_loss_after_{tag}_lr_step"] = float(
            hand.sum_squared_error(hand.forward(X, stepped), Y)
        )
    return out


def train_toy(
    args: argparse.Namespace,
    model: nn.Module,
    data: TensorDataset,
    run: Run,
    max_samples: int | None = None,
):
    cfg = fit_config(
        args,
        max_samples=max_samples,
        best_metric=None,
        eval_every=max(1, args.epochs // 20),
        checkpoint_every=None,
    )
    cfg.log_every = max(1, args.epochs // 1000)
    return fit(
        model,
        make_optimizer(args, model.parameters()),
        data,
        mse_step,
        run,
        cfg,
        eval_sets={"fixed": data},
    )


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    torch.manual_seed(args.seed)  # the handout: torch.manual_seed(0), then data, then weights
    X, Y = generate_data(N_POINTS)
    params = hand.ToyParams.init()
    answers = exercises_1_to_3(X, Y, params, args.small_lr, args.large_lr)
    model = ToyModel()
    with torch.no_grad():
        answers["ex4_untrained_mse"] = float(mse_loss(model(X), Y))
    _print_exercises_1_to_4(answers, args)

    run_ = open_run(COMMAND, args, model)
    result = train_toy(args, model, TensorDataset(X, Y), run_)
    X2, Y2 = generate_data(args.fresh_test)
    with torch.no_grad():
        answers["ex5_mse"] = float(mse_loss(model(X), Y))
        answers["ex5_fresh_data_mse"] = float(mse_loss(model(X2), Y2))

    # The ungraded variant: the same budget of steps, each on a fresh sample of the distribution.
    fresh_model = ToyModel()
    fresh_run = Run(run_.dir / "fresh")  # files only: one tracked run per command
    stream = TensorDataset(*generate_data(args.epochs * args.fresh_batch))
    fresh_args = argparse.Namespace(
        **{**vars(args), "batch_size": args.fresh_batch, "resume": False}
    )
    train_toy(fresh_args, fresh_model, stream, fresh_run, max_samples=len(stream))
    fresh_run.finish()
    with torch.no_grad():
        answers["fresh_training_fixed_mse"] = float(mse_loss(fresh_model(X), Y))
        answers["fresh_training_fresh_data_mse"] = float(mse_loss(fresh_model(X2), Y2))

    steps, losses = metric_series(run_.dir / "metrics.csv", "train/batch_loss")
    fsteps, flosses = metric_series(fresh_run.dir / "metrics.csv", "train/batch_loss")
    run_.save_figure(
        line_plot(
            {
                "20 fixed points": (range(1, len(losses) + 1), losses),
                f"fresh batch of {args.fresh_batch} each step": (
                    range(1, len(flosses) + 1),
                    flosses,
                ),
            },
            "HW4 Ex5: training MSE",
            "logged step",
            "MSE (mean)",
            logy=True,
        ),
        "training.png",
    )
    _print_exercise_5(answers, args)
    finish(
        run_,
        result,
        started,
        answers=answers,
        mse=answers["ex5_mse"],
        max_grad_distance=max(v for k, v in answers.items() if k.startswith("ex2_")),
    )
    return 0


def _print_exercises_1_to_4(a: dict[str, float], args: argparse.Namespace) -> None:
    print(
        f"Ex1  loss ||y_hat - Y||^2 of the untrained network on the 20 points: {a['ex1_loss']:.6f}"
    )
    print("Ex2  manual gradients vs autograd (float64):")
    for name in ("W1", "B1", "W2", "B2"):
        print(
            f"       {name} grad distance: {a[f'ex2_{name}_grad_distance']:.10f} "
            f"({a[f'ex2_{name}_grad_distance']:.2e})"
        )
    print(
        f"Ex3  one step at lr {args.small_lr:g}: loss {a['ex1_loss']:.6f} -> "
        f"{a['ex3_loss_after_small_lr_step']:.6f}; at lr {args.large_lr:g}: "
        f"{a['ex1_loss']:.6f} -> {a['ex3_loss_after_large_lr_step']:.6f}"
    )
    print(f"Ex4  ToyModel untrained MSE (mean): {a['ex4_untrained_mse']:.6f}")


def _print_exercise_5(a: dict[str, float], args: argparse.Namespace) -> None:
    print(
        f"Ex5  after {args.epochs} {args.optimizer} steps (lr {args.lr:g}): "
        f"MSE on the 20 points {a['ex5_mse']:.6f}; on {args.fresh_test} fresh points "
        f"{a['ex5_fresh_data_mse']:.4f}"
    )
    print(
        f"     trained on fresh samples each step instead: 20 points {a['fresh_training_fixed_mse']:.4f}, "
        f"fresh points {a['fresh_training_fresh_data_mse']:.4f}"
    )
