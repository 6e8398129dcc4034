"""HW4: the 3-4-2 toy network, by hand (Exercises 1-3) and with nn modules (Exercises 4-5).

The run replays the notebook's random draws in order, from its `torch.manual_seed(seed)`: the
20 training points, the hand-written weights W1..B2, the ExampleNetwork cell, the Ex4
`ToyModel()`, the Ex5 cell's fresh `ToyModel()`, then the 100 fresh points of the ungraded cell.

- Exercises 1-3: forward pass, manual backward pass checked against autograd (float32 and
  float64), and one gradient step at a range of learning rates.
- Exercise 4: `ToyModel`, checked to compute the same function as the hand-written forward pass.
- Exercise 5: the handout's optimisation loop (full batch on the 20 points, `mse_loss`),
  through the engine. `--inits N` trains N fresh initialisations at once: initialisation k is
  the fresh ToyModel() the Ex5 cell would build had the notebook begun with
  `torch.manual_seed(seed + k)` (the 20 points stay those of `seed`), so k = 0 is the notebook's
  own. They are trained as one batched `ToyEnsemble`, which steps each member as if alone.
- Ungraded: every initialisation is scored on fresh points, and trained a second time on a
  fresh sample at every step (`--fresh_steps`, 0 to skip) to show what generalising takes.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch
from torch import nn
from torch.nn.functional import mse_loss
from torch.utils.data import TensorDataset

from neurallab.data.toy import generate_data
from neurallab.engine import (
    Callback,
    FitConfig,
    OptimizerConfig,
    StepOutput,
    TrainingConfig,
    fit,
    optimizer_config,
    resolve_device,
    seed_everything,
)
from neurallab.engine.device import DEVICES, single_thread
from neurallab.engine.options import OPTIMIZERS
from neurallab.flags import non_negative_float, non_negative_int, positive_float, positive_int
from neurallab.internals import backprop as hand
from neurallab.models.toy import ToyEnsemble, ToyModel, member_mse
from neurallab.tasks.common import add_run_args, finish, open_run
from neurallab.tracking import Run

COMMAND = "toy"
HELP = "HW4: toy network forward/backward by hand, checked against autograd, then trained"
N_POINTS = 20  # the handout's fixed training set: torch.manual_seed(0); generate_data(20)
TARGET = 0.01  # Exercise 5: "get MSE loss below 0.01"
PLOTTED_INITS = 8  # initialisations drawn one line each in training.png


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Only the flags this command honours.

    It trains full batch on the 20 points for a fixed number of steps, so the engine's
    epoch/sample budgets, batch size, clipping, precision, checkpoint cadence and resume are
    not offered. `effective_config` turns these flags into the configuration that runs.
    """
    g = parser.add_argument_group("Exercise 5 training")
    g.add_argument(
        "--steps",
        "--epochs",
        dest="steps",
        type=positive_int,
        default=5_000,
        help="optimisation steps, each on all 20 points (the handout's solution runs 10,000)",
    )
    g.add_argument(
        "--lr", "--learning_rate", type=positive_float, default=0.03, help="learning rate"
    )
    g.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="optimizer")
    g.add_argument(
        "--momentum",
        type=non_negative_float,
        default=None,
        help="momentum of --optimizer sgd (default: 0)",
    )
    g.add_argument("--weight_decay", type=non_negative_float, default=0.0, help="weight decay (L2)")
    g.add_argument(
        "--seed",
        type=int,
        default=0,
        help="the notebook's torch.manual_seed: the 20 points, W1..B2 and the ToyModels",
    )
    g.add_argument(
        "--inits",
        type=positive_int,
        default=1,
        help="fresh ToyModel() initialisations to train, from seeds seed, seed+1, ... (the "
        "first is the notebook's own; the 20 points stay those of --seed)",
    )
    g.add_argument(
        "--eval_every",
        type=positive_int,
        default=250,
        help="steps between measurements of every initialisation's MSE",
    )
    g.add_argument("--device", choices=DEVICES, default="cpu", help="cpu: the network is tiny")
    g.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    e = parser.add_argument_group("Exercise 3 and the ungraded question")
    e.add_argument(
        "--small_lr",
        type=positive_float,
        default=0.01,
        help="Exercise 3: smallest learning rate of the one-step scan (the handout's cell)",
    )
    e.add_argument(
        "--large_lr",
        type=positive_float,
        default=50.0,
        help="Exercise 3: largest learning rate of the one-step scan",
    )
    e.add_argument(
        "--fresh_steps",
        type=non_negative_int,
        default=None,
        help="steps of the variant trained on a fresh sample each step (default: --steps; 0: skip)",
    )
    e.add_argument(
        "--fresh_batch",
        type=positive_int,
        default=100,
        help="sample size of each step of that variant",
    )
    e.add_argument(
        "--fresh_test",
        type=positive_int,
        default=100,
        help="size of the fresh test set (the handout uses 100)",
    )
    add_run_args(parser, COMMAND)


