"""HW7 §5: the empirical questions on the RNN language model with self-attention.

Corpus: BBC News as 128-token sequences with a 1024-piece Unigram tokenizer (`bbc-lm`), in
place of the course's TinyStories subset (not installable offline); news is harder to model
than children's stories, so losses sit higher than the handout's.

Budgets. `--full` is the handout's: embed = hidden = dk = dv = batch = 128, 50,000 sequences,
Adam at the course's constant learning rate 1e-3; Q3 at 10k-100k sequences; Q4 250,000
sequences at size 512 with dk = dv = 256. `--quick` keeps every setting a question varies and
every setting the handout fixes (dk = dv = 128, batch 128, learning rate 1e-3) and trains on
fewer sequences, three seeds per compared arm. Its Q4 must still end with a model that writes
words (validation loss at least 1.5 nats/token below the unigram entropy), so it trains size
128 on 36,000 sequences in batches of 64 (twice the updates per sequence) at learning rate
3e-3: the cheapest of the settings tried that reach it (docs/rnn_lm.md). Precision: fp32 or
bf16 autocast, whichever trains faster on this machine, measured side by side before the runs
(the two reach the same loss; docs/rnn_lm.md).

Every sentence that states a direction is generated from a comparison over seeds
(`experiments.stats`); the mechanisms explained in prose are chosen by the measured direction.
"""

from __future__ import annotations

import functools
import json
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from neurallab.experiments.base import Answer, Budget, Question, markdown_table
from neurallab.experiments.stats import compare, fmt, ordered_readings, summarize
from neurallab.experiments.sweep import SweepResult, sweep
from neurallab.experiments.verdict import expect_direction, expect_threshold
from neurallab.report.plots import line_plot
from neurallab.tracking.run import Run, metric_series

SEED = 10601  # the course's seed, rnn-lm's default
# A prompt that fits the news corpus; the handout's "Once upon a time there was a" opens a
# children's story (TinyStories) and is sampled too, for comparison.
PROMPT = "The government said"
HANDOUT_PROMPT = "Once upon a time there was a"
TEMPERATURES = (0.0, 0.3, 0.8)
SIZES = (64, 128, 256, 512)
BATCHES = (32, 64, 128, 256)


@dataclass(frozen=True)
class Settings:
    """What one budget runs; every answer states it."""

    name: str
    sequences: int  # Q1 and Q2, per run
    q3_sequences: int  # Q3's longest budget; the shorter ones are read from the same run
    q4_sequences: int
    q4_size: int
    q4_keys: int  # Q4's dk = dv
    q4_lr: float
    q4_batch: int
    seeds: int
    lr: float = 1e-3  # the course's


QUICK = Settings(
    "--quick",
    sequences=768,
    q3_sequences=3_840,
    q4_sequences=36_000,
    q4_size=128,
    q4_keys=128,
    q4_lr=3e-3,
    q4_batch=64,
    seeds=3,
)
# The handout's budgets (Q3's 100k rounded up to whole batches of 128, see q3).
FULL = Settings(
    "the handout's budget",
    sequences=50_000,
    q3_sequences=102_400,
    q4_sequences=250_000,
    q4_size=512,
    q4_keys=256,
    q4_lr=1e-3,
    q4_batch=128,
    seeds=3,
)


def settings(budget: Budget) -> Settings:
    return QUICK if budget.quick else FULL


# ---------------------------------------------------------------------------------------------
# Precision: bf16 only where it is faster here.


@functools.cache
def precision_probe(device: str = "cpu") -> tuple[str, dict[str, float]]:
    """Time training steps of the size-128 model in fp32 and under bf16 autocast, alternating.

    Returns the faster precision and the median seconds per step of each (batch 16 of real
    sequences, two timed steps each after one warm-up). bf16 is chosen only if it is at
    least 10% faster: on CPUs without bf16 matrix instructions it is several times slower.
    """
    from neurallab.data import stories
    from neurallab.models.rnn_lm_fast import FastRNNLanguageModel

    tokens = torch.tensor(json.loads(stories.default_paths()["train"].read_text())[:16])
    tokens = tokens.to(device)
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    models = {}
    for name in times:
        torch.manual_seed(0)
        model = FastRNNLanguageModel(128, 128, 1024, 128, 128).to(device)
        models[name] = (model, torch.optim.Adam(model.parameters(), lr=1e-3))
    for repeat in range(3):
        for name, (model, optimizer) in models.items():
            started = time.perf_counter()
            with torch.autocast(torch.device(device).type, torch.bfloat16, enabled=name == "bf16"):
                logits, _, _ = model(tokens)
                loss = torch.nn.functional.cross_entropy(
                    logits[:, :-1].reshape(-1, logits.shape[-1]).float(), tokens[:, 1:].reshape(-1)
                )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if repeat > 0:  # the first step of each warms up kernels and allocations
                times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(ts) for name, ts in times.items()}
    return ("bf16" if medians["bf16"] < 0.9 * medians["fp32"] else "fp32"), medians


