"""`neurallab dashboard`: trackio's local web dashboard over this project's runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from neurallab.errors import UserError
from neurallab.flags import positive_int

COMMAND = "dashboard"
HELP = "serve the tracked runs on localhost with trackio's dashboard"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", default="neurallab", help="trackio project to show")
    parser.add_argument("--port", type=positive_int, default=7860, help="first port to try")


def run(args: argparse.Namespace) -> int:
    from neurallab.commands import choose
    from neurallab.tracking.trackio_ import default_trackio_dir, projects, show_dashboard

    # An empty dashboard says nothing: a project that is not there is one line listing those
    # that are (any case matches: `--project NEURALLAB-HW3`).
    known = projects()
    if not known:
        old = Path("runs/trackio")  # where runs were tracked before the store was fixed
        hint = (
            f"; runs tracked here earlier: TRACKIO_DIR={old.resolve()} neurallab dashboard"
            if list(old.glob("*.db"))
            else "; runs with --tracker trackio (the default) are stored there"
        )
        raise UserError(
            f"no trackio project {args.project!r}: {default_trackio_dir()} holds none "
            "($TRACKIO_DIR chooses another store)" + hint
        )
    where = f" in {default_trackio_dir()}"
    show_dashboard(choose(args.project, known, "trackio project", where), args.port)
    return 0
