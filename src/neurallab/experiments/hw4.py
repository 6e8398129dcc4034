"""HW4 (toy network, manual backprop): Exercises 1-5 and the ungraded generalisation question.

Every answer comes from `neurallab toy` runs. The main run (Adam, lr 0.03) follows the notebook
from its `torch.manual_seed(seed)` and trains many fresh `ToyModel()` initialisations of the Ex5
cell at once; two more runs change only the learning rate. Exercises 1-4 read the main run.

Readings are computed: each sentence that states a direction, a count or a winner is chosen
from the measured numbers (counts of initialisations, exact binomial intervals, paired
t-intervals over initialisations), and each exercise gets a verdict against the handout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scipy.stats import binomtest

from neurallab.experiments.base import Answer, Budget, Question, markdown_table
from neurallab.experiments.stats import compare, fmt, summarize
from neurallab.experiments.sweep import SweepResult, sweep
from neurallab.experiments.verdict import (
    AGREES,
    DISAGREES,
    Verdict,
    expect_direction,
    expect_threshold,
    written,
)
from neurallab.programs import toy

SEED = 0  # the handout's torch.manual_seed(0)
TARGET = 0.01  # Exercise 5: "get MSE loss below 0.01"
MAIN = "lr 0.03"  # the toy's default optimizer setting: Adam, lr 0.03, full batch
NAMES = ("W1", "B1", "W2", "B2")
WORDS = ("worse (higher MSE)", "better (lower MSE)")  # a comparison of MSEs, in words


def settings(quick: bool) -> dict[str, Any]:
    """Steps and initialisations per budget. Quick: 5,000 steps (the handout's solution runs
    10,000); full: 20,000, to see whether steps beyond the handout's change anything."""
    if quick:
        return {"steps": 5_000, "inits": 40, "fresh_steps": 2_500}
    return {"steps": 20_000, "inits": 100, "fresh_steps": 20_000}


def toy_runs(budget: Budget, out: Path, lrs: tuple[str, ...] = ("0.03",)) -> SweepResult:
    """The toy runs at the given Adam learning rates (the main one also trains on fresh data)."""
    s = settings(budget.quick)
    arms = {}
    for lr in lrs:
        fresh = s["fresh_steps"] if f"lr {lr}" == MAIN else 0
        arms[f"lr {lr}"] = toy.Settings(
            steps=s["steps"], inits=s["inits"], lr=float(lr), fresh_steps=fresh
        )
    seeds = budget.seeds(1, default=SEED)  # first seed; the initialisations follow it
    return sweep(budget, arms, seeds, out.parent / "runs")


def first_lr(a: dict[str, Any]) -> dict[str, Any]:
    """A toy run's answers with Exercise 5's per-learning-rate lists cut to the first rate."""
    per_lr = ("mse", "fresh_data_mse", "dead_units", "wrong_outputs", "below_target_by_step")
    return {**a, **{f"ex5_{k}": a[f"ex5_{k}"][0] for k in per_lr}}


def main_answers(budget: Budget, out: Path) -> tuple[dict[str, Any], str, int]:
    res = toy_runs(budget, out)
    seed = res.seeds[0]
    return first_lr(res.runs[MAIN][seed].summary["answers"]), res.runs[MAIN][seed].command, seed


def check(expectation: str, ok: bool, measured: str) -> Verdict:
    """A verdict from an exact check (not a noisy measurement): agrees or disagrees."""
    return Verdict(expectation, AGREES if ok else DISAGREES, measured)


# -- Exercises 1-4 ------------------------------------------------------------------------------


