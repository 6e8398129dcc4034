"""HW7 §5: the empirical questions on the RNN language model with self-attention.

Corpus: BBC News as 128-token sequences with a 1024-piece Unigram tokenizer (`bbc-lm`), in
place of the course's TinyStories subset (not installable offline). The handout's settings
(embed = hidden = dk = dv = batch = 128, 50,000 sequences) are the full budget; `--quick`
shrinks only the number of sequences (and Q4's model size) so all four questions fit about
200 s on a quiet 2-core CPU, and every answer says which budget it used.
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

from neurallab.experiments.base import Answer, Budget, Question, markdown_table, run_command
from neurallab.report.plots import line_plot
from neurallab.tracking.run import Run

# A prompt that fits the news corpus; the handout's "Once upon a time there was a" is the
# opening of a children's story (TinyStories) and is also sampled in Q4 for comparison.
PROMPT = "The government said"
HANDOUT_PROMPT = "Once upon a time there was a"
TEMPERATURES = (0.0, 0.3, 0.8)


def _lm(out: Path, name: str, num_sequences: int, *flags: str) -> dict:
    return run_command(["rnn-lm", "--num_sequences", str(num_sequences), *flags], out / name)


def _curve(s: dict) -> tuple[list[int], list[float], list[float]]:
    """(sequences seen, train loss, validation loss) at each of the run's evaluations."""
    c = s["curve"]
    return c["sequences"], c["train_loss"], c["val_loss"]


def _two_plots(out: Path, q: str, train: dict, val: dict, xlabel: str) -> list[Path]:
    run = Run(out)
    return [
        run.save_figure(
            line_plot(series, f"HW7 {q}: {kind} loss", xlabel, "cross-entropy (nats/token)"),
            f"{kind}_loss.png",
        )
        for kind, series in (("training", train), ("validation", val))
    ]


def _budget_note(quick: bool, handout: str) -> str:
    return f" (--quick budget; the handout uses {handout})" if quick else " (the handout's budget)"


def q1(budget: Budget, out: Path) -> Answer:
    n = 1_280 if budget.quick else 50_000
    rows, train_series, val_series, commands = [], {}, {}, []
    for size in (64, 128, 256, 512):
        dims = [f"--{f}={size}" for f in ("embed_dim", "hidden_dim", "dk", "dv")]
        s = _lm(out, f"size{size}", n, *dims)
        seen, train, val = _curve(s)
        label = f"embed_dim = hidden_dim = {size}"
        train_series[label], val_series[label] = (seen, train), (seen, val)
        commands.append(s["command"])
        rows.append(
            [size, f"{s['parameters']:,}", train[-1], val[-1], max(val), s["train_seconds"]]
        )
    best = min(rows, key=lambda r: r[3])[0]
    ordered = all(b[3] < a[3] for a, b in zip(rows, rows[1:], strict=False))
    return Answer(
        text=(
            f"embed = hidden = dk = dv in 64/128/256/512, batch 128, {n:,} sequences"
            + _budget_note(budget.quick, "50,000")
            + f". Lowest final validation loss: size {best}; "
            + (
                "the loss falls with every doubling of the size. "
                if ordered
                else "the loss does not fall with every doubling (table): the validation loss "
                "is one batch of 128 sequences and the budget is short. "
            )
            + "Peak validation losses well above the start (ln 1024 = 6.93) are spikes: the "
            "ReLU recurrence has no bound on h_t, and clipping the gradient norm at 1 limits "
            "but does not prevent a bad step; larger models spike more. A larger model costs "
            "more time per sequence (last column)."
        ),
        commands=commands,
        tables=[
            markdown_table(
                [
                    "size",
                    "parameters",
                    "final train loss",
                    "final val loss",
                    "peak val loss",
                    "train s",
                ],
                rows,
            )
        ],
        images=_two_plots(out, "§5 Q1", train_series, val_series, "sequences seen"),
        metrics={f"val_loss_size{r[0]}": r[3] for r in rows},
    )


