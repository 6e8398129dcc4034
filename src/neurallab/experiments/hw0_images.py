"""HW0 §3 (image classifier on 3-class colour clip art): Q3.1-Q3.6 as measured runs.

At --quick the images are 64x64 (the course uses 256x256: 16x the pixels, and a 100M-parameter
MLP); --full uses 256. Everything else follows the starter: seed 10999, SGD lr 1e-3, summed
cross-entropy, 5 epochs, batch 8.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from neurallab.experiments.base import Answer, Budget, Question, markdown_table, run_command
from neurallab.report.plots import line_plot
from neurallab.tracking import metric_series
from neurallab.tracking.run import Run


def _size(budget: Budget) -> str:
    return "64" if budget.quick else "256"


def _run(budget: Budget, out: Path, name: str, *flags: str) -> tuple[dict, Path]:
    folder = out.parent / "runs" / name
    s = run_command(["img", "--image_size", _size(budget), "--run_name", name, *flags], folder)
    return s, folder


def _test_size() -> int:
    from neurallab.data import images

    return len(images.read_image_csv(images.default_csv("test")))


def _size_note(budget: Budget) -> str:
    return (
        " Images are 64x64 at --quick (the course uses 256x256; `--full` does)."
        if budget.quick
        else ""
    )


def q31(budget: Budget, out: Path) -> Answer:
    s, folder = _run(budget, out, "neural-the-narwhal")
    xs, ys = metric_series(folder / "metrics.csv", "train/batch_loss")
    plot = Run(out).save_figure(
        line_plot(
            {"neural-the-narwhal": (xs, ys)},
            "HW0 Q3.1: training loss per batch",
            "examples seen",
            "mean cross-entropy in the batch",
        ),
        "batch_loss.png",
    )
    return Answer(
        text=(
            f"The starter MLP ({s['parameters']:,} parameters at this size) trained with the "
            f"default settings, run named neural-the-narwhal: the per-batch loss (mean within "
            f"each batch of 8) falls from {ys[0]:.2f} to around {sum(ys[-20:]) / 20:.2f} over the "
            f"last 20 batches, noisy as batch-8 estimates are." + _size_note(budget)
        ),
        commands=[s["command"]],
        images=[plot],
    )


def _epoch_curves(budget: Budget, out: Path, metric: str, title: str) -> Answer:
    s, folder = _run(budget, out, "neural-the-narwhal")
    series = {}
    for split in ("train", "val"):
        xs, ys = metric_series(folder / "metrics.csv", f"{split}/{metric}")
        series[split] = (list(range(1, len(ys) + 1)), ys)
    plot = Run(out).save_figure(line_plot(series, title, "epoch", metric), f"{metric}.png")
    f = s["final"]
    gap = f[f"train/{metric}"] - f[f"val/{metric}"]
    return Answer(
        text=(
            f"Both measured over the whole split after every epoch. After {len(series['train'][0])} "
            f"epochs: train {metric} {f[f'train/{metric}']:.3f}, validation {f[f'val/{metric}']:.3f} "
            f"(train minus validation {gap:+.3f}): "
            + (
                "the model fits the training pictures better than it generalises."
                if f["train/acc"] > f["val/acc"]
                else "no sign of overfitting yet."
            )
            + _size_note(budget)
        ),
        commands=[s["command"]],
        images=[plot],
    )


def q32(budget: Budget, out: Path) -> Answer:
    return _epoch_curves(budget, out, "loss", "HW0 Q3.2: train vs validation loss")


def q33(budget: Budget, out: Path) -> Answer:
    return _epoch_curves(budget, out, "acc", "HW0 Q3.3: train vs validation accuracy")


def q34(budget: Budget, out: Path) -> Answer:
    colour, _ = _run(budget, out, "neural-the-narwhal")
    gray, _ = _run(budget, out, "grayscale", "--grayscale")
    c, g = colour["final"]["test/acc"], gray["final"]["test/acc"]
    verdict = (
        "well above chance (1/3), so the classifier also uses shape and layout, not colour alone"
        if g > 0.40
        else "close to chance, so colour carried most of what it learned"
    )
    return Answer(
        text=(
            f"**3.4.a** Test accuracy: colour **{c:.3f}**, grayscale **{g:.3f}** (the first layer "
            f"shrinks to one input channel). **3.4.b** Grayscale accuracy is {verdict}. The "
            f"difference of {c - g:+.3f} is what colour contributes here; one seed each, so a few "
            "points are within noise." + _size_note(budget)
        ),
        commands=[colour["command"], gray["command"]],
        tables=[
            markdown_table(
                ["input", "train acc", "test acc"],
                [
                    ["colour", f"{colour['final']['train/acc']:.3f}", f"{c:.3f}"],
                    ["grayscale", f"{gray['final']['train/acc']:.3f}", f"{g:.3f}"],
                ],
            )
        ],
        metrics={"colour": c, "grayscale": g},
    )


def q35(budget: Budget, out: Path) -> Answer:
    s, folder = _run(budget, out, "neural-the-narwhal")
    batch = s["first_batches"]["test"]
    wrong = [r for r in batch if r["predicted"] != r["true"]]
    rows = [[r["prompt"], r["predicted"], r["true"]] for r in batch]
    confusions = Counter(f"{r['true']} called {r['predicted']}" for r in wrong)
    most = ", ".join(f"{k} ({v})" for k, v in confusions.most_common())
    return Answer(
        text=(
            "On the last epoch the first batch of each split is logged to the tracker, "
            'de-normalised, each image captioned "<predicted> / <true>", and saved as a grid '
            f"(test batch shown; the table lists each picture's title). **3.5.b** "
            f"{len(wrong)} of the {len(batch)} test pictures are misclassified"
            + (f": {most}." if wrong else ".")
            + " Clip art is drawn on an empty white canvas, so a pixel MLP sees little beyond "
            "which colours appear and how much of the canvas a figure covers: thin or small "
            "figures and pictures whose palette resembles another class's are the ones it "
            "confuses, and the archive's folders also hold odd pictures (label noise)."
            + _size_note(budget)
        ),
        commands=[s["command"]],
        tables=[markdown_table(["picture title (prompt)", "predicted", "true"], rows)],
        images=[folder / "test_first_batch.png"],
        metrics={"errors_in_first_test_batch": len(wrong)},
    )


def q36(budget: Budget, out: Path) -> Answer:
    base, base_dir = _run(budget, out, "base-model")
    new, new_dir = _run(budget, out, "new-model", "--model", "cnn")
    series = {}
    for name, folder in (("base-model", base_dir), ("new-model", new_dir)):
        for split in ("train", "val"):
            _, ys = metric_series(folder / "metrics.csv", f"{split}/acc")
            series[f"{name} {split}"] = (list(range(1, len(ys) + 1)), ys)
    plot = Run(out).save_figure(
        line_plot(series, "HW0 Q3.6: train and validation accuracy", "epoch", "accuracy"),
        "accuracy.png",
    )
    rows = [
        [
            n,
            f"{s['parameters']:,}",
            f"{s['final']['train/acc']:.3f}",
            f"{s['final']['test/acc']:.3f}",
        ]
        for n, s in (("base-model (MLP)", base), ("new-model (CNN)", new))
    ]
    better = "better" if new["final"]["test/acc"] > base["final"]["test/acc"] else "worse"
    ratio = base["parameters"] / new["parameters"]
    diff = new["final"]["test/acc"] - base["final"]["test/acc"]
    train_diff = new["final"]["train/acc"] - base["final"]["train/acc"]
    return Answer(
        text=(
            "**3.6.c** Parameter counts at the course's 256x256 input are 100,928,003 (MLP) and "
            "3,365,507 (CNN), checked exactly by the tests; the table gives the counts at the size "
            f"run here ({ratio:.1f}x fewer for the CNN). **3.6.a/d** The CNN's test accuracy is "
            f"{diff:+.3f} against the MLP's ({better}), its training accuracy {train_diff:+.3f}; "
            f"with one seed and {_test_size()} test pictures a difference under about 0.05 is "
            "within noise. The CNN shares each filter over all "
            "positions (patchify stem, 7x7 convolution, 1x1 mixing), so it can learn a local "
            "shape wherever it appears, while the MLP ties a weight to every pixel position."
            + _size_note(budget)
        ),
        commands=[base["command"], new["command"]],
        tables=[markdown_table(["model", "parameters (this size)", "train acc", "test acc"], rows)],
        images=[plot],
        metrics={"base": base["final"]["test/acc"], "new": new["final"]["test/acc"]},
    )


QUESTIONS = [
    Question(
        "hw0",
        "Q3.1",
        "Per-batch training loss vs examples seen",
        q31,
        seconds_quick=20,
        seconds_full=300,
    ),
    Question(
        "hw0", "Q3.2", "Train vs validation loss per epoch", q32, seconds_quick=1, seconds_full=1
    ),
    Question(
        "hw0",
        "Q3.3",
        "Train vs validation accuracy per epoch",
        q33,
        seconds_quick=1,
        seconds_full=1,
    ),
    Question("hw0", "Q3.4", "Colour vs grayscale", q34, seconds_quick=15, seconds_full=300),
    Question(
        "hw0",
        "Q3.5",
        "Captioned first batches: predicted / true",
        q35,
        seconds_quick=1,
        seconds_full=1,
    ),
    Question(
        "hw0",
        "Q3.6",
        "MLP (base-model) vs CNN (new-model)",
        q36,
        seconds_quick=60,
        seconds_full=1500,
    ),
]