def effective_config(args: argparse.Namespace) -> TrainingConfig:
    """What the run trains with. `fit`: Exercise 5 on the 20 points; `task["fresh_fit"]`: the
    variant trained on a fresh sample at every step (None with --fresh_steps 0)."""
    fresh_steps = args.steps if args.fresh_steps is None else args.fresh_steps
    device = resolve_device(args.device)

    def full_batch_steps(steps: int, batch_size: int) -> FitConfig:
        return FitConfig(
            max_samples=steps * batch_size,  # the budget: exactly `steps` optimizer steps
            batch_size=batch_size,
            # In order, as the handout's `model(X)`: full batches need no shuffling, and the
            # fresh-sample stream is i.i.d. already.
            shuffle=False,
            eval_every=min(args.eval_every, steps),
            best_metric=None,
            device=device,
            seed=args.seed,
            progress=not args.no_progress,
            log_every=max(1, steps // 500),
        )

    return TrainingConfig(
        fit=full_batch_steps(args.steps, N_POINTS),
        optimizer=optimizer_config(args),
        task={
            "inits": args.inits,
            "fresh_steps": fresh_steps,
            "fresh_fit": full_batch_steps(fresh_steps, args.fresh_batch) if fresh_steps else None,
        },
    )


# -- Exercises 1-4 ------------------------------------------------------------------------------


def lr_scan(small_lr: float, large_lr: float, points: int = 13) -> list[float]:
    """Learning rates from small_lr to large_lr, evenly spaced on a log scale."""
    if points < 2 or large_lr <= small_lr:
        return [small_lr]
    ratio = (large_lr / small_lr) ** (1 / (points - 1))
    return [small_lr * ratio**i for i in range(points)]


def exercises_1_to_4(
    X: torch.Tensor,
    Y: torch.Tensor,
    params: hand.ToyParams,
    model: ToyModel,
    small_lr: float,
    large_lr: float,
) -> dict[str, Any]:
    """Forward, manual backward vs autograd, one step at several rates, and ToyModel's checks."""
    y_hat = hand.forward(X, params)
    loss = float(hand.sum_squared_error(y_hat, Y))
    out: dict[str, Any] = {
        "ex1_loss": loss,
        "ex1_loss_builtin": float(mse_loss(y_hat, Y, reduction="sum")),
        "ex1_output_shape": list(y_hat.shape),
        "ex1_target_shape": list(Y.shape),
    }
    # The handout's check, first as the notebook runs it (float32), then in float64.
    for suffix, dtype in (("_float32", torch.float32), ("", torch.float64)):
        p = hand.ToyParams(*(t.to(dtype) for t in params.tensors()))
        distances = hand.gradient_distances(X.to(dtype), Y.to(dtype), p)
        for name, d in distances.items():
            out[f"ex2_{name}_grad_distance{suffix}"] = d

    grads = hand.backprop(X, Y, params)
    scan = []
    for lr in lr_scan(small_lr, large_lr):
        stepped = hand.gradient_step(params, grads, lr)
        scan.append([lr, float(hand.sum_squared_error(hand.forward(X, stepped), Y))])
    out["ex3_lr_scan"] = scan
    out["ex3_loss_after_small_lr_step"] = scan[0][1]
    out["ex3_loss_after_large_lr_step"] = scan[-1][1]

    with torch.no_grad():
        out["ex4_untrained_mse"] = float(mse_loss(model(X), Y))
        # The same network: ToyModel holding W1..B2 (nn.Linear stores W transposed) computes
        # exactly the hand-written forward pass.
        same = ToyModel()
        same.net[0].weight.copy_(params.W1.T)
        same.net[0].bias.copy_(params.B1[0])
        same.net[2].weight.copy_(params.W2.T)
        same.net[2].bias.copy_(params.B2[0])
        out["ex4_max_output_difference"] = float((same(X) - y_hat).abs().max())
    out["ex4_parameters"] = sum(p.numel() for p in model.parameters())
    return out


# -- Exercise 5 ---------------------------------------------------------------------------------


def example_network_cell() -> None:
    """The random draws of the handout's ExampleNetwork cell (between Exercises 3 and 4).

    It builds a 784-128-64-10 MLP and runs it on `torch.randn(1, 28, 28)`. Nothing else of it
    matters here, but its draws come before the Ex4 and Ex5 `ToyModel()`s: replaying them keeps
    those initialisations the notebook's own.
    """
    nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, 128),
        nn.ReLU(),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )
    torch.randn(1, 28, 28)


