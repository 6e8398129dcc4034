"""`neurallab txt`: the command-line shell over `neurallab.programs.txt`."""

from __future__ import annotations

import argparse

from neurallab.programs import txt
from neurallab.tasks.common import add_program_arguments, run_program

COMMAND = "txt"
HELP = "HW0 §4: news topic classifier (EmbeddingBag baseline or LSTM) on BBC News"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser, txt.Settings)


def run(args: argparse.Namespace) -> int:
    return run_program(txt.train, txt.Settings, args)
