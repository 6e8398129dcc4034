"""HW4: the 3-4-2 toy network, by hand (Exercises 1-3) and with nn modules (Exercises 4-5).

    from neurallab.programs import toy
    rec = toy.train(toy.Settings(steps=2000, inits=10), run_dir="runs/toy/try")
    rec.summary["answers"]["ex5_mse"]; trained = toy.load(rec.run_dir).member(0)

The run replays the notebook's random draws in order, from its `torch.manual_seed(seed)`: the
20 training points, the hand-written weights W1..B2, the ExampleNetwork cell, the Ex4
`ToyModel()`, the Ex5 cell's fresh `ToyModel()`, then the 100 fresh points of the ungraded cell.

- Exercises 1-3: forward pass, manual backward pass checked against autograd (float32 and
  float64), one gradient step at a range of learning rates, and the handout's step cell
  (lr 0.01) run several times in a row.
- Exercise 4: `ToyModel`, checked to compute the same function as the hand-written forward pass.
- Exercise 5: the handout's optimisation loop (full batch on the 20 points, `mse_loss`),
  through the engine. `inits` trains N fresh initialisations at once: initialisation k is the
  fresh ToyModel() the Ex5 cell would build had the notebook begun with
  `torch.manual_seed(seed + k)` (the 20 points stay those of `seed`), so k = 0 is the
  notebook's own. Several learning rates (`lr=(0.01, 0.03)`) train every initialisation at
  each, in the same batched `ToyEnsemble`: a grid for the price of one run.
- Ungraded: every initialisation is scored on fresh points, and (at the first learning rate)
  trained a second time on a fresh sample at every step (`fresh_steps`, 0 to skip).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.functional import mse_loss
from torch.utils.data import TensorDataset

from neurallab.data.toy import generate_data
from neurallab.engine import Callback, FitConfig, StepOutput, fit, resolve_device, seed_everything
from neurallab.engine.device import DEVICES, single_thread
from neurallab.engine.options import OPTIMIZERS, OptimizerConfig, TrainingConfig
from neurallab.errors import UserError
from neurallab.flags import non_negative_float, non_negative_int, positive_float, positive_int
from neurallab.internals import backprop as hand
from neurallab.models.toy import ToyEnsemble, ToyModel, member_mse
from neurallab.programs.run import RunOptions, RunRecord, finish, open_run, read_checkpoint
from neurallab.settings import Settings as BaseSettings
from neurallab.settings import setting
from neurallab.tracking import Run

PROGRAM = "toy"
HELP = "HW4: toy network forward/backward by hand, checked against autograd, then trained"
N_POINTS = 20  # the handout's fixed training set: torch.manual_seed(0); generate_data(20)
TARGET = 0.01  # Exercise 5: "get MSE loss below 0.01"
HANDOUT_LR = 0.01  # the learning rate of the handout's gradient-step cell (Exercise 3)
CELL_REPEATS = 10  # "Try running the cell repeatedly": how many times in a row
PLOTTED_INITS = 8  # initialisations drawn one line each in training.png
EX5, EX3 = "Exercise 5 training", "Exercise 3 and the ungraded question"


@dataclass(frozen=True)
class Settings(BaseSettings):
    """Toy trains full batch on the 20 points for a fixed number of steps, so the engine's
    epoch/sample budgets, batch size, clipping, precision, checkpoint cadence and resume are
    not offered: these are its own settings, not the engine's."""

    PROGRAM = PROGRAM
    steps: int = setting(
        5_000,
        "optimisation steps, each on all 20 points (the handout's solution runs 10,000)",
        flags=("--steps", "--epochs"),
        check=positive_int,
        group=EX5,
    )
    lr: tuple[float, ...] = setting(
        (0.03,),
        "learning rate; several train every initialisation at each (one batched run)",
        flags=("--lr", "--learning_rate"),
        check=positive_float,
        nargs="+",
        group=EX5,
    )
    optimizer: str = setting("adam", "optimizer", choices=OPTIMIZERS, group=EX5)
    momentum: float | None = setting(
        None, "momentum of optimizer sgd (default: 0)", check=non_negative_float, group=EX5
    )
    weight_decay: float = setting(0.0, "weight decay (L2)", check=non_negative_float, group=EX5)
    seed: int = setting(
        0,
        "the notebook's torch.manual_seed: the 20 points, W1..B2 and the ToyModels",
        group=EX5,
    )
    inits: int = setting(
        1,
        "fresh ToyModel() initialisations to train, from seeds seed, seed+1, ... (the first is "
        "the notebook's own; the 20 points stay those of seed)",
        check=positive_int,
        group=EX5,
    )
    eval_every: int = setting(
        250,
        "steps between measurements of every initialisation's MSE",
        check=positive_int,
        group=EX5,
    )
    device: str = setting("cpu", "cpu: the network is tiny", choices=DEVICES, group=EX5)
    small_lr: float = setting(
        0.01,
        "Exercise 3: smallest learning rate of the one-step scan (the handout's cell)",
        check=positive_float,
        group=EX3,
    )
    large_lr: float = setting(
        50.0, "Exercise 3: largest learning rate of the one-step scan", check=positive_float,
        group=EX3,
    )  # fmt: skip
    fresh_steps: int | None = setting(
        None,
        "steps of the variant trained on a fresh sample each step (default: steps; 0: skip)",
        check=non_negative_int,
        group=EX3,
    )
    fresh_batch: int = setting(
        100, "sample size of each step of that variant", check=positive_int, group=EX3
    )
    fresh_test: int = setting(
        100, "size of the fresh test set (the handout uses 100)", check=positive_int, group=EX3
    )

    def __post_init__(self) -> None:
        lrs = self.lr if isinstance(self.lr, tuple | list) else (self.lr,)
        # Floats always, so Settings(lr=1) and `--lr 1` are the same settings and command.
        lrs = tuple(float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in lrs)
        object.__setattr__(self, "lr", lrs)
        super().__post_init__()
        if len(set(self.lr)) != len(self.lr):
            raise UserError(f"{self._where()}lr: each learning rate once, got {self.lr}")
        if self.momentum is not None and self.optimizer != "sgd":
            raise UserError(
                f"{self._where()}momentum: optimizer {self.optimizer} has no momentum setting; "
                "use optimizer sgd"
            )

    @property
    def fresh(self) -> int:
        """Steps of the fresh-sample variant (0: none)."""
        return self.steps if self.fresh_steps is None else self.fresh_steps


