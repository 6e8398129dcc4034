"""What every program command shares: the run-folder and tracker flags, and the shell that
turns parsed flags into a program's settings and run options and calls it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neurallab.programs.run import RunOptions
from neurallab.tracking import TRACKERS


def add_program_arguments(
    parser: argparse.ArgumentParser, settings_type: type, *, resumable: bool = True
) -> None:
    """A program's flags: one per setting of its dataclass (same defaults, same help), then the
    run-folder and tracker flags that make its RunOptions (`--resume` where it can resume)."""
    settings_type.add_arguments(parser)
    task = settings_type.PROGRAM
    g = parser.add_argument_group("run folder and tracking")
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in the run folder (default: refuse to mix two runs)",
    )
    g.add_argument("--tracker", choices=TRACKERS, default="trackio", help="where metrics go")
    g.add_argument("--use_wandb", action="store_true", help="the course's flag: --tracker wandb")
    g.add_argument("--wandb_online", action="store_true", help="sync wandb (needs an account)")
    g.add_argument("--project", default="neurallab", help="tracker project")
    g.add_argument("--run_name", default=None, help=f"default: {task}-<time>")
    g.add_argument(
        "--run_dir", type=Path, default=None, help=f"run folder (default: runs/{task}/<run_name>)"
    )
    if resumable:
        g.add_argument("--resume", action="store_true", help="continue the run in --run_dir")
    g.add_argument("--no_progress", action="store_true", help="hide the progress bar")


def run_options(args: argparse.Namespace) -> RunOptions:
    """The RunOptions of a parsed command line."""
    return RunOptions(
        run_dir=args.run_dir,
        run_name=args.run_name,
        tracker="wandb" if getattr(args, "use_wandb", False) else args.tracker,
        project=args.project,
        resume=getattr(args, "resume", False),
        overwrite=args.overwrite,
        progress=not getattr(args, "no_progress", False),
        wandb_online=getattr(args, "wandb_online", False),
    )


def run_program(train: Any, settings_type: type, args: argparse.Namespace) -> int:
    """What a program's command does: its settings from the flags, then `train`."""
    train(settings_type.from_args(args), **vars(run_options(args)))
    return 0