def _precision_note(budget: Budget) -> str:
    chosen, medians = precision_probe(budget.device)
    return (
        f"Precision {chosen}: a training step of batch 16 took {fmt(medians['fp32'])} s in fp32 "
        f"and {fmt(medians['bf16'])} s under bf16 autocast, measured side by side "
        f"(PyTorch CPU capability: {torch.backends.cpu.get_cpu_capability()})."
    )


# ---------------------------------------------------------------------------------------------
# Runs and what is read from them.


def _arm(size: int, batch: int) -> str:
    # One name for one setting, so Q1's size-128 and Q2's batch-128 arms are the same runs.
    return f"size {size}, batch {batch}"


def _argv(
    budget: Budget,
    sequences: int,
    size: int = 128,
    batch: int = 128,
    keys: int = 128,
    lr: float | None = None,
) -> list[str]:
    s = settings(budget)
    return [
        "rnn-lm",
        "--num_sequences", str(sequences),
        "--embed_dim", str(size), "--hidden_dim", str(size),
        "--dk", str(keys), "--dv", str(keys),
        "--batch_size", str(batch),
        "--lr", f"{lr or s.lr:g}",
        "--precision", precision_probe(budget.device)[0],
    ]  # fmt: skip


def _runs_folder(out: Path) -> Path:
    return out.parent / "runs"  # shared by the §5 questions: identical runs are reused


def time_per_sequence(summary: dict[str, Any]) -> float:
    """Training-step seconds per sequence (validation and checkpoints excluded), in ms."""
    batch = json.loads((Path(summary["run_dir"]) / "config.json").read_text())["batch_size"]
    return 1000 * summary["train_step_seconds"] / (summary["steps_timed"] * batch)


def loss_jitter(summary: dict[str, Any]) -> float:
    """How jumpy training is: the standard deviation of the step-to-step changes of the batch
    loss (their mean, the downward trend, is subtracted by the standard deviation)."""
    _, losses = metric_series(Path(summary["run_dir"]) / "metrics.csv", "train/batch_loss")
    changes = [b - a for a, b in zip(losses, losses[1:], strict=False)]
    return statistics.stdev(changes) if len(changes) > 1 else float("nan")


def _mean_curves(res: SweepResult, arm: str) -> tuple[list[int], list[float], list[float]]:
    """Sequences seen, and training / validation loss averaged over the seeds of one arm."""
    curves = [res.runs[arm][seed]["curve"] for seed in res.seeds]
    seen = curves[0]["sequences"]
    train = [statistics.fmean(c["train_loss"][i] for c in curves) for i in range(len(seen))]
    val = [statistics.fmean(c["val_loss"][i] for c in curves) for i in range(len(seen))]
    return seen, train, val


def _loss_plots(out: Path, q: str, train: dict, val: dict, xlabel: str) -> list[Path]:
    run = Run(out)
    return [
        run.save_figure(
            line_plot(series, f"HW7 {q}: {kind} loss", xlabel, "cross-entropy (nats/token)"),
            f"{kind}_loss.png",
        )
        for kind, series in (("training", train), ("validation", val))
    ]


def _budget_note(budget: Budget, handout: str) -> str:
    s = settings(budget)
    if not budget.quick:
        return f"the handout's budget ({handout}), learning rate {s.lr:g}"
    return f"--quick budget (the handout: {handout}), learning rate {s.lr:g}"


# ---------------------------------------------------------------------------------------------
# Q1: model size.


