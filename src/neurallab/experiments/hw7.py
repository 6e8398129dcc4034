"""HW7 §5: the empirical questions on the RNN language model with self-attention.

Corpus: the `bbc-lm` sequences (BBC News and more English prose, 128 tokens, a 1024-piece
Unigram tokenizer) in place of the course's TinyStories subset (not installable offline); its
size is read from the data, and every answer states how many passes over the training set its
budgets are, since the handout counts sequences so that more sequences means new data.

Budgets. `--full` is the handout's: embed = hidden = dk = dv = batch = 128, 50,000 sequences,
Adam at the course's constant learning rate 1e-3; Q3 at 10k-100k sequences; Q4 250,000
sequences at size 512 with dk = dv = 256. `--quick` keeps every setting a question varies and
every setting the handout fixes (dk = dv = 128, batch 128, learning rate 1e-3) and trains on
fewer sequences, three seeds per compared arm; its Q4 trains size 128 on 36,000 sequences in
batches of 64 at learning rate 3e-3 (docs/rnn_lm.md). Precision is fp32, the course's, at both
budgets; bf16 only when asked (`Budget.overrides = {"precision": "bf16"}`), and every answer
states the precision its runs used.

Each question declares its runs (settings x seeds per budget) and the handout sentences it
tests (`CLAIMS`) apart from the computation; every sentence that states a direction is
generated from a comparison over seeds or prompts (`experiments.stats`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from neurallab.data import stories
from neurallab.engine.generation import (  # noqa: F401  (the tests read them here too)
    MEASURES,
    distinct_fraction,
    measure,
    repeated_ngrams,
    split_loss,
    unigram_entropy,
)
from neurallab.experiments.base import Answer, Budget, Question, markdown_table
from neurallab.experiments.stats import Comparison, compare, fmt, summarize
from neurallab.experiments.sweep import SweepResult, run_slug, sweep
from neurallab.experiments.verdict import Verdict, expect_direction, written
from neurallab.programs import rnn_lm
from neurallab.programs.run import History, RunRecord
from neurallab.report.plots import line_plot
from neurallab.tracking.run import Run

SEED = 10601  # the course's seed, rnn-lm's default
# A prompt that fits the news corpus; the handout's "Once upon a time there was a" opens a
# children's story (TinyStories) and is sampled too, for comparison.
PROMPT = "The government said"
HANDOUT_PROMPT = "Once upon a time there was a"
TEMPERATURES = (0.0, 0.3, 0.8)
SIZES = (64, 128, 256, 512)
BATCHES = (32, 64, 128, 256)
Q3_VALIDATIONS = (1, 2, 5, 10)  # a run validated every tenth, read at the handout's 1:2:5:10

# The handout's sentences each question tests (the verdicts quote them).
CLAIMS = {
    "Q1": "Larger models reach lower loss given enough data (sizes 64 to 512, dk = dv = 128).",
    "Q2": "Larger batches train faster (the handout's T4 times: 482 s at batch 32, 100 s at "
    "256; a GPU expectation).",
    "Q3": "The loss falls as the number of training sequences grows (10k to 100k).",
    "Q4 loops": "Temperature 0 repeats (loops).",
    "Q4 varies": "Higher temperatures vary more.",
    "Q4 drifts": "Higher temperatures drift: their samples are less likely under the model "
    "(T = 0.8 against 0.3).",
    "Q4 compelling": "The long run's samples are 'very compelling' short stories (a judgment).",
}


@dataclass(frozen=True)
class Plan:
    """What one budget runs; every answer states it."""

    name: str
    sequences: int  # Q1 and Q2, per run
    q3_sequences: int  # Q3's longest budget; the shorter ones are read from the same run
    q4_sequences: int
    q4_size: int
    q4_keys: int  # Q4's dk = dv
    q4_lr: float
    q4_batch: int
    seeds: int = 3
    lr: float = 1e-3  # the course's


QUICK = Plan("--quick", 768, 3_840, 36_000, q4_size=128, q4_keys=128, q4_lr=3e-3, q4_batch=64)
# The handout's budgets (Q3's 100k rounded up to whole batches of 128).
FULL = Plan(
    "the handout's budget", 50_000, 102_400, 250_000, q4_size=512, q4_keys=256, q4_lr=1e-3,
    q4_batch=128,
)  # fmt: skip


def plan(budget: Budget) -> Plan:
    return QUICK if budget.quick else FULL


def lm(
    budget: Budget, sequences: int, size: int = 128, batch: int = 128, **more
) -> rnn_lm.Settings:
    """rnn-lm's settings for one run of a question (the budget's overrides apply in train)."""
    values = dict(embed_dim=size, hidden_dim=size, batch_size=batch, lr=plan(budget).lr)
    return rnn_lm.Settings(num_sequences=sequences, **{**values, **more})


def arm(size: int, batch: int) -> str:
    # One name for one setting, so Q1's size-128 and Q2's batch-128 arms are the same runs.
    return f"size {size}, batch {batch}"


def q1_runs(budget: Budget) -> dict[str, rnn_lm.Settings]:
    return {arm(size, 128): lm(budget, plan(budget).sequences, size=size) for size in SIZES}


def q2_runs(budget: Budget) -> dict[str, rnn_lm.Settings]:
    return {arm(128, b): lm(budget, plan(budget).sequences, batch=b) for b in BATCHES}


def q3_runs(budget: Budget) -> dict[str, rnn_lm.Settings]:
    n = plan(budget).q3_sequences
    return {f"size 128, batch 128, {n:,} sequences": lm(budget, n, eval_every=n // 10 // 128)}


def q4_run(budget: Budget) -> rnn_lm.Settings:
    p = plan(budget)
    return lm(
        budget, p.q4_sequences, size=p.q4_size, batch=p.q4_batch, dk=p.q4_keys, dv=p.q4_keys,
        lr=p.q4_lr,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# What is read from a run (a summary as `SweepResult` hands it, or a record), and shared prose.


def _summary(run: dict[str, Any] | RunRecord) -> dict[str, Any]:
    return {**run.summary, "run_dir": str(run.run_dir)} if isinstance(run, RunRecord) else run


def time_per_sequence(run: dict[str, Any] | RunRecord) -> float:
    """Training-step seconds per sequence trained (validation and checkpoints excluded), in ms."""
    s = _summary(run)
    return 1000 * s["train_step_seconds"] / s["samples"]


def loss_jitter(run: dict[str, Any] | RunRecord) -> float:
    """How jumpy training is: the standard deviation of the step-to-step changes of the batch
    loss (their mean, the downward trend, is subtracted by the standard deviation)."""
    s = _summary(run)
    losses = [
        v for _, v in History.read(Path(s["run_dir"]) / "metrics.csv").column("train/batch_loss")
    ]
    changes = [b - a for a, b in zip(losses, losses[1:], strict=False)]
    return statistics.stdev(changes) if len(changes) > 1 else float("nan")


def peak_val_loss(run: dict[str, Any] | RunRecord) -> float:
    return max(_summary(run)["curve"]["val_loss"])


def signed(c: Comparison, higher: str = "higher", lower: str = "lower", digits: int = 3) -> str:
    """'A minus B on m: -0.520 (95% CI -0.777 to -0.262): lower': the difference printed with
    the sign its interval has; 'not resolved' when the interval holds 0."""
    ci = c.interval
    interval = (
        "no interval" if ci is None else f"95% CI {fmt(ci[0], digits)} to {fmt(ci[1], digits)}"
    )
    word = {1: higher, -1: lower, 0: "not resolved"}[c.direction]
    return f"{c.a} minus {c.b} on {c.metric}: {fmt(c.diff, digits)} ({interval}): {word}"


def expect(claim: str, c: Comparison, expected: int, reason: str = "", **words: str) -> Verdict:
    """`expect_direction`, its key result the signed difference."""
    verdict = expect_direction(claim, c, expected, reason, **words)
    return dataclasses.replace(verdict, key_result=signed(c, **words))


def signed_steps(
    arms: Sequence[tuple[str, Sequence[float]]],
    metric: str,
    paired: bool = True,
    unit: str = "seeds",
) -> tuple[list[Comparison], str]:
    """Adjacent differences along an ordered setting and first-to-last, each signed."""
    steps = [
        compare(b, bv, a, av, metric, paired, unit)
        for (a, av), (b, bv) in zip(arms, arms[1:], strict=False)
    ]
    overall = compare(arms[-1][0], arms[-1][1], arms[0][0], arms[0][1], metric, paired, unit)
    lines = "".join(f"- {signed(c)}\n" for c in steps)
    return [*steps, overall], f"\n\n{lines}- first to last: {signed(overall)}"


def conditions(records: Sequence[RunRecord]) -> str:
    """Precision and timing conditions of the runs, as they recorded them."""
    precisions = sorted({r.settings.precision for r in records})
    threads = sorted({r.summary.get("threads") for r in records if r.summary.get("threads")})
    loads = [
        r.summary[k] for r in records for k in ("load_average_start", "load_average_end")
        if k in r.summary
    ]  # fmt: skip
    course = "the course's" if precisions == ["fp32"] else "asked for"
    text = f"Precision {'/'.join(precisions)} ({course})."
    if threads and loads:
        # The 1-minute load average counts the run itself: above its threads, others ran too.
        busy = max(loads) > max(threads) + 0.5
        text += (
            f" Runs one at a time in one process, {'/'.join(map(str, threads))} PyTorch "
            f"thread(s) on {records[0].summary.get('cpu_count')} CPUs; 1-minute load average "
            f"{min(loads):.2f} to {max(loads):.2f} at the runs' starts and ends ("
            + (
                "other processes were running: times are slower than on a quiet machine)"
                if busy
                else "nothing else of note ran)"
            )
            + "."
        )
    return text


def passes(budget: Budget, train_size: int, per_run: str, quick_n: int, full_n: int) -> str:
    """Passes over the training set at both budgets, from the data's real size."""
    here, other = (quick_n, full_n) if budget.quick else (full_n, quick_n)
    other_name = "the handout's budget" if budget.quick else "--quick"
    return (
        f"{per_run}: {here:,} sequences = {here / train_size:.2f} passes over the "
        f"{train_size:,} training sequences ({other_name}: {other:,} = "
        f"{other / train_size:.2f} passes)"
    )


