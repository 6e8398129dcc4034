"""`neurallab dashboard`: trackio's local web dashboard over this project's runs."""

from __future__ import annotations

import argparse
import os

from neurallab.flags import positive_int

COMMAND = "dashboard"
HELP = "serve the tracked runs on localhost with trackio's dashboard"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", default="neurallab", help="trackio project to show")
    parser.add_argument("--port", type=positive_int, default=7860, help="first port to try")


def run(args: argparse.Namespace) -> int:
    from neurallab.tracking.trackio_ import default_trackio_dir

    # Both must be set before trackio is imported: it reads them once.
    os.environ.setdefault("TRACKIO_DIR", str(default_trackio_dir()))
    os.environ["GRADIO_SERVER_PORT"] = str(args.port)
    import trackio

    print(f"trackio data: {os.environ['TRACKIO_DIR']}")
    trackio.show(project=args.project, open_browser=False, block_thread=True)
    return 0
