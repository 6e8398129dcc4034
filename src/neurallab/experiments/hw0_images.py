"""HW0 §3 (image classifier on 3-class colour clip art): Q3.1-Q3.6 as measured runs over seeds.

Three arms (`ARMS`), each run with three seeds (the handout's 10999 and the two after it):

- `neural-the-narwhal`: the starter MLP on colour images. It answers Q3.1-Q3.5 and is Q3.6's
  base model (the same settings; the handout calls that run "base-model");
- `grayscale`: the same MLP on one luma channel (Q3.4);
- `new-model`: Q3.6's CNN.

Runs are shared between questions: each question asks `sweep` for the arms it needs and reuses
finished runs. `--full` keeps the handout's settings (`neurallab.programs.images.Settings`:
256x256 images, 5 epochs, batch 8, SGD lr 1e-3, summed cross-entropy); `--quick` changes only
the image size, to 32x32, so that the nine runs fit the quick budget.

Each question below starts with its declaration (`Claim`: the arms it runs, the handout's
sentence, the statistic that tests it); the functions after it compute and word the answer.
Every sentence that states a direction comes from a comparison over the seeds, and every verdict
from `experiments.verdict` or `every_seed` below.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from neurallab.data import images as image_data
from neurallab.experiments.base import Answer, Budget, Question, markdown_table
from neurallab.experiments.stats import Comparison, compare, fmt, summarize
from neurallab.experiments.sweep import SweepResult, sweep
from neurallab.experiments.verdict import (
    AGREES,
    DISAGREES,
    NOT_RESOLVED,
    Verdict,
    expect_direction,
    written,
)
from neurallab.programs import images
from neurallab.programs.run import RunRecord
from neurallab.report.plots import image_grid, line_plot
from neurallab.tracking.run import Run, metric_series, read_metrics

HANDOUT_SEED = 10999  # the starter's seed
N_SEEDS = 3
QUICK_SIZE = 32
FULL_SIZE = 256  # the course's resize + centre crop
NARWHAL = "neural-the-narwhal"
ARMS = {NARWHAL: {}, "grayscale": {"grayscale": True}, "new-model": {"model": "cnn"}}
# Q3.6 states these counts for the course's 3 x 256 x 256 input.
HANDOUT_PARAMETERS = {"simple": 100_928_003, "cnn": 3_365_507}
STAND_IN = "clip-art stand-in"


@dataclass(frozen=True)
class Claim:
    """A question's declaration: the arms it runs (arm -> its label in the answer), what the
    handout says, and the statistic the verdict rests on."""

    arms: dict[str, str]
    expectation: str
    statistic: str


# -- runs -----------------------------------------------------------------------------------
def arm_settings(budget: Budget, arm: str) -> images.Settings:
    """One arm's settings: the starter's defaults, the image size of the budget, the arm's
    change (the sweep sets the seed)."""
    size = QUICK_SIZE if budget.quick else FULL_SIZE
    return images.Settings(image_size=size, **ARMS[arm])


def run_arms(budget: Budget, out: Path, labels: dict[str, str]) -> SweepResult:
    """Run the arms named by `labels`' keys (three seeds each), returned under its values.

    The runs live in the handout's shared `runs/` folder, so a question reuses the runs another
    question already made (the colour MLP serves Q3.1-Q3.6).
    """
    seeds = budget.seeds(N_SEEDS, default=HANDOUT_SEED)
    arms = {a: arm_settings(budget, a) for a in labels}
    result = sweep(budget, arms, seeds, out.parent / "runs")
    return SweepResult(
        arms=list(labels.values()),
        seeds=result.seeds,
        runs={label: result.runs[arm] for arm, label in labels.items()},
    )


def first(result: SweepResult, arm: str) -> RunRecord:
    return result.runs[arm][result.seeds[0]]


def settings_note(budget: Budget, result: SweepResult) -> str:
    s = first(result, result.arms[0]).settings
    note = (
        f" Settings: {s.image_size}x{s.image_size} images, {s.epochs} epochs, batch "
        f"{s.batch_size}, {s.optimizer.upper()} lr {s.lr:g}, summed cross-entropy; seeds "
        f"{', '.join(map(str, result.seeds))}; data: the {STAND_IN} (animals/food/"
        "transportation) for the course's pictures."
    )
    if budget.quick:
        note += (
            f" The course uses {FULL_SIZE}x{FULL_SIZE}: `--full` does, with the same settings and "
            f"seeds; {QUICK_SIZE}x{QUICK_SIZE} keeps the quick budget."
        )
    return note


def verdict_reason(budget: Budget) -> str:
    reason = f"{STAND_IN} (animals/food/transportation) for the course's pictures"
    if budget.quick:
        reason += f"; {QUICK_SIZE}x{QUICK_SIZE} images at --quick"
    return reason


def count_parameters(model: str, channels: int, size: int) -> int:
    """Parameters of the HW0 model at a given input, counted without allocating the weights."""
    with torch.device("meta"):
        net = images.build_model(model, channels, size, 3)
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
    for record in result.records(arm):
        xs, ys = epoch_series(record.run_dir, key)
        trained = round(float(record.summary["epochs"]))
        if len(xs) != trained or (epochs is not None and xs != epochs):
            raise RuntimeError(f"{record.run_dir}: {len(xs)} epochs logged, {trained} trained")
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
    return f"{c.a} {word} than {c.b} by {fmt(abs(c.diff))} ({c.interval_text(signed=False)})"


def every_seed(
    expectation: str,
    firsts: list[float],
    lasts: list[float],
    what: str,
    reason: str = "",
    rise: bool = False,
) -> Verdict:
    """The handout expects `what` to fall (or `rise`) in every run: each seed's own last value
    against its own first. Every seed as expected: agrees; none: disagrees; some: not resolved."""
    moved = [(b > a) if rise else (b < a) for a, b in zip(firsts, lasts, strict=True)]
    outcome = AGREES if all(moved) else DISAGREES if not any(moved) else NOT_RESOLVED
    pairs = ", ".join(f"{fmt(a)} -> {fmt(b)}" for a, b in zip(firsts, lasts, strict=True))
    key = f"{what} {'rose' if rise else 'fell'} in {sum(moved)} of {len(moved)} seeds ({pairs})"
    return Verdict(expectation, outcome, key, reason)


# -- Q3.1 -------------------------------------------------------------------------------------
Q31 = Claim(
    {NARWHAL: NARWHAL},
    "the training loss falls over training (Q3.1-3.3).",
    "per seed: mean batch loss over the last epoch against over epoch 1; every seed must fall",
)


def q31(budget: Budget, out: Path) -> Answer:
    result = run_arms(budget, out, Q31.arms)
    series = {
        f"{NARWHAL} (seed {r.seed})": metric_series(r.run_dir / "metrics.csv", "train/batch_loss")
        for r in result.records(NARWHAL)
    }
    title = f"HW0 Q3.1: training loss per batch ({STAND_IN})"
    figure = line_plot(
        series, title, "examples seen by the optimizer", "mean cross-entropy within the batch"
    )
    plot = Run(out).save_figure(figure, "batch_loss.png")
    epochs, values = per_epoch(result, NARWHAL, "train/avg_loss")
    firsts, lasts = [v[0] for v in values], [v[-1] for v in values]
    c = compare(f"epoch {epochs[-1]}", lasts, "epoch 1", firsts, "mean batch loss", paired=True)
    verdict = every_seed(
        Q31.expectation, firsts, lasts, "mean batch loss, epoch 1 -> last", verdict_reason(budget)
    )
    parameters = first(result, NARWHAL).parameters
    size = first(result, NARWHAL).settings.image_size
    return Answer(
        text=(
            f"The starter MLP ({parameters:,} parameters at {size}x{size}; "
            f"{count_parameters('simple', 3, FULL_SIZE):,} at the course's "
            f"{FULL_SIZE}x{FULL_SIZE}), trained with the default settings, one line per seed "
            f"(runs `img-{NARWHAL}-s<seed>`): each point is the mean loss within one batch, "
            f"against the number of examples the optimizer has seen. Mean batch loss over "
            f"epoch 1: {summarize(firsts).text()}; over epoch {epochs[-1]}: "
            f"{summarize(lasts).text()}. Each seed on its own: {verdict.key_result}. Over the "
            f"seeds, paired: {cap(c.reading())}" + settings_note(budget, result)
        ),
        commands=result.commands,
        images=[plot],
        metrics={"first_epoch_loss": firsts, "last_epoch_loss": lasts},
        verdicts=[verdict],
        key_result=verdict.key_result,
    )


# -- Q3.2 and Q3.3 ----------------------------------------------------------------------------
Q32 = Claim(
    {NARWHAL: NARWHAL},
    "the training loss falls over training (Q3.1-3.3).",
    "per seed: train loss over the whole split after the last epoch against after epoch 1",
)
Q33 = Claim(
    {NARWHAL: NARWHAL},
    "training fits the data: as the loss falls (Q3.1-3.3), train accuracy rises.",
    "per seed: train accuracy after the last epoch against after epoch 1; every seed must rise",
)


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


def epoch_table(epochs: list[int], train: list[list[float]], val: list[list[float]], name: str):
    rows = []
    for i, epoch in enumerate(epochs):
        row: list = [epoch]
        for values in (train, val):
            s = summarize([v[i] for v in values])
            ci = "—" if s.ci is None else f"{fmt(s.ci[0])} to {fmt(s.ci[1])}"
            row += [fmt(s.mean), ci, s.per_seed()]
        rows.append(row)
    headers = ["epoch", f"train {name}: mean", "95% CI", "per seed"]
    return markdown_table(headers + [f"val {name}: mean", "95% CI", "per seed"], rows)


def epoch_curves(budget: Budget, out: Path, metric: str) -> Answer:
    claim, name = (Q32, "loss") if metric == "loss" else (Q33, "accuracy")
    result = run_arms(budget, out, claim.arms)
    epochs, train = per_epoch(result, NARWHAL, f"train/{metric}")
    _, val = per_epoch(result, NARWHAL, f"val/{metric}")
    n, last = len(result.seeds), epochs[-1]
    curves = {
        f"train (mean of {n} seeds)": (epochs, mean_curve(train)),
        f"validation (mean of {n} seeds)": (epochs, mean_curve(val)),
    }
    title = f"HW0 Q3.{2 if metric == 'loss' else 3}: train vs validation {name} ({STAND_IN})"
    figure = line_plot(curves, title, "epoch", f"{name} over the whole split")
    plot = Run(out).save_figure(figure, f"{metric}.png")

    def change(values: list[list[float]], label: str) -> Comparison:
        ends = [v[-1] for v in values], [v[0] for v in values]
        return compare(f"epoch {last}", ends[0], "epoch 1", ends[1], label, paired=True)

    c_train, c_val = change(train, f"train {name}"), change(val, f"validation {name}")
    c_gap = compare(
        "validation", [v[-1] for v in val], "train", [v[-1] for v in train],
        f"{name} after epoch {last}", paired=True,
    )  # fmt: skip
    verdict = every_seed(
        claim.expectation,
        [v[0] for v in train],
        [v[-1] for v in train],
        f"train {name}, epoch 1 -> {last},",
        verdict_reason(budget),
        rise=metric == "acc",
    )
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
        tables=[epoch_table(epochs, train, val, name)],
        images=[plot],
        metrics={"epochs": last, "train": train, "val": val},
        verdicts=[verdict],
        key_result=f"{verdict.key_result}; {short_reading(c_gap)}",
    )


def q32(budget: Budget, out: Path) -> Answer:
    return epoch_curves(budget, out, "loss")


def q33(budget: Budget, out: Path) -> Answer:
    return epoch_curves(budget, out, "acc")


# -- Q3.4 -------------------------------------------------------------------------------------
Q34 = Claim(
    {NARWHAL: "colour", "grayscale": "grayscale"},
    "grayscale removes colour information, so test accuracy should fall without it "
    "(what colour contributes).",
    "grayscale minus colour test accuracy, paired over seeds (95% t-interval below 0)",
)


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
    result = run_arms(budget, out, Q34.arms)
    c = result.compare("grayscale", "colour", "final.test/acc", "test accuracy")
    gray = result.values("grayscale", "final.test/acc")
    chance = 1 / len(first(result, "colour").summary["labels"])
    verdict = expect_direction(Q34.expectation, c, expected=-1, reason=verdict_reason(budget))
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
        ],  # fmt: skip
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
def final_predictions(record: RunRecord, images_u8: torch.Tensor) -> torch.Tensor:
    """The final model of one run (rebuilt from its last.pt alone) on the given pictures,
    preprocessed as in training."""
    model = images.load(record.checkpoint)
    return model(images.prepare_batch(images_u8, record.settings.grayscale)).argmax(1)


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


Q35 = Claim(
    {NARWHAL: NARWHAL},
    "some test pictures are misclassified; explain why.",
    "a written answer: the errors of every seed's final model on the whole test split, set "
    "against a shape-blind colour-and-coverage rule",
)


ALWAYS_HEADERS = ["misclassified by every seed (title)", "true", "colour-and-coverage rule"]


def test_errors(result: SweepResult) -> dict:
    """Every seed's final model on every test picture, and the colour-and-coverage rule."""
    sets, names = images.load_splits(first(result, NARWHAL).settings)
    (train_x, train_y), (test_x, test_y) = sets["train"].tensors, sets["test"].tensors
    cue = nearest_mean_rule(cue_features(train_x), train_y, cue_features(test_x), len(names))
    errors, per_seed, by_picture = [], [], Counter()
    for record in result.records(NARWHAL):
        predicted = final_predictions(record, test_x)
        wrong = (predicted != test_y).nonzero().flatten().tolist()
        per_seed.append(len(wrong))
        by_picture.update(wrong)
        errors += [
            {"picture": i, "true": names[test_y[i]], "predicted": names[predicted[i]],
             "cue": names[cue[i]]}
            for i in wrong
        ]  # fmt: skip
    always = sorted(i for i, k in by_picture.items() if k == len(result.seeds))
    return {
        "names": names, "test": (test_x, test_y), "cue": cue, "errors": errors,
        "per_seed": per_seed, "always": always,
        "cue_accuracy": float((cue == test_y).float().mean()),
    }  # fmt: skip