def ex1_reading(a: dict[str, Any]) -> tuple[str, list[Verdict]]:
    same_shape = a["ex1_output_shape"] == a["ex1_target_shape"]
    same_loss = abs(a["ex1_loss"] - a["ex1_loss_builtin"]) <= 1e-6 * max(1.0, a["ex1_loss"])
    shape = "x".join(map(str, a["ex1_output_shape"]))
    text = (
        "z1 = x W1 + B1, h = relu(z1), z2 = h W2 + B2, y_hat = sigmoid(z2), on the 20 fixed "
        f"points with the handout's initial weights (randn * 0.2). y_hat is {shape}, "
        f"{'the same shape as' if same_shape else 'NOT the shape of'} Y. The loss "
        f"||y_hat - Y||^2 = {a['ex1_loss']:.4f} (sum over points and outputs); "
        f"`mse_loss(y_hat, Y, reduction='sum')` gives {a['ex1_loss_builtin']:.4f}"
        f"{', the same' if same_loss else ', which DIFFERS'}."
    )
    verdicts = [
        check(
            "the output has the same shape as Y, and mse_loss(reduction='sum') is the sum of "
            "squared errors.",
            same_shape and same_loss,
            f"y_hat {shape} vs Y {'x'.join(map(str, a['ex1_target_shape']))}; loss "
            f"{a['ex1_loss']:.6f} by hand vs {a['ex1_loss_builtin']:.6f} built in",
        )
    ]
    return text, verdicts


def ex2_reading(a: dict[str, Any]) -> tuple[str, list[Verdict], list[list[str]]]:
    worst64 = max(a[f"ex2_{n}_grad_distance"] for n in NAMES)
    worst32 = max(a[f"ex2_{n}_grad_distance_float32"] for n in NAMES)
    ok = worst64 < 1e-12
    rows = [
        [n, f"{a[f'ex2_{n}_grad_distance_float32']:.2e}", f"{a[f'ex2_{n}_grad_distance']:.2e}"]
        for n in NAMES
    ]
    text = (
        "The backward pass follows the handout's chain rule: dL/dy_hat = 2(y_hat - Y), "
        "dL/dz2 = dL/dy_hat * y_hat(1 - y_hat), dL/dh = dL/dz2 W2^T, dL/dz1 = dL/dh * H(z1) "
        "with H(z) = (z >= 0). Against autograd, the largest L2 distance between the manual and "
        f"automatic gradients is {worst32:.1e} in float32 and {worst64:.1e} in float64"
        + (
            ": float32 rounding in the first case, agreement to float64 precision in the second."
            if ok
            else ": in float64 that is far above rounding, so a derivative is wrong."
        )
        + " The test suite injects wrong derivatives (no ReLU mask, no sigmoid derivative) and "
        "checks that this same comparison catches each."
    )
    verdicts = [
        check(
            "the manual gradients equal autograd's; in float64 they match to ~15 decimal places.",
            ok,
            f"largest distance {worst64:.1e} in float64 (threshold 1e-12), {worst32:.1e} in "
            "float32",
        )
    ]
    return text, verdicts, rows


def ex3_reading(a: dict[str, Any]) -> tuple[str, list[Verdict], list[list[str]]]:
    before = a["ex1_loss"]
    scan = a["ex3_lr_scan"]
    raised = [(lr, after) for lr, after in scan if after > before]
    lowered = [(lr, after) for lr, after in scan if after < before]
    rows = [
        [fmt(lr), f"{after:.4f}", "raised" if after > before else "lowered"] for lr, after in scan
    ]
    if raised:
        lr_up, after_up = raised[0]
        answer = (
            f"**Yes.** One gradient step from the same weights (loss {before:.4f}) lowers the loss "
            f"at {len(lowered)} of the {len(scan)} learning rates tried and raises it at "
            f"{len(raised)}; the smallest rate that raises it is {fmt(lr_up)} (loss "
            f"{after_up:.4f})."
        )
    else:
        answer = (
            f"Not at any learning rate tried here: one step lowered the loss ({before:.4f}) at "
            f"all {len(scan)} rates from {fmt(scan[0][0])} to {fmt(scan[-1][0])}."
        )
    text = (
        answer + " Why: the gradient is the direction of steepest descent only at the current "
        "point; a step of size lr moves the weights by lr times the gradient, and the loss "
        "falls only while the first-order (linear) term dominates the curvature over that "
        "distance. So the decrease is guaranteed for a small enough rate, not for a given one: "
        "a larger rate is not a different kind of step, only a longer one, and "
        "any fixed rate can overshoot where the loss curves sharply (the ReLU kinks and "
        "saturating sigmoids make the curvature change from point to point)."
    )
    verdict = Verdict(
        "a gradient step can raise the loss (too large a learning rate).",
        AGREES if raised else DISAGREES,
        (
            f"one step at lr {fmt(raised[0][0])} raised the loss {before:.4f} -> "
            f"{raised[0][1]:.4f}; at lr {fmt(scan[0][0])} it went to {scan[0][1]:.4f}"
            if raised
            else f"no rate from {fmt(scan[0][0])} to {fmt(scan[-1][0])} raised the loss"
        ),
    )
    asked = written(
        "Could the loss ever increase when you run the gradient-step cell?",
        (
            "yes: a step lowers the loss only for a small enough learning rate"
            if raised
            else "not observed at the rates tried"
        ),
        demonstrated=bool(raised),
    )
    return text, [asked, verdict], rows