def _batch_loss_noise(folder: Path) -> float:
    """Standard deviation of successive changes of the per-batch training loss (metrics.csv):
    how jumpy training is, independent of the downward trend."""
    with (folder / "metrics.csv").open() as f:
        losses = [float(r["value"]) for r in csv.DictReader(f) if r["key"] == "train/batch_loss"]
    steps = [b - a for a, b in zip(losses, losses[1:], strict=False)]
    return statistics.pstdev(steps) if len(steps) > 1 else float("nan")


def q2(budget: Budget, out: Path) -> Answer:
    n = 1_024 if budget.quick else 50_000
    rows, train_series, val_series, commands = [], {}, {}, []
    for batch in (32, 64, 128, 256):
        s = _lm(out, f"batch{batch}", n, "--batch_size", str(batch))
        seen, train, val = _curve(s)
        train_series[f"batch_size = {batch}"] = (seen, train)
        val_series[f"batch_size = {batch}"] = (seen, val)
        commands.append(s["command"])
        noise = _batch_loss_noise(out / f"batch{batch}")
        rows.append([batch, s["train_seconds"], s["steps"], train[-1], val[-1], noise])
    faster = rows[-1][1] < rows[0][1]
    worse = rows[-1][4] > rows[0][4]
    steadier = rows[-1][5] < rows[0][5]
    return Answer(
        text=(
            f"Size 128, {n:,} sequences per run" + _budget_note(budget.quick, "50,000") + ". "
            f"(b) Total training time per batch size: table. (c) Measured here: increasing the "
            f"batch size leads to **{'faster' if faster else 'slower'}** training (fewer, larger "
            f"matrix products), **{'a decrease' if worse else 'an increase'}** in performance "
            "after the same number of sequences (fewer optimizer steps), and "
            f"**{'more' if steadier else 'less'}** stable training (the spread of step-to-step "
            "changes of the batch loss, last column, is "
            f"{'smaller' if steadier else 'larger'} for batch 256 than for 32; with few steps "
            "(steps column) this spread is itself a rough estimate)."
        ),
        commands=commands,
        tables=[
            markdown_table(
                [
                    "batch size",
                    "time (s)",
                    "steps",
                    "final train loss",
                    "final val loss",
                    "loss jitter",
                ],
                rows,
            )
        ],
        images=_two_plots(out, "§5 Q2", train_series, val_series, "sequences seen"),
        metrics={f"seconds_batch{r[0]}": r[1] for r in rows},
    )


def q3(budget: Budget, out: Path) -> Answer:
    budgets = (256, 512, 1_280, 2_560) if budget.quick else (10_000, 20_000, 50_000, 100_000)
    finals, commands = [], []
    for n in budgets:
        s = _lm(out, f"n{n}", n)
        commands.append(s["command"])
        finals.append([n, s["final_train_loss"], s["final_val_loss"], s["train_seconds"]])
    xs = [f[0] for f in finals]
    falling = all(b[2] < a[2] for a, b in zip(finals, finals[1:], strict=False))
    return Answer(
        text=(
            f"num_sequences {', '.join(f'{n:,}' for n in budgets)} (the handout's 1:2:5:10 "
            "ratios)"
            + _budget_note(budget.quick, "10,000 to 100,000")
            + ", size and batch 128. "
            + (
                "The final losses fall steadily as the model sees more sequences."
                if falling
                else "The final validation loss does not fall at every step (table): the "
                "course's validation loss is one batch of 128 sequences, so it is noisy."
            )
        ),
        commands=commands,
        tables=[
            markdown_table(
                ["num_sequences", "final train loss", "final val loss", "train s"], finals
            )
        ],
        images=_two_plots(
            out,
            "§5 Q3",
            {"final training loss": (xs, [f[1] for f in finals])},
            {"final validation loss": (xs, [f[2] for f in finals])},
            "num_sequences",
        ),
        metrics={f"val_loss_n{f[0]}": f[2] for f in finals},
    )