def q35(budget: Budget, out: Path) -> Answer:
    result = run_arms(budget, out, Q35.arms)
    m = test_errors(result)
    names, (test_x, test_y), cue, errors = m["names"], m["test"], m["cue"], m["errors"]
    prompts = image_data.read_prompts(first(result, NARWHAL).settings.csv("test"))
    batch = first(result, NARWHAL).settings.batch_size
    # 3.5.a: the first test batch as logged by each run, one prediction column per seed.
    batches = [r.summary["first_batches"]["test"] for r in result.records(NARWHAL)]
    first_rows = [
        [b0["prompt"], b0["true"], *(b[i]["predicted"] for b in batches)]
        for i, b0 in enumerate(batches[0])
    ]
    first_errors = [sum(r["predicted"] != r["true"] for r in b) for b in batches]
    shown = m["always"][:8]  # the grid and table show a few; the text counts them all
    last_prediction = {e["picture"]: e["predicted"] for e in errors}  # the last seed's
    pictures = [first(result, NARWHAL).run_dir / "test_first_batch.png"]
    if shown:
        grid = image_grid(
            [test_x[i] for i in shown],
            [f"{last_prediction[i]} / {names[test_y[i]]}" for i in shown],
            f"{STAND_IN} test pictures every seed misclassifies: predicted (seed "
            f"{result.seeds[-1]}) / true",
            cols=min(8, len(shown)),
        )
        pictures.append(Run(out).save_figure(grid, "always_wrong.png"))
    always_rows = [[prompts[i], names[test_y[i]], last_prediction[i], names[cue[i]]] for i in shown]
    n_test, counts = len(test_y), summarize(m["per_seed"])
    per_seed = ", ".join(map(str, m["per_seed"]))
    shared = sum(e["cue"] == e["predicted"] for e in errors)
    verdict = written(
        Q35.expectation,
        f"{per_seed} of {n_test} test pictures misclassified per seed; {shared} of the "
        f"{len(errors)} errors are the wrong class a shape-blind colour-and-coverage rule picks",
        demonstrated=True,
    )
    first_errors_text = ", ".join(map(str, first_errors))
    return Answer(
        text=(
            "**3.5.a** On the last epoch each run logs the first batch of every split to the "
            'tracker, de-normalised, each picture captioned "<predicted> / <true>", and saves it '
            f"as a grid (shown: the test batch of seed {result.seeds[0]}; the first table lists "
            f"each picture's title with every seed's prediction). Errors in that batch of "
            f"{batch}, per seed: {first_errors_text}. **3.5.b** On the whole test set of "
            f"{n_test} pictures the final models misclassify {counts.text()} pictures (per seed: "
            f"{per_seed}). {errors_sentence(errors, m['cue_accuracy'])} "
            f"{len(m['always'])} test pictures are misclassified by every seed"
            + (f"; the first {len(shown)} are in the second table and the grid." if shown else ".")
            + settings_note(budget, result)
        ),
        commands=result.commands,
        tables=[
            markdown_table(
                ["picture title (prompt)", "true", *(f"predicted, seed {s}" for s in result.seeds)],
                first_rows,
            ),
            markdown_table(
                ALWAYS_HEADERS[:2] + [f"predicted (seed {result.seeds[-1]})", ALWAYS_HEADERS[2]],
                always_rows,
            )  # fmt: skip
            if always_rows
            else "No test picture is misclassified by every seed.",
        ],
        images=pictures,
        metrics={
            "errors_in_first_test_batch": first_errors,
            "test_errors": m["per_seed"],
            "cue_rule_accuracy": m["cue_accuracy"],
        },  # fmt: skip
        verdicts=[verdict],
        key_result=(
            f"{fmt(counts.mean)} of {n_test} test pictures misclassified (per seed "
            f"{per_seed}); first test batch: {first_errors_text} of {batch}"
        ),
    )