def effective_config(settings: Settings, options: RunOptions | None = None) -> TrainingConfig:
    """What the run trains with. `fit`: Exercise 5 on the 20 points (the optimizer at the first
    learning rate; the others scale their members' steps); `task["fresh_fit"]`: the variant
    trained on a fresh sample at every step (None with fresh_steps 0)."""
    options = options or RunOptions()
    device = resolve_device(settings.device)

    def full_batch_steps(steps: int, batch_size: int) -> FitConfig:
        return FitConfig(
            max_samples=steps * batch_size,  # the budget: exactly `steps` optimizer steps
            batch_size=batch_size,
            # In order, as the handout's `model(X)`: full batches need no shuffling, and the
            # fresh-sample stream is i.i.d. already.
            shuffle=False,
            eval_every=min(settings.eval_every, steps),
            best_metric=None,
            device=device,
            seed=settings.seed,
            progress=options.progress,
            log_every=max(1, steps // 500),
        )

    fresh = settings.fresh
    return TrainingConfig(
        fit=full_batch_steps(settings.steps, N_POINTS),
        optimizer=OptimizerConfig(
            settings.optimizer, settings.lr[0], settings.weight_decay, settings.momentum or 0.0
        ),
        task={
            "inits": settings.inits,
            "lrs": list(settings.lr),
            "fresh_steps": fresh,
            "fresh_fit": full_batch_steps(fresh, settings.fresh_batch) if fresh else None,
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
    """Forward, manual backward vs autograd, one step at several rates, the handout's step cell
    run repeatedly, and ToyModel's checks."""
    y_hat = hand.forward(X, params)
    loss = float(hand.sum_squared_error(y_hat, Y))
    out: dict[str, Any] = {
        "ex1_loss": loss,
        "ex1_loss_builtin": float(mse_loss(y_hat, Y, reduction="sum")),
        "ex1_output_shape": list(y_hat.shape),
        "ex1_target_shape": list(Y.shape),
        # "totally wrong values": outputs on the wrong side of 0.5, and the loss of a network
        # that outputs 0.5 everywhere, for scale
        "ex1_wrong_outputs": int(((y_hat - Y).abs() > 0.5).sum()),
        "ex1_loss_of_constant_half": float(hand.sum_squared_error(torch.full_like(Y, 0.5), Y)),
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
    # "Try running the above cell multiple times and notice how the loss keeps decreasing."
    repeated, stepped = [], params
    for _ in range(CELL_REPEATS):
        stepped = hand.gradient_step(stepped, hand.backprop(X, Y, stepped), HANDOUT_LR)
        repeated.append(float(hand.sum_squared_error(hand.forward(X, stepped), Y)))
    out["ex3_repeated_cell_losses"] = repeated

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
    (seeded once from the seed) is left where it was.
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


def scale_member_steps(
    optimizer: torch.optim.Optimizer, ensemble: ToyEnsemble, start: int, factors: torch.Tensor
) -> None:
    """Members `start`, `start + 1`, ... take `factors` times the optimizer's step.

    SGD (with or without momentum and weight decay), Adam and AdamW all move a parameter by
    lr times a quantity whose running state does not depend on lr, so scaling a member's move
    after the step is that member trained alone at factor x lr. The members before `start`
    keep the optimizer's own step, untouched.
    """
    params = list(ensemble.parameters())
    before: list[torch.Tensor] = []
    scale = factors.view(-1, 1, 1)

    def remember(*_: Any) -> None:
        before[:] = [p.detach()[start:].clone() for p in params]

    def rescale(*_: Any) -> None:
        with torch.no_grad():
            for p, old in zip(params, before, strict=True):
                p[start:] = old + scale.to(p.device) * (p[start:] - old)

    optimizer.register_step_pre_hook(remember)
    optimizer.register_step_post_hook(rescale)


class RecordMSE(Callback):
    """At every evaluation: each member's MSE on each scored set (name -> (X, Y)), logged and
    kept as the history that the answers and the plot come from. `groups` names blocks of
    members (one per learning rate) logged apart."""

    def __init__(
        self,
        ensemble: ToyEnsemble,
        scored: dict[str, tuple[torch.Tensor, torch.Tensor]],
        run: Run,
        cfg: FitConfig,
        groups: dict[str, slice] | None = None,
    ) -> None:
        self.ensemble, self.run, self.batch_size = ensemble, run, cfg.batch_size
        self.scored = {
            name: (x.to(cfg.device), y.to(cfg.device)) for name, (x, y) in scored.items()
        }
        self.groups = groups or {"": slice(None)}
        self.history: dict[str, list] = {"steps": [], **{name: [] for name in scored}}

    def on_evaluation(self, step: int, metrics: dict[str, float]) -> None:
        self.history["steps"].append(step)
        logged: dict[str, float] = {}
        with torch.no_grad():
            for name, (x, y) in self.scored.items():
                mse = member_mse(self.ensemble(x), y).cpu()
                self.history[name].append(mse.tolist())
                for prefix, rows in self.groups.items():
                    group = mse[rows]
                    logged[f"{prefix}{name}/mse_init0"] = float(group[0])
                    logged[f"{prefix}{name}/mse_median"] = float(group.median())
                    logged[f"{prefix}{name}/inits_below_target"] = float((group < TARGET).sum())
        self.run.log(logged, step=step * self.batch_size)

    def state_dict(self) -> dict[str, Any]:
        return {"history": {k: list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = {k: list(v) for k, v in state["history"].items()}


def train_members(
    settings: OptimizerConfig,
    cfg: FitConfig,
    ensemble: ToyEnsemble,
    train_set: TensorDataset,
    run: Run,
    scored: dict[str, tuple[torch.Tensor, torch.Tensor]],
    lrs: list[float] | None = None,
) -> dict[str, list]:
    """Train every member with `cfg` (full batches, a budget of whole steps) and the optimizer
    `settings`; with `lrs`, block b of the members trains at lrs[b]. Returns each member's MSE
    on each set of `scored` at every evaluation."""
    lrs = lrs or [settings.lr]
    size = len(ensemble) // len(lrs)
    groups = None
    if len(lrs) > 1:
        groups = {f"lr{lr:g}/": slice(b * size, (b + 1) * size) for b, lr in enumerate(lrs)}
    recorder = RecordMSE(ensemble, scored, run, cfg, groups)
    optimizer = settings.build(ensemble.parameters())
    if len(lrs) > 1:
        factors = torch.tensor([lr / lrs[0] for lr in lrs[1:] for _ in range(size)])
        scale_member_steps(optimizer, ensemble, size, factors)
    checkpoint_extra = {"program": PROGRAM, "model_args": {"members": len(ensemble)}}
    fit(
        ensemble,
        optimizer,
        train_set,
        ensemble_mse_step,
        run,
        cfg,
        callbacks=[recorder],
        checkpoint_extra=checkpoint_extra,
    )
    return recorder.history


def train(settings: Settings, run_dir: Path | str | None = None, **options: Any) -> RunRecord:
    """Every exercise of HW4 in the notebook's order; Exercise 5 trains `inits` fresh
    ToyModel()s at every learning rate of `settings.lr`."""
    opts = RunOptions(run_dir=run_dir, **options)
    if opts.resume:
        raise UserError("toy: no resume (a run takes seconds: run it again)")
    # Matrices of 20 x 4 are far too small to split across threads: the hand-offs cost more
    # than the arithmetic (on a busy 2-core machine a Linear forward+backward took 30 ms on 2
    # threads and 0.5 ms on 1).
    with single_thread():
        return _train(settings, opts)


def _train(settings: Settings, opts: RunOptions) -> RunRecord:
    started = time.perf_counter()
    config = effective_config(settings, opts)
    fresh_steps = settings.fresh
    # The notebook's cells, in order, from its own seed (the run's one seeding).
    seed_everything(config.seed)
    X, Y = generate_data(N_POINTS)
    params = hand.ToyParams.init()
    example_network_cell()
    ex4_model = ToyModel()
    inits = [ToyModel()]  # the Ex5 cell: `model = ToyModel()`
    X2, Y2 = generate_data(settings.fresh_test)  # the ungraded cell: generate_data(100)
    stream = generate_data(fresh_steps * settings.fresh_batch) if fresh_steps else None
    inits += [notebook_fresh_model(settings.seed + k) for k in range(1, settings.inits)]

    answers = exercises_1_to_4(X, Y, params, ex4_model, settings.small_lr, settings.large_lr)
    # The ungraded cell's yardstick: predicting the 20 points' mean label for every fresh point.
    answers["baseline_fresh_data_mse"] = float(mse_loss(Y.mean(0).expand_as(Y2), Y2))
    _print_exercises_1_to_4(answers)

    run = open_run(settings, opts, config, ex4_model)
    scored = {"fixed": (X, Y), "fresh": (X2, Y2)}
    lrs = list(settings.lr)
    ensemble = ToyEnsemble(inits * len(lrs))
    history = train_members(
        config.optimizer, config.fit, ensemble, TensorDataset(X, Y), run, scored, lrs
    )
    answers.update(
        ex5_lrs=lrs,
        ex5_seeds=[settings.seed + k for k in range(settings.inits)],
        ex5_steps=settings.steps,
        **ex5_answers(history, ensemble, X, Y, len(lrs)),
    )
    fresh_history = None
    if stream is not None:
        # The same initialisations again, each step on a new sample of the distribution.
        fresh_run = Run(run.dir / "fresh")  # files only: one tracked run per command
        fresh_history = train_members(
            config.optimizer,
            config.task["fresh_fit"],
            ToyEnsemble(inits),
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

    run.save_figure(_training_plot(history, fresh_history, settings), "training.png")
    _print_exercise_5(answers, settings)
    return finish(
        run,
        started,
        settings,
        answers=answers,
        mse=answers["ex5_mse"][0][0],
        max_grad_distance=max(
            v for k, v in answers.items() if k.startswith("ex2_") and not k.endswith("_float32")
        ),
    )


def _blocks(values: list, n: int) -> list[list]:
    """`values` of all members cut into `n` equal blocks (one per learning rate)."""
    size = len(values) // n
    return [values[b * size : (b + 1) * size] for b in range(n)]


def ex5_answers(
    history: dict[str, list], ensemble: ToyEnsemble, X: torch.Tensor, Y: torch.Tensor, n_lrs: int
) -> dict[str, list]:
    """Exercise 5's numbers, one list per learning rate of one value per initialisation."""
    steps = history["steps"]
    members = len(history["fixed"][0])
    first_below = [
        next((s for s, mse in zip(steps, history["fixed"], strict=True) if mse[m] < TARGET), None)
        for m in range(members)
    ]
    by_step = [
        (s, [sum(v < TARGET for v in block) for block in _blocks(mse, n_lrs)])
        for s, mse in zip(steps, history["fixed"], strict=True)
    ]
    diagnosis = _diagnose(ensemble, X, Y)
    return {
        "ex5_mse": _blocks(history["fixed"][-1], n_lrs),
        "ex5_fresh_data_mse": _blocks(history["fresh"][-1], n_lrs),
        "ex5_first_below_step": _blocks(first_below, n_lrs),
        "ex5_dead_units": _blocks(diagnosis["dead"], n_lrs),
        "ex5_wrong_outputs": _blocks(diagnosis["wrong"], n_lrs),
        # per learning rate: [step, initialisations below the target at that step]
        "ex5_below_target_by_step": [
            [[s, counts[b]] for s, counts in by_step] for b in range(n_lrs)
        ],
    }


def _diagnose(ensemble: ToyEnsemble, X: torch.Tensor, Y: torch.Tensor) -> dict[str, list[int]]:
    """Why an initialisation stays above the target: dead hidden units (zero on all 20 points,
    so their incoming weights get no gradient again) and outputs on the wrong side of 0.5."""
    device = next(ensemble.parameters()).device
    X, Y = X.to(device), Y.to(device)
    with torch.no_grad():
        dead = (ensemble.hidden(X).amax(dim=1) <= 0).sum(dim=1)
        wrong = ((ensemble(X) - Y).abs() > 0.5).sum(dim=(1, 2))
    return {"dead": dead.tolist(), "wrong": wrong.tolist()}


def _training_plot(history: dict, fresh_history: dict | None, settings: Settings):
    from neurallab.report.plots import line_plot  # matplotlib only when a plot is drawn

    series = {}
    shown = min(PLOTTED_INITS, settings.inits)
    lrs = settings.lr
    at = f" at lr {lrs[0]:g}" if len(lrs) > 1 else ""
    for k in range(shown):
        label = f"init {settings.seed + k}" + (" (the notebook's)" if k == 0 else "") + at
        series[label] = (history["steps"], [mse[k] for mse in history["fixed"]])
    for b, lr in enumerate(lrs[1:], start=1):
        label = f"init {settings.seed} at lr {lr:g}"
        series[label] = (history["steps"], [mse[b * settings.inits] for mse in history["fixed"]])
    if fresh_history is not None:
        series[f"init {settings.seed}, fresh sample each step{at}"] = (
            fresh_history["steps"],
            [mse[0] for mse in fresh_history["fixed"]],
        )
    more = f" (first {shown} of {settings.inits} initialisations)" if settings.inits > shown else ""
    return line_plot(
        series,
        f"HW4 Ex5: MSE on the 20 points, {settings.optimizer}{more}",
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
    cell = " -> ".join(f"{v:.4f}" for v in a["ex3_repeated_cell_losses"])
    print(f"     the handout's cell (lr {HANDOUT_LR:g}) run {CELL_REPEATS} times: {cell}")
    print(
        f"Ex4  ToyModel: {a['ex4_parameters']} parameters, untrained MSE (mean) "
        f"{a['ex4_untrained_mse']:.6f}; with W1..B2 loaded it differs from the hand-written "
        f"forward pass by at most {a['ex4_max_output_difference']:.1e}"
    )


def _print_exercise_5(a: dict[str, Any], settings: Settings) -> None:
    for b, lr in enumerate(settings.lr):
        below = a["ex5_below_target_by_step"][b][-1][1]
        print(
            f"Ex5  fresh ToyModel(), {settings.steps} {settings.optimizer} steps (lr {lr:g}): "
            f"MSE on the 20 points {a['ex5_mse'][b][0]:.6f} (seed {settings.seed}); {below} of "
            f"{settings.inits} initialisations below {TARGET}"
        )
    print(f"     MSE on {settings.fresh_test} fresh points: {a['ex5_fresh_data_mse'][0][0]:.4f}")
    if "fresh_training_fixed_mse" in a:
        print(
            f"     trained on a fresh sample of {settings.fresh_batch} each step instead: 20 "
            f"points {a['fresh_training_fixed_mse'][0]:.4f}, fresh points "
            f"{a['fresh_training_fresh_data_mse'][0]:.4f}"
        )


def load(path: Path | str) -> ToyEnsemble:
    """The trained ToyModels of a run folder (its last.pt) or checkpoint, as one ToyEnsemble in
    eval mode: `.member(k)` is initialisation k as a ToyModel (block b of `inits` members per
    learning rate b, the notebook's own first)."""
    path = Path(path)
    if path.is_dir():
        if not (path / "last.pt").exists():
            raise UserError(f"{path}: no last.pt in this folder (not a finished toy run)")
        path = path / "last.pt"
    state = read_checkpoint(path, PROGRAM)
    model = ToyEnsemble(state["model_args"]["members"])
    model.load_state_dict(state["model"])
    return model.eval()
