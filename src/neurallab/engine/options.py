"""The engine's settings (`TrainSettings`) and the configuration they make.

A training program's settings subclass `TrainSettings`, state the handout's defaults and list
what the program does not honour:

    @dataclass(frozen=True)
    class Settings(TrainSettings):
        epochs: int = with_default(TrainSettings, "epochs", 10)
        REFUSED = {"epochs": "the budget is num_sequences"}     # e.g. rnn-lm

and the program turns them into the configuration it trains with in one function of its own,

    def effective_config(settings, options) -> TrainingConfig:
        return settings.training_config(options, best_metric="val/acc")

which its `train` calls, which config.json records (`TrainingConfig.record()`), and which
tests/test_settings.py calls for every program: each engine setting must change it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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


class RunPlace(Protocol):
    """What the engine reads of a program's run options (`neurallab.programs.run.RunOptions`,
    a layer above): whether the run continues from its checkpoint, and the progress bar."""

    resume: bool
    progress: bool


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

    def fit_config(self, options: RunPlace | None = None, **fixed: Any) -> FitConfig:
        """The FitConfig these settings ask for, run as `options` say (resume, progress bar;
        default: a new run with the bar); `fixed`: what the program sets itself."""
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
            resume=options.resume if options is not None else False,
            progress=options.progress if options is not None else True,
            num_workers=self.num_workers,
        )
        values.update(fixed)
        return FitConfig(**values)

    def optimizer_config(self) -> OptimizerConfig:
        return OptimizerConfig(self.optimizer, self.lr, self.weight_decay, self.momentum or 0.0)

    def training_config(self, options: RunPlace | None = None, **fixed: Any) -> TrainingConfig:
        """`fit_config(options, ...)` with `optimizer_config()`: what most programs train with."""
        return TrainingConfig(self.fit_config(options, **fixed), self.optimizer_config())
