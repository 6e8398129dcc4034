"""`neurallab autoencoder`: the command-line shell over `neurallab.programs.autoencoder`."""

from __future__ import annotations

import argparse

from neurallab.programs import autoencoder
from neurallab.tasks.common import add_program_arguments, run_program

COMMAND = "autoencoder"
HELP = "HW3 P2: MLP autoencoder on MNIST (MSELoss, Adam lr 1e-3, 10 epochs, 2-d bottleneck)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser, autoencoder.Settings)


def run(args: argparse.Namespace) -> int:
    return run_program(autoencoder.train, autoencoder.Settings, args)
