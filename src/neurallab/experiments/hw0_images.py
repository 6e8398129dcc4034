"""HW0 §3 (image classifier on 3-class colour clip art): Q3.1-Q3.6 as measured runs over seeds.

Three arms, each run with three seeds (the handout's 10999 and the two after it):

- `neural-the-narwhal`: the starter MLP on colour images. It answers Q3.1-Q3.5 and is Q3.6's
  base model (the same settings; the handout calls that run "base-model");
- `grayscale`: the same MLP on one luma channel (Q3.4);
- `new-model`: Q3.6's CNN.

Runs are shared between questions: each question asks `sweep` for the arms it needs and reuses
finished runs. `--full` keeps the handout's settings (256x256 images, 5 epochs, batch 8, SGD
lr 1e-3, summed cross-entropy); `--quick` changes only the image size, to 32x32, so that the
nine runs fit the quick budget.

Every sentence that states a direction comes from a paired comparison over the seeds
(`SweepResult.compare(...).reading()`), and every verdict from `experiments.verdict`.
"""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path

import torch

from neurallab.experiments.base import Answer, Budget, Question, markdown_table
from neurallab.experiments.stats import Comparison, compare, fmt, summarize
from neurallab.experiments.sweep import SweepResult, sweep
from neurallab.experiments.verdict import (
    AGREES,
    DISAGREES,
    Verdict,
    expect_direction,
    expect_threshold,
)
from neurallab.report.plots import image_grid, line_plot
from neurallab.tracking.run import Run, metric_series, read_metrics

HANDOUT_SEED = 10999  # the starter's seed
N_SEEDS = 3
QUICK_SIZE = 32
FULL_SIZE = 256  # the course's resize + centre crop
EPOCHS, BATCH, LR = 5, 8, 1e-3  # the starter's defaults, passed explicitly so commands show them
NARWHAL = "neural-the-narwhal"
ARMS = {NARWHAL: [], "grayscale": ["--grayscale"], "new-model": ["--model", "cnn"]}
# Q3.6 states these counts for the course's 3 x 256 x 256 input.
HANDOUT_PARAMETERS = {"simple": 100_928_003, "cnn": 3_365_507}


# -- runs -----------------------------------------------------------------------------------
def image_size(budget: Budget) -> int:
    return QUICK_SIZE if budget.quick else FULL_SIZE


def arm_argv(budget: Budget, arm: str) -> list[str]:
    """The `neurallab img` command of one arm (the sweep adds --seed and --run_name)."""
    return [
        "img",
        "--image_size",
        str(image_size(budget)),
        "--epochs",
        str(EPOCHS),
        "--batch_size",
        str(BATCH),
        "--lr",
        str(LR),
        "--optimizer",
        "sgd",
        *ARMS[arm],
    ]


def run_arms(budget: Budget, out: Path, labels: dict[str, str]) -> SweepResult:
    """Run the arms named by `labels`' keys (three seeds each), returned under its values.

    The runs live in the handout's shared `runs/` folder, so a question reuses the runs another
    question already made (the colour MLP serves Q3.1-Q3.6).
    """
    seeds = budget.seeds(N_SEEDS, default=HANDOUT_SEED)
    result = sweep(budget, {a: arm_argv(budget, a) for a in labels}, seeds, out.parent / "runs")
    return SweepResult(
        arms=list(labels.values()),
        seeds=result.seeds,
        runs={label: result.runs[arm] for arm, label in labels.items()},
    )


def settings_note(budget: Budget, result: SweepResult) -> str:
    size = image_size(budget)
    seeds = ", ".join(map(str, result.seeds))
    note = (
        f" Settings: {size}x{size} images, {EPOCHS} epochs, batch {BATCH}, SGD lr {LR:g}, summed "
        f"cross-entropy; seeds {seeds}."
    )
    if budget.quick:
        note += (
            f" The course uses {FULL_SIZE}x{FULL_SIZE}: `--full` does, with the same settings and "
            f"seeds; {QUICK_SIZE}x{QUICK_SIZE} keeps the quick budget."
        )
    return note


def verdict_reason(budget: Budget) -> str:
    reason = "clip-art stand-in (animals/food/transportation) for the course's pictures"
    if budget.quick:
        reason += f"; {QUICK_SIZE}x{QUICK_SIZE} images at --quick"
    return reason


