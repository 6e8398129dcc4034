"""What a handout question is, and what answering it produces.

Each handout has one module here (`hw0.py`, `hw3.py`, `hw4.py`, `hw7.py`, `cnn_rnn.py`) with a
list `QUESTIONS`. `neurallab reproduce` runs them in order and renders every `Answer` into the
report. Questions call the real programs through `run_command`, so the command printed in the
report is exactly the one that produced the numbers.
"""

from __future__ import annotations

import json
import shlex
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


def run_command(argv: list[str], run_dir: Path) -> dict[str, Any]:
    """Run `neurallab <argv> --run_dir run_dir` in-process and return its summary.json.

    The returned dict also carries `"command"` (the exact shell command) and `"seconds"`.
    """
    from neurallab.cli import main

    full = [*argv, "--run_dir", str(run_dir)]
    started = time.perf_counter()
    code = main(full)
    if code:
        raise RuntimeError(f"`neurallab {shlex.join(full)}` exited with {code}")
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    summary["command"] = "neurallab " + shlex.join(full)
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured Markdown table; floats are shown with 4 significant digits."""

    def cell(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
