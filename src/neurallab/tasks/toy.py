"""`neurallab toy`: the command-line shell over `neurallab.programs.toy`."""

from __future__ import annotations

import argparse

from neurallab.programs import toy
from neurallab.tasks.common import add_program_arguments, run_program

COMMAND = "toy"
HELP = "HW4: toy network forward/backward by hand, checked against autograd, then trained"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # No --resume: a run takes seconds, and it trains full batch for a fixed number of steps.
    add_program_arguments(parser, toy.Settings, resumable=False)


def run(args: argparse.Namespace) -> int:
    return run_program(toy.train, toy.Settings, args)