# -- Q3.6 -------------------------------------------------------------------------------------
Q36 = Claim(
    {NARWHAL: "MLP (base-model)", "new-model": "CNN (new-model)"},
    "the CNN's inductive bias (locality, weight sharing) gives it comparable test accuracy with "
    "far fewer parameters and a smaller train-test gap; the MLP reaches higher training "
    "accuracy but overfits more (3.6.d sample: MLP 89.5 train / 69.5 test, CNN 88.5 / 68.1).",
    "CNN minus MLP, paired over seeds: test accuracy (reported with its interval), train "
    "accuracy, and the train-minus-test gap (the verdicts)",
)


def inductive_bias_sentence(test: Comparison, gap: Comparison, ratio: float) -> str:
    """3.6.d's explanation, chosen by the measured test and gap comparisons (CNN minus MLP)."""
    bias = (
        "The CNN's inductive bias: each filter is shared over all positions and sees a local "
        "neighbourhood, so a shape learned in one place is recognised anywhere, while the MLP ties "
        f"a separate weight to every pixel position (here with {fmt(ratio)}x the CNN's "
        "parameters)."
    )
    if gap.direction < 0:
        fit = " The CNN's smaller train-test gap is what that bias predicts."
    elif gap.direction > 0:
        fit = (
            " But the CNN's train-test gap is the larger here, against what that bias predicts: "
            "at this budget it does not show as better generalisation."
        )
    else:
        fit = " The seeds do not resolve which model's train-test gap is smaller."
    if test.direction > 0:
        return f"{bias}{fit} On test the CNN scores higher."
    if test.direction < 0:
        return f"{bias}{fit} On test the MLP scores higher at this image size and budget."
    return f"{bias}{fit} On test the seeds do not separate the two models."