def notebook_fresh_model(seed: int) -> ToyModel:
    """The Ex5 cell's `ToyModel()` had the notebook begun with `torch.manual_seed(seed)`.

    The notebook draws, in order: the 20 points, W1..B2, the ExampleNetwork cell, the Ex4
    ToyModel, then this one. They are replayed on a forked generator: the run's own stream
    (seeded once from --seed) is left where it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generate_data(N_POINTS)
        hand.ToyParams.init()
        example_network_cell()
        ToyModel()
        return ToyModel()


def ensemble_mse_step(model: ToyEnsemble, batch) -> StepOutput:
    """Each member's `mse_loss(model(X), Y)`, summed so each member gets its own gradient.

    Logged as the mean over members (`summed=True` with size = number of members).
    """
    x, y = batch
    per_member = member_mse(model(x), y)
    return StepOutput(loss=per_member.sum(), size=len(per_member), summed=True)


class RecordMSE(Callback):
    """At every evaluation: each member's MSE on each scored set (name -> (X, Y)), logged and
    kept as the history that the answers and the plot come from."""

    def __init__(
        self,
        ensemble: ToyEnsemble,
        scored: dict[str, tuple[torch.Tensor, torch.Tensor]],
        run: Run,
        cfg: FitConfig,
    ) -> None:
        self.ensemble, self.run, self.batch_size = ensemble, run, cfg.batch_size
        self.scored = {
            name: (x.to(cfg.device), y.to(cfg.device)) for name, (x, y) in scored.items()
        }
        self.history: dict[str, list] = {"steps": [], **{name: [] for name in scored}}

    def on_evaluation(self, step: int, metrics: dict[str, float]) -> None:
        self.history["steps"].append(step)
        logged: dict[str, float] = {}
        with torch.no_grad():
            for name, (x, y) in self.scored.items():
                mse = member_mse(self.ensemble(x), y).cpu()
                self.history[name].append(mse.tolist())
                logged[f"{name}/mse_init0"] = float(mse[0])
                logged[f"{name}/mse_median"] = float(mse.median())
                logged[f"{name}/inits_below_target"] = float((mse < TARGET).sum())
        self.run.log(logged, step=step * self.batch_size)


def train_members(
    settings: OptimizerConfig,
    cfg: FitConfig,
    ensemble: ToyEnsemble,
    train_set: TensorDataset,
    run: Run,
    scored: dict[str, tuple[torch.Tensor, torch.Tensor]],
) -> dict[str, list]:
    """Train every member with `cfg` (full batches, a budget of whole steps) and the optimizer
    `settings`; returns each member's MSE on each set of `scored` at every evaluation."""
    recorder = RecordMSE(ensemble, scored, run, cfg)
    optimizer = settings.build(ensemble.parameters())
    fit(ensemble, optimizer, train_set, ensemble_mse_step, run, cfg, callbacks=[recorder])
    return recorder.history


def run(args: argparse.Namespace) -> int:
    # Matrices of 20 x 4 are far too small to split across threads: the hand-offs cost more
    # than the arithmetic (on a busy 2-core machine a Linear forward+backward took 30 ms on 2
    # threads and 0.5 ms on 1).
    with single_thread():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = effective_config(args)
    fresh_steps = config.task["fresh_steps"]
    # The notebook's cells, in order, from its own seed (the run's one seeding).
    seed_everything(config.seed)
    X, Y = generate_data(N_POINTS)
    params = hand.ToyParams.init()
    example_network_cell()
    ex4_model = ToyModel()
    members = [ToyModel()]  # the Ex5 cell: `model = ToyModel()`
    X2, Y2 = generate_data(args.fresh_test)  # the ungraded cell: generate_data(100)
    stream = generate_data(fresh_steps * args.fresh_batch) if fresh_steps else None
    members += [notebook_fresh_model(args.seed + k) for k in range(1, args.inits)]

    answers = exercises_1_to_4(X, Y, params, ex4_model, args.small_lr, args.large_lr)
    _print_exercises_1_to_4(answers)

    run_ = open_run(COMMAND, args, config, ex4_model)
    scored = {"fixed": (X, Y), "fresh": (X2, Y2)}
    ensemble = ToyEnsemble(members)
    history = train_members(
        config.optimizer, config.fit, ensemble, TensorDataset(X, Y), run_, scored
    )
    answers.update(
        ex5_seeds=[args.seed + k for k in range(args.inits)],
        ex5_steps=args.steps,
        ex5_mse=history["fixed"][-1],
        ex5_fresh_data_mse=history["fresh"][-1],
        **_diagnose(ensemble, X, Y),
        ex5_below_target_by_step=[
            [s, sum(v < TARGET for v in mse)]
            for s, mse in zip(history["steps"], history["fixed"], strict=True)
        ],
    )

    fresh_history = None
    if stream is not None:
        # The same initialisations again, each step on a new sample of the distribution.
        fresh_run = Run(run_.dir / "fresh")  # files only: one tracked run per command
        fresh_history = train_members(
            config.optimizer,
            config.task["fresh_fit"],
            ToyEnsemble(members),
            TensorDataset(*stream),
            fresh_run,
            scored,
        )
        fresh_run.finish()
        answers.update(
            fresh_training_steps=fresh_steps,
            fresh_training_fixed_mse=fresh_history["fixed"][-1],
            fresh_training_fresh_data_mse=fresh_history["fresh"][-1],
        )

    run_.save_figure(_training_plot(history, fresh_history, args), "training.png")
    _print_exercise_5(answers, args)
    finish(
        run_,
        None,
        started,
        answers=answers,
        mse=answers["ex5_mse"][0],
        max_grad_distance=max(
            v for k, v in answers.items() if k.startswith("ex2_") and not k.endswith("_float32")
        ),
    )
    return 0


