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
from neurallab.data.toy import generate_data
from neurallab.experiments import hw4
from neurallab.experiments.verdict import DISAGREES
from neurallab.internals import backprop as hand
from neurallab.models.toy import ToyModel
from neurallab.programs import toy
from neurallab.programs.mnist import loss_questions


def _summary(folder):
    return json.loads((folder / "summary.json").read_text())


def test_toy_gradients_match_autograd_and_training_fits(tmp_path):
    argv = ["toy", "--steps", "1500", "--inits", "8", "--fresh_steps", "200"]
    assert main([*argv, "--tracker", "none", "--no_progress", "--run_dir", str(tmp_path)]) == 0
    answers = _summary(tmp_path)["answers"]
    for name in ("W1", "B1", "W2", "B2"):
        assert answers[f"ex2_{name}_grad_distance"] < 1e-12
    assert answers["ex3_loss_after_small_lr_step"] < answers["ex1_loss"]
    assert answers["ex3_loss_after_large_lr_step"] > answers["ex1_loss"]
    assert answers["ex4_max_output_difference"] == 0.0  # ToyModel is the hand-written network
    final = answers["ex5_mse"][0]
    assert len(final) == 8 and answers["ex5_seeds"] == list(range(8))
    assert sum(final) / 8 < answers["ex4_untrained_mse"] / 2  # training lowered the loss
    assert min(final) < 0.01  # and some fresh initialisation reaches the handout's target
    assert answers["ex5_below_target_by_step"][0][-1] == [1500, sum(v < 0.01 for v in final)]
    assert answers["ex3_repeated_cell_losses"] == sorted(answers["ex3_repeated_cell_losses"])[::-1]
    assert (tmp_path / "training.png").stat().st_size > 10_000


def _toy_data():
    torch.manual_seed(0)
    x, y = (t.double() for t in generate_data(20))
    p = hand.ToyParams(*(t.double() for t in hand.ToyParams.init().tensors()))
    return x, y, p


FAULTS = {
    "ReLU mask dropped": ("relu_derivative", lambda z: torch.ones_like(z)),
    "sigmoid derivative dropped": ("sigmoid_derivative", lambda y_hat: torch.ones_like(y_hat)),
    "sigma instead of sigma (1 - sigma)": ("sigmoid_derivative", lambda y_hat: y_hat),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_manual_backprop_detects_a_wrong_derivative(fault, monkeypatch):
    """The Ex2 check (manual vs autograd, the one the toy run and its answer use) catches a
    wrong derivative injected into `backprop`, and passes the correct one."""
    x, y, p = _toy_data()
    with torch.no_grad():
        z1 = x @ p.W1 + p.B1
    assert (z1 < 0).any() and (z1 > 0).any()  # so a missing ReLU mask changes the gradient
    assert max(hand.gradient_distances(x, y, p).values()) < 1e-12

    name, wrong = FAULTS[fault]
    monkeypatch.setattr(hand, name, wrong)
    distances = hand.gradient_distances(x, y, p)
    assert max(distances.values()) > 1e-3

    # The same fault reaches the toy's Exercise 2 answer and flips its verdict.
    p32 = hand.ToyParams(*(t.float() for t in p.tensors()))
    answers = toy.exercises_1_to_4(x.float(), y.float(), p32, ToyModel(), 0.01, 50.0)
    _, verdicts, _ = hw4.ex2_reading(answers)
    assert verdicts[0].outcome == DISAGREES


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