def count_parameters(model: str, channels: int, size: int) -> int:
    """Parameters of the HW0 model at a given input, counted without allocating the weights."""
    from neurallab.models.images import CNN, NeuralNetwork

    with torch.device("meta"):
        net = (NeuralNetwork if model == "simple" else CNN)(channels, size, 3)
    return sum(p.numel() for p in net.parameters())


# -- per-epoch values, read from each run's own log -------------------------------------------
def epoch_series(run_dir: Path, key: str) -> tuple[list[int], list[float]]:
    """`key` at the end of each epoch, from the run's own metrics.csv.

    The epoch numbers come from the run's log (the `epoch` metric), not from counting rows, and
    a log whose epochs are not 1, 2, ..., E once each in step order (a folder holding parts of
    two runs) is refused rather than plotted.
    """
    rows = read_metrics(Path(run_dir) / "metrics.csv")
    logged = [(step, value) for step, k, value in rows if k == "epoch"]
    epochs = [value for _, value in logged]
    steps = [step for step, _ in logged]
    if epochs != [float(e) for e in range(1, len(epochs) + 1)] or steps != sorted(set(steps)):
        raise RuntimeError(
            f"{run_dir}: the log holds epochs {epochs} at steps {steps}, not one run's 1..E"
        )
    at_step = {step: int(value) for step, value in logged}
    pairs = [(at_step[step], value) for step, k, value in rows if k == key and step in at_step]
    if [e for e, _ in pairs] != list(range(1, len(epochs) + 1)):
        raise RuntimeError(f"{run_dir}: {key} is not logged once at the end of every epoch")
    return [e for e, _ in pairs], [v for _, v in pairs]


def per_epoch(result: SweepResult, arm: str, key: str) -> tuple[list[int], list[list[float]]]:
    """Epochs and `key` per seed per epoch (`values[seed_index][epoch_index]`) of one arm.

    Every seed's log must hold the same epochs, and as many as its summary says it trained.
    """
    epochs, values = None, []
    for seed, run_dir in zip(result.seeds, result.run_dirs(arm), strict=True):
        xs, ys = epoch_series(run_dir, key)
        trained = round(float(result.runs[arm][seed]["epochs"]))
        if len(xs) != trained or (epochs is not None and xs != epochs):
            raise RuntimeError(f"{run_dir}: {len(xs)} epochs logged, {trained} trained")
        epochs = xs
        values.append(ys)
    return epochs or [], values


def mean_curve(values: list[list[float]]) -> list[float]:
    return [statistics.fmean(column) for column in zip(*values, strict=True)]


def cap(sentence: str) -> str:
    """A computed reading placed at the start of a sentence."""
    return sentence[:1].upper() + sentence[1:]


def short_reading(c: Comparison, higher: str = "higher", lower: str = "lower") -> str:
    """The comparison in a few words, for the summary table."""
    if c.direction == 0:
        return f"{c.a} minus {c.b} {fmt(c.diff)}, not resolved ({c.interval_text()})"
    word = higher if c.direction > 0 else lower
    return f"{c.a} {word} than {c.b} by {fmt(abs(c.diff))} ({c.interval_text()})"


# -- Q3.1 -------------------------------------------------------------------------------------
def loss_falls(result: SweepResult, arm: str, key: str, metric: str) -> tuple[Comparison, int]:
    """Last epoch minus first epoch of `key`, paired over seeds, and the number of epochs."""
    epochs, values = per_epoch(result, arm, key)
    last, first = [v[-1] for v in values], [v[0] for v in values]
    return compare(f"epoch {epochs[-1]}", last, "epoch 1", first, metric, paired=True), epochs[-1]


