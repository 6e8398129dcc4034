"""`neurallab timeseries`: the command-line shell over `neurallab.programs.timeseries`."""

from __future__ import annotations

import argparse

from neurallab.programs import timeseries
from neurallab.tasks.common import add_program_arguments, run_program

COMMAND = "timeseries"
HELP = "HW3 P5: multivariate time-series classification (UEA BasicMotions, JapaneseVowels, .npy)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser, timeseries.Settings)


def run(args: argparse.Namespace) -> int:
    return run_program(timeseries.train, timeseries.Settings, args)