def _mean_curves(res: SweepResult, name: str) -> tuple[list[int], list[float], list[float]]:
    """Sequences seen, and training / validation loss averaged over the seeds of one arm."""
    curves = [r.summary["curve"] for r in res.records(name)]
    seen = curves[0]["sequences"]
    mean = lambda key: [statistics.fmean(c[key][i] for c in curves) for i in range(len(seen))]  # noqa: E731
    return seen, mean("train_loss"), mean("val_loss")


def _loss_plots(out: Path, q: str, res: SweepResult, labels: dict[str, str]) -> list[Path]:
    curves = {label: _mean_curves(res, name) for name, label in labels.items()}
    run = Run(out)
    return [
        run.save_figure(
            line_plot(
                {label: (c[0], c[i]) for label, c in curves.items()},
                f"HW7 {q}: {kind} loss",
                "sequences seen",
                "cross-entropy (nats/token)",
            ),
            f"{kind}_loss.png",
        )
        for i, kind in ((1, "training"), (2, "validation"))
    ]


def _budget_note(budget: Budget, handout: str) -> str:
    if not budget.quick:
        return f"the handout's budget ({handout}), learning rate {plan(budget).lr:g}"
    return f"--quick budget (the handout: {handout}), learning rate {plan(budget).lr:g}"