def _distinct_tokens(tokenizer, continuation: str) -> float:
    """Fraction of distinct token pieces in a generated continuation (1 = no repeats)."""
    ids = tokenizer.encode(continuation, add_special_tokens=False).ids
    return len(set(ids)) / max(1, len(ids))


def q4(budget: Budget, out: Path) -> Answer:
    from neurallab.tasks.generate import generate_samples, load_model

    if budget.quick:
        n, dims, note = 3_840, ["--dk", "64", "--dv", "64"], "size 128, dk = dv = 64"
    else:
        n, note = 250_000, "size 512, dk = dv = 256"
        dims = ["--embed_dim", "512", "--hidden_dim", "512", "--dk", "256", "--dv", "256"]
    s = _lm(out, "long", n, *dims)
    model, tokenizer = load_model(out / "long" / "best.pt")
    samples = {}
    for i, prompt in enumerate((PROMPT, HANDOUT_PROMPT)):
        samples[prompt] = generate_samples(
            model, tokenizer, prompt, list(TEMPERATURES), 64, 3, None, budget.seed + i
        )
    (out / "samples.json").write_text(
        json.dumps({p: {str(t): v for t, v in d.items()} for p, d in samples.items()}, indent=1)
    )
    lines, diversity = [], []
    for prompt, by_t in samples.items():
        for t, texts in by_t.items():
            for i, text in enumerate(texts, start=1):
                lines.append(
                    f"- `{prompt}`, temperature {t:g}, sample {i}: {' '.join(text.split())}"
                )
            if prompt == PROMPT:
                fractions = [_distinct_tokens(tokenizer, x[len(prompt) :]) for x in texts]
                diversity.append([t, len(texts), statistics.mean(fractions)])
    return Answer(
        text=(
            f"(a) {n:,} sequences, batch 128, {note}"
            + _budget_note(budget.quick, "250,000 sequences at size 512, dk = dv = 256")
            + ": table. (b) 64 new tokens for the corpus-fitting prompt "
            f'"{PROMPT}" and for the handout\'s "{HANDOUT_PROMPT}" (which does not fit news '
            "text); temperature 0 is greedy, so its three samples would be identical and it is "
            "shown once:\n\n" + "\n".join(lines) + "\n\n(c) Second table: the fraction of distinct "
            "token pieces among the 64 new ones, per temperature. Greedy decoding repeats the "
            "most likely pieces; higher temperatures give more varied and less coherent text. "
            "Which is best is a judgement; at this budget (loss far above a fluent model's) "
            "none is fluent."
        ),
        commands=[
            s["command"],
            f"neurallab generate --checkpoint {out / 'long' / 'best.pt'} --prompt '{PROMPT}' "
            "--temperature 0 0.3 0.8 --samples 3 --num_tokens 64",
        ],
        tables=[
            markdown_table(
                ["train loss", "validation loss", "time (s)"],
                [[s["final_train_loss"], s["final_val_loss"], s["train_seconds"]]],
            ),
            markdown_table(["temperature", "samples", "distinct-token fraction"], diversity),
        ],
        metrics={"final_train_loss": s["final_train_loss"], "final_val_loss": s["final_val_loss"]},
    )


QUESTIONS = [
    Question("hw7", "§5 Q1", "Model size 64/128/256/512", q1, seconds_quick=70, seconds_full=4000),
    Question("hw7", "§5 Q2", "Batch size and wall time", q2, seconds_quick=40, seconds_full=2500),
    Question(
        "hw7", "§5 Q3", "Final losses vs num_sequences", q3, seconds_quick=40, seconds_full=5000
    ),
    Question(
        "hw7", "§5 Q4", "Long run; samples at 0, 0.3, 0.8", q4, seconds_quick=40, seconds_full=20000
    ),
]
