"""DDP under torchrun (gloo, 2 CPU processes) follows the single-process trajectory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neurallab.tracking import metric_series

TORCHRUN = Path(sys.executable).with_name("torchrun")
ARGS = [
    "mnist",
    "--epochs",
    "1",
    "--train_limit",
    "2000",
    "--batch_size",
    "50",
    "--checkpoint_every",
    "10",
    "--tracker",
    "none",
    "--no_progress",
]


def _single(run_dir: Path, *extra: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "neurallab.cli", *ARGS, "--run_dir", str(run_dir), *extra],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun not installed beside python")
def test_ddp_two_processes_equal_single_process_with_same_global_batch(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    subprocess.run(
        [
            str(TORCHRUN),
            "--nproc_per_node",
            "2",
            "--master_port",
            "29517",
            "-m",
            "neurallab.cli",
            *ARGS,
            "--run_dir",
            str(tmp_path / "ddp"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env=env,
    )
    _single(tmp_path / "single")
    steps_ddp, ddp = metric_series(tmp_path / "ddp" / "metrics.csv", "train/batch_loss")
    steps_one, one = metric_series(tmp_path / "single" / "metrics.csv", "train/batch_loss")
    assert steps_ddp == steps_one and len(one) == 40
    assert max(abs(a - b) for a, b in zip(ddp, one, strict=True)) < 1e-5

    # Only rank 0 wrote: one metrics row per step, not two.
    assert len(ddp) == len(set(steps_ddp))

    # The DDP checkpoint resumes in a single process: run one more epoch from it.
    _single(tmp_path / "ddp", "--resume", "--epochs", "2")
    _single(tmp_path / "single", "--resume", "--epochs", "2")
    ddp_final = json.loads((tmp_path / "ddp" / "summary.json").read_text())["final"]
    one_final = json.loads((tmp_path / "single" / "summary.json").read_text())["final"]
    assert ddp_final["epoch"] == 2.0
    assert abs(ddp_final["val/loss"] - one_final["val/loss"]) < 1e-4