def _train_size(records: Sequence[RunRecord]) -> int:
    return int(records[0].summary["train_sequences"])


# ---------------------------------------------------------------------------------------------
# Q1: model size.


def validation_entropy(vocab_size: int) -> float:
    """Unigram entropy of the validation split: the loss of predicting each token's frequency
    alone, the plateau a language model reaches before it uses any context."""
    valid = torch.stack(stories.read_sequences(stories.default_paths()["valid"]))
    return unigram_entropy(valid, vocab_size)


def against_unigram(arms: list[tuple[str, list[float]]], entropy: float) -> tuple[str, str]:
    """Which arms' final validation loss lies below the unigram entropy (95% interval over
    seeds). Returns the sentence, and the flag to show when some arm is not below ("" when
    every arm is): an arm that is not below has learned at most how common tokens are, so
    comparisons with it say how far it came toward that plateau, not how it uses context."""
    below = [name for name, values in arms if (ci := summarize(values).ci) and ci[1] < entropy]
    above = [name for name, _ in arms if name not in below]
    line = (
        "Against the validation split's unigram entropy (the loss of predicting each token by "
        "its frequency, ignoring context): "
    )
    plateau = f"the unigram entropy {fmt(entropy)}"
    if not above:
        return line + f"every arm's validation loss is below {plateau}: each uses context.", ""
    if not below:
        flag = (
            f"no arm's validation loss is below {plateau} nats/token, so these runs have learned "
            "little more than which tokens are common, and the comparison says how far each "
            "came toward that plateau, not how well it models context"
        )
    else:
        flag = (
            f"{', '.join(above)} not below {plateau} nats/token (at most token frequencies "
            f"learned); {', '.join(below)} below it"
        )
    return line + flag + ".", flag


def q1(budget: Budget, out: Path) -> Answer:
    p = plan(budget)
    seeds = budget.seeds(p.seeds, default=SEED)
    res = sweep(budget, q1_runs(budget), seeds, out.parent / "runs")
    names = list(res.arms)
    records = [r for n in names for r in res.records(n)]
    val_steps, val_sentence = signed_steps(
        [(n, res.values(n, "final_val_loss")) for n in names], "final validation loss"
    )
    _, time_sentence = signed_steps(
        [(n, res.values(n, time_per_sequence)) for n in names], "ms per sequence"
    )
    start = math.log(records[0].summary["vocab_size"])  # the loss of uniform guessing
    spiked = [
        str(s)
        for s, n in zip(SIZES, names, strict=True)
        if max(res.values(n, peak_val_loss)) > start
    ]
    spikes = (
        f"The validation loss rose above its starting value ln V = {start:.2f} in some run of "
        f"size {', '.join(spiked)} (peak column): the ReLU recurrence has no bound on h_t, and "
        "clipping the gradient norm at 1 limits a bad step but does not prevent it."
        if spiked
        else f"No run's validation loss rose above its starting value ln V = {start:.2f}."
    )
    n_passes = passes(budget, _train_size(records), "Per run", QUICK.sequences, FULL.sequences)
    plateau, not_learned = against_unigram(
        [(f"size {s}", res.values(n, "final_val_loss")) for s, n in zip(SIZES, names, strict=True)],
        validation_entropy(records[0].summary["vocab_size"]),
    )
    parameters = [
        [s, f"{res.records(n)[0].parameters:,}"] for s, n in zip(SIZES, names, strict=True)
    ]
    far = " at --quick, far from 'enough data'" if budget.quick else ""
    return Answer(
        text=(
            f"embed_dim = hidden_dim in {'/'.join(map(str, SIZES))} with dk = dv = "
            f"{records[0].settings.dk} and batch 128, "
            f"{len(seeds)} seeds per size; {_budget_note(budget, '50,000 sequences')}. "
            f"{n_passes}. {conditions(records)} Plots: the mean over seeds.\n\n"
            f"**Final validation loss by size** (each size minus the one before):{val_sentence}"
            f"\n\n**Cost** (training-step ms per sequence):{time_sentence}\n\nThe validation "
            f"loss is the course's: one batch of 128 validation sequences. {plateau} {spikes}"
        ),
        commands=res.commands,
        tables=[
            res.table(
                [
                    ("final val loss", "final_val_loss"),
                    ("final train loss", "final_train_loss"),
                    ("peak val loss", peak_val_loss),
                    ("ms per sequence", time_per_sequence),
                ],
                arm_header="model",
            ),
            markdown_table(["embed = hidden", "parameters"], parameters),
        ],
        images=_loss_plots(
            out,
            "§5 Q1",
            res,
            {n: f"embed_dim = hidden_dim = {s}" for s, n in zip(SIZES, names, strict=True)},
        ),
        metrics={
            **{
                f"val_loss_size{s}": res.summary(n, "final_val_loss").mean
                for s, n in zip(SIZES, names, strict=True)
            },
            "not_learned": not_learned,  # read by the quick-vs-full table (budgets.py)
        },
        verdicts=[
            expect(
                CLAIMS["Q1"],
                val_steps[-1],
                expected=-1,
                reason="; ".join(filter(None, [f"{n_passes}{far}", not_learned])),
            )
        ],
        key_result=f"validation loss, {signed(val_steps[-1])}",
    )