def q36_verdicts(budget: Budget, test, train, gap, counted: dict[str, int]) -> list[Verdict]:
    """The gap and train-accuracy verdicts (the test difference rides in the reason), and the
    counts as a written answer: a count is not a verdict on the models."""
    reason = f"{verdict_reason(budget)}; test accuracy: {short_reading(test)}"
    return [
        expect_direction(Q36.expectation, gap, -1, reason, higher="larger", lower="smaller"),
        expect_direction(
            "the MLP reaches higher training accuracy than the CNN (3.6.d).",
            train,
            -1,
            verdict_reason(budget),
        ),
        written(
            f"3.6.c: parameters of both models (the handout: {HANDOUT_PARAMETERS['cnn']:,} and "
            f"{HANDOUT_PARAMETERS['simple']:,} at 3x{FULL_SIZE}x{FULL_SIZE}).",
            f"counted {counted['cnn']:,} (CNN) and {counted['simple']:,} (MLP)"
            + ("" if counted == HANDOUT_PARAMETERS else ": NOT the handout's counts"),
            demonstrated=True,
        ),
    ]


def q36(budget: Budget, out: Path) -> Answer:
    result = run_arms(budget, out, Q36.arms)
    base, new = result.arms
    n = len(result.seeds)
    series = {}
    for arm, short in ((base, "base-model"), (new, "new-model")):
        for split in ("train", "val"):
            epochs, values = per_epoch(result, arm, f"{split}/acc")
            series[f"{short} {split}"] = (epochs, mean_curve(values))
    title = f"HW0 Q3.6: train and validation accuracy (mean of {n} seeds, {STAND_IN})"
    figure = line_plot(series, title, "epoch", "accuracy over the whole split")
    plot = Run(out).save_figure(figure, "accuracy.png")
    size = first(result, base).settings.image_size
    counted = {m: count_parameters(m, 3, FULL_SIZE) for m in HANDOUT_PARAMETERS}
    run_params = {a: first(result, a).parameters for a in (base, new)}
    test = result.compare(new, base, "final.test/acc", "test accuracy")
    train = result.compare(new, base, "final.train/acc", "train accuracy")
    gap = result.compare(
        new,
        base,
        lambda s: s["final"]["train/acc"] - s["final"]["test/acc"],
        "train-minus-test gap",
    )
    gaps = {a: result.summary(a, lambda s: s["final"]["train/acc"] - s["final"]["test/acc"])
            for a in (base, new)}  # fmt: skip
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
            f"Train minus test accuracy: MLP {gaps[base].text()}, CNN {gaps[new].text()}; "
            f"{gap.reading('larger', 'smaller')} {inductive_bias_sentence(test, gap, ratio)}"
            + settings_note(budget, result)
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
        verdicts=q36_verdicts(budget, test, train, gap, counted),
        key_result=f"test acc {short_reading(test)}; gap {short_reading(gap, 'larger', 'smaller')}",
    )


# seconds_quick: quiet-machine estimates, scaled from runs timed on the busy shared machine
# against the previous 64x64 MLP run (12 s quiet): MLP ~5 s, grayscale ~3 s, CNN ~15-19 s per
# seed at 32x32; all six together ~85 s.
QUESTIONS = [
    Question("hw0", "Q3.1", "Per-batch training loss vs examples seen", q31, 18, 3000),
    Question("hw0", "Q3.2", "Train vs validation loss per epoch", q32, 1, 5),
    Question("hw0", "Q3.3", "Train vs validation accuracy per epoch", q33, 1, 5),
    Question("hw0", "Q3.4", "Colour vs grayscale", q34, 10, 2500),
    Question("hw0", "Q3.5", "Captioned first batches: predicted / true", q35, 3, 30),
    Question("hw0", "Q3.6", "MLP (base-model) vs CNN (new-model)", q36, 50, 4500),
]
