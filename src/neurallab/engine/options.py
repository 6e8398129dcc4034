"""The engine's command-line flags, and the effective configuration they make.

A training command declares which engine flags it honours and the defaults it fixes:

    add_engine_args(parser, epochs=10, batch_size=64, lr=1e-3)        # the handout's defaults
    add_engine_args(parser, ..., refuse={"epochs": "the budget is --num_sequences"})

and turns its parsed flags into the configuration it runs with in one function of its own,

    def effective_config(args) -> TrainingConfig:
        return training_config(args, best_metric="val/acc")  # = fit_config + optimizer_config

which its `run` calls, which config.json records (`TrainingConfig.record()`), and which the flag
test calls for every command: each engine flag a command shows must change that configuration.
`args` itself is never changed.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import torch

from neurallab.engine.device import DEVICES, PRECISIONS, resolve_device
from neurallab.engine.loop import FitConfig
from neurallab.errors import UserError
from neurallab.flags import (
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    seed_int,
)
from neurallab.settings import Settings, setting

# The engine flags, by their argparse `dest`, in the order `--help` shows them.
ENGINE_FLAGS = (
    "epochs",
    "max_samples",
    "batch_size",
    "lr",
    "optimizer",
    "weight_decay",
    "momentum",
    "clip_grad",
    "seed",
    "eval_every",
    "checkpoint_every",
    "resume",
    "device",
    "precision",
    "num_workers",
    "no_progress",
)
OPTIMIZERS = ("sgd", "adam", "adamw")


@dataclass
class OptimizerConfig:
    name: str = "adam"  # one of OPTIMIZERS
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.0  # SGD only

    def build(self, params: Iterable) -> torch.optim.Optimizer:
        if self.name == "sgd":
            return torch.optim.SGD(
                params, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay
            )
        if self.name == "adamw":
            return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)


@dataclass
class TrainingConfig:
    """What a training command runs with: the engine's settings after the task fixed its own,
    the optimizer's, and what else the task derives from its flags (`task`)."""

    fit: FitConfig
    optimizer: OptimizerConfig
    task: dict[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int:
        return self.fit.seed

    def record(self) -> dict[str, Any]:
        """The configuration as JSON values, for config.json."""
        return as_record(self)


def as_record(value: Any) -> Any:
    """Dataclasses, dicts and lists as JSON values; devices and paths as strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_record(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): as_record(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_record(v) for v in value]
    if isinstance(value, torch.device | Path):
        return str(value)
    return value


class _Refused(argparse.Action):
    """A flag the command does not honour: parsing it stops with one line saying why."""

    def __init__(self, option_strings, dest, reason: str, **kwargs) -> None:
        super().__init__(option_strings, dest, default=None, help=argparse.SUPPRESS, **kwargs)
        self.reason = reason

    def __call__(self, parser, namespace, values, option_string=None) -> NoReturn:
        parser.error(f"argument {option_string}: not used by this command: {self.reason}")


def add_engine_args(
    parser: argparse.ArgumentParser,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    clip_grad: float = 0.0,
    eval_every_help: str = "steps between evaluations (default: every epoch)",
    refuse: dict[str, str] | None = None,
) -> None:
    """The engine flags, with the task's defaults (the handout's).

    `refuse` maps a flag's dest to why the command does not honour it: that flag is left out
    of `--help` and refused, on one line naming it, if given.
    """
    refuse = refuse or {}
    unknown = set(refuse) - set(ENGINE_FLAGS)
    if unknown:
        raise ValueError(f"not engine flags: {sorted(unknown)}")
    g = parser.add_argument_group("training")

    def add(dest: str, *names: str, **kwargs) -> None:
        if dest in refuse:
            g.add_argument(*names, dest=dest, action=_Refused, reason=refuse[dest], nargs="?")
        else:
            g.add_argument(*names, dest=dest, **kwargs)

    add(
        "epochs",
        "--epochs",
        "--n_epochs",
        type=non_negative_int,
        default=epochs,
        help="passes over the training set",
    )
    add(
        "max_samples",
        "--max_samples",
        type=positive_int,
        default=None,
        help="budget in training examples instead of epochs (default: --epochs)",
    )
    add(
        "batch_size",
        "--batch_size",
        type=positive_int,
        default=batch_size,
        help="global batch size (split across processes under torchrun)",
    )
    add("lr", "--lr", "--learning_rate", type=positive_float, default=lr, help="learning rate")
    add("optimizer", "--optimizer", choices=OPTIMIZERS, default=optimizer, help="optimizer")
    add(
        "weight_decay",
        "--weight_decay",
        type=non_negative_float,
        default=weight_decay,
        help="L2 penalty",
    )
    add(
        "momentum",
        "--momentum",
        type=non_negative_float,
        default=None,
        help="momentum of --optimizer sgd (default: 0)",
    )
    add(
        "clip_grad",
        "--clip_grad",
        type=non_negative_float,
        default=clip_grad,
        help="max gradient norm (0: no clipping)",
    )
    add(
        "seed",
        "--seed",
        type=int,
        default=seed,
        help="seeds the initial weights, what training draws and the batch order",
    )
    add("eval_every", "--eval_every", type=positive_int, default=None, help=eval_every_help)
    add(
        "checkpoint_every",
        "--checkpoint_every",
        type=positive_int,
        default=None,
        help="steps between writes of last.pt (default: none; last.pt is also written at an "
        f"evaluation when the previous write is at least {FitConfig.checkpoint_seconds:g} s "
        "old, and when training ends)",
    )
    add("resume", "--resume", action="store_true", help="continue the run in --run_dir")
    add("device", "--device", choices=DEVICES, default="auto", help="auto: cuda, mps, else cpu")
    add(
        "precision",
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="bf16 runs the forward pass under autocast",
    )
    add(
        "num_workers",
        "--num_workers",
        type=non_negative_int,
        default=0,
        help="DataLoader worker processes",
    )
    add("no_progress", "--no_progress", action="store_true", help="hide the progress bar")


def fit_config(args: argparse.Namespace, **fixed: Any) -> FitConfig:
    """A FitConfig from the engine flags the command offers; `fixed`: what the task sets itself.

    A refused flag parses to None and is not read; the task's `fixed` values stand in for it.
    """
    values = dict(
        epochs=args.epochs,
        max_samples=args.max_samples,
        batch_size=args.batch_size,
        clip_grad=args.clip_grad or None,
        eval_every=args.eval_every,
        checkpoint_every=args.checkpoint_every,
        device=resolve_device(args.device),
        precision=args.precision,
        seed=args.seed,
        resume=args.resume,
        progress=not args.no_progress,
        num_workers=args.num_workers,
    )
    values.update(fixed)
    return FitConfig(**values)


def optimizer_config(args: argparse.Namespace) -> OptimizerConfig:
    """The optimizer the flags ask for; `--momentum` with Adam/AdamW is refused, not ignored."""
    if args.momentum is not None and args.optimizer != "sgd":
        raise UserError(
            f"--momentum: --optimizer {args.optimizer} has no momentum setting; use --optimizer sgd"
        )
    return OptimizerConfig(args.optimizer, args.lr, args.weight_decay, args.momentum or 0.0)


def training_config(args: argparse.Namespace, **fixed: Any) -> TrainingConfig:
    """`fit_config(args, **fixed)` with `optimizer_config(args)`: what most commands run with."""
    return TrainingConfig(fit_config(args, **fixed), optimizer_config(args))


# -- typed settings (neurallab.settings): what every converted program uses -------------------

ENGINE = "training"  # the --help section of the engine's settings


@dataclass(frozen=True)
class TrainSettings(Settings):
    """The engine's settings, shared by every program that trains through `fit`.

    A program subclasses it, states its own defaults with `with_default(TrainSettings, name,
    value)` and lists in `REFUSED` what it does not honour (e.g. rnn-lm's budget is
    `num_sequences`, so `epochs` is refused there).
    """

    epochs: int = setting(
        1,
        "passes over the training set",
        flags=("--epochs", "--n_epochs"),
        check=positive_int,
        group=ENGINE,
    )
    max_samples: int | None = setting(
        None,
        "budget in training examples instead of epochs (default: epochs)",
        check=positive_int,
        group=ENGINE,
    )
    batch_size: int = setting(
        32,
        "global batch size (split across processes under torchrun)",
        check=positive_int,
        group=ENGINE,
    )
    lr: float = setting(
        1e-3, "learning rate", flags=("--lr", "--learning_rate"), check=positive_float, group=ENGINE
    )
    optimizer: str = setting("adam", "optimizer", choices=OPTIMIZERS, group=ENGINE)
    weight_decay: float = setting(0.0, "L2 penalty", check=non_negative_float, group=ENGINE)
    momentum: float | None = setting(
        None,
        "momentum of optimizer sgd (default: 0)",
        check=non_negative_float,
        group=ENGINE,
    )
    clip_grad: float = setting(
        0.0, "max gradient norm (0: no clipping)", check=non_negative_float, group=ENGINE
    )
    seed: int = setting(
        0,
        "seeds the initial weights, what training draws and the batch order",
        check=seed_int,
        group=ENGINE,
    )
    eval_every: int | None = setting(
        None,
        "steps between evaluations (default: every epoch)",
        check=positive_int,
        group=ENGINE,
    )
    checkpoint_every: int | None = setting(
        None,
        "steps between writes of last.pt (default: none; last.pt is also written at an "
        f"evaluation when the previous write is at least {FitConfig.checkpoint_seconds:g} s "
        "old, and when training ends)",
        check=positive_int,
        group=ENGINE,
    )
    device: str = setting("auto", "auto: cuda, mps, else cpu", choices=DEVICES, group=ENGINE)
    precision: str = setting(
        "fp32",
        "bf16 runs the forward pass under autocast (fp32, the course's, unless asked)",
        choices=PRECISIONS,
        group=ENGINE,
    )
    num_workers: int = setting(
        0, "DataLoader worker processes", check=non_negative_int, group=ENGINE
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.momentum is not None and self.optimizer != "sgd":
            raise UserError(
                f"{self._where()}momentum: optimizer {self.optimizer} has no momentum setting; "
                "use optimizer sgd"
            )

    def fit_config(self, *, resume: bool = False, progress: bool = True, **fixed: Any) -> FitConfig:
        """The FitConfig these settings ask for; `fixed`: what the program sets itself."""
        values = dict(
            epochs=self.epochs,
            max_samples=self.max_samples,
            batch_size=self.batch_size,
            clip_grad=self.clip_grad or None,
            eval_every=self.eval_every,
            checkpoint_every=self.checkpoint_every,
            device=resolve_device(self.device),
            precision=self.precision,
            seed=self.seed,
            resume=resume,
            progress=progress,
            num_workers=self.num_workers,
        )
        values.update(fixed)
        return FitConfig(**values)

    def optimizer_config(self) -> OptimizerConfig:
        return OptimizerConfig(self.optimizer, self.lr, self.weight_decay, self.momentum or 0.0)

    def training_config(
        self, *, resume: bool = False, progress: bool = True, **fixed: Any
    ) -> TrainingConfig:
        """`fit_config(...)` with `optimizer_config()`: what most programs train with."""
        return TrainingConfig(
            self.fit_config(resume=resume, progress=progress, **fixed), self.optimizer_config()
        )
