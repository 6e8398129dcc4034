"""HW7 §5: the empirical questions on the RNN language model (BBC News, 1024-piece tokenizer).

--quick shrinks the budgets (sequences seen) to fit a 2-core CPU in minutes and says so; --full
uses the handout's: 50,000 sequences (Q1, Q2), 10k-100k (Q3) and 250,000 (Q4).
"""

from __future__ import annotations

import json
from pathlib import Path

from neurallab.experiments.base import Answer, Budget, Question, markdown_table, run_command
from neurallab.report.plots import line_plot
from neurallab.tracking.run import Run

PROMPT = "The government said"  # fits the news corpus; the handout's prompt is about stories


def _lm(out: Path, name: str, num_sequences: int, *flags: str) -> dict:
    return run_command(["rnn-lm", "--num_sequences", str(num_sequences), *flags], out / name)


def _curves(s: dict, folder: Path) -> tuple[list[int], list[float], list[float]]:
    """(sequences seen, train loss, validation loss) at each of the run's evaluations."""
    curve = s["curve"]
    return curve["sequences"], curve["train_loss"], curve["val_loss"]


def q1(budget: Budget, out: Path) -> Answer:
    n = 2_000 if budget.quick else 50_000
    rows, train_series, val_series, commands = [], {}, {}, []
    for size in (64, 128, 256, 512):
        flags = [
            "--embed_dim",
            str(size),
            "--hidden_dim",
            str(size),
            "--dk",
            str(size),
            "--dv",
            str(size),
        ]
        s = _lm(out, f"size{size}", n, *flags)
        seen, train, val = _curves(s, out / f"size{size}")
        train_series[f"size {size}"], val_series[f"size {size}"] = (seen, train), (seen, val)
        commands.append(s["command"])
        rows.append(
            [
                size,
                f"{s['parameters']:,}",
                f"{train[-1]:.4f}",
                f"{val[-1]:.4f}",
                f"{s['train_seconds']:.0f}",
            ]
        )
    run = Run(out)
    images = [
        run.save_figure(
            line_plot(train_series, "HW7 Q1: training loss", "sequences seen", "cross-entropy"),
            "train_loss.png",
        ),
        run.save_figure(
            line_plot(val_series, "HW7 Q1: validation loss", "sequences seen", "cross-entropy"),
            "val_loss.png",
        ),
    ]
    best = min(rows, key=lambda r: float(r[3]))[0]
    return Answer(
        text=(
            f"embed = hidden = dk = dv in {{64, 128, 256, 512}}, batch 128, {n:,} sequences"
            + (" (--quick; the handout uses 50,000)" if budget.quick else "")
            + f". Lowest final validation loss: size {best}. Larger models have more capacity "
            "and, at equal sequences, usually lower loss as long as the budget lets them train; "
            "they also cost more time per sequence (table)."
        ),
        commands=commands,
        tables=[
            markdown_table(
                ["size", "parameters", "final train loss", "final val loss", "train s"], rows
            )
        ],
        images=images,
    )


def q2(budget: Budget, out: Path) -> Answer:
    n = 2_048 if budget.quick else 50_000
    rows, series, commands = [], {}, []
    for batch in (32, 64, 128, 256):
        s = _lm(out, f"batch{batch}", n, "--batch_size", str(batch))
        seen, train, val = _curves(s, out / f"batch{batch}")
        series[f"batch {batch} train"] = (seen, train)
        series[f"batch {batch} val"] = (seen, val)
        commands.append(s["command"])
        rows.append([batch, f"{s['train_seconds']:.1f}", f"{train[-1]:.4f}", f"{val[-1]:.4f}"])
    image = Run(out).save_figure(
        line_plot(series, "HW7 Q2: loss by batch size", "sequences seen", "cross-entropy"),
        "loss.png",
    )
    return Answer(
        text=(
            f"Size 128, {n:,} sequences per run" + (" (--quick)" if budget.quick else "") + ". "
            "Larger batches process the same sequences in fewer, larger matrix products, so "
            "they take less wall time, but they also take fewer optimizer steps for the same "
            "data, so their loss after the same number of sequences is higher (table)."
        ),
        commands=commands,
        tables=[
            markdown_table(
                ["batch size", "total train time (s)", "final train loss", "final val loss"], rows
            )
        ],
        images=[image],
    )