def ex4_reading(a: dict[str, Any]) -> tuple[str, list[Verdict]]:
    same = a["ex4_max_output_difference"] <= 1e-6 and a["ex4_parameters"] == 26
    text = (
        "`ToyModel` is `nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), "
        f"nn.Sigmoid())`: {a['ex4_parameters']} parameters (3x4 + 4 + 4x2 + 2 = 26). Loaded "
        "with the hand-written W1..B2 (`nn.Linear` stores the weight transposed), it differs "
        f"from the Exercise 1 forward pass by at most {a['ex4_max_output_difference']:.1e} on "
        f"the 20 points. With its own initialisation, its untrained MSE (mean) is "
        f"{a['ex4_untrained_mse']:.4f}."
    )
    verdicts = [
        check(
            "ToyModel is the same network as the hand-written one.",
            same,
            f"{a['ex4_parameters']} parameters; outputs differ by at most "
            f"{a['ex4_max_output_difference']:.1e} with the same weights",
        )
    ]
    return text, verdicts


def ex1(budget: Budget, out: Path) -> Answer:
    a, command, _ = main_answers(budget, out)
    text, verdicts = ex1_reading(a)
    return Answer(
        text=text,
        commands=[command],
        metrics={"loss": a["ex1_loss"]},
        verdicts=verdicts,
        key_result=f"untrained loss (sum of squared errors) = {a['ex1_loss']:.4f}",
    )


def ex2(budget: Budget, out: Path) -> Answer:
    a, command, _ = main_answers(budget, out)
    text, verdicts, rows = ex2_reading(a)
    worst = max(a[f"ex2_{n}_grad_distance"] for n in NAMES)
    return Answer(
        text=text,
        commands=[command],
        tables=[
            markdown_table(
                ["parameter", "L2 distance manual vs autograd, float32", "float64"], rows
            )
        ],
        metrics={"max_distance": worst},
        verdicts=verdicts,
        key_result=f"manual vs autograd gradients: largest distance {worst:.1e} (float64)",
    )


def ex3(budget: Budget, out: Path) -> Answer:
    a, command, _ = main_answers(budget, out)
    text, verdicts, rows = ex3_reading(a)
    return Answer(
        text=text,
        commands=[command],
        tables=[
            markdown_table(
                ["learning rate", f"loss after one step (before: {a['ex1_loss']:.4f})", "loss"],
                rows,
            )
        ],
        verdicts=verdicts,
        key_result=verdicts[-1].key_result,
    )


def ex4(budget: Budget, out: Path) -> Answer:
    a, command, _ = main_answers(budget, out)
    text, verdicts = ex4_reading(a)
    return Answer(
        text=text,
        commands=[command],
        metrics={"parameters": a["ex4_parameters"]},
        verdicts=verdicts,
        key_result=verdicts[0].key_result,
    )


# -- Exercise 5 ---------------------------------------------------------------------------------


def success_interval(k: int, n: int) -> tuple[float, float]:
    """Exact (Clopper-Pearson) 95% interval of a success probability from k of n."""
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def restarts_needed(below: list[bool]) -> tuple[int | None, int]:
    """Restart with the next seed whenever a run ends above the target: the most runs any
    starting seed of the pool needs, and how many starts (at the pool's end) find no success."""
    needed, unresolved = [], 0
    for start in range(len(below)):
        hit = next((j for j in range(start, len(below)) if below[j]), None)
        if hit is None:
            unresolved += 1
        else:
            needed.append(hit - start + 1)
    return (max(needed) if needed else None), unresolved