# ---------------------------------------------------------------------------------------------
# Q2: batch size.


def fill_in(speed: int, loss: int, jitter: int) -> tuple[str, str, str]:
    """Q2(c)'s three blanks from the directions of batch 256 minus batch 32 (+1, -1, 0) of
    time per sequence, validation loss and loss jitter; 0 (not resolved) says so."""
    unresolved = "(not resolved at this budget)"
    return (
        {-1: "faster", 1: "slower", 0: f"neither faster nor slower {unresolved}"}[speed],
        {-1: "an increase", 1: "a decrease", 0: f"no change {unresolved}"}[loss],
        {-1: "more", 1: "less", 0: f"neither more nor less {unresolved}"}[jitter],
    )


def why_speed(speed: int, step_ratio: float, batch_ratio: int, threads: int) -> str:
    """The mechanism behind the measured speed direction (chosen by it, never fixed), with the
    prediction it makes for the step-time ratio and the ratio measured."""
    grew = (
        f"a step of batch 256 took {step_ratio:.1f}x as long as one of batch 32 (if all of a "
        f"step's work grew with the batch the ratio would be {batch_ratio}; if none did, 1; "
        f"PyTorch used {threads} CPU thread" + ("s)" if threads > 1 else ")")
    )
    gpu = "On a GPU (the handout's T4: 482 s at batch 32, 100 s at 256)"
    if speed > 0:
        return (
            f"Here {grew}: a CPU computes every sequence's matrix products with at most a few "
            "cores, so a step's work grows with the batch and fewer, larger steps save no "
            f"time. {gpu} thousands of cores work on a batch's sequences at once, so a larger "
            "batch costs little more per step and finishes the same sequences sooner."
        )
    if speed < 0:
        return (
            f"Here {grew}: each step also pays costs that do not grow with the batch (the "
            "optimizer update over every weight, the 127 sequential recurrence products, "
            f"Python overhead), and larger batches share them among more sequences. {gpu} "
            "the same holds more strongly."
        )
    return (
        f"Here {grew}, and the time per sequence does not differ resolvably: a step's work "
        f"grows about in proportion to the batch on a CPU. {gpu} a batch's sequences run in "
        "parallel."
    )