def q31(budget: Budget, out: Path) -> Answer:
    result = run_arms(budget, out, {NARWHAL: NARWHAL})
    series = {}
    for seed, run_dir in zip(result.seeds, result.run_dirs(NARWHAL), strict=True):
        series[f"{NARWHAL} (seed {seed})"] = metric_series(
            run_dir / "metrics.csv", "train/batch_loss"
        )
    plot = Run(out).save_figure(
        line_plot(
            series,
            "HW0 Q3.1: training loss per batch",
            "examples seen by the optimizer",
            "mean cross-entropy within the batch",
        ),
        "batch_loss.png",
    )
    c, epochs = loss_falls(result, NARWHAL, "train/avg_loss", "mean batch loss")
    first, last = summarize(c.b_values), summarize(c.a_values)
    parameters = result.runs[NARWHAL][result.seeds[0]]["parameters"]
    size = image_size(budget)
    verdict = expect_direction(
        "the training loss falls over training (Q3.1-3.3).",
        c,
        expected=-1,
        reason=verdict_reason(budget),
    )
    return Answer(
        text=(
            f"The starter MLP ({parameters:,} parameters at {size}x{size}; "
            f"{count_parameters('simple', 3, FULL_SIZE):,} at the course's "
            f"{FULL_SIZE}x{FULL_SIZE}), trained with the default settings, one line per seed "
            f"(runs `img-{NARWHAL}-s<seed>`): each point is the mean loss within one batch of "
            f"{BATCH}, against the number of examples the optimizer has seen. Mean batch loss over "
            f"epoch 1: {first.text()}; over epoch {epochs}: {last.text()}. {cap(c.reading())}"
            + settings_note(budget, result)
        ),
        commands=result.commands,
        images=[plot],
        metrics={"first_epoch_loss": list(c.b_values), "last_epoch_loss": list(c.a_values)},
        verdicts=[verdict],
        key_result=f"mean batch loss, {short_reading(c)}",
    )


# -- Q3.2 and Q3.3 ----------------------------------------------------------------------------
def gap_sentence(c: Comparison, metric: str) -> str:
    """What the train/validation gap at the last epoch says, chosen by its computed direction.

    `c` is validation minus train; overfitting shows as a higher validation loss or a lower
    validation accuracy.
    """
    overfit = 1 if metric == "loss" else -1
    if c.direction == overfit:
        return "the model fits the training pictures better than it generalises to new ones."
    if c.direction == -overfit:
        return "validation is better than train here: no sign of overfitting at this budget."
    return "the seeds do not resolve a gap between train and validation."


def epoch_curves(budget: Budget, out: Path, metric: str) -> Answer:
    name = {"loss": "loss", "acc": "accuracy"}[metric]
    result = run_arms(budget, out, {NARWHAL: NARWHAL})
    epochs, train = per_epoch(result, NARWHAL, f"train/{metric}")
    _, val = per_epoch(result, NARWHAL, f"val/{metric}")
    n = len(result.seeds)
    plot = Run(out).save_figure(
        line_plot(
            {
                f"train (mean of {n} seeds)": (epochs, mean_curve(train)),
                f"validation (mean of {n} seeds)": (epochs, mean_curve(val)),
            },
            f"HW0 Q3.{2 if metric == 'loss' else 3}: train vs validation {name}",
            "epoch",
            f"{name} over the whole split",
        ),
        f"{metric}.png",
    )
    rows = []
    for i, epoch in enumerate(epochs):
        row: list = [epoch]
        for values in (train, val):
            s = summarize([v[i] for v in values])
            ci = "—" if s.ci is None else f"{fmt(s.ci[0])} to {fmt(s.ci[1])}"
            row += [fmt(s.mean), ci, s.per_seed()]
        rows.append(row)
    table = markdown_table(
        [
            "epoch",
            f"train {name}: mean",
            "95% CI",
            "per seed",
            f"val {name}: mean",
            "95% CI",
            "per seed",
        ],
        rows,
    )
    last = epochs[-1]
    c_train = compare(
        f"epoch {last}", [v[-1] for v in train], "epoch 1", [v[0] for v in train],
        f"train {name}", paired=True,
    )  # fmt: skip
    c_val = compare(
        f"epoch {last}", [v[-1] for v in val], "epoch 1", [v[0] for v in val],
        f"validation {name}", paired=True,
    )  # fmt: skip
    c_gap = compare(
        "validation", [v[-1] for v in val], "train", [v[-1] for v in train],
        f"{name} after epoch {last}", paired=True,
    )  # fmt: skip
    expected = -1 if metric == "loss" else 1
    expectation = (
        "the training loss falls over training (Q3.1-3.3)."
        if metric == "loss"
        else "training fits the data: as the loss falls (Q3.1-3.3), train accuracy rises."
    )
    verdict = expect_direction(expectation, c_train, expected, reason=verdict_reason(budget))
    return Answer(
        text=(
            f"Train and validation {name}, each measured over the whole split at the end of every "
            f"epoch; {last} epochs, read from each run's own log (every seed's log holds epochs "
            f"1..{last} once). The plot shows the mean of the {n} seeds, the table every seed. "
            f"Train: {cap(c_train.reading())} Validation: {cap(c_val.reading())} At the last epoch: "
            f"{cap(c_gap.reading())} So {gap_sentence(c_gap, metric)}"
            + settings_note(budget, result)
        ),
        commands=result.commands,
        tables=[table],
        images=[plot],
        metrics={"epochs": last, "train": train, "val": val},
        verdicts=[verdict],
        key_result=f"train {name}, {short_reading(c_train)}; {short_reading(c_gap)}",
    )


