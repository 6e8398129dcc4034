"""What every task shares: engine flags, the run folder, optimizers, the classification step."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neurallab.engine import FitConfig, StepOutput, resolve_device
from neurallab.engine.device import DEVICES, PRECISIONS
from neurallab.flags import non_negative_float, non_negative_int, positive_float, positive_int
from neurallab.tracking import TRACKERS, Run, make_tracker
from neurallab.tracking.run import is_main_process


def add_engine_args(
    parser: argparse.ArgumentParser,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    optimizer: str | None = "adam",
    clip_grad: float = 0.0,
) -> None:
    """Flags every training task accepts; the task chooses the defaults (the handout's)."""
    g = parser.add_argument_group("training")
    g.add_argument(
        "--epochs",
        "--n_epochs",
        type=non_negative_int,
        default=epochs,
        help="passes over the training set",
    )
    g.add_argument(
        "--max_samples",
        type=positive_int,
        default=None,
        help="budget in training examples instead of epochs",
    )
    g.add_argument(
        "--batch_size",
        type=positive_int,
        default=batch_size,
        help="global batch size (split across processes under torchrun)",
    )
    g.add_argument("--lr", "--learning_rate", type=positive_float, default=lr, help="learning rate")
    if optimizer is not None:
        g.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), default=optimizer)
        g.add_argument("--weight_decay", type=non_negative_float, default=0.0)
        g.add_argument("--momentum", type=non_negative_float, default=0.0, help="SGD momentum")
    g.add_argument(
        "--clip_grad",
        type=non_negative_float,
        default=clip_grad,
        help="max gradient norm (0: no clipping)",
    )
    g.add_argument("--seed", type=int, default=seed, help="makes CPU runs repeatable")
    g.add_argument(
        "--eval_every",
        type=positive_int,
        default=None,
        help="steps between evaluations (default: every epoch)",
    )
    g.add_argument(
        "--checkpoint_every",
        type=positive_int,
        default=None,
        help="steps between checkpoints (also written at every evaluation)",
    )
    g.add_argument("--resume", action="store_true", help="continue the run in --run_dir")
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in the run folder (default: refuse to mix two runs)",
    )
    g.add_argument("--device", choices=DEVICES, default="auto")
    g.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="bf16 runs the forward pass under autocast",
    )
    g.add_argument("--num_workers", type=non_negative_int, default=0, help="DataLoader workers")
    g.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    t = parser.add_argument_group("tracking")
    t.add_argument("--tracker", choices=TRACKERS, default="trackio")
    t.add_argument("--use_wandb", action="store_true", help="the course's flag: --tracker wandb")
    t.add_argument("--wandb_online", action="store_true", help="sync wandb (needs an account)")
    t.add_argument("--project", default="neurallab", help="tracker project")
    t.add_argument("--run_name", default=None, help="default: <task>-<time>")
    t.add_argument(
        "--run_dir", type=Path, default=None, help="run folder (default: runs/<task>/<run_name>)"
    )


def fit_config(args: argparse.Namespace, **overrides: Any) -> FitConfig:
    """A FitConfig from the engine flags; `overrides` set what the task fixes itself."""
    values = dict(
        epochs=args.epochs,
        max_samples=args.max_samples,
        batch_size=args.batch_size,
        clip_grad=args.clip_grad or None,
        eval_every=args.eval_every,
        checkpoint_every=args.checkpoint_every,
        device=resolve_device(args.device),
        precision=args.precision,
        seed=args.seed,
        resume=args.resume,
        progress=not args.no_progress,
        num_workers=args.num_workers,
    )
    values.update(overrides)
    return FitConfig(**values)


def make_optimizer(args: argparse.Namespace, params) -> torch.optim.Optimizer:
    if args.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay
        )
    if args.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    return torch.optim.Adam(params, lr=args.lr, weight_decay=args.weight_decay)


def default_run_name(task: str) -> str:
    return f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"


def open_run(task: str, args: argparse.Namespace, model: nn.Module | None = None) -> Run:
    """Create (or, with --resume, reopen) the run folder and its tracker; write config.json."""
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
    config = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in vars(args).items()
        if not k.startswith("_")
    }
    writes = is_main_process()
    tracker_kind = "wandb" if getattr(args, "use_wandb", False) else args.tracker
    tracker = make_tracker(
        tracker_kind if writes else "none",
        args.project,
        run_name,
        config,
        folder,
        resume=getattr(args, "resume", False),
        online=getattr(args, "wandb_online", False),
    )
    run = Run(folder, tracker, writes=writes)
    run.write_config(config)
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
