"""`neurallab rnn-lm`: the command-line shell over `neurallab.programs.rnn_lm`."""

from __future__ import annotations

import argparse

from neurallab.programs import rnn_lm
from neurallab.tasks.common import add_program_arguments, run_program

COMMAND = "rnn-lm"
HELP = "HW7: RNN + self-attention language model (train, validate every tenth, course files)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser, rnn_lm.Settings)


def run(args: argparse.Namespace) -> int:
    return run_program(rnn_lm.train, rnn_lm.Settings, args)