def q32(budget: Budget, out: Path) -> Answer:
    return epoch_curves(budget, out, "loss")


def q33(budget: Budget, out: Path) -> Answer:
    return epoch_curves(budget, out, "acc")


# -- Q3.4 -------------------------------------------------------------------------------------
def colour_sentence(c: Comparison) -> str:
    """What colour contributes, chosen by the direction of grayscale minus colour."""
    if c.direction < 0:
        return "That drop is what colour contributes to this classifier."
    if c.direction > 0:
        return "Grayscale scores higher: colour did not help this classifier at this budget."
    return "What colour contributes is smaller than these seeds can resolve."


def chance_sentence(gray: list[float], chance: float) -> str:
    """3.4.b: a colour-only classifier would score chance in grayscale; is the interval above it?"""
    s = summarize(gray)
    where = f"grayscale test accuracy {s.text()} against chance {fmt(chance)}"
    if s.ci is not None and s.ci[0] > chance:
        return (
            f"No: {where} lies above chance, so the MLP also learned cues that survive without "
            "colour (brightness patterns, shape and layout on the canvas)."
        )
    if s.ci is not None and s.ci[1] < chance:
        return f"No, but oddly: {where} lies below chance."
    return f"This budget cannot tell: the interval of {where} contains chance."


def q34(budget: Budget, out: Path) -> Answer:
    result = run_arms(budget, out, {NARWHAL: "colour", "grayscale": "grayscale"})
    c = result.compare("grayscale", "colour", "final.test/acc", "test accuracy")
    gray = result.values("grayscale", "final.test/acc")
    chance = 1 / len(result.runs["colour"][result.seeds[0]]["labels"])
    verdict = expect_direction(
        "grayscale removes colour information, so test accuracy should fall without it "
        "(what colour contributes).",
        c,
        expected=-1,
        reason=verdict_reason(budget),
    )
    colour_acc, gray_acc = result.summary("colour", "final.test/acc"), summarize(gray)
    return Answer(
        text=(
            f"**3.4.a** Test accuracy over {len(result.seeds)} seeds: colour {colour_acc.text()}, "
            f"grayscale {gray_acc.text()} (the MLP's first layer takes one channel instead of "
            f"three; the colour runs are Q3.1's). {cap(c.reading())} {colour_sentence(c)} "
            f"**3.4.b** Does this support the hypothesis that the classifier learned nothing but "
            f"colour? {chance_sentence(gray, chance)}" + settings_note(budget, result)
        ),
        commands=result.commands,
        tables=[
            result.table(
                [("test acc", "final.test/acc"), ("train acc", "final.train/acc")],
                arm_header="input",
            )
        ],
        metrics={"colour": result.values("colour", "final.test/acc"), "grayscale": gray},
        verdicts=[verdict],
        key_result=f"test acc colour {fmt(colour_acc.mean)}, grayscale {fmt(gray_acc.mean)}: "
        + short_reading(c),
    )


# -- Q3.5 -------------------------------------------------------------------------------------
def cue_features(images: torch.Tensor) -> torch.Tensor:
    """Four numbers per picture: mean red, green, blue, and the fraction of the canvas drawn on
    (pixels not near white). Clip art sits on a white canvas, so these say which colours a
    picture uses and how much of the canvas it covers, nothing about shape."""
    x = images.float() / 255
    drawn = (x.min(dim=1).values < 0.9).float().mean(dim=(1, 2))
    return torch.cat([x.mean(dim=(2, 3)), drawn[:, None]], dim=1)