def q1(budget: Budget, out: Path) -> Answer:
    s = settings(budget)
    seeds = budget.seeds(s.seeds, default=SEED)
    arms = {_arm(size, 128): _argv(budget, s.sequences, size=size) for size in SIZES}
    res = sweep(budget, arms, seeds, _runs_folder(out))
    names = list(arms)
    val_steps, val_sentence = ordered_readings(
        [(n, res.values(n, "final_val_loss")) for n in names], "final validation loss", True
    )
    _, time_sentence = ordered_readings(
        [(n, res.values(n, time_per_sequence)) for n in names], "ms per sequence"
    )
    overall = val_steps[-1]  # largest minus smallest
    start = math.log(1024)  # the loss of uniform guessing over the vocabulary
    spiked = [
        str(size)
        for size, n in zip(SIZES, names, strict=True)
        if max(res.values(n, lambda x: max(x["curve"]["val_loss"]))) > start
    ]
    spikes = (
        f"The validation loss rose above its starting value ln 1024 = {start:.2f} in some run of "
        f"size {', '.join(spiked)} (peak column): the ReLU recurrence has no bound on h_t, and "
        "clipping the gradient norm at 1 limits a bad step but does not prevent it."
        if spiked
        else f"No run's validation loss rose above its starting value ln 1024 = {start:.2f}."
    )
    train_series, val_series = {}, {}
    for size, name in zip(SIZES, names, strict=True):
        seen, train, val = _mean_curves(res, name)
        label = f"embed_dim = hidden_dim = {size}"
        train_series[label], val_series[label] = (seen, train), (seen, val)
    parameters = [
        [size, f"{res.runs[n][seeds[0]]['parameters']:,}"]
        for size, n in zip(SIZES, names, strict=True)
    ]
    verdict = expect_direction(
        "Larger models reach lower loss given enough data (sizes 64 to 512, dk = dv = 128).",
        overall,
        expected=-1,
        reason=f"{s.sequences:,} sequences per run"
        + (" at --quick, far from 'enough data'" if budget.quick else ""),
    )
    return Answer(
        text=(
            f"embed_dim = hidden_dim in 64/128/256/512 with dk = dv = 128 and batch 128, "
            f"{s.sequences:,} sequences per run, {len(seeds)} seeds per size; "
            f"{_budget_note(budget, '50,000 sequences')}. {_precision_note(budget)} "
            f"Plots: the mean over seeds.\n\n**Final validation loss by size.** {val_sentence}"
            f"\n\n**Cost.** {time_sentence}\n\nThe validation loss is the course's: one batch "
            f"of 128 validation sequences. {spikes}"
        ),
        commands=res.commands,
        tables=[
            res.table(
                [
                    ("final val loss", "final_val_loss"),
                    ("final train loss", "final_train_loss"),
                    ("peak val loss", lambda x: max(x["curve"]["val_loss"])),
                    ("ms per sequence", time_per_sequence),
                ],
                arm_header="model",
            ),
            markdown_table(["embed = hidden", "parameters"], parameters),
        ],
        images=_loss_plots(out, "§5 Q1", train_series, val_series, "sequences seen"),
        metrics={
            f"val_loss_size{size}": res.summary(n, "final_val_loss").mean
            for size, n in zip(SIZES, names, strict=True)
        },
        verdicts=[verdict],
        key_result=(
            f"validation loss, size 512 minus 64: {fmt(overall.diff)} ({overall.interval_text()})"
        ),
    )


# ---------------------------------------------------------------------------------------------
# Q2: batch size.


def fill_in(speed: int, loss: int, jitter: int) -> tuple[str, str, str]:
    """Q2(c)'s three blanks from the directions of batch 256 minus batch 32 (+1, -1, 0) of
    time per sequence, validation loss and loss jitter; 0 (not resolved) says so."""
    unresolved = "no difference resolved at this budget"
    return (
        {-1: "faster", 1: "slower", 0: unresolved}[speed],
        {-1: "an increase", 1: "a decrease", 0: unresolved}[loss],
        {-1: "more", 1: "less", 0: unresolved}[jitter],
    )


