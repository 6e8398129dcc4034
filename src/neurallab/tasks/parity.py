"""`neurallab parity`: the command-line shell over `neurallab.programs.parity`."""

from __future__ import annotations

import argparse

from neurallab.programs import parity
from neurallab.tasks.common import add_program_arguments, run_program

COMMAND = "parity"
HELP = "CNN/RNN Q5-Q6: train an LSTM on parity (lengths 1..5) and test length generalisation"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser, parity.Settings)


def run(args: argparse.Namespace) -> int:
    return run_program(parity.train, parity.Settings, args)
