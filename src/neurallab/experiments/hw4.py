"""HW4 (toy network, manual backprop): Exercises 1-5 and the ungraded generalisation question.

All five exercises are answered by one `neurallab toy` run; each question reads its part.
"""

from __future__ import annotations

from pathlib import Path

from neurallab.experiments.base import Answer, Budget, Question, markdown_table, run_command


def _toy(budget: Budget, out: Path) -> dict:
    steps = "5000"  # the handout's solution uses 10,000; 5,000 Adam steps already reach ~1e-5
    return run_command(
        ["toy", "--epochs", steps, "--seed", str(budget.seed)], out.parent / "toy-run"
    )


def ex1(budget: Budget, out: Path) -> Answer:
    s = _toy(budget, out)
    a = s["answers"]
    return Answer(
        text=(
            f"The hand-written forward pass y_hat = sigmoid(relu(x W1 + B1) W2 + B2) on the 20 "
            f"fixed points gives the loss ||y_hat - Y||^2 = {a['ex1_loss']:.4f} before training "
            "(sum over points and outputs, the handout's definition)."
        ),
        commands=[s["command"]],
        metrics={"loss": a["ex1_loss"]},
    )


def ex2(budget: Budget, out: Path) -> Answer:
    s = _toy(budget, out)
    a = s["answers"]
    rows = [[n, f"{a[f'ex2_{n}_grad_distance']:.3e}"] for n in ("W1", "B1", "W2", "B2")]
    worst = max(a[f"ex2_{n}_grad_distance"] for n in ("W1", "B1", "W2", "B2"))
    return Answer(
        text=(
            f"The manual backward pass agrees with autograd in float64: the largest gradient "
            f"distance is {worst:.1e}, at the level of float64 rounding (the threshold is 1e-12)."
        ),
        commands=[s["command"]],
        tables=[markdown_table(["parameter", "L2 norm of (manual - autograd), float64"], rows)],
        metrics={"max_distance": worst},
    )


def ex3(budget: Budget, out: Path) -> Answer:
    s = _toy(budget, out)
    a = s["answers"]
    rows = [
        ["0.01", f"{a['ex1_loss']:.4f}", f"{a['ex3_loss_after_small_lr_step']:.4f}"],
        ["50", f"{a['ex1_loss']:.4f}", f"{a['ex3_loss_after_large_lr_step']:.4f}"],
    ]
    return Answer(
        text=(
            "Yes, the loss can increase. A gradient step only promises a decrease for a small "
            "enough learning rate (the first-order Taylor term dominates). At lr 0.01 one step "
            f"lowers the loss from {a['ex1_loss']:.4f} to {a['ex3_loss_after_small_lr_step']:.4f};"
            f" at lr 50 the same step overshoots and the loss rises to "
            f"{a['ex3_loss_after_large_lr_step']:.4f}."
        ),
        commands=[s["command"]],
        tables=[markdown_table(["learning rate", "loss before", "loss after one step"], rows)],
    )


def ex4(budget: Budget, out: Path) -> Answer:
    s = _toy(budget, out)
    return Answer(
        text=(
            "`ToyModel` is Sequential(Linear(3, 4), ReLU, Linear(4, 2), Sigmoid): "
            f"{s['parameters']} parameters (3x4 + 4 + 4x2 + 2 = 26). Untrained, its MSE (mean "
            f"reduction) on the 20 points is {s['answers']['ex4_untrained_mse']:.4f}."
        ),
        commands=[s["command"]],
        metrics={"parameters": s["parameters"]},
    )


def ex5(budget: Budget, out: Path) -> Answer:
    s = _toy(budget, out)
    a = s["answers"]
    rows = [
        ["20 fixed points, full batch", f"{a['ex5_mse']:.2e}", f"{a['ex5_fresh_data_mse']:.4f}"],
        [
            "fresh sample of 100 each step",
            f"{a['fresh_training_fixed_mse']:.4f}",
            f"{a['fresh_training_fresh_data_mse']:.4f}",
        ],
    ]
    verdict = "below" if a["ex5_mse"] < 0.01 else "NOT below"
    return Answer(
        text=(
            f"Adam (lr 0.03) for 5,000 full-batch steps drives the MSE on the 20 points to "
            f"{a['ex5_mse']:.2e}, {verdict} the 0.01 target. On 100 fresh points from the same "
            f"distribution the memorising model scores {a['ex5_fresh_data_mse']:.3f}: it fit 20 "
            "points, not the function. Training on a fresh sample every step instead gives "
            f"{a['fresh_training_fresh_data_mse']:.3f} on fresh data, at the price of a worse fit "
            f"to the 20 points ({a['fresh_training_fixed_mse']:.3f}); with 26 parameters the "
            "network cannot represent the target exactly, as the handout says."
        ),
        commands=[s["command"]],
        tables=[
            markdown_table(["trained on", "MSE on the 20 points", "MSE on 100 fresh points"], rows)
        ],
        images=[out.parent / "toy-run" / "training.png"],
        metrics={"mse": a["ex5_mse"], "fresh_mse": a["ex5_fresh_data_mse"]},
    )


QUESTIONS = [
    Question("hw4", "Ex1", "Forward pass by hand", ex1, seconds_quick=20, seconds_full=30),
    Question(
        "hw4", "Ex2", "Backward pass by hand vs autograd", ex2, seconds_quick=1, seconds_full=1
    ),
    Question(
        "hw4",
        "Ex3",
        "Can the loss increase after a gradient step?",
        ex3,
        seconds_quick=1,
        seconds_full=1,
    ),
    Question("hw4", "Ex4", "The toy network with nn modules", ex4, seconds_quick=1, seconds_full=1),
    Question(
        "hw4",
        "Ex5",
        "Optimisation loop to MSE < 0.01, and fresh data",
        ex5,
        seconds_quick=1,
        seconds_full=1,
    ),
]
