"""`neurallab cifar-test`: the command-line shell over `neurallab.programs.cifar_eval`."""

from __future__ import annotations

import argparse

from neurallab.programs import cifar_eval
from neurallab.tasks.common import add_program_arguments, run_program

COMMAND = "cifar-test"
HELP = "CNN/RNN Q3: evaluate saved CIFAR-3 weights on the test split"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser, cifar_eval.Settings, resumable=False)


def run(args: argparse.Namespace) -> int:
    return run_program(cifar_eval.run, cifar_eval.Settings, args)
