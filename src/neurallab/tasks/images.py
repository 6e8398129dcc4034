"""`neurallab img`: the command-line shell over `neurallab.programs.images`."""

from __future__ import annotations

import argparse

from neurallab.programs import images
from neurallab.tasks.common import add_program_arguments, run_program

COMMAND = "img"
HELP = "HW0 §3: image classifier (MLP or CNN) on 3-class colour pictures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser, images.Settings)


def run(args: argparse.Namespace) -> int:
    return run_program(images.train, images.Settings, args)
