"""What every task shares: the run folder and its flags, the classification step."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from torch import nn

from neurallab.engine import StepOutput, TrainingConfig
from neurallab.tracking import TRACKERS, Run, make_tracker
from neurallab.tracking.run import is_main_process


def add_run_args(parser: argparse.ArgumentParser, task: str) -> None:
    """The run folder and tracker flags of a training command."""
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


def add_program_arguments(
    parser: argparse.ArgumentParser, settings_type: type, *, resumable: bool = True
) -> None:
    """A program's flags: one per setting of its dataclass (same defaults, same help), then
    the run-folder and tracker flags."""
    settings_type.add_arguments(parser)
    add_run_args(parser, settings_type.PROGRAM)
    g = parser._action_groups[-1]  # "run folder and tracking"
    if resumable:
        g.add_argument("--resume", action="store_true", help="continue the run in --run_dir")
    g.add_argument("--no_progress", action="store_true", help="hide the progress bar")


def run_options(args: argparse.Namespace):
    """The RunOptions of a parsed command line."""
    from neurallab.programs.run import RunOptions

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


def run_program(train, settings_type: type, args: argparse.Namespace) -> int:
    """What a program's command does: its settings from the flags, then `train`."""
    train(settings_type.from_args(args), **vars(run_options(args)))
    return 0


def default_run_name(task: str) -> str:
    return f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"


def open_run(
    task: str,
    args: argparse.Namespace,
    config: TrainingConfig,
    model: nn.Module | None = None,
) -> Run:
    """Create (or, with --resume, reopen) the run folder and its tracker; write config.json:
    the flags as given, and under "effective" the configuration the run trains with."""
    from neurallab.errors import UserError

    run_name = args.run_name or (args.run_dir.name if args.run_dir else default_run_name(task))
    if not re.fullmatch(r"[\w.\-]+", run_name):
        raise UserError(f"--run_name: {run_name!r} may only hold letters, digits, '.', '-', '_'")
    folder = args.run_dir or Path("runs") / task / run_name
    if is_main_process():  # under torchrun only rank 0 owns (and checks) the run folder
        prepare_run_folder(
            folder,
            resume=getattr(args, "resume", False),
            overwrite=getattr(args, "overwrite", False),
        )
    flags = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in vars(args).items()
        if not k.startswith("_")
    }
    record = {**flags, "seed": config.seed, "effective": config.record()}
    writes = is_main_process()
    tracker_kind = "wandb" if getattr(args, "use_wandb", False) else args.tracker
    tracker = make_tracker(
        tracker_kind if writes else "none",
        args.project,
        run_name,
        record,
        folder,
        resume=getattr(args, "resume", False),
        online=getattr(args, "wandb_online", False),
    )
    run = Run(folder, tracker, writes=writes)
    run.write_config(record)
    summary = {"task": task, "run_name": run_name, "command": command_line(args)}
    if model is not None:
        summary["parameters"] = count_parameters(model)
    run.update_summary(summary)
    return run


# Files that mark a folder as holding a run (written by open_run and the engine).
RUN_FILES = ("config.json", "summary.json", "metrics.csv", "last.pt", "last.prev.pt", "best.pt")


def prepare_run_folder(folder: Path, resume: bool, overwrite: bool) -> None:
    """Make sure a new run never mixes with an old one in `folder`.

    A folder that already holds a run is refused unless `--resume` (continue it: the engine
    drops whatever was logged after the checkpoint it resumes from) or `--overwrite` (delete
    that run's files first).
    """
    from neurallab.errors import UserError

    if resume and overwrite:
        raise UserError("--resume and --overwrite: choose one (continue the run, or replace it)")
    if resume:
        if not (folder / "last.pt").exists() and not (folder / "last.prev.pt").exists():
            raise UserError(f"--resume: no checkpoint to resume in {folder}")
        return
    existing = [name for name in RUN_FILES if (folder / name).exists()]
    if not existing:
        return
    if not overwrite:
        raise UserError(
            f"{folder} already holds a run ({', '.join(existing)}): pass --resume to continue "
            "it, --overwrite to replace it, or choose another --run_name/--run_dir"
        )
    for name in existing:
        (folder / name).unlink()
    for png in folder.glob("*.png"):
        png.unlink()


def command_line(args: argparse.Namespace) -> str:
    return shlex.join(["neurallab", *getattr(args, "_argv", sys.argv[1:])])


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def classification_step(model: nn.Module, batch) -> StepOutput:
    """Cross-entropy step for (inputs, integer labels) batches, with accuracy."""
    inputs, labels = batch
    logits = model(inputs)
    loss = nn.functional.cross_entropy(logits.float(), labels)
    correct = (logits.argmax(dim=-1) == labels).sum()
    return StepOutput(loss=loss, size=len(labels), correct=correct)


def finish(run: Run, result, started: float, **extra: Any) -> dict[str, Any]:
    """Record wall time and extra numbers in summary.json, close the tracker, return the summary."""
    summary = run.update_summary({"wall_seconds": round(time.perf_counter() - started, 3), **extra})
    run.finish()
    if run.writes:
        print(f"results: {run.dir}")
    return summary