def why_speed(speed: int, step_ratio: float, batch_ratio: int, threads: int) -> str:
    """The mechanism behind the measured speed direction (chosen by it, never fixed)."""
    grew = (
        f"a step of batch 256 took {step_ratio:.1f}x as long as one of batch 32 "
        f"({batch_ratio}x the sequences; PyTorch used {threads} CPU thread"
        + ("s)" if threads > 1 else ")")
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
    s = settings(budget)
    seeds = budget.seeds(s.seeds, default=SEED)
    arms = {_arm(128, batch): _argv(budget, s.sequences, batch=batch) for batch in BATCHES}
    res = sweep(budget, arms, seeds, _runs_folder(out))
    small, large = _arm(128, BATCHES[0]), _arm(128, BATCHES[-1])
    speed = compare(
        large, res.values(large, time_per_sequence), small, res.values(small, time_per_sequence),
        "training-step ms per sequence",
    )  # fmt: skip
    loss = res.compare(large, small, "final_val_loss", "final validation loss")
    jitter_values = {arm: res.values(arm, loss_jitter) for arm in (large, small)}
    measurable = all(math.isfinite(v) for values in jitter_values.values() for v in values)
    jitter = compare(
        large, jitter_values[large], small, jitter_values[small], "batch-loss jitter", paired=True
    )
    step_ratio = (
        res.summary(large, "median_step_seconds").mean
        / res.summary(small, "median_step_seconds").mean
    )
    faster, performance, stable = fill_in(
        speed.direction, loss.direction, jitter.direction if measurable else 0
    )
    jitter_reading = (
        jitter.reading()
        if measurable
        else "not measurable at this budget (a run needs at least three steps)."
    )
    train_series, val_series = {}, {}
    for batch in BATCHES:
        seen, train, val = _mean_curves(res, _arm(128, batch))
        train_series[f"batch_size = {batch}"] = (seen, train)
        val_series[f"batch_size = {batch}"] = (seen, val)
    verdict = expect_direction(
        "Larger batches train faster (the handout's T4 times: 482 s at batch 32, 100 s at 256; "
        "a GPU expectation).",
        speed,
        expected=-1,
        reason="2-core CPU, time of the training steps alone",
        higher="slower",
        lower="faster",
    )
    return Answer(
        text=(
            f"Size 128, dk = dv = 128, batch 32/64/128/256, {s.sequences:,} sequences per run, "
            f"{len(seeds)} seeds per batch size; {_budget_note(budget, '50,000 sequences')}. "
            f"{_precision_note(budget)} Times are of the training steps alone (forward, "
            "backward, clipping, update; validation and checkpoints excluded), summed over every "
            "step of each run; each seed is a repeat.\n\n"
            f"**(b)** Table: training-step time per run, per step and per sequence.\n\n"
            f"**(c)** Measured here (batch 256 against 32): increasing the batch size leads to "
            f"**{faster}** training, **{performance}** in performance after the same number of "
            f"sequences, and **{stable}** stable training.\n\n"
            f"- Speed: {speed.reading('slower', 'faster')}\n"
            f"- Performance: {loss.reading()}\n"
            f"- Stability (standard deviation of step-to-step changes of the batch loss): "
            f"{jitter_reading}\n\n"
            + why_speed(
                speed.direction, step_ratio, BATCHES[-1] // BATCHES[0], torch.get_num_threads()
            )
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
        images=_loss_plots(out, "§5 Q2", train_series, val_series, "sequences seen"),
        metrics={
            f"ms_per_sequence_batch{b}": res.summary(_arm(128, b), time_per_sequence).mean
            for b in BATCHES
        },
        verdicts=[verdict],
        key_result=f"batch 256 vs 32: {faster}, {performance} in performance, {stable} stable",
    )


# ---------------------------------------------------------------------------------------------
# Q3: number of sequences.


def losses_at(summary: dict[str, Any], sequences: int, batch: int = 128) -> tuple[float, float]:
    """(final training loss, final validation loss) that a run stopping at `sequences` reports.

    The validation loss is the run's validation at that point. The course's final training
    loss is the mean batch loss over the last tenth of a run (max(1, 0.1 n // batch) steps);
    it is recomputed from the logged batch losses.
    """
    curve = summary["curve"]
    if sequences not in curve["sequences"]:
        raise ValueError(f"the run was not validated at {sequences} sequences")
    val = curve["val_loss"][curve["sequences"].index(sequences)]
    seen, losses = metric_series(Path(summary["run_dir"]) / "metrics.csv", "train/batch_loss")
    last = max(1, int(sequences * 0.1) // batch)
    end = seen.index(sequences) + 1
    return statistics.fmean(losses[end - last : end]), val


# Q3 reads its four budgets at these validations (1st, 2nd, 5th, 10th) of a run validated every
# tenth of its length: the handout's 1:2:5:10.
Q3_VALIDATIONS = (1, 2, 5, 10)


def separate_run_check(
    folder: Path, argv: list[str], seeds: list[int], per_budget: dict[int, list]
) -> str:
    """Compare Q3's readings with separate runs of the same settings that ended at one of its
    budgets (Q1's and Q2's size-128, batch-128 runs, when this reproduce made them)."""
    from neurallab.experiments.sweep import run_slug

    found = []
    for seed in seeds:
        summary_path = folder / f"{run_slug(_arm(128, 128))}-s{seed}" / "summary.json"
        if not summary_path.exists():
            return ""
        summary = json.loads(summary_path.read_text())
        command = summary.get("command", "")
        # The same flags apart from the budget and the validation cadence.
        same = all(
            f" {flag} {value}" in command
            for flag, value in zip(argv[3::2], argv[4::2], strict=True)
        )
        n = summary.get("samples")
        if not same or n not in per_budget or "final_val_loss" not in summary:
            return ""
        found.append((n, summary["final_val_loss"], per_budget[n][seeds.index(seed)][1]))
    gap = max(abs(separate - read) for _, separate, read in found)
    return (
        f" Check against separate runs: the {found[0][0]:,}-sequence runs of Q1 and Q2 (same "
        f"seeds and settings) end at validation losses "
        f"{', '.join(fmt(x) for _, x, _ in found)}; read here at {found[0][0]:,} sequences: "
        f"{', '.join(fmt(y) for _, _, y in found)} (largest difference {gap:.1e})."
    )


def q3(budget: Budget, out: Path) -> Answer:
    s = settings(budget)
    seeds = budget.seeds(s.seeds, default=SEED)
    longest = s.q3_sequences
    name = f"size 128, batch 128, {longest:,} sequences"
    every = longest // 10 // 128  # steps: a validation every tenth of the run
    argv = _argv(budget, longest) + ["--eval_every", str(every)]
    res = sweep(budget, {name: argv}, seeds, _runs_folder(out))
    # Sequences seen at those validations (whole batches, so multiples of 128 until the first
    # pass over the data ends with a partial batch): the same for every seed.
    seen = res.runs[name][seeds[0]]["curve"]["sequences"]
    budgets = [seen[i - 1] for i in Q3_VALIDATIONS]
    per_budget = {n: [losses_at(res.runs[name][seed], n) for seed in seeds] for n in budgets}
    val = [(f"{n:,} sequences", [v for _, v in per_budget[n]]) for n in budgets]
    train = [(f"{n:,} sequences", [t for t, _ in per_budget[n]]) for n in budgets]
    val_steps, val_sentence = ordered_readings(val, "final validation loss", paired=True)
    _, train_sentence = ordered_readings(train, "final training loss", paired=True)
    rows = []
    for n in budgets:
        t, v = summarize([x for x, _ in per_budget[n]]), summarize([y for _, y in per_budget[n]])
        rows.append([f"{n:,}", t.text(), v.text(), ", ".join(fmt(y) for _, y in per_budget[n])])
    xs = list(budgets)
    train_plot = {
        f"seed {seed}": (xs, [per_budget[n][i][0] for n in budgets]) for i, seed in enumerate(seeds)
    }
    val_plot = {
        f"seed {seed}": (xs, [per_budget[n][i][1] for n in budgets]) for i, seed in enumerate(seeds)
    }
    train_plot["mean"] = (xs, [statistics.fmean(t for t, _ in per_budget[n]) for n in budgets])
    val_plot["mean"] = (xs, [statistics.fmean(v for _, v in per_budget[n]) for n in budgets])
    verdict = expect_direction(
        "The loss falls as the number of training sequences grows (10k to 100k).",
        val_steps[-1],
        expected=-1,
        reason=f"{budgets[0]:,} to {budgets[-1]:,} sequences"
        + (" at --quick" if budget.quick else ""),
    )
    handout = "10,000 / 20,000 / 50,000 / 100,000 sequences"
    return Answer(
        text=(
            f"num_sequences {', '.join(f'{n:,}' for n in budgets)} (the handout's 1:2:5:10), "
            f"size 128, batch 128, {len(seeds)} seeds; {_budget_note(budget, handout)}. "
            + f"{_precision_note(budget)}\n\nHow the four budgets are run: one run per seed of "
            f"{longest:,} sequences, validated every {every} steps ({every * 128:,} sequences) "
            "and read at its 1st, 2nd, 5th and 10th validation (a budget ends where a step "
            "ends; after a pass over the 12,850 training sequences, whose last batch is "
            "partial, the numbers are no longer round). The learning rate "
            "is constant, the data order depends only on the seed and the epoch, and validation "
            "changes neither the weights nor any random state, so after n sequences this run "
            "is in exactly the state of a separate n-sequence run of the same seed, and its "
            "validation there is that run's final validation loss "
            "(`tests/test_answers_hw7.py` checks this on small runs). The final training loss "
            "of an n-sequence run (the course's mean over its last tenth) is recomputed from "
            "the logged batch losses."
            + separate_run_check(_runs_folder(out), _argv(budget, longest), seeds, per_budget)
            + "\n\n"
            f"**Validation.** {val_sentence}\n\n**Training.** {train_sentence}"
        ),
        commands=res.commands,
        tables=[
            markdown_table(
                ["num_sequences", "final train loss", "final val loss", "val loss per seed"], rows
            )
        ],
        images=_loss_plots(out, "§5 Q3", train_plot, val_plot, "num_sequences"),
        metrics={f"val_loss_n{n}": summarize([v for _, v in per_budget[n]]).mean for n in budgets},
        verdicts=[verdict],
        key_result=(
            f"validation loss, {budgets[-1]:,} minus {budgets[0]:,} sequences: "
            f"{fmt(val_steps[-1].diff)} ({val_steps[-1].interval_text()})"
        ),
    )


# ---------------------------------------------------------------------------------------------
# Q4: the long run and its samples.


def unigram_entropy(sequences: torch.Tensor, vocab: int) -> float:
    """Entropy (nats/token) of the token frequencies of the predicted positions (all but the
    first of each sequence): the loss of the best model that ignores context."""
    counts = torch.bincount(sequences[:, 1:].reshape(-1), minlength=vocab).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())


def distinct_fraction(tokens: list[int]) -> float:
    """Distinct tokens / tokens (1 = no token repeats)."""
    return len(set(tokens)) / len(tokens)


def repeated_ngrams(tokens: list[int], n: int = 4) -> float:
    """Fraction of the n-grams of a text that already occurred earlier in it (loops -> 1)."""
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    seen, repeats = set(), 0
    for g in grams:
        repeats += g in seen
        seen.add(g)
    return repeats / max(1, len(grams))


def continuation_loss(model, prompt: torch.Tensor, continuation: torch.Tensor) -> float:
    """Mean cross-entropy (nats/token) of the continuation's tokens under the model."""
    tokens = torch.cat([prompt, continuation]).unsqueeze(0)
    with torch.no_grad():
        logits, _, _ = model(tokens)
    start = len(prompt) - 1  # the logits at position t predict token t + 1
    return float(
        torch.nn.functional.cross_entropy(logits[0, start:-1].float(), tokens[0, start + 1 :])
    )


MEASURES = {
    "distinct": "distinct-token fraction",
    "repeated 4-grams": "repeated 4-gram fraction",
    "loss": "per-token loss under the model",
}


def sample_statistics(
    model, valid: torch.Tensor, prompts: int, prompt_len: int, length: int, seed: int
) -> dict[str, dict[str, list[float]]]:
    """Per temperature (and for the real text), per prompt: distinct-token fraction, repeated
    4-grams and per-token loss under the model of `length` new tokens after the first
    `prompt_len` tokens of `prompts` validation sequences spread over the split."""
    rows = torch.linspace(0, len(valid) - 1, prompts).long()
    stats: dict[str, dict[str, list[float]]] = {}
    for label in ["validation text", *[f"T = {t:g}" for t in TEMPERATURES]]:
        stats[label] = {"distinct": [], "repeated 4-grams": [], "loss": []}
    for i, row in enumerate(rows.tolist()):
        prompt = valid[row, :prompt_len]
        texts = {"validation text": valid[row, prompt_len : prompt_len + length]}
        for t in TEMPERATURES:
            torch.manual_seed(seed + i)
            texts[f"T = {t:g}"] = model.generate(prompt.unsqueeze(0), length, t)
        for label, continuation in texts.items():
            ids = continuation.tolist()
            stats[label]["distinct"].append(distinct_fraction(ids))
            stats[label]["repeated 4-grams"].append(repeated_ngrams(ids))
            stats[label]["loss"].append(continuation_loss(model, prompt, continuation))
    return stats


def best_temperature(stats: dict[str, dict[str, list[float]]], measure: str):
    """The temperature whose samples are closest to the real continuations on `measure`
    (mean absolute gap per prompt), and the comparison of its gaps with the runner-up's."""
    real = stats["validation text"][measure]
    gaps = {
        label: [abs(a - b) for a, b in zip(values[measure], real, strict=True)]
        for label, values in stats.items()
        if label != "validation text"
    }
    ranked = sorted(gaps, key=lambda label: statistics.fmean(gaps[label]))
    best, runner_up = ranked[0], ranked[1]
    gap_name = f"gap to real text in {MEASURES[measure]}"
    return best, compare(
        best, gaps[best], runner_up, gaps[runner_up], gap_name, paired=True, unit="prompts"
    )


def split_loss(model, sequences: torch.Tensor, batch: int = 128) -> float:
    """Mean next-token cross-entropy (nats/token) over every predicted token of a split."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(sequences), batch):
            tokens = sequences[i : i + batch]
            logits, _, _ = model(tokens)
            targets = tokens[:, 1:].reshape(-1)
            total += float(
                torch.nn.functional.cross_entropy(
                    logits[:, :-1].reshape(-1, logits.shape[-1]).float(), targets, reduction="sum"
                )
            )
            count += len(targets)
    return total / count


def q4(budget: Budget, out: Path) -> Answer:
    from neurallab.data import stories
    from neurallab.engine.generation import generate_samples
    from neurallab.engine.generation import load_language_model as load_model

    s = settings(budget)
    (seed,) = budget.seeds(1, default=SEED)
    argv = _argv(
        budget, s.q4_sequences, size=s.q4_size, batch=s.q4_batch, keys=s.q4_keys, lr=s.q4_lr
    )
    argv += [
        "--seed",
        str(seed),
        "--run_name",
        f"rnn-lm-long-s{seed}",
    ]
    run_dir = _runs_folder(out) / f"long-s{seed}"
    summary = budget.run(argv, run_dir)
    # The final weights (last.pt), as the handout's table reports the run's final losses.
    model, tokenizer = load_model(run_dir / "last.pt")
    valid = torch.stack(stories.read_sequences(stories.default_paths()["valid"]))
    entropy = unigram_entropy(valid, tokenizer.get_vocab_size())
    val_loss = split_loss(model, valid)

    samples = {
        prompt: generate_samples(
            model, tokenizer, prompt, list(TEMPERATURES), 64, 3, None, seed + i
        )
        for i, prompt in enumerate((PROMPT, HANDOUT_PROMPT))
    }
    (out / "samples.json").write_text(
        json.dumps({p: {str(t): v for t, v in d.items()} for p, d in samples.items()}, indent=1)
    )
    lines = [
        f"- `{prompt}`, T = {t:g}, sample {i}: {' '.join(text.split())}"
        for prompt, by_t in samples.items()
        for t, texts in by_t.items()
        for i, text in enumerate(texts, start=1)
    ]

    n_prompts = 12
    stats = sample_statistics(model, valid, n_prompts, 16, 64, seed)
    labels = [f"T = {t:g}" for t in TEMPERATURES]
    trend = {
        measure: ordered_readings(
            [(lbl, stats[lbl][measure]) for lbl in labels], what, paired=True, unit="prompts"
        )
        for measure, what in MEASURES.items()
    }
    best = {m: best_temperature(stats, m) for m in ("loss", "distinct")}
    if best["loss"][0] == best["distinct"][0]:
        best_sentence = (
            f"By mean gap, **{best['loss'][0]}** is closest to real text on both measures."
        )
    else:
        best_sentence = (
            "By mean gap the two measures pick different temperatures "
            f"({best['loss'][0]} on per-token "
            f"loss, {best['distinct'][0]} on distinct tokens)."
        )
    stat_rows = [
        [label] + [summarize(values[m]).text() for m in ("distinct", "repeated 4-grams", "loss")]
        for label, values in stats.items()
    ]
    distinct_hi = compare(
        labels[-1], stats[labels[-1]]["distinct"], labels[0], stats[labels[0]]["distinct"],
        "distinct-token fraction", paired=True, unit="prompts",
    )  # fmt: skip
    repeats_hi = compare(
        labels[0], stats[labels[0]]["repeated 4-grams"], labels[-1],
        stats[labels[-1]]["repeated 4-grams"], "repeated 4-gram fraction", paired=True, unit="prompts",
    )  # fmt: skip
    target = entropy - 1.5
    verdicts = [
        expect_threshold(
            "A trained model whose samples are made of words: validation loss at least 1.5 "
            f"nats/token below the unigram entropy ({fmt(entropy, 4)} - 1.5 = {fmt(target, 4)}; "
            "issue 13's bar for the handout's 'compelling' samples).",
            summarize([val_loss]),
            target,
            below=True,
            what="whole-split validation loss",
        ),
        expect_direction(
            "Temperature 0 repeats; higher temperatures vary more.",
            distinct_hi,
            expected=+1,
            higher="more varied",
            lower="less varied",
        ),
        expect_direction(
            "Temperature 0 repeats (loops).",
            repeats_hi,
            expected=+1,
            higher="more repetitive",
            lower="less repetitive",
        ),  # fmt: skip
    ]
    size_note = f"size {s.q4_size}, dk = dv = {s.q4_keys}"
    handout = "250,000 sequences, batch 128, size 512, dk = dv = 256, learning rate 1e-3"
    handout_note = (
        "the handout's budget" if not budget.quick else f"--quick budget (the handout: {handout})"
    )
    return Answer(
        text=(
            f"**(a)** {s.q4_sequences:,} sequences, batch {s.q4_batch}, {size_note}, seed "
            f"{seed}, constant learning rate {s.q4_lr:g}; {handout_note}. "
            f"{_precision_note(budget)} The final weights score "
            f"**{fmt(val_loss, 4)}** nats/token over the whole validation split "
            f"({len(valid):,} sequences), whose unigram entropy (the loss of the best model "
            f"that ignores context) is **{fmt(entropy, 4)}**: {fmt(abs(entropy - val_loss), 3)} "
            f"nats/token {'below' if val_loss < entropy else 'above'} it. The course's "
            f"validation loss (its first batch of {s.q4_batch} sequences) is "
            f"{fmt(summary['final_val_loss'], 4)}.\n\n"
            "**(b)** 64 new tokens for the corpus-fitting prompt "
            f'"{PROMPT}" and for the handout\'s "{HANDOUT_PROMPT}" (which does not fit news '
            "text); temperature 0 is greedy, so it is shown once:\n\n"
            + "\n".join(lines)
            + "\n\n**(c)** Measured on 64-token continuations of the first 16 tokens of "
            f"{n_prompts} validation sequences (one continuation per prompt and temperature, "
            "the same prompts for each; the real continuations as reference), second table; in "
            "these comparisons the pairs are the prompts, not seeds. "
            "As the temperature rises:\n\n"
            + "".join(f"- {MEASURES[m]}: {trend[m][1]}\n" for m in MEASURES)
            + "\nWhich is best: a good sample reads like real text, so the "
            "best temperature is the one whose samples are closest to the real continuations, "
            "on how surprising they are to the model (per-token loss: a loop is far too "
            "predictable, noise far too surprising) and on how varied they are. "
            f"{best_sentence} Closest on per-token loss: "
            f"{best['loss'][1].reading('further', 'closer')} "
            f"Closest on distinct tokens: {best['distinct'][1].reading('further', 'closer')}"
        ),
        commands=[
            summary["command"],
            f"neurallab generate --checkpoint {run_dir / 'last.pt'} --prompt '{PROMPT}' "
            "--temperature 0 0.3 0.8 --samples 3 --num_tokens 64",
        ],
        tables=[
            markdown_table(
                [
                    "train loss",
                    "course's validation loss (first batch)",
                    "validation loss (whole split)",
                    "unigram entropy",
                    "below it",
                    "training incl. validation (s)",
                    "training steps alone (s)",
                ],
                [
                    [
                        summary["final_train_loss"],
                        summary["final_val_loss"],
                        val_loss,
                        entropy,
                        entropy - val_loss,
                        summary["train_seconds"],
                        summary["train_step_seconds"],
                    ]
                ],
            ),
            markdown_table(
                ["continuation", "distinct-token fraction", "repeated 4-grams", "per-token loss"],
                stat_rows,
            ),
        ],
        metrics={
            "final_train_loss": summary["final_train_loss"],
            "final_val_loss": val_loss,
            "unigram_entropy": entropy,
            "nats_below_unigram": entropy - val_loss,
        },
        verdicts=verdicts,
        key_result=(
            f"validation loss {fmt(val_loss, 3)} vs unigram entropy {fmt(entropy, 3)} "
            f"({fmt(entropy - val_loss, 2)} below); closest to real text: {best['loss'][0]} "
            "(per-token loss)"
        ),
    )


# Planning estimates, used only where results/<budget> holds no measured answer yet.
# seconds_quick: the quiet quick run of 2026-11-30 (reproduce all --quick, 2 threads).
# seconds_full: the training-step time per sequence measured by that run's Q1/Q2 tables on this
# 2-core machine (size 64/128/256/512 at batch 128: 3.58/4.73/6.82/13.3 ms; batch 32/64/256 at
# size 128: 3.28/3.60/4.41 ms) times the handout's sequences and 3 seeds, plus 15% for
# validation: Q1 3 x 50,000 x 28.4 ms; Q2 the batch-32/64/256 runs (batch 128 is Q1's);
# Q3 3 x 102,400 x 4.73 ms; Q4 250,000 x ~14.6 ms (size 512 with dk = dv = 256).
QUESTIONS = [
    Question("hw7", "§5 Q1", "Model size 64/128/256/512", q1, seconds_quick=113, seconds_full=4900),
    Question("hw7", "§5 Q2", "Batch size and wall time", q2, seconds_quick=50, seconds_full=1950),
    Question(
        "hw7", "§5 Q3", "Final losses vs num_sequences", q3, seconds_quick=62, seconds_full=1700
    ),
    Question(
        "hw7",
        "§5 Q4",
        "Long run; samples at 0, 0.3, 0.8",
        q4,
        seconds_quick=140,
        seconds_full=4200,
    ),
]
