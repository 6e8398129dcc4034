"""`neurallab mnist`: the command-line shell over `neurallab.programs.mnist`."""

from __future__ import annotations

import argparse

from neurallab.programs import mnist
from neurallab.tasks.common import add_program_arguments, run_program

COMMAND = "mnist"
HELP = "HW3 P1: MNIST classifier Flatten-Linear(784,64)-ReLU-Linear(64,10) with cross-entropy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser, mnist.Settings)


def run(args: argparse.Namespace) -> int:
    return run_program(mnist.train, mnist.Settings, args)