def ex5_reading(
    arms: dict[str, dict[str, Any]], seed: int, steps: int
) -> tuple[str, list[Verdict], str]:
    """`arms` maps 'lr X' to that run's answers; MAIN is the handout's setting."""
    a = arms[MAIN]
    mse = a["ex5_mse"]
    n = len(mse)
    below = [v < TARGET for v in mse]
    k = sum(below)
    low, high = success_interval(k, n)
    own = mse[0]
    fails = [i for i in range(n) if not below[i]]
    dead = sum(a["ex5_dead_units"][i] > 0 for i in fails)
    dead_fitted = sum(a["ex5_dead_units"][i] > 0 for i in range(n) if below[i])
    wrong = [a["ex5_wrong_outputs"][i] for i in fails if a["ex5_dead_units"][i] == 0]
    by_step = a["ex5_below_target_by_step"]
    half = min(by_step, key=lambda row: abs(row[0] - steps / 2))
    runs_needed, unresolved = restarts_needed(below)

    text = [
        f"**The Ex5 cell from a fresh `ToyModel()`.** Adam (lr 0.03), full batch on the 20 "
        f"points, `mse_loss`, {steps:,} steps (the handout's solution runs 10,000). The "
        f"notebook's own model (seed {seed}, after replaying the earlier cells' random draws) "
        f"ends at MSE {own:.4f}, {'below' if own < TARGET else 'above'} 0.01. Over {n} fresh "
        f"initialisations (seeds {seed}-{seed + n - 1}), **{k} of {n}** end below 0.01: a "
        f"fresh `ToyModel()` gets there with probability {k / n:.2f} (95% CI {low:.2f} to "
        f"{high:.2f}, exact binomial)."
    ]
    if fails:
        parts = []
        if dead:
            parts.append(
                f"{dead} have a dead hidden unit (zero on all 20 points, so no gradient "
                "reaches its weights again: one of only four units is lost for good; "
                f"{dead_fitted} of the {k} that reach 0.01 have one)"
            )
        if wrong:
            parts.append(
                f"{len(wrong)} keep every unit but settle with {min(wrong)}-{max(wrong)} of "
                "the 40 outputs on the wrong side of 0.5 (a local minimum of the loss)"
            )
        text.append(f"Of the {len(fails)} that stay above 0.01, " + "; ".join(parts) + ".")

    # What it takes: more steps, another learning rate, restarts.
    first_all = next((s for s, c in by_step if c == n), None)
    later = by_step[-1][1] - half[1]
    text.append(
        "**What it takes.** *More steps:* at lr 0.03, "
        + (
            f"all {n} are below 0.01 from step {first_all:,}."
            if first_all is not None
            else (
                f"{half[1]} are below 0.01 at step {half[0]:,} and {by_step[-1][1]} at step "
                f"{by_step[-1][0]:,}: "
                + (
                    "no further initialisation crossed 0.01 in the second half of the run."
                    if later == 0
                    else f"{later:+d} in the second half of the run, still not all {n}."
                )
            )
        )
    )
    counts = {arm: sum(v < TARGET for v in r["ex5_mse"]) for arm, r in arms.items()}
    best_arm = max(counts, key=counts.get)
    if counts[best_arm] == n:
        text.append(f"*Another learning rate:* at {best_arm} all {n} reach 0.01.")
    else:
        listed = ", ".join(f"{counts[arm]} at {arm}" for arm in arms)
        text.append(
            f"*Another learning rate:* no learning rate tried brings all {n} there within "
            f"{steps:,} steps ({listed})."
        )
    if runs_needed is not None:
        tail = (
            f" ({unresolved} starting seed(s) at the end of the pool have no later success in it)"
            if unresolved
            else ""
        )
        text.append(
            "*Restarts:* re-initialising with the next seed whenever a run ends above 0.01 "
            f"reached 0.01 within {runs_needed} runs from every starting seed of this pool"
            f"{tail}; with a success rate of {k / n:.2f} per run that is about {n / k:.1f} "
            "runs per success on average."
        )
    if len(arms) > 1:
        # The runs share their initialisations: does the seed or the learning rate decide?
        outcomes = [[r["ex5_mse"][i] < TARGET for r in arms.values()] for i in range(n)]
        same = sum(len(set(o)) == 1 for o in outcomes)
        text.append(
            f"For {same} of the {n} initialisations the outcome (below 0.01 or not) is the "
            f"same at every learning rate tried"
            + (
                ": it is mostly the starting point, not the learning rate, that decides."
                if same >= 0.75 * n
                else "."
            )
        )

    reason = f"quick budget: {steps:,} steps" if steps < 10_000 else f"{steps:,} steps"
    verdicts = [
        expect_threshold(
            "an optimisation loop brings the MSE on the 20 points below 0.01, from a freshly "
            "built ToyModel().",
            summarize(mse),
            TARGET,
            below=True,
            what=f"final MSE over {n} fresh initialisations at lr 0.03 ({k} of {n} below 0.01)",
            reason=reason,
        ),
        expect_threshold(
            "the same, for the ToyModel() that the notebook's Ex5 cell itself builds.",
            summarize([own]),
            TARGET,
            below=True,
            what=f"final MSE of the notebook's own initialisation (seed {seed})",
            reason=reason,
        ),
    ]
    key = (
        f"{k}/{n} fresh ToyModel() initialisations reach MSE < 0.01 (notebook's own: "
        f"{own:.3f}); best Adam {best_arm}: {counts[best_arm]}/{n}"
        + (f"; restarts: all within {runs_needed} runs" if runs_needed is not None else "")
    )
    return "\n\n".join(text), verdicts, key


