"""The first three programs end to end on short budgets, and kill -9 / --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from neurallab.cli import main
from neurallab.internals import backprop as hand
from neurallab.tasks.mnist import loss_questions


def _summary(folder):
    return json.loads((folder / "summary.json").read_text())


def test_toy_gradients_match_autograd_and_training_fits(tmp_path):
    assert (
        main(
            [
                "toy",
                "--epochs",
                "1500",
                "--tracker",
                "none",
                "--no_progress",
                "--run_dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    answers = _summary(tmp_path)["answers"]
    for name in ("W1", "B1", "W2", "B2"):
        assert answers[f"ex2_{name}_grad_distance"] < 1e-12
    assert answers["ex3_loss_after_small_lr_step"] < answers["ex1_loss"]
    assert answers["ex3_loss_after_large_lr_step"] > answers["ex1_loss"]
    assert answers["ex5_mse"] < 0.01
    assert (tmp_path / "training.png").stat().st_size > 10_000


def test_manual_backprop_detects_a_wrong_derivative():
    """The gradient check is sharp: a sigmoid derivative off by a factor fails it."""
    torch.manual_seed(1)
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.rand(5, 2, dtype=torch.float64).round()
    p = hand.ToyParams(*(t.double() for t in hand.ToyParams.init().tensors()))
    auto = hand.autograd_gradients(x, y, p)
    assert all(
        (m.reshape(a.shape) - a).norm() < 1e-12
        for m, a in zip(hand.backprop(x, y, p), auto, strict=True)
    )
    wrong = hand.backprop(x, y * 1.0, hand.ToyParams(p.W1, p.B1, p.W2 * 1.01, p.B2))
    assert (wrong[0] - auto[0]).norm() > 1e-6


def test_problem_1_loss_answers():
    a = loss_questions()
    assert a["p1a_cross_entropy"] == pytest.approx(0.916290731874155)  # -ln 0.4, not -log10
    assert a["p1b_dmse_dyhat3"] == pytest.approx(2 * (0.9 - 1) / 10)
    assert a["p1b_dce_dyhat3"] == pytest.approx(-1 / 0.9)
    assert a["p1b_dce_dlogit3"] == pytest.approx(0.9 - 1)


def test_mnist_short_run_learns(tmp_path):
    assert (
        main(
            [
                "mnist",
                "--epochs",
                "1",
                "--train_limit",
                "6000",
                "--tracker",
                "none",
                "--no_progress",
                "--run_dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    summary = _summary(tmp_path)
    assert summary["parameters"] == 784 * 64 + 64 + 64 * 10 + 10
    assert summary["final"]["test/acc"] > 0.85
    assert (tmp_path / "best.pt").exists() and (tmp_path / "curves.png").exists()


def test_autoencoder_short_run_reconstructs(tmp_path):
    assert (
        main(
            [
                "autoencoder",
                "--epochs",
                "2",
                "--train_limit",
                "20000",
                "--tracker",
                "none",
                "--no_progress",
                "--run_dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    summary = _summary(tmp_path)
    # A code that carries information must beat predicting the mean training image.
    from neurallab.data.digits import load_mnist

    train_x, test_x = load_mnist("train").tensors[0], load_mnist("test").tensors[0]
    mean_image_mse = float(((test_x - train_x.mean(0)) ** 2).mean())
    assert summary["final"]["test/loss"] < 0.85 * mean_image_mse
    for png in ("reconstructions.png", "latent.png", "curves.png"):
        assert (tmp_path / png).stat().st_size > 10_000


def _mnist_cmd(run_dir, *extra):
    return [
        sys.executable,
        "-m",
        "neurallab.cli",
        "mnist",
        "--epochs",
        "2",
        "--train_limit",
        "4000",
        "--batch_size",
        "50",
        "--checkpoint_every",
        "10",
        "--tracker",
        "none",
        "--no_progress",
        "--run_dir",
        str(run_dir),
        *extra,
    ]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ref")
    subprocess.run(_mnist_cmd(folder), check=True, capture_output=True, timeout=300)
    return _summary(folder)


@pytest.mark.parametrize(
    "kill_after",
    [  # steps; an epoch is 80 steps
        pytest.param(15, marks=pytest.mark.slow),
        57,
        pytest.param(95, marks=pytest.mark.slow),
        140,
    ],
)
def test_sigkill_then_resume_matches_uninterrupted(tmp_path, uninterrupted, kill_after):
    victim = subprocess.Popen(
        _mnist_cmd(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    metrics = tmp_path / "metrics.csv"
    deadline = time.time() + 240
    while time.time() < deadline and victim.poll() is None:
        rows = metrics.read_text().count("train/batch_loss") if metrics.exists() else 0
        if rows >= kill_after:
            break
        time.sleep(0.005)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    summary = tmp_path / "summary.json"
    assert not summary.exists() or "final" not in _summary(tmp_path), "killed too late"
    subprocess.run(_mnist_cmd(tmp_path, "--resume"), check=True, capture_output=True, timeout=300)
    assert _summary(tmp_path)["final"] == uninterrupted["final"]
    steps = [
        int(line.split(",")[0])
        for line in metrics.read_text().splitlines()[1:]
        if ",train/batch_loss," in line
    ]
    assert steps == sorted(set(steps)) and len(steps) == 160  # every step logged exactly once
