"""`neurallab dashboard`: trackio's local web dashboard over this project's runs."""

from __future__ import annotations

import argparse

from neurallab.flags import positive_int

COMMAND = "dashboard"
HELP = "serve the tracked runs on localhost with trackio's dashboard"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", default="neurallab", help="trackio project to show")
    parser.add_argument("--port", type=positive_int, default=7860, help="first port to try")


def run(args: argparse.Namespace) -> int:
    from neurallab.tracking.trackio_ import show_dashboard

    show_dashboard(args.project, args.port)
    return 0