def nearest_mean_rule(
    train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, classes: int
) -> torch.Tensor:
    """Class of the nearest class mean (features standardised on the training set)."""
    mean, std = train_x.mean(0), train_x.std(0).clamp_min(1e-6)
    a, b = (train_x - mean) / std, (test_x - mean) / std
    centres = torch.stack([a[train_y == k].mean(0) for k in range(classes)])
    return torch.cdist(b, centres).argmin(1)


@torch.no_grad()
def final_predictions(run_dir: Path, size: int, images: torch.Tensor, classes: int) -> torch.Tensor:
    """The final MLP of one run (its `model.pth`) on the test images, preprocessed as in training."""
    from neurallab.data import transforms as T
    from neurallab.models.images import NeuralNetwork

    model = NeuralNetwork(3, size, classes)
    model.load_state_dict(torch.load(Path(run_dir) / "model.pth", weights_only=True))
    model.eval()
    return model(T.normalize(T.to_float(images))).argmax(1)


def errors_sentence(errors: list[dict], cue_accuracy: float) -> str:
    """3.5.b's explanation, from the measured errors and the colour-and-coverage rule."""
    n = len(errors)
    if n == 0:
        return "No test picture is misclassified by any seed, so there is no error to explain."
    confusions = Counter(f"{e['true']} called {e['predicted']}" for e in errors)
    top = ", ".join(f"{k} ({v})" for k, v in confusions.most_common(3))
    shared = sum(e["cue"] == e["predicted"] for e in errors)
    text = (
        f"Over the seeds the final MLPs make {n} errors in all on test pictures; the most "
        f"frequent confusions "
        f"are {top}. A nearest-class-mean rule on four numbers per picture (mean red, green, "
        f"blue, and how much of the white canvas is drawn on), which knows nothing of shape, is "
        f"right on {fmt(cue_accuracy)} of the test pictures; of the MLP's {n} errors, {shared} "
        f"({fmt(shared / n)}) are the same wrong class that rule picks."
    )
    if shared:
        text += (
            " For those pictures the colours and coverage resemble the other class's average "
            "picture: an MLP on raw pixels at fixed positions can be misled by exactly that."
        )
    if shared < n:
        text += f" The other {n - shared} are not explained by colour and coverage in this sense."
    return text


