"""What a handout question is, and what answering it produces.

Each handout has one module here (`hw0.py`, `hw3.py`, `hw4.py`, `hw7.py`, `cnn_rnn.py`) with a
list `QUESTIONS`. `neurallab reproduce` runs them in order and renders every `Answer` into the
report. Questions call the real programs through `run_command`, so the command printed in the
report is exactly the one that produced the numbers.
"""

from __future__ import annotations

import json
import shlex
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Budget:
    """How much compute a question may spend: `quick` (CPU minutes) or the handout's settings."""

    quick: bool = True
    seed: int = 0
    device: str = "cpu"


@dataclass
class Answer:
    """The measured answer to one handout question."""

    text: str  # a short, honest reading of the result (Markdown)
    commands: list[str] = field(default_factory=list)  # exact commands that produced it
    tables: list[str] = field(default_factory=list)  # Markdown tables
    images: list[Path] = field(default_factory=list)  # PNGs (absolute, or relative to out_dir)
    metrics: dict[str, Any] = field(default_factory=dict)  # headline numbers, JSON-serialisable


@dataclass(frozen=True)
class Question:
    handout: str  # "hw0", "hw3", "hw4", "hw7", "cnn-rnn"
    qid: str  # the handout's own numbering: "Q3.4", "P1", "Ex2", "§5 Q1"
    title: str
    run: Callable[[Budget, Path], Answer]  # (budget, folder to write into) -> answer
    seconds_quick: float = 60.0  # expected wall time at the quick budget, for planning
    seconds_full: float = 600.0  # expected wall time at the handout's budget


def run_command(argv: list[str], run_dir: Path, reuse: bool = True) -> dict[str, Any]:
    """Run `neurallab <argv> --run_dir run_dir` in-process and return its summary.json.

    The returned dict also carries `"command"` (the exact shell command) and `"seconds"`.
    With `reuse`, a finished run of the same command in `run_dir` is read, not repeated
    (several questions can share one run, and an interrupted reproduce resumes).
    """
    from neurallab.cli import main

    full = [*argv, *_tracking_flags(argv[0]), "--run_dir", str(run_dir)]
    summary_path = run_dir / "summary.json"
    command = "neurallab " + shlex.join(full)
    if reuse and not _force["rerun"] and summary_path.exists():
        summary = json.loads(summary_path.read_text())
        if summary.get("command") == command and "wall_seconds" in summary:
            return {**summary, "seconds": summary["wall_seconds"]}
    started = time.perf_counter()
    code = main(full)
    if code:
        raise RuntimeError(f"`neurallab {shlex.join(full)}` exited with {code}")
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    summary["command"] = command
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


REPRODUCE_PROJECT = "neurallab-reproduce"
_force = {"rerun": False}


def force_reruns(value: bool) -> None:
    """`reproduce --force`: run commands again even when a finished run of them exists."""
    _force["rerun"] = value


def _tracking_flags(command: str) -> list[str]:
    """Runs made by `reproduce` go to their own trackio project, without progress bars."""
    from neurallab.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices[command]
    flags = []
    if "--tracker" in sub._option_string_actions:
        flags += ["--project", REPRODUCE_PROJECT]
    if "--no_progress" in sub._option_string_actions:
        flags.append("--no_progress")
    return flags


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured Markdown table; floats are shown with 4 significant digits."""

    def cell(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def mean_std(values: list[float], digits: int = 3) -> str:
    """'mean ± sample standard deviation' of several seeds' results."""
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f}"