def _diagnose(ensemble: ToyEnsemble, X: torch.Tensor, Y: torch.Tensor) -> dict[str, list[int]]:
    """Why an initialisation stays above the target: dead hidden units (zero on all 20 points,
    so their incoming weights get no gradient again) and outputs on the wrong side of 0.5."""
    device = next(ensemble.parameters()).device
    X, Y = X.to(device), Y.to(device)
    with torch.no_grad():
        dead = (ensemble.hidden(X).amax(dim=1) <= 0).sum(dim=1)
        wrong = ((ensemble(X) - Y).abs() > 0.5).sum(dim=(1, 2))
    return {"ex5_dead_units": dead.tolist(), "ex5_wrong_outputs": wrong.tolist()}


def _training_plot(history: dict, fresh_history: dict | None, args: argparse.Namespace):
    from neurallab.report.plots import line_plot  # matplotlib only when a plot is drawn

    series = {}
    shown = min(PLOTTED_INITS, len(history["fixed"][0]))
    for k in range(shown):
        label = f"init {args.seed + k}" + (" (the notebook's)" if k == 0 else "")
        series[label] = (history["steps"], [mse[k] for mse in history["fixed"]])
    if fresh_history is not None:
        series["init 0, fresh sample each step"] = (
            fresh_history["steps"],
            [mse[0] for mse in fresh_history["fixed"]],
        )
    more = f" (first {shown} of {args.inits} initialisations)" if args.inits > shown else ""
    return line_plot(
        series,
        f"HW4 Ex5: MSE on the 20 points{more}",
        "optimisation step",
        "MSE (mean)",
        logy=True,
    )


def _print_exercises_1_to_4(a: dict[str, Any]) -> None:
    print(
        f"Ex1  loss ||y_hat - Y||^2 of the untrained network on the 20 points: {a['ex1_loss']:.6f}"
    )
    print("Ex2  manual gradients vs autograd, L2 distance (float32 / float64):")
    for name in ("W1", "B1", "W2", "B2"):
        print(
            f"       {name}: {a[f'ex2_{name}_grad_distance_float32']:.2e} / "
            f"{a[f'ex2_{name}_grad_distance']:.2e}"
        )
    steps = ", ".join(f"lr {lr:.3g}: {loss:.4f}" for lr, loss in a["ex3_lr_scan"])
    print(f"Ex3  loss {a['ex1_loss']:.4f} before one gradient step; after it at {steps}")
    print(
        f"Ex4  ToyModel: {a['ex4_parameters']} parameters, untrained MSE (mean) "
        f"{a['ex4_untrained_mse']:.6f}; with W1..B2 loaded it differs from the hand-written "
        f"forward pass by at most {a['ex4_max_output_difference']:.1e}"
    )


def _print_exercise_5(a: dict[str, Any], args: argparse.Namespace) -> None:
    below = a["ex5_below_target_by_step"][-1][1]
    print(
        f"Ex5  fresh ToyModel(), {args.steps} {args.optimizer} steps (lr {args.lr:g}): MSE on the "
        f"20 points {a['ex5_mse'][0]:.6f} (seed {args.seed}); {below} of {args.inits} "
        f"initialisations below {TARGET}"
    )
    print(f"     MSE on {args.fresh_test} fresh points: {a['ex5_fresh_data_mse'][0]:.4f}")
    if "fresh_training_fixed_mse" in a:
        print(
            f"     trained on a fresh sample of {args.fresh_batch} each step instead: 20 points "
            f"{a['fresh_training_fixed_mse'][0]:.4f}, fresh points "
            f"{a['fresh_training_fresh_data_mse'][0]:.4f}"
        )