def q35(budget: Budget, out: Path) -> Answer:
    from neurallab.data import images as data

    result = run_arms(budget, out, {NARWHAL: NARWHAL})
    size = image_size(budget)
    names = result.runs[NARWHAL][result.seeds[0]]["labels"]
    csvs = {s: data.default_csv(s) for s in ("train", "test")}
    train = data.load_image_split(csvs["train"], size, num_labels=len(names))
    test = data.load_image_split(csvs["test"], size, num_labels=len(names))
    test_images, test_labels = test.tensors
    prompts = data.read_prompts(csvs["test"])
    cue = nearest_mean_rule(
        cue_features(train.tensors[0]),
        train.tensors[1],
        cue_features(test_images),
        len(names),
    )
    cue_accuracy = float((cue == test_labels).float().mean())

    # 3.5.a: the first test batch as logged by each run, one prediction column per seed.
    batches = [result.runs[NARWHAL][s]["first_batches"]["test"] for s in result.seeds]
    first_rows = [
        [b0["prompt"], b0["true"], *(batch[i]["predicted"] for batch in batches)]
        for i, b0 in enumerate(batches[0])
    ]
    first_errors = [sum(r["predicted"] != r["true"] for r in batch) for batch in batches]

    # 3.5.b: every test picture, every seed's final model.
    errors, wrong_by_picture = [], Counter()
    per_seed_errors = []
    for run_dir in result.run_dirs(NARWHAL):
        predicted = final_predictions(run_dir, size, test_images, len(names))
        wrong = (predicted != test_labels).nonzero().flatten().tolist()
        per_seed_errors.append(len(wrong))
        wrong_by_picture.update(wrong)
        errors += [
            {
                "picture": i,
                "true": names[test_labels[i]],
                "predicted": names[predicted[i]],
                "cue": names[cue[i]],
            }
            for i in wrong
        ]
    always = sorted(i for i, k in wrong_by_picture.items() if k == len(result.seeds))
    shown = always[:8]  # the grid and table show a few; the text counts them all
    last_prediction = {e["picture"]: e["predicted"] for e in errors}  # the last seed's
    images = [result.run_dirs(NARWHAL)[0] / "test_first_batch.png"]
    if shown:
        grid = image_grid(
            [test_images[i] for i in shown],
            [f"{last_prediction[i]} / {names[test_labels[i]]}" for i in shown],
            f"test pictures every seed misclassifies: predicted (seed {result.seeds[-1]}) / true",
            cols=min(8, len(shown)),
        )
        images.append(Run(out).save_figure(grid, "always_wrong.png"))
    always_rows = [
        [prompts[i], names[test_labels[i]], last_prediction[i], names[cue[i]]] for i in shown
    ]
    n_test = len(test_labels)
    counts = summarize(per_seed_errors)
    verdict = expect_threshold(
        "some test pictures are misclassified; explain why.",
        counts,
        0,
        below=False,
        what=f"misclassified test pictures (of {n_test})",
        reason=verdict_reason(budget),
    )
    seeds_header = [f"predicted, seed {s}" for s in result.seeds]
    first_errors_text = ", ".join(map(str, first_errors))
    return Answer(
        text=(
            "**3.5.a** On the last epoch each run logs the first batch of every split to the "
            'tracker, de-normalised, each picture captioned "<predicted> / <true>", and saves it '
            f"as a grid (shown: the test batch of seed {result.seeds[0]}; the first table lists "
            f"each picture's title with every seed's prediction). Errors in that batch of "
            f"{BATCH}, per seed: {first_errors_text}. **3.5.b** On the whole test set of "
            f"{n_test} pictures the final models misclassify {counts.text()} pictures (per seed: "
            f"{', '.join(map(str, per_seed_errors))}). {errors_sentence(errors, cue_accuracy)} "
            f"{len(always)} test pictures are misclassified by every seed"
            + (f"; the first {len(shown)} are in the second table and the grid." if shown else ".")
            + settings_note(budget, result)
        ),
        commands=result.commands,
        tables=[
            markdown_table(["picture title (prompt)", "true", *seeds_header], first_rows),
            markdown_table(
                [
                    "misclassified by every seed (title)",
                    "true",
                    f"predicted (seed {result.seeds[-1]})",
                    "colour-and-coverage rule",
                ],
                always_rows,
            )
            if always_rows
            else "No test picture is misclassified by every seed.",
        ],
        images=images,
        metrics={
            "errors_in_first_test_batch": first_errors,
            "test_errors": per_seed_errors,
            "cue_rule_accuracy": cue_accuracy,
        },
        verdicts=[verdict],
        key_result=(
            f"{fmt(counts.mean)} of {n_test} test pictures misclassified (per seed "
            f"{', '.join(map(str, per_seed_errors))}); first test batch: {first_errors_text} of "
            f"{BATCH}"
        ),
    )


# -- Q3.6 -------------------------------------------------------------------------------------
def inductive_bias_sentence(test: Comparison, ratio: float) -> str:
    """3.6.d's explanation, chosen by the direction of CNN minus MLP test accuracy."""
    bias = (
        "The CNN's inductive bias: each filter is shared over all positions and sees a local "
        "neighbourhood, so a shape learned in one place is recognised anywhere, while the MLP ties "
        f"a separate weight to every pixel position (here with {fmt(ratio)}x the CNN's "
        "parameters)."
    )
    if test.direction > 0:
        return f"{bias} The CNN generalises better here, as that bias suggests."
    if test.direction < 0:
        return (
            f"{bias} At this image size and training budget it does not pay off: the MLP scores "
            "higher on test."
        )
    return (
        f"{bias} At this budget it shows no measurable effect: the seeds do not separate the two "
        "models on test accuracy."
    )


