"""Kill a training command with SIGKILL part-way, resume it, and read what it logged: the check
behind "resume is exact" (the tests of each program use it).

    killed = kill_and_resume("txt", argv, tmp_path / "killed", kill_after_evaluations=2)
    whole = run_whole("txt", argv, tmp_path / "whole")
    assert logged(killed) == logged(whole)
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# Wall-clock measurements differ between any two runs; everything else must match bit for bit.
TIMING_WORDS = ("seconds", "time", "per_sec", "ms_per")


def _command(program: str, argv: list[str], run_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "neurallab.cli",
        program,
        *argv,
        "--run_dir",
        str(run_dir),
        "--tracker",
        "none",
        "--no_progress",
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def run_whole(program: str, argv: list[str], run_dir: Path) -> Path:
    subprocess.run(_command(program, argv, run_dir), env=_env(), check=True, capture_output=True)
    return run_dir


def evaluations(run_dir: Path) -> int:
    """Evaluations logged so far (rows of the `epoch` key in metrics.csv)."""
    path = run_dir / "metrics.csv"
    if not path.exists():
        return 0
    with path.open(newline="") as f:
        return sum(1 for row in csv.reader(f) if len(row) == 3 and row[1] == "epoch")


def kill_and_resume(
    program: str,
    argv: list[str],
    run_dir: Path,
    kill_after_evaluations: int,
    timeout: float = 300.0,
) -> Path:
    """Start the command, SIGKILL it once it logged `kill_after_evaluations` evaluations and
    has a checkpoint, then run it again with --resume to the end."""
    command = _command(program, argv, run_dir)
    process = subprocess.Popen(
        command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if evaluations(run_dir) >= kill_after_evaluations and (run_dir / "last.pt").exists():
            process.send_signal(signal.SIGKILL)
            break
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{program} did not reach {kill_after_evaluations} evaluations")
        time.sleep(0.02)
    code = process.wait()
    stderr = process.stderr.read().decode() if process.stderr else ""
    assert code == -signal.SIGKILL, f"{program} ended before it was killed ({code}): {stderr}"
    assert "wall_seconds" not in (run_dir / "summary.json").read_text(), "it had finished"
    subprocess.run([*command, "--resume"], env=_env(), check=True, capture_output=True)
    return run_dir


def logged(run_dir: Path) -> list[tuple[int, str, str]]:
    """Every (step, key, value) of metrics.csv except wall-clock timings, values as written."""
    with (run_dir / "metrics.csv").open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    return [
        (int(step), key, value)
        for step, key, value in rows
        if not any(word in key for word in TIMING_WORDS)
    ]
