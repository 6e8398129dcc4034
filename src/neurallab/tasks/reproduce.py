"""`neurallab reproduce <handout|all> [--quick|--full]`: every handout question, then one report.

Each question's answer is cached in `runs/reproduce/<mode>/<handout>/<question>/answer.json`,
keyed by its full configuration: re-running reuses finished answers unless `--force`, so an
interrupted reproduce resumes where it stopped. The report goes to `runs/report/`
(`index.html` and `report.md`); `--docs` also writes it as Markdown (e.g. `docs/results.md`).
The questions and the report live in `neurallab.experiments.reproduce`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from neurallab.engine.device import DEVICES
from neurallab.experiments.base import Budget
from neurallab.experiments.reproduce import HANDOUTS, reproduce
from neurallab.flags import seed_int

COMMAND = "reproduce"
HELP = "run every programming and empirical question of the handouts and write the report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", type=str.lower, choices=[*HANDOUTS, "all"], help="handout to reproduce"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick", action="store_true", help="CPU budgets, minutes (what runs without --full)"
    )
    mode.add_argument("--full", action="store_true", help="the handouts' own settings")
    parser.add_argument("--force", action="store_true", help="re-run finished questions")
    parser.add_argument(
        "--report_only",
        action="store_true",
        help="run nothing: write the report from the answers already finished (the others "
        "are listed as not run yet), e.g. after an interrupted reproduce",
    )
    parser.add_argument(
        "--only",
        default=None,
        help="run only the questions with this id (any case: P1, p1; '5 q1' for §5 Q1)",
    )
    parser.add_argument(
        "--seed",
        type=seed_int,
        default=None,
        help="first seed of every question's runs (default: each handout's own seed)",
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="cpu",
        help="device of every training run (cpu keeps the published numbers comparable)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/reproduce"),
        help="where each question's runs and answer go, in <out>/<quick|full>/<handout>/; "
        "finished runs and answers there are reused",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=Path("runs/report"),
        help="folder of the report: index.html, report.md and their plots",
    )
    parser.add_argument(
        "--docs",
        type=Path,
        default=None,
        help="also write the report as Markdown here (e.g. docs/results.md), its plots "
        "in the folder of the same name (docs/results/)",
    )
    parser.add_argument(
        "--launcher",
        default=None,
        help="run every training command as '<LAUNCHER> -m neurallab.cli ...', e.g. "
        "'torchrun --nproc_per_node 4' with --device cuda for several GPUs (docs/scaling.md)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="a folder to commit: every finished answer is copied there with its plots (no "
        "checkpoints) and reused from there, so a long budget can be run piece by piece "
        "(e.g. results/full)",
    )


def effective_config(args: argparse.Namespace) -> Budget:
    """What every question's runs get: the budget, the first seed, the device, the launcher."""
    return Budget(
        quick=not args.full,
        seed=args.seed,
        device=args.device,
        rerun_before=time.time() if args.force else None,
        launcher=args.launcher,
    )


def run(args: argparse.Namespace) -> int:
    budget = effective_config(args)
    return reproduce(
        args.target,
        budget,
        out=args.out,
        report=args.report,
        only=args.only,
        docs=args.docs,
        report_only=args.report_only,
        force=args.force,
        results=args.results,
    )