def steps_table(arms: dict[str, dict[str, Any]]) -> str:
    """Initialisations below 0.01 at a few step counts, one row per learning rate."""
    first = next(iter(arms.values()))
    n = len(first["ex5_mse"])
    logged = [s for s, _ in first["ex5_below_target_by_step"]]
    shown = [s for s in logged if s in (500, 1000, 2500, 5000, 10_000, 20_000)] or logged[-1:]
    if logged[-1] not in shown:
        shown.append(logged[-1])
    rows = []
    for arm, a in arms.items():
        at = dict(map(tuple, a["ex5_below_target_by_step"]))
        low, high = success_interval(at[logged[-1]], n)
        rows.append([arm, *[f"{at[s]}/{n}" for s in shown], f"{low:.2f} to {high:.2f}"])
    headers = ["Adam", *[f"step {s:,}" for s in shown], "95% CI of P(below), last step"]
    return markdown_table(headers, rows)


def ex5(budget: Budget, out: Path) -> Answer:
    from neurallab.report.plots import line_plot
    from neurallab.tracking import Run

    res = toy_runs(budget, out, ("0.01", "0.03", "0.1"))
    seed = res.seeds[0]
    arms = {arm: first_lr(res.runs[arm][seed].summary["answers"]) for arm in res.arms}
    steps = settings(budget.quick)["steps"]
    text, verdicts, key = ex5_reading(arms, seed, steps)
    n = len(arms[MAIN]["ex5_mse"])
    curves = {
        arm: (
            [s for s, _ in a["ex5_below_target_by_step"]],
            [c / n for _, c in a["ex5_below_target_by_step"]],
        )
        for arm, a in arms.items()
    }
    figure = line_plot(
        curves,
        f"HW4 Ex5: share of {n} fresh ToyModel() initialisations with MSE < 0.01",
        "optimisation step",
        "share below 0.01",
    )
    plot = Run(out).save_figure(figure, "ex5_below_target.png")
    main_dir = res.runs[MAIN][seed].run_dir
    mse = arms[MAIN]["ex5_mse"]
    return Answer(
        text=text,
        commands=res.commands,
        tables=[steps_table(arms)],
        images=[plot, main_dir / "training.png"],
        metrics={
            "inits": n,
            "below_target": sum(v < TARGET for v in mse),
            "notebook_init_mse": mse[0],
        },
        verdicts=verdicts,
        key_result=key,
    )


# -- The ungraded question: fresh data ----------------------------------------------------------


