"""Every handout program as a Python function over typed settings.

One module per program (`mnist`, `rnn_lm`, ...), each with

    Settings                 a frozen dataclass: the program's settings and their only defaults
    train(settings, run_dir=None, **options) -> RunRecord    (options: see run.RunOptions)
    load(run_dir_or_checkpoint) -> nn.Module                 the trained model, from files alone

The command line (`neurallab mnist ...`, `neurallab.tasks`) is a thin shell over these, and the
experiments build settings and receive records. `train(settings)` here runs any program's
settings, found by `settings.PROGRAM`:

    from neurallab.programs import mnist
    rec = mnist.train(mnist.Settings(epochs=1, seed=0), run_dir="runs/mnist/try")
    rec.final["test/acc"], rec.history.tail(), rec.checkpoint
    model = mnist.load(rec.run_dir)
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

# Program name (the command) -> module of this package.
PROGRAMS = {
    "toy": "toy",
    "mnist": "mnist",
    "autoencoder": "autoencoder",
    "timeseries": "timeseries",
    "img": "images",
    "txt": "txt",
    "cifar": "cifar",
    "cifar-test": "cifar_eval",
    "parity": "parity",
    "parity-manual": "parity_manual",
    "rnn-lm": "rnn_lm",
    "generate": "generate",
}


def module(program: str) -> ModuleType:
    """The module of a program, by its command name ("rnn-lm" -> neurallab.programs.rnn_lm)."""
    if program not in PROGRAMS:
        raise KeyError(f"no program {program!r}; programs: {', '.join(PROGRAMS)}")
    return importlib.import_module(f"neurallab.programs.{PROGRAMS[program]}")


def train(settings: Any, run_dir: Path | str | None = None, **options: Any) -> Any:
    """Run any program's settings: its module's `train` (or `run`, for the programs that
    train nothing: generate, cifar-test, parity-manual) with `run_dir` and run options."""
    found = module(settings.PROGRAM)
    entry = getattr(found, "train", None) or found.run
    return entry(settings, run_dir, **options)
