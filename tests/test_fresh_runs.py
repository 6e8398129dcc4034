"""Runs never mix: a run folder holds one run, and `reproduce --force` replaces a question's runs.

Before this was enforced, a second run into the same folder appended to its metrics.csv, so the
report's curves were drawn two or three times and its epoch counts doubled.
"""

from __future__ import annotations

import json
from pathlib import Path

from neurallab.cli import main
from neurallab.experiments import reproduce
from neurallab.experiments.base import Answer, Budget, Question
from neurallab.programs import timeseries
from neurallab.report.plots import line_plot
from neurallab.tracking.run import Run

TINY = ["timeseries", "--model", "mlp", "--epochs", "3", "--batch_size", "8"]


def _run(run_dir: Path, *extra: str) -> int:
    return main(
        [
            *TINY,
            "--seed",
            "3",
            "--tracker",
            "none",
            "--no_progress",
            "--run_dir",
            str(run_dir),
            *extra,
        ]
    )


def test_a_second_run_into_a_run_folder_is_refused_then_replaced(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert _run(run_dir) == 0
    first = (run_dir / "metrics.csv").read_text()
    capsys.readouterr()
    assert _run(run_dir) == 1  # refused, nothing touched
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1
    assert str(run_dir) in message and "--resume" in message and "--overwrite" in message
    assert (run_dir / "metrics.csv").read_text() == first
    assert _run(run_dir, "--overwrite") == 0
    assert (run_dir / "metrics.csv").read_text() == first  # same seed on CPU: the same run, once


def _curve_question(budget: Budget, out: Path) -> Answer:
    """A question shaped like the real ones: one run from settings, its validation curve
    plotted from the record's history."""
    settings = timeseries.Settings(model="mlp", epochs=3, batch_size=8)
    seed = budget.seeds(1, default=3)[0]
    rec = budget.train(settings.replace(seed=seed), out.parent / "runs" / "mlp")
    xs, ys = zip(*rec.history.column("val/loss"), strict=True)
    plot = Run(out).save_figure(
        line_plot({"mlp": (list(xs), list(ys))}, "val loss", "examples", "loss"), "val.png"
    )
    return Answer(
        text="curve",
        commands=[rec.command],
        images=[plot],
        metrics={"epochs": rec.summary["epochs"], "points": len(ys), "curve": list(ys)},
    )


def test_reproduce_force_twice_equals_one_run(tmp_path, monkeypatch):
    q = Question("hw3", "T1", "a curve", _curve_question)
    monkeypatch.setattr(reproduce, "questions", lambda target: [q])
    monkeypatch.chdir(tmp_path)
    argv = ["reproduce", "hw3", "--quick", "--out", "out", "--report", "report"]
    assert main(argv) == 0
    once = json.loads((tmp_path / "out/quick/hw3/t1/answer.json").read_text())["metrics"]
    for _ in range(2):
        assert main([*argv, "--force"]) == 0
    again = json.loads((tmp_path / "out/quick/hw3/t1/answer.json").read_text())["metrics"]
    assert once["epochs"] == again["epochs"] == 3
    assert once["points"] == again["points"] == 3  # one validation point per epoch, not 6 or 9
    assert again["curve"] == once["curve"]
    rows = (tmp_path / "out/quick/hw3/runs/mlp/metrics.csv").read_text().splitlines()
    assert sum(",val/loss," in r for r in rows) == 3