def q3(budget: Budget, out: Path) -> Answer:
    budgets = (1_000, 2_000, 4_000, 8_000) if budget.quick else (10_000, 20_000, 50_000, 100_000)
    finals, commands = [], []
    for n in budgets:
        s = _lm(out, f"n{n}", n)
        commands.append(s["command"])
        finals.append((n, s["final_train_loss"], s["final_val_loss"]))
    run = Run(out)
    xs = [f[0] for f in finals]
    images = [
        run.save_figure(
            line_plot(
                {"final training loss": (xs, [f[1] for f in finals])},
                "HW7 Q3: final training loss",
                "num_sequences",
                "loss",
            ),
            "final_train.png",
        ),
        run.save_figure(
            line_plot(
                {"final validation loss": (xs, [f[2] for f in finals])},
                "HW7 Q3: final validation loss",
                "num_sequences",
                "loss",
            ),
            "final_val.png",
        ),
    ]
    return Answer(
        text=(
            f"num_sequences in {list(budgets)}"
            + (" (--quick; the handout uses 10k-100k)" if budget.quick else "")
            + ": the final losses fall as the model sees more sequences (table)."
        ),
        commands=commands,
        tables=[
            markdown_table(
                ["num_sequences", "final train loss", "final val loss"],
                [[n, f"{a:.4f}", f"{b:.4f}"] for n, a, b in finals],
            )
        ],
        images=images,
    )


def q4(budget: Budget, out: Path) -> Answer:
    from neurallab.tasks.generate import generate_samples, load_model

    n = 10_000 if budget.quick else 250_000
    s = _lm(out, "long", n)
    model, tokenizer = load_model(out / "long" / "best.pt")
    samples = generate_samples(model, tokenizer, PROMPT, [0.0, 0.3, 0.8], 64, 3, None, budget.seed)
    (out / "samples.json").write_text(json.dumps({str(k): v for k, v in samples.items()}, indent=1))
    lines = []
    for t, texts in samples.items():
        for i, text in enumerate(texts, start=1):
            lines.append(f"- temperature {t:g}, sample {i}: `{' '.join(text.split())}`")
    return Answer(
        text=(
            f"{n:,} sequences"
            + (" (--quick; the handout uses 250,000)" if budget.quick else "")
            + f", batch 128, size 128: final train loss {s['final_train_loss']:.4f}, validation "
            f'loss {s["final_val_loss"]:.4f}. Samples for the prompt "{PROMPT}" (a prompt that '
            'fits the news corpus; the handout\'s "Once upon a time there was a" is for '
            "children's stories), 64 new tokens, greedy once and three samples at 0.3 and 0.8:\n\n"
            + "\n".join(lines)
            + "\n\n"
            "Greedy decoding (temperature 0) repeats itself; higher temperatures add variety "
            "and, at 0.8, more broken words. With this budget the model has learned frequent "
            "pieces and short phrases, not grammar."
        ),
        commands=[
            s["command"],
            f"neurallab generate --checkpoint {out / 'long' / 'best.pt'} "
            f"--prompt '{PROMPT}' --temperature 0 0.3 0.8 --samples 3 --num_tokens 64",
        ],
        tables=[
            markdown_table(
                ["final train loss", "final val loss"],
                [[f"{s['final_train_loss']:.4f}", f"{s['final_val_loss']:.4f}"]],
            )
        ],
    )


QUESTIONS = [
    Question("hw7", "§5 Q1", "Model size 64/128/256/512", q1, seconds_quick=90, seconds_full=3600),
    Question(
        "hw7",
        "§5 Q2",
        "Batch size 32/64/128/256 and wall time",
        q2,
        seconds_quick=40,
        seconds_full=1800,
    ),
    Question(
        "hw7", "§5 Q3", "Final losses vs num_sequences", q3, seconds_quick=70, seconds_full=2400
    ),
    Question(
        "hw7",
        "§5 Q4",
        "A long run and samples at temperatures 0, 0.3, 0.8",
        q4,
        seconds_quick=45,
        seconds_full=5400,
    ),
]
