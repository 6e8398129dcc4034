"""`neurallab generate`: the command-line shell over `neurallab.programs.generate`."""

from __future__ import annotations

import argparse

from neurallab.programs import generate

COMMAND = "generate"
HELP = "HW7: sample text from a trained rnn-lm checkpoint at one or more temperatures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    generate.Settings.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    generate.run(generate.Settings.from_args(args))
    return 0