def q2(budget: Budget, out: Path) -> Answer:
    p = plan(budget)
    seeds = budget.seeds(p.seeds, default=SEED)
    res = sweep(budget, q2_runs(budget), seeds, out.parent / "runs")
    small, large = arm(128, BATCHES[0]), arm(128, BATCHES[-1])
    records = [r for n in res.arms for r in res.records(n)]
    speed = res.compare(large, small, time_per_sequence, "training-step ms per sequence")
    loss = res.compare(large, small, "final_val_loss", "final validation loss")
    jitters = {a: res.values(a, loss_jitter) for a in (large, small)}
    measurable = all(math.isfinite(v) for values in jitters.values() for v in values)
    jitter = compare(large, jitters[large], small, jitters[small], "batch-loss jitter", True)
    step_ratio = (
        res.summary(large, "median_step_seconds").mean
        / res.summary(small, "median_step_seconds").mean
    )
    faster, performance, stable = fill_in(
        speed.direction, loss.direction, jitter.direction if measurable else 0
    )
    threads = records[0].summary.get("threads", torch.get_num_threads())
    n_passes = passes(budget, _train_size(records), "Per run", QUICK.sequences, FULL.sequences)
    return Answer(
        text=(
            f"Size 128, dk = dv = {records[0].settings.dk}, batch "
            f"{'/'.join(map(str, BATCHES))}, {len(seeds)} seeds per batch size; "
            f"{_budget_note(budget, '50,000 sequences')}. {n_passes}. **Timing conditions.** "
            f"{conditions(records)} Times are of the training steps alone (forward, backward, "
            "clipping, update; validation and checkpoints excluded), summed over every step of "
            "each run; each seed is a repeat; a run reused from an earlier reproduce keeps the "
            "conditions it recorded.\n\n"
            f"**(b)** Table: training-step time per run, per step and per sequence.\n\n"
            f"**(c)** Measured here (batch 256 against 32): increasing the batch size leads to "
            f"**{faster}** training, **{performance}** in performance after the same number of "
            f"sequences, and **{stable}** stable training.\n\n"
            f"- Speed: {signed(speed, 'slower', 'faster')}\n- Performance: {signed(loss)}\n"
            "- Stability (standard deviation of step-to-step changes of the batch loss): "
            + (signed(jitter) if measurable else "not measurable (a run needs three steps)")
            + "\n\n"
            + why_speed(speed.direction, step_ratio, BATCHES[-1] // BATCHES[0], threads)
        ),
        commands=res.commands,
        tables=[
            res.table(
                [
                    ("training-step s", "train_step_seconds"),
                    ("s per step", "median_step_seconds"),
                    ("ms per sequence", time_per_sequence),
                ],
                arm_header="setting",
            ),
            res.table(
                [("final val loss", "final_val_loss"), ("final train loss", "final_train_loss")]
                + ([("loss jitter", loss_jitter)] if measurable else []),
                arm_header="setting",
            ),
        ],
        images=_loss_plots(out, "§5 Q2", res, {arm(128, b): f"batch_size = {b}" for b in BATCHES}),
        metrics={
            f"ms_per_sequence_batch{b}": res.summary(arm(128, b), time_per_sequence).mean
            for b in BATCHES
        },
        verdicts=[
            expect(
                CLAIMS["Q2"],
                speed,
                expected=-1,
                reason=f"{os.cpu_count()}-CPU machine, {threads} thread(s), training steps alone",
                higher="slower",
                lower="faster",
            )  # fmt: skip
        ],
        key_result=f"batch 256 vs 32: {faster}, {performance} in performance, {stable} stable",
    )


# ---------------------------------------------------------------------------------------------
# Q3: number of sequences.


def losses_at(record: RunRecord, sequences: int) -> tuple[float, float]:
    """(final training loss, final validation loss) that a run stopping at `sequences` reports.

    The validation loss is the run's validation at that point. The course's final training
    loss is the mean batch loss over the last tenth of a run (max(1, 0.1 n // batch) steps);
    it is recomputed from the logged batch losses.
    """
    curve = record.summary["curve"]
    if sequences not in curve["sequences"]:
        raise ValueError(f"the run was not validated at {sequences} sequences")
    val = curve["val_loss"][curve["sequences"].index(sequences)]
    logged = record.history.column("train/batch_loss")
    seen, losses = [s for s, _ in logged], [v for _, v in logged]
    last = max(1, int(sequences * 0.1) // record.settings.batch_size)
    end = seen.index(sequences) + 1
    return statistics.fmean(losses[end - last : end]), val


def separate_run_check(
    folder: Path, q3: rnn_lm.Settings, seeds: list[int], per_budget: dict[int, list]
) -> str:
    """Compare Q3's readings with separate runs of the same settings that ended at one of its
    budgets (Q1's and Q2's size-128, batch-128 runs, when this reproduce made them)."""
    found = []
    for i, seed in enumerate(seeds):
        run_dir = folder / f"{run_slug(arm(128, 128))}-s{seed}"
        try:
            rec = RunRecord.read(run_dir, rnn_lm.Settings)
        except Exception:  # no such finished run: nothing to check against
            return ""
        n = rec.summary.get("samples")
        same = rec.settings.replace(
            num_sequences=q3.num_sequences, eval_every=q3.eval_every, seed=q3.seed
        )
        if same != q3 or n not in per_budget:
            return ""
        found.append((n, rec.summary["final_val_loss"], per_budget[n][i][1]))
    gap = max(abs(separate - read) for _, separate, read in found)
    return (
        f" Check against separate runs: the {found[0][0]:,}-sequence runs of Q1 and Q2 (same "
        f"seeds and settings) end at validation losses "
        f"{', '.join(fmt(x) for _, x, _ in found)}; read here at {found[0][0]:,} sequences: "
        f"{', '.join(fmt(y) for _, _, y in found)} (largest difference {gap:.1e})."
    )


def new_and_repeated(n: int, train_size: int) -> str:
    """How many of n sequences read were new and how many repeats of ones already seen."""
    new, again = min(n, train_size), max(0, n - train_size)
    return f"{n:,} read: {new:,} new, {again:,} repeats ({n / train_size:.2f} passes)"


# How Q3 reads four budgets from one run per seed (the answer states it).
Q3_METHOD = (
    "How the four budgets are run: one run per seed of {longest:,} sequences, validated every "
    "{every} steps ({seen:,} sequences) and read at its 1st, 2nd, 5th and 10th validation (a "
    "budget ends where a step ends; after a pass over the training sequences, whose last batch "
    "is partial, the numbers are no longer round). The learning rate is constant, the data "
    "order depends only on the seed and the epoch, and validation changes neither the weights "
    "nor any random state, so after n sequences this run is in exactly the state of a separate "
    "n-sequence run of the same seed (`tests/test_answers_hw7.py` checks this on small runs). "
    "The final training loss of an n-sequence run (the course's mean over its last tenth) is "
    "recomputed from the logged batch losses."
)


def _q3_data_note(budgets: list[int], train_size: int) -> str:
    repeats = [n for n in budgets if n > train_size]
    if not repeats:
        return (
            f"Every budget here reads fewer sequences than the {train_size:,} training "
            "sequences: more sequences means new data, as the handout intends."
        )
    return (
        f"Budgets from {repeats[0]:,} sequences pass the {train_size:,} training sequences, so "
        "beyond them the run rereads sequences it has seen: a fall past that point measures "
        "repetition, not new data (table: new vs repeats)."
    )


def _q3_plots(out: Path, budgets: list[int], per_budget: dict, seeds: list[int]) -> list[Path]:
    """Training and validation loss against the budget, per seed and their mean."""
    run, images = Run(out), []
    for kind, idx in (("training", 0), ("validation", 1)):
        series = {
            f"seed {s}": (budgets, [per_budget[n][i][idx] for n in budgets])
            for i, s in enumerate(seeds)
        }
        series["mean"] = (
            budgets,
            [statistics.fmean(x[idx] for x in per_budget[n]) for n in budgets],
        )
        figure = line_plot(
            series, f"HW7 §5 Q3: {kind} loss", "num_sequences", "cross-entropy (nats/token)"
        )
        images.append(run.save_figure(figure, f"{kind}_loss.png"))
    return images


def q3(budget: Budget, out: Path) -> Answer:
    p = plan(budget)
    seeds = budget.seeds(p.seeds, default=SEED)
    runs = q3_runs(budget)
    (name, settings), longest = next(iter(runs.items())), p.q3_sequences
    res = sweep(budget, runs, seeds, out.parent / "runs")
    records = res.records(name)
    train_size = _train_size(records)
    # Sequences seen at those validations: whole batches, the same for every seed.
    seen = records[0].summary["curve"]["sequences"]
    budgets = [seen[i - 1] for i in Q3_VALIDATIONS]
    per_budget = {n: [losses_at(r, n) for r in records] for n in budgets}
    val_steps, val_sentence = signed_steps(
        [(f"{n:,} sequences", [v for _, v in per_budget[n]]) for n in budgets],
        "final validation loss",
    )
    _, train_sentence = signed_steps(
        [(f"{n:,} sequences", [t for t, _ in per_budget[n]]) for n in budgets],
        "final training loss",
    )
    rows = [
        [f"{n:,}", new_and_repeated(n, train_size), summarize([t for t, _ in per_budget[n]]).text(),
         summarize([v for _, v in per_budget[n]]).text(), ", ".join(fmt(v) for _, v in per_budget[n])]
        for n in budgets
    ]  # fmt: skip
    images = _q3_plots(out, budgets, per_budget, seeds)
    plateau, not_learned = against_unigram(
        [(f"{n:,} sequences", [v for _, v in per_budget[n]]) for n in budgets],
        validation_entropy(records[0].summary["vocab_size"]),
    )
    handout = "10,000 / 20,000 / 50,000 / 100,000 sequences"
    every = settings.eval_every
    return Answer(
        text=(
            f"num_sequences {', '.join(f'{n:,}' for n in budgets)} (the handout's 1:2:5:10), "
            f"size 128, batch 128, {len(seeds)} seeds; {_budget_note(budget, handout)}. "
            f"{passes(budget, train_size, 'Longest budget', QUICK.q3_sequences, FULL.q3_sequences)}. "
            f"{conditions(records)}\n\n**New data or repeats.** {_q3_data_note(budgets, train_size)}\n\n"
            + Q3_METHOD.format(longest=longest, every=every, seen=every * 128)
            + separate_run_check(out.parent / "runs", records[0].settings, seeds, per_budget)
            + f"\n\n**Validation.**{val_sentence}\n\n{plateau}\n\n**Training.**{train_sentence}"
        ),
        commands=res.commands,
        tables=[
            markdown_table(
                [
                    "num_sequences",
                    "sequences read",
                    "final train loss",
                    "final val loss",
                    "val loss per seed",
                ],
                rows,
            )
        ],
        images=images,
        metrics={
            **{f"val_loss_n{n}": summarize([v for _, v in per_budget[n]]).mean for n in budgets},
            "train_sequences": train_size,
            "not_learned": not_learned,  # read by the quick-vs-full table (budgets.py)
        },
        verdicts=[
            expect(
                CLAIMS["Q3"],
                val_steps[-1],
                expected=-1,
                reason="; ".join(
                    filter(
                        None,
                        [
                            f"{new_and_repeated(budgets[0], train_size)} to "
                            f"{new_and_repeated(budgets[-1], train_size)}",
                            not_learned,
                        ],
                    )
                ),
            )  # fmt: skip
        ],
        key_result=f"validation loss, {signed(val_steps[-1])}",
    )


# ---------------------------------------------------------------------------------------------
# Q4: the long run and its samples, with measured properties.


def sample_statistics(
    model, valid: torch.Tensor, prompts: int, prompt_len: int, length: int, seed: int
) -> dict[str, dict[str, list[float]]]:
    """Per temperature (and for the real text), per prompt: the MEASURES of `length` new tokens
    after the first `prompt_len` tokens of `prompts` validation sequences spread over the split."""
    rows = torch.linspace(0, len(valid) - 1, prompts).long()
    stats: dict[str, dict[str, list[float]]] = {}
    for i, row in enumerate(rows.tolist()):
        prompt = valid[row, :prompt_len]
        texts = {"validation text": valid[row, prompt_len : prompt_len + length]}
        for t in TEMPERATURES:
            torch.manual_seed(seed + i)
            texts[f"T = {t:g}"] = model.generate(prompt.unsqueeze(0), length, t)
        for label, continuation in texts.items():
            for key, value in measure(model, prompt, continuation).items():
                stats.setdefault(label, {}).setdefault(key, []).append(value)
    return stats


def best_temperature(stats: dict[str, dict[str, list[float]]], key: str) -> tuple[str, Comparison]:
    """The temperature whose samples are closest to the real continuations on `key` (mean
    absolute gap per prompt), and the comparison of its gaps with the runner-up's."""
    real = stats["validation text"][key]
    gaps = {
        label: [abs(a - b) for a, b in zip(values[key], real, strict=True)]
        for label, values in stats.items()
        if label != "validation text"
    }
    best, runner_up = sorted(gaps, key=lambda label: statistics.fmean(gaps[label]))[:2]
    gap_name = f"gap to real text in {MEASURES[key]}"
    return best, compare(
        best, gaps[best], runner_up, gaps[runner_up], gap_name, paired=True, unit="prompts"
    )


def shown_samples(model, tokenizer, seed: int, length: int = 64, per_t: int = 3) -> list[list]:
    """The samples the answer shows, each with its measured properties: for each prompt, as
    `neurallab generate --seed <seed + i> --samples 3 --temperature 0 0.3 0.8` draws them."""
    rows = []
    for i, text in enumerate((PROMPT, HANDOUT_PROMPT)):
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        prompt = torch.tensor(ids)
        torch.manual_seed(seed + i)
        for t in TEMPERATURES:
            for k in range(1 if t == 0 else per_t):
                cont = model.generate(prompt.unsqueeze(0), length, t, None)
                m = measure(model, prompt, cont)
                sample = " ".join(tokenizer.decode(ids + cont.tolist()).split())
                rows.append(
                    [
                        f"`{text}`, T = {t:g}, #{k + 1}",
                        sample,
                        *(fmt(m[key], 3) for key in MEASURES),
                    ]
                )
    return rows


def q4_claims(stats: dict, best: str) -> tuple[list, dict[str, Comparison]]:
    """The verdicts of Q4 from the per-prompt measures (pairs are prompts)."""
    t0, t3, t8 = (f"T = {t:g}" for t in TEMPERATURES)

    def pair(a: str, b: str, key: str, metric: str) -> Comparison:
        return compare(a, stats[a][key], b, stats[b][key], metric, paired=True, unit="prompts")

    c = {
        "loops": pair(t0, t8, "repeated 4-grams", "repeated 4-gram fraction"),
        "varies": pair(t8, t0, "distinct 2-grams", "distinct 2-gram fraction"),
        "drifts": pair(t8, t3, "loss", "per-token loss of the samples under the model"),
    }
    verdicts = [
        expect(CLAIMS["Q4 loops"], c["loops"], +1, higher="more repetitive", lower="less repetitive"),
        expect(CLAIMS["Q4 varies"], c["varies"], +1, higher="more varied", lower="less varied"),
        expect(CLAIMS["Q4 drifts"], c["drifts"], +1, higher="less likely", lower="more likely"),
        written(CLAIMS["Q4 compelling"], f"samples shown with their measures; closest to real "
                f"text on loss and variety: {best}"),
    ]  # fmt: skip
    return verdicts, c


@dataclass
class Q4Measured:
    """What Q4 measured on the long run's final weights."""

    rec: RunRecord
    seed: int
    val_loss: float  # whole validation split
    entropy: float  # unigram entropy of the validation split
    valid_size: int
    samples: list[list]  # the shown samples with their measures
    stats: dict[str, dict[str, list[float]]]  # per temperature and real text, per prompt
    best: dict[str, tuple[str, Comparison]]
    best_label: str
    claims: dict[str, Comparison]
    n_prompts: int = 12


def _q4_text(budget: Budget, m: Q4Measured) -> str:
    p, c, best = plan(budget), m.claims, m.best
    handout = "250,000 sequences, batch 128, size 512, dk = dv = 256, learning rate 1e-3"
    which = (
        "the handout's budget" if not budget.quick else f"--quick budget (the handout: {handout})"
    )
    this_run = passes(
        budget, _train_size([m.rec]), "This run", QUICK.q4_sequences, FULL.q4_sequences
    )
    return (
        f"**(a)** {p.q4_sequences:,} sequences, batch {p.q4_batch}, size {p.q4_size}, dk = dv = "
        f"{p.q4_keys}, seed {m.seed}, constant learning rate {p.q4_lr:g}; {which}. {this_run}. "
        f"{conditions([m.rec])} The final weights score **{fmt(m.val_loss, 4)}** nats/token over "
        f"the whole validation split ({m.valid_size:,} sequences), whose unigram entropy (the "
        f"loss of the best model that ignores context) is **{fmt(m.entropy, 4)}**: "
        f"{fmt(abs(m.entropy - m.val_loss), 3)} nats/token "
        f"{'below' if m.val_loss < m.entropy else 'above'} it (the handout's TinyStories run: "
        f"validation 2.28). The course's validation loss (its first batch) is "
        f"{fmt(m.rec.summary['final_val_loss'], 4)}.\n\n"
        f'**(b)** 64 new tokens for the corpus-fitting prompt "{PROMPT}" and for the handout\'s '
        f'"{HANDOUT_PROMPT}" (which does not fit news text), in the first table with each '
        "sample's measured properties: how many of its tokens and 2-grams are distinct, how many "
        "of its 4-grams repeat earlier ones, and its per-token loss under the model itself (a "
        "loop is far too predictable, noise far too surprising). Whether they are 'very "
        "compelling' is a reader's judgment; the measures and the real continuations' values "
        "(second table) are the evidence.\n\n"
        f"**(c)** Measured on 64-token continuations of the first 16 tokens of {m.n_prompts} "
        "validation sequences (the same prompts for each temperature, the real continuations as "
        "reference; the pairs in these comparisons are prompts, not seeds):\n\n"
        f"- loops: {signed(c['loops'])}\n- variety: {signed(c['varies'])}\n"
        f"- drift: {signed(c['drifts'])}\n\n"
        "The best temperature is the one whose samples are closest to real text, on per-token "
        f"loss and on distinct tokens: {m.best_label}. Closest on loss: "
        f"{signed(best['loss'][1])}; on distinct tokens: {signed(best['distinct'][1])}."
    )


def _measure_text(key: str, values: list[float]) -> str:
    """Mean over prompts with its 95% t-interval; a fraction's interval kept inside [0, 1]."""
    summary = summarize(values)
    if key == "loss" or summary.ci is None:
        return summary.text()
    low, high = max(0.0, summary.ci[0]), min(1.0, summary.ci[1])
    return f"{fmt(summary.mean)} (95% CI {fmt(low)} to {fmt(high)}, n={summary.n}; within [0, 1])"


def _q4_tables(m: Q4Measured) -> list[str]:
    s = m.rec.summary
    per_prompt = [
        [label] + [_measure_text(k, v[k]) for k in MEASURES] for label, v in m.stats.items()
    ]
    losses = ["train loss", "course's validation loss (first batch)", "validation loss (whole split)",
              "unigram entropy", "below it", "training incl. validation (s)", "training steps alone (s)"]  # fmt: skip
    numbers = [s["final_train_loss"], s["final_val_loss"], m.val_loss, m.entropy,
               m.entropy - m.val_loss, m.rec.train_seconds, s["train_step_seconds"]]  # fmt: skip
    return [
        markdown_table(["sample", "text", *MEASURES.values()], m.samples),
        markdown_table(["continuation", *MEASURES.values()], per_prompt),
        markdown_table(losses, [numbers]),
    ]


def q4(budget: Budget, out: Path) -> Answer:
    (seed,) = budget.seeds(1, default=SEED)
    run_dir = out.parent / "runs" / f"long-s{seed}"
    rec = budget.train(q4_run(budget).replace(seed=seed), run_dir, f"rnn-lm-long-s{seed}")
    model, tokenizer = rnn_lm.load_with_tokenizer(rec.checkpoint)  # final weights, as the table
    valid = torch.stack(stories.read_sequences(stories.default_paths()["valid"]))
    stats = sample_statistics(model, valid, 12, 16, 64, seed)
    best = {k: best_temperature(stats, k) for k in ("loss", "distinct")}
    same = best["loss"][0] == best["distinct"][0]
    label = (
        best["loss"][0]
        if same
        else f"{best['loss'][0]} (loss), {best['distinct'][0]} (distinct tokens)"
    )
    verdicts, claims = q4_claims(stats, label)
    m = Q4Measured(
        rec, seed, split_loss(model, valid), unigram_entropy(valid, tokenizer.get_vocab_size()),
        len(valid), shown_samples(model, tokenizer, seed), stats, best, label, claims,
    )  # fmt: skip
    real, t0 = stats["validation text"]["repeated 4-grams"], stats["T = 0"]["repeated 4-grams"]
    return Answer(
        text=_q4_text(budget, m),
        commands=[
            rec.command,
            *(
                f"neurallab generate --checkpoint {rec.checkpoint} --prompt '{text}' --temperature "
                f"0 0.3 0.8 --samples 3 --num_tokens 64 --seed {seed + i}"
                for i, text in enumerate((PROMPT, HANDOUT_PROMPT))
            ),
        ],
        tables=_q4_tables(m),
        metrics={
            "final_train_loss": rec.summary["final_train_loss"],
            "final_val_loss": m.val_loss,
            "unigram_entropy": m.entropy,
            "nats_below_unigram": m.entropy - m.val_loss,
            "passes": rec.summary.get("passes"),
            "sample_measures": {
                lbl: {k: summarize(v[k]).mean for k in MEASURES} for lbl, v in stats.items()
            },
        },
        verdicts=verdicts,
        key_result=(
            f"validation loss {fmt(m.val_loss, 3)} vs unigram entropy {fmt(m.entropy, 3)}; "
            f"T = 0 repeated 4-grams {fmt(statistics.fmean(t0))} vs real text "
            f"{fmt(statistics.fmean(real))}; closest to real text: {label}"
        ),
    )


# Planning estimates, used only where results/<budget> holds no measured answer yet.
# seconds_quick: the quiet quick run of 2026-11-30 (reproduce all --quick, 2 threads).
# seconds_full: training-step time per sequence measured on this 2-core machine (size
# 64/128/256/512 at batch 128: 3.58/4.73/6.82/13.3 ms; batch 32/64/256 at size 128:
# 3.28/3.60/4.41 ms) times the handout's sequences and 3 seeds, plus 15% for validation.
QUESTIONS = [
    Question("hw7", "§5 Q1", "Model size 64/128/256/512", q1, seconds_quick=113, seconds_full=4900),
    Question("hw7", "§5 Q2", "Batch size and wall time", q2, seconds_quick=50, seconds_full=1950),
    Question(
        "hw7", "§5 Q3", "Final losses vs num_sequences", q3, seconds_quick=62, seconds_full=1700
    ),
    Question(
        "hw7", "§5 Q4", "Long run; samples at 0, 0.3, 0.8", q4, seconds_quick=140, seconds_full=4200
    ),
]
