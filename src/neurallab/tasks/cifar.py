"""`neurallab cifar`: the command-line shell over `neurallab.programs.cifar`."""

from __future__ import annotations

import argparse

from neurallab.programs import cifar
from neurallab.tasks.common import add_program_arguments, run_program

COMMAND = "cifar"
HELP = "CNN/RNN Q1-Q2: the CIFAR-3 CNN (--batchnorm for Q2), saving the best weights"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser, cifar.Settings)


def run(args: argparse.Namespace) -> int:
    return run_program(cifar.train, cifar.Settings, args)