def q36(budget: Budget, out: Path) -> Answer:
    result = run_arms(budget, out, {NARWHAL: "MLP (base-model)", "new-model": "CNN (new-model)"})
    base, new = result.arms
    n = len(result.seeds)
    series = {}
    for arm, short in ((base, "base-model"), (new, "new-model")):
        for split in ("train", "val"):
            epochs, values = per_epoch(result, arm, f"{split}/acc")
            series[f"{short} {split}"] = (epochs, mean_curve(values))
    plot = Run(out).save_figure(
        line_plot(
            series,
            f"HW0 Q3.6: train and validation accuracy (mean of {n} seeds)",
            "epoch",
            "accuracy over the whole split",
        ),
        "accuracy.png",
    )
    size = image_size(budget)
    counted = {m: count_parameters(m, 3, FULL_SIZE) for m in HANDOUT_PARAMETERS}
    exact = counted == HANDOUT_PARAMETERS
    run_params = {a: result.runs[a][result.seeds[0]]["parameters"] for a in (base, new)}
    count_verdict = Verdict(
        f"the new model has {HANDOUT_PARAMETERS['cnn']:,} parameters against the original's "
        f"{HANDOUT_PARAMETERS['simple']:,} (3x{FULL_SIZE}x{FULL_SIZE} input).",
        AGREES if exact else DISAGREES,
        f"counted {counted['cnn']:,} (CNN) and {counted['simple']:,} (MLP) at "
        f"3x{FULL_SIZE}x{FULL_SIZE}",
    )
    test = result.compare(new, base, "final.test/acc", "test accuracy")
    train = result.compare(new, base, "final.train/acc", "train accuracy")
    gap = result.compare(
        new,
        base,
        lambda s: s["final"]["train/acc"] - s["final"]["test/acc"],
        "train-minus-test gap",
    )
    params_table = markdown_table(
        ["model", f"parameters at {FULL_SIZE}x{FULL_SIZE}", f"parameters at {size}x{size} (run)"],
        [
            ["MLP (base-model)", f"{counted['simple']:,}", f"{run_params[base]:,}"],
            ["CNN (new-model)", f"{counted['cnn']:,}", f"{run_params[new]:,}"],
        ],
    )
    ratio = run_params[base] / run_params[new]
    return Answer(
        text=(
            f"**3.6.a** Final train and test accuracy over {n} seeds in the first table; the "
            f"base model is the colour MLP of Q3.1 (run `img-{NARWHAL}-s<seed>`, the handout's "
            f"base-model), the new model the CNN (runs `img-new-model-s<seed>`). **3.6.b** The "
            "plot shows both models' train and validation accuracy per epoch (mean of the seeds). "
            f"**3.6.c** Counted here without building the weights: {counted['simple']:,} (MLP) "
            f"and {counted['cnn']:,} (CNN) parameters at the course's {FULL_SIZE}x{FULL_SIZE} "
            f"input, {run_params[base]:,} and {run_params[new]:,} at the {size}x{size} of these "
            f"runs. **3.6.d** Test: {cap(test.reading())} Train: {cap(train.reading())} "
            f"Generalisation: {cap(gap.reading('larger', 'smaller'))} "
            f"{inductive_bias_sentence(test, ratio)}" + settings_note(budget, result)
        ),
        commands=result.commands,
        tables=[
            result.table(
                [
                    ("train acc", "final.train/acc"),
                    ("val acc", "final.val/acc"),
                    ("test acc", "final.test/acc"),
                ],
                arm_header="model",
            ),
            params_table,
        ],
        images=[plot],
        metrics={
            "base_test": result.values(base, "final.test/acc"),
            "new_test": result.values(new, "final.test/acc"),
            "parameters_256": counted,
        },
        verdicts=[count_verdict],
        key_result=(
            f"{counted['cnn']:,} vs {counted['simple']:,} parameters; test acc "
            + short_reading(test)
        ),
    )


# seconds_quick: quiet-machine estimates, scaled from runs timed on the busy shared machine
# against the previous 64x64 MLP run (12 s quiet): MLP ~5 s, grayscale ~3 s, CNN ~15-19 s per
# seed at 32x32; all six together ~85 s.
QUESTIONS = [
    Question(
        "hw0",
        "Q3.1",
        "Per-batch training loss vs examples seen",
        q31,
        seconds_quick=18,
        seconds_full=3000,
    ),
    Question(
        "hw0", "Q3.2", "Train vs validation loss per epoch", q32, seconds_quick=1, seconds_full=5
    ),
    Question(
        "hw0",
        "Q3.3",
        "Train vs validation accuracy per epoch",
        q33,
        seconds_quick=1,
        seconds_full=5,
    ),
    Question("hw0", "Q3.4", "Colour vs grayscale", q34, seconds_quick=10, seconds_full=2500),
    Question(
        "hw0",
        "Q3.5",
        "Captioned first batches: predicted / true",
        q35,
        seconds_quick=3,
        seconds_full=30,
    ),
    Question(
        "hw0",
        "Q3.6",
        "MLP (base-model) vs CNN (new-model)",
        q36,
        seconds_quick=50,
        seconds_full=4500,
    ),
]
