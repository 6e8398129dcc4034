"""CNN/RNN handout §1 (CIFAR-3 CNN): Q1 the network, Q2 with BatchNorm, Q3 save and test."""

from __future__ import annotations

import json
from pathlib import Path

from neurallab.experiments.base import Answer, Budget, Question, markdown_table, run_command
from neurallab.report.plots import line_plot
from neurallab.tracking import metric_series
from neurallab.tracking.run import Run


def _flags(budget: Budget) -> list[str]:
    # The course trains 50 epochs at batch 256, lr 1e-4 on CIFAR-scale data. Our clip-art CIFAR-3
    # has 727 training pictures (3 batches per epoch), so --quick takes more, smaller steps.
    return ["--epochs", "20", "--batch_size", "64", "--lr", "0.001"] if budget.quick else []


def _train(budget: Budget, out: Path, batchnorm: bool) -> tuple[dict, Path]:
    name = "net-bn" if batchnorm else "net"
    folder = out.parent / "runs" / name
    argv = ["cifar", *_flags(budget), *(["--batchnorm"] if batchnorm else [])]
    return run_command(argv, folder), folder


def _settings(budget: Budget) -> str:
    return (
        "20 epochs, batch 64, Adam lr 1e-3 (weight decay 1e-3) at --quick; the course's 50 "
        "epochs at batch 256 and lr 1e-4 give only 150 steps on 727 pictures"
        if budget.quick
        else "the course's settings: 50 epochs, batch 256, Adam lr 1e-4, weight decay 1e-3"
    )


def q1(budget: Budget, out: Path) -> Answer:
    s, folder = _train(budget, out, batchnorm=False)
    return Answer(
        text=(
            f"`Net`: {s['parameters']:,} parameters (the specification's count). Trained on the "
            "32x32 clip-art CIFAR-3 (animals / food / transportation) with colour jitter, "
            f"rotation up to 30 degrees and horizontal flips, {_settings(budget)}: best "
            f"validation accuracy **{s['best']['val/acc']:.3f}** (chance 0.333). The handout's "
            "'upper 80s' refers to real CIFAR photos with thousands of images per class; these "
            "are a few hundred drawings per class in very different styles."
        ),
        commands=[s["command"]],
        images=[folder / "training.png"],
        metrics={"best_val_acc": s["best"]["val/acc"]},
    )


def _val_size() -> int:
    from neurallab.data import images

    return len(images.load_cifar3(images.default_cifar3("val")))


def _val_acc(folder: Path) -> list[float]:
    return metric_series(folder / "metrics.csv", "val/acc")[1]


def q2(budget: Budget, out: Path) -> Answer:
    plain, plain_dir = _train(budget, out, batchnorm=False)
    bn, folder = _train(budget, out, batchnorm=True)
    curves = {"Net": _val_acc(plain_dir), "Net + BatchNorm": _val_acc(folder)}
    early = max(1, len(curves["Net"]) // 4)  # the first quarter of training
    rows = [
        [
            name,
            f"{s['parameters']:,}",
            f"{sum(curves[name][:early]) / early:.3f}",
            f"{s['best']['val/acc']:.3f}",
            f"{s['final']['train/avg_acc']:.3f}",
        ]
        for name, s in (("Net", plain), ("Net + BatchNorm", bn))
    ]
    series = {k: (list(range(1, len(v) + 1)), v) for k, v in curves.items()}
    plot = Run(out).save_figure(
        line_plot(
            series,
            "CIFAR-3: validation accuracy with and without BatchNorm",
            "epoch",
            "validation accuracy",
        ),
        "val_acc_bn.png",
    )
    d_best = bn["best"]["val/acc"] - plain["best"]["val/acc"]
    d_train = bn["final"]["train/avg_acc"] - plain["final"]["train/avg_acc"]
    d_early = (sum(curves["Net + BatchNorm"][:early]) - sum(curves["Net"][:early])) / early
    return Answer(
        text=(
            "BatchNorm1d(512) after fc1 (before relu5) adds 1,024 parameters. Measured: over the "
            f"first {early} epochs BatchNorm's mean validation accuracy differs by {d_early:+.3f}, "
            f"its best validation accuracy by {d_best:+.3f} and its last-epoch training accuracy "
            f"by {d_train:+.3f}, from the plain Net's. BatchNorm rescales fc1's pre-activations "
            "per batch, which is often said to speed up early training; here it "
            + ("did" if d_early > 0 else "did not")
            + " in validation accuracy, "
            + (
                "but it ended with a higher training accuracy"
                if d_train > 0
                else "nor did it end with a higher training accuracy"
            )
            + f". With one seed and {_val_size()} validation pictures a difference of a few points "
            "is within noise. The training plot is the BatchNorm run's; the second plot overlays "
            "both validation curves."
        ),
        commands=[plain["command"], bn["command"]],
        tables=[
            markdown_table(
                [
                    "model",
                    "parameters",
                    f"mean val acc, epochs 1-{early}",
                    "best val acc",
                    "train acc (last epoch)",
                ],
                rows,
            )
        ],
        images=[folder / "training.png", plot],
    )


def q3(budget: Budget, out: Path) -> Answer:
    from neurallab.cli import main

    s, folder = _train(budget, out, batchnorm=True)
    assert main(["cifar-test", "--batchnorm", "--weights", str(folder / "best.pt")]) == 0
    test = json.loads((folder / "test.json").read_text())
    return Answer(
        text=(
            "The engine saves `best.pt` whenever validation accuracy **improves** (the handout "
            "says 'lower', a slip: lower accuracy is worse); `neurallab cifar-test` "
            "(`python -m neurallab.compat.cifar_test`) loads it (with `weights_only=True`) and "
            f"reports test accuracy **{test['test_acc']:.3f}** on {test['n']} test pictures, for "
            f"the weights that reached validation accuracy {s['best']['val/acc']:.3f}."
        ),
        commands=[s["command"], f"neurallab cifar-test --batchnorm --weights {folder / 'best.pt'}"],
        metrics=test,
    )


QUESTIONS = [
    Question(
        "cnn-rnn",
        "Q1",
        "The CIFAR-3 CNN and its training plot",
        q1,
        seconds_quick=35,
        seconds_full=300,
    ),
    Question("cnn-rnn", "Q2", "BatchNorm after fc1", q2, seconds_quick=35, seconds_full=300),
    Question(
        "cnn-rnn", "Q3", "Save the best weights; test.py", q3, seconds_quick=3, seconds_full=3
    ),
]
