"""`neurallab parity-manual`: the command-line shell over `neurallab.programs.parity_manual`."""

from __future__ import annotations

import argparse

from neurallab.programs import parity_manual
from neurallab.tasks.common import add_program_arguments, run_options

COMMAND = "parity-manual"
HELP = "CNN/RNN Q4: hand-chosen LSTM weights that compute parity, checked exhaustively"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser, parity_manual.Settings, resumable=False)


def run(args: argparse.Namespace) -> int:
    settings = parity_manual.Settings.from_args(args)
    record = parity_manual.run(settings, **vars(run_options(args)))
    return 0 if record.summary["wrong"] == 0 else 1