def generalisation_reading(a: dict[str, Any]) -> tuple[str, list[Verdict], str]:
    """The fitted models on fresh data, and models trained on a fresh sample every step."""
    train = a["ex5_mse"]
    fresh = a["ex5_fresh_data_mse"]
    n = len(train)
    gap = compare(
        "Fresh data", fresh, "the 20 training points", train, "MSE",
        paired=True, unit="initialisations",
    )  # fmt: skip
    text = [
        f"The {n} initialisations of Exercise 5 score an MSE of {summarize(train).text()} on the "
        f"20 points they were fitted to and {summarize(fresh).text()} on 100 fresh points of "
        f"the same distribution (the handout's cell). {gap.reading(*WORDS)}"
    ]
    if gap.direction > 0:
        text.append(
            "Why: 20 points say little about the function that made them, and the optimisation "
            "loop rewards the network only for those 20; with 26 parameters and two "
            "threshold-like targets (|x0 +- x1| > 1.33, ||x|| > 1.33) it fits its parameters to "
            "the 20 points rather than to the function."
        )
    verdicts = [
        expect_direction(
            "the network cannot represent the target exactly, so fresh data scores worse.",
            gap,
            expected=+1,
            higher=WORDS[0],
            lower=WORDS[1],
        )
    ]
    if "fresh_training_fresh_data_mse" in a:
        streamed = a["fresh_training_fresh_data_mse"]
        streamed_fit = a["fresh_training_fixed_mse"]
        better = compare(
            "Training on a fresh sample each step",
            streamed,
            "training on the 20 points only",
            fresh,
            "MSE on fresh points",
            paired=True,
            unit="initialisations",
        )
        steps = a["fresh_training_steps"]
        text.append(
            f"**What to do differently:** train on the distribution, not on one batch: the "
            f"same initialisations trained for {steps:,} steps on a new sample of "
            f"`generate_data` at every step score {summarize(streamed).text()} on the fresh "
            f"points (and {summarize(streamed_fit).text()} on the 20). " + better.reading(*WORDS)
        )
        floor = summarize(streamed)
        if better.direction < 0 and floor.ci is not None and floor.ci[0] > TARGET:
            text.append(
                f"It still stays far above the handout's 0.01 (95% CI lower bound "
                f"{fmt(floor.ci[0])}): as the handout says, this network 'does not have "
                "the expressive power necessary to model the true distribution' (a sphere and "
                "two pairs of planes switched by the sign of x2). More data removes the "
                "memorising, not that limit; a wider hidden layer would be the next thing to "
                "try."
            )
        key = f"{gap.reading(*WORDS)} {better.reading(*WORDS)}"
    else:
        key = gap.reading(*WORDS)
    return "\n\n".join(text), verdicts, key


def generalisation(budget: Budget, out: Path) -> Answer:
    a, command, _ = main_answers(budget, out)
    text, verdicts, key = generalisation_reading(a)
    return Answer(
        text=text,
        commands=[command],
        metrics={
            "fitted_fresh_mse": summarize(a["ex5_fresh_data_mse"]).mean,
            "streamed_fresh_mse": summarize(a["fresh_training_fresh_data_mse"]).mean,
        },
        verdicts=verdicts,
        key_result=key,
    )


QUESTIONS = [
    Question("hw4", "Ex1", "Forward pass by hand", ex1, seconds_quick=6, seconds_full=25),
    Question(
        "hw4", "Ex2", "Backward pass by hand vs autograd", ex2, seconds_quick=0, seconds_full=0
    ),
    Question(
        "hw4",
        "Ex3",
        "Can the loss increase after a gradient step?",
        ex3,
        seconds_quick=0,
        seconds_full=0,
    ),
    Question("hw4", "Ex4", "The toy network with nn modules", ex4, seconds_quick=0, seconds_full=0),
    Question(
        "hw4",
        "Ex5",
        "Optimisation loop to MSE < 0.01 from a fresh ToyModel()",
        ex5,
        seconds_quick=8,
        seconds_full=25,
    ),
    Question(
        "hw4",
        "Ungraded",
        "Why does the fitted model do terribly on fresh data, and what generalises?",
        generalisation,
        seconds_quick=0,
        seconds_full=0,
    ),
]
