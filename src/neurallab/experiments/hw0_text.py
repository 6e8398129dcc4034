"""HW0 §4 (text classification; BBC News stands in for the course's real/fake news): Q4.1-Q4.5.

The stand-in changes the task: BBC News is a 5-class topic task (always answering the most
common test label scores 0.231), not the course's 2-class real/fake news (chance 0.5), so every
reading that depends on the data says so (`stand_in()`).

Every run goes through the course pipeline, the defaults of `neurallab.programs.txt.Settings`:
the course tokenizer, the first-seen vocabulary, every article padded to max_len and stacked,
the EmbeddingBag that averages pad ids in, seed 10999. At --quick the runs train on the first
350 training articles (the size of the course's training set); validation (334) and test (333)
stay whole. Arms that are compared run with three seeds (10999, 11000, 11001 unless
`reproduce --seed`), and every sentence that orders them comes from `Comparison.reading()`.

Each question starts with its declaration: its runs (`*_arms(budget)`: arm -> settings, each
over the seeds) and its claims (`Claim`: the handout's sentence and the statistic that tests
it); the functions after it compute and word the answer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from neurallab.data import text as data
from neurallab.experiments.base import Answer, Budget, Question, markdown_table
from neurallab.experiments.stats import Comparison, compare, fmt
from neurallab.experiments.sweep import SweepResult, sweep
from neurallab.experiments.verdict import (
    AGREES,
    DISAGREES,
    NOT_RESOLVED,
    Verdict,
    expect_direction,
    written,
)
from neurallab.programs import txt
from neurallab.programs.run import RunRecord
from neurallab.report.plots import line_plot
from neurallab.tracking.run import Run

SEED = 10999  # the starter's torch.manual_seed
N_SEEDS = 3
QUICK_ARTICLES = 350  # the course's training-set size


@dataclass(frozen=True)
class Claim:
    """What the handout says, and the statistic (over seeds) that the verdict rests on."""

    expectation: str
    statistic: str


def _seeds(budget: Budget) -> list[int]:
    return budget.seeds(N_SEEDS, default=SEED)


def base(budget: Budget, **changes) -> txt.Settings:
    """The starter's settings (the quick budget trains on the first 350 articles), changed."""
    return txt.Settings(train_articles=QUICK_ARTICLES if budget.quick else None, **changes)


def stand_in() -> str:
    """What the BBC stand-in changes, measured: its classes and majority-class rate."""
    classes = len({a.label_idx for a in data.read_text_csv(data.default_csv("test"))})
    return (
        f"BBC News is a {classes}-class topic task (always answering the most common test "
        f"label scores {fmt(_majority_rate())}), not the course's 2-class real/fake news"
    )


def stand_reason(budget: Budget) -> str:
    """A verdict's reason where the data decide it: the stand-in, and the quick budget's cut."""
    quick = f"; {QUICK_ARTICLES} training articles at --quick" if budget.quick else ""
    return stand_in() + quick


def _setting(budget: Budget) -> str:
    """What the quick budget changes, for the answer text."""
    if budget.quick:
        return (
            f"At --quick the runs train on the first {QUICK_ARTICLES} of the 1,558 training "
            "articles (the course's training-set size); validation and test stay whole."
        )
    return "All 1,558 training articles."


def _folder(out: Path) -> Path:
    # One folder for every §4 run, so questions share runs (Q4.5 reads Q4.3's Adam model).
    return out.parent / "runs-txt"


def _majority_rate(split: str = "test") -> float:
    """The accuracy of always answering the split's most common label (the 'chance' line)."""
    labels = [a.label_idx for a in data.read_text_csv(data.default_csv(split))]
    return max(labels.count(k) for k in set(labels)) / len(labels)


def _versus_chance(res: SweepResult, arm: str, key: str, chance: float) -> str:
    """Whether an arm's 95% interval lies above the majority-class rate, in words."""
    s = res.summary(arm, key)
    if s.ci is None:
        return f"{arm}: {s.text()}"
    where = "above" if s.ci[0] > chance else "below" if s.ci[1] < chance else "not distinct from"
    return f"{arm} {s.text()} is {where} the majority-class rate {fmt(chance)}"


def _sentence(text: str) -> str:
    """A reading that starts a sentence, with its first letter capitalised."""
    return text[:1].upper() + text[1:]


def pipeline_used(runs: SweepResult | list[RunRecord]) -> str:
    """Which tokenizer, vocabulary, padding and model the runs used, from their summaries."""
    if isinstance(runs, SweepResult):
        runs = [runs.runs[arm][seed] for arm in runs.arms for seed in runs.seeds]
    parts: dict[str, list[str]] = {}
    for record in runs:
        for part, value in record.summary.get("pipeline", {}).items():
            if value not in parts.setdefault(part, []):
                parts[part].append(value)
    return (
        "Pipeline, as the runs recorded it: "
        + "; ".join(f"{part} {' / '.join(values)}" for part, values in parts.items())
        + "."
    )


# -- Q4.1 ---------------------------------------------------------------------------------
Q41 = Claim(
    "a histogram of the raw article lengths, without truncation or padding (Q4.1).",
    "a written answer: the length statistics of one run that only tokenises (epochs 0)",
)


def q41(budget: Budget, out: Path) -> Answer:
    settings = txt.Settings(length_histogram=True, epochs=0, max_len=-1)
    r = budget.train(settings.replace(seed=_seeds(budget)[0]), out / "run")
    st = r.summary["length_stats"]
    return Answer(
        text=(
            f"Raw training articles, tokenised without truncation or padding by the "
            f"{r.summary['pipeline']['tokenizer'].split(':')[0]} tokenizer (all {st['n']:,} "
            f"training articles of the stand-in; {stand_in()}): mean {st['mean']:.0f} "
            f"tokens, median {st['median']:.0f}, longest {st['max']:,}; "
            f"{100 * st['share_over_1024']:.1f}% are longer than the default max_len of 1024 "
            f"and {100 * st['share_under_256']:.1f}% shorter than 256. With max_len 1024 every "
            "article is padded to 1024 tokens, so the median article is "
            f"{100 * (1 - st['median'] / 1024):.0f}% padding."
        ),
        commands=[r.command],
        images=[r.run_dir / "length_histogram.png"],
        metrics=st,
        verdicts=[
            written(
                Q41.expectation,
                f"median {st['median']:.0f} tokens, {100 * st['share_over_1024']:.1f}% over 1024",
                demonstrated=True,
            )
        ],
        key_result=(
            f"median {st['median']:.0f} tokens, max {st['max']:,}; "
            f"{100 * st['share_over_1024']:.1f}% > 1024"
        ),
    )


# -- Q4.2.a -------------------------------------------------------------------------------
def q42a_arms(budget: Budget) -> dict[str, txt.Settings]:
    """The handout's three timed runs, one epoch each."""
    return {
        "batch 1, no max_len": base(budget, epochs=1, batch_size=1, max_len=-1),
        "batch 1, max_len 1024": base(budget, epochs=1, batch_size=1),
        "batch 32, max_len 1024": base(budget, epochs=1, batch_size=32),
    }


TIMED = "seconds in training steps alone (evaluation excluded), paired over seeds"
Q42A_PADDING = Claim("padding to 1024 costs time at batch 1 (Q4.2.a).", TIMED)
Q42A_BATCHING = Claim("batch 32 is faster per epoch than batch 1 (Q4.2.a).", TIMED)


def timing_readings(res: SweepResult, key: str = "train_step_seconds") -> tuple[Comparison, ...]:
    """Padding at batch 1 (padded minus unpadded) and batch 32 vs 1 (both padded to 1024)."""
    padding = res.compare("batch 1, max_len 1024", "batch 1, no max_len", key, "seconds per epoch")
    batching = res.compare(
        "batch 32, max_len 1024", "batch 1, max_len 1024", key, "seconds per epoch"
    )
    return padding, batching


def interleaved_sweep(
    budget: Budget, arms: dict[str, txt.Settings], seeds: list[int], folder: Path
) -> SweepResult:
    """`sweep`, but seed by seed (every arm of a seed, then the next seed), so that a slow
    drift in the machine's load falls on all arms alike and the paired timings stay fair."""
    result = SweepResult(arms=list(arms), seeds=list(seeds), runs={arm: {} for arm in arms})
    for seed in seeds:
        one = sweep(budget, arms, [seed], folder)
        for arm in arms:
            result.runs[arm][seed] = one.runs[arm][seed]
    return result


def timing_conditions(
    res: SweepResult, started: float, before: float, after: float, saved: Path | None = None
) -> str:
    """How the times were taken: threads, the machine's load, reused runs.

    The load average is read around the runs, so it describes them only when they ran now.
    When every run ran now, the note is kept in `saved` with each run's measured time; when
    every run is reused, the note kept when they were timed is read back (if their times still
    match); otherwise the answer says that the reused runs' conditions were not recorded.
    """
    records = [res.runs[arm][seed] for arm in res.arms for seed in res.seeds]
    reused = sum((r.run_dir / "summary.json").stat().st_mtime < started for r in records)
    times = {
        str(r.run_dir.name): getattr(r, "summary", {}).get("train_step_seconds") for r in records
    }
    threads = torch.get_num_threads()
    # The 1-minute load average counts this process's own threads (the runs, and the question
    # before them): only load above them means that something else ran.
    busy = (
        "other processes were running too" if max(before, after) > threads + 0.5
        else "no more than this process's own threads: nothing else of note ran"
    )  # fmt: skip
    measured = (
        f"the machine's 1-minute load average was {before:.1f} before and {after:.1f} after the "
        f"runs on {os.cpu_count() or 1} CPUs ({busy})"
    )
    head = (
        f"Timing conditions: {threads} torch thread(s) in one process, runs of each seed back "
        "to back"
    )
    if not reused:
        note = f"{head}; {measured}."
        if saved is not None:
            saved.write_text(json.dumps({"times": times, "note": note}, indent=1))
        return note
    kept = json.loads(saved.read_text()) if saved is not None and saved.exists() else None
    if reused == len(records) and kept is not None and kept["times"] == times:
        return (
            f"{kept['note']} (Recorded when these runs were timed; this answer reuses every one "
            "of them.)"
        )
    note = (
        f"{head}; {reused} of {len(records)} runs were reused from an earlier reproduce, and "
        "the machine's load while they were timed was not recorded with them"
    )
    if reused < len(records):
        note += f"; for the {len(records) - reused} timed now, {measured}"
    return note + "."


def q42a(budget: Budget, out: Path) -> Answer:
    started, before = time.time(), os.getloadavg()[0]
    res = interleaved_sweep(budget, q42a_arms(budget), _seeds(budget), _folder(out))
    saved = _folder(out) / "q42a_timing_conditions.json"
    conditions = timing_conditions(res, started, before, os.getloadavg()[0], saved)
    padding, batching = timing_readings(res)
    key = "train_step_seconds"
    ratio = (
        res.summary("batch 1, max_len 1024", key).mean
        / res.summary("batch 32, max_len 1024", key).mean
    )
    why_padding = (
        "Padding costs time at batch 1 because the bag then averages 1024 embeddings per step "
        "instead of the article's own few hundred."
        if padding.direction > 0
        else "Whatever an article's length, each step also clips, zeroes and updates the whole "
        "dense embedding table (vocabulary x 64), a cost padding does not change."
    )
    why_batching = (
        "A batch of 32 pays those fixed per-step costs once for 32 articles."
        if batching.direction < 0
        else "The per-step fixed costs did not make batch 32 resolvably faster here."
    )
    verdicts = [
        expect_direction(claim.expectation, c, sign, conditions, higher="slower", lower="faster")
        for claim, c, sign in ((Q42A_PADDING, padding, +1), (Q42A_BATCHING, batching, -1))
    ]
    return Answer(
        text=(
            f"The handout's three runs, one epoch each, timed over the training steps alone "
            f"(forward, backward, clipping, update; evaluation and checkpoints excluded), "
            f"the three runs of each seed one after another. The readings compare wall-clock "
            f"time (the handout's run time); the table adds the process's CPU time, which "
            f"other programs on the machine disturb less. "
            f"{pipeline_used(res)} {_setting(budget)} {conditions}\n\n"
            f"{_sentence(padding.reading('slower', 'faster'))} {why_padding}\n\n"
            f"{_sentence(batching.reading('slower', 'faster'))} Mean time per epoch at batch 1 over "
            f"batch 32: {ratio:.1f}x. {why_batching}"
        ),
        commands=res.commands,
        tables=[
            res.table(
                [
                    ("training-step seconds", key),
                    ("CPU seconds", "train_step_cpu_seconds"),
                    ("val acc after 1 epoch", "final.val/acc"),
                ],
                arm_header="run",
            )
        ],
        metrics={arm: res.summary(arm, key).mean for arm in res.arms} | {"conditions": conditions},
        verdicts=verdicts,
        key_result=(
            f"padding at batch 1: {fmt(padding.diff)} s/epoch; batch 32 vs 1: "
            f"{fmt(batching.diff)} s/epoch (batch-1 / batch-32 time {ratio:.1f})"
        ),
    )


# -- Q4.2.b/c -----------------------------------------------------------------------------
def run_compat_stack_error() -> str:
    """Run `compat.txt_classifier.main` as the handout's 4.2.b command; its error, or ''."""
    from neurallab.compat import txt_classifier

    args = txt_classifier.parse_args([])  # the starter's defaults, then the handout's changes
    args.batch_size, args.max_len, args.epochs = 32, -1, 1
    args.data_dir = str(data.default_csv("train").parent)
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            txt_classifier.main(args)
        except RuntimeError as exc:
            return f"RuntimeError: {exc}"
    return ""


Q42B = Claim(
    "batch 32 without max_len fails with torch's stack error (Q4.2.b).",
    "the error the starter's own program (compat.txt_classifier) stops with",
)


def q42b(budget: Budget, out: Path) -> Answer:
    error = run_compat_stack_error()
    expected = "stack expects each tensor to be equal size"
    settings = base(budget, epochs=1, batch_size=32, max_len=-1, padding="batch")
    r = budget.train(settings.replace(seed=_seeds(budget)[0]), out / "batch-padding")
    outcome = AGREES if expected in error else DISAGREES
    shown = f"`{error}`" if error else "no error: the run finished"
    return Answer(
        text=(
            "**4.2.b** `python -m neurallab.compat.txt_classifier --batch_size 32 --max_len -1` "
            f"(the starter's program) stops at its first batch with {shown}.\n\n"
            "**4.2.c** With `--max_len -1` neither `TruncateToMaxLen` nor `PadToMaxLen` runs, so "
            "each article keeps its own length. The DataLoader's default `collate_fn` builds a "
            "batch with `torch.stack`, which needs every tensor to have the same shape: 32 "
            "articles of different lengths cannot form one (32, T) tensor. At batch size 1 "
            "there is nothing to stack, which is why the 4.2.a run with `--max_len -1` works. "
            "The fix is to pad within the collate function, to the longest article of each "
            "batch: neurallab's named option `--padding batch` does that, and the same "
            f"settings then train (val accuracy {r.final['val/acc']:.3f} after one epoch, "
            f"{r.summary['train_articles']} training articles; {stand_in()})."
        ),
        commands=[
            "python -m neurallab.compat.txt_classifier --batch_size 32 --max_len -1 --epochs 1",
            r.command,
        ],
        metrics={"error": error, "batch_padding_val_acc": r.final["val/acc"]},
        verdicts=[
            Verdict(Q42B.expectation, outcome, error or "no error"),
            written(
                "why the last run fails (Q4.2.c).",
                "unequal article lengths cannot be stacked into one batch tensor",
                demonstrated=True,
            ),
        ],
        key_result=error.split(" (")[0] if error else "no error",
    )


# -- Q4.3 ---------------------------------------------------------------------------------
SGD, ADAM = "SGD, lr 5", "Adam, lr 0.001"
PAD_AWARE = "Adam, lr 0.001, pad-aware bag (neurallab)"
Q43 = Claim(
    "report SGD (lr 5) and Adam (lr 0.001); the handout keeps Adam for the rest of §4, i.e. "
    "expects it to do better.",
    "Adam minus SGD test accuracy, paired over seeds",
)


def q43_arms(budget: Budget) -> dict[str, txt.Settings]:
    """The handout's two runs (starter settings: 5 epochs, batch 8, max_len 1024, clip 0.1),
    and the Adam run again with neurallab's bag that skips padding."""
    adam = base(budget, optimizer="adam", lr=0.001)
    return {SGD: base(budget), ADAM: adam, PAD_AWARE: adam.replace(model="simple_pad_aware")}


def q43_readings(
    test: Comparison, val: Comparison, pad: Comparison, padding_share: float, vocab: int
) -> str:
    """The Q4.3 paragraph: Adam vs SGD, then what the pad-aware bag shows; each explanation
    is chosen by the direction its comparison resolved."""
    parts = [val.reading(), test.reading()]
    if test.direction > 0:
        parts.append(
            "Adam scales each parameter's step by its own gradient history, so the embedding "
            f"rows an article touches (of {vocab:,}) move as fast as the output layer, while "
            "SGD's single rate is also held back by clipping the whole gradient at 0.1."
        )
    elif test.direction < 0:
        parts.append("SGD at lr 5 made more of its five epochs here than Adam at lr 0.001.")
    parts.append(f"\n\nThe same Adam run with neurallab's pad-aware bag: {pad.reading()}")
    if pad.direction > 0:
        parts.append(
            "Averaging the pad ids in is what holds the course's model back: at max_len 1024 "
            f"the median training article is {100 * padding_share:.0f}% padding, which pulls "
            "every article's mean embedding toward the same pad vector and shrinks the part "
            "that differs between articles."
        )
    elif pad.direction < 0:
        parts.append("Skipping the padding did not help at this budget.")
    return " ".join(parts)


def q43(budget: Budget, out: Path) -> Answer:
    res = sweep(budget, q43_arms(budget), _seeds(budget), _folder(out))
    chance = _majority_rate()
    test = res.compare(ADAM, SGD, "final.test/acc", "test accuracy")
    val = res.compare(ADAM, SGD, "final.val/acc", "validation accuracy")
    pad = res.compare(PAD_AWARE, ADAM, "final.test/acc", "test accuracy")
    vocab = res.runs[ADAM][res.seeds[0]].summary["vocab_size"]
    padding_share = 1 - statistics.median(train_lengths(budget)) / 1024
    return Answer(
        text=(
            f"Starter settings: 5 epochs, batch 8, embed 64, max_len 1024, gradient clipping "
            f"0.1, lr / 10 when validation accuracy falls below its best. {pipeline_used(res)} "
            f"{_setting(budget)} Vocabulary {vocab:,} tokens. The third row is not the "
            "handout's: it shows what the course's averaging of pad ids costs.\n\n"
            f"{q43_readings(test, val, pad, padding_share, vocab)}\n\n"
            f"The stand-in: {stand_in()}. Against always answering the most common test label: "
            f"{_versus_chance(res, SGD, 'final.test/acc', chance)}; "
            f"{_versus_chance(res, ADAM, 'final.test/acc', chance)}."
        ),
        commands=res.commands,
        tables=[
            res.table(
                [("val acc", "final.val/acc"), ("test acc", "final.test/acc")],
                arm_header="optimizer",
            )
        ],
        metrics={
            arm: {split: res.summary(arm, f"final.{split}/acc").mean for split in ("val", "test")}
            for arm in res.arms
        },
        verdicts=[expect_direction(Q43.expectation, test, +1, stand_reason(budget))],
        key_result=(
            f"test acc SGD {fmt(res.summary(SGD, 'final.test/acc').mean)}, "
            f"Adam {fmt(res.summary(ADAM, 'final.test/acc').mean)} "
            f"(diff {fmt(test.diff)}, {test.interval_text()})"
        ),
    )


def train_lengths(budget: Budget) -> list[int]:
    """Tokens per training article the runs use (the first 350 at --quick), unpadded."""
    corpus = txt.load_corpus(base(budget))
    return [len(corpus.tokenize(a.text)) for a in corpus.train_articles]


# -- Q4.4 ---------------------------------------------------------------------------------
BASELINE = "baseline (course EmbeddingBag)"
MASKED = "LSTM, max pooling over real tokens"
PADDED = "LSTM, max pooling over padding too"
LAST = "LSTM, last-step readout"


POOLING_OF = {MASKED: "masked", PADDED: "padded", LAST: "last"}


def padding_gap(summary: dict) -> float:
    """Test accuracy on articles without padding minus on articles with padding."""
    split = summary["test_by_padding"]
    return split["unpadded"] - split["padded"]


def lstm_readings(res: SweepResult) -> dict[str, Comparison]:
    key = "final.test/acc"
    gap = lambda s: s["final"]["train/avg_acc"] - s["final"]["val/acc"]  # noqa: E731
    return {
        "lstm_vs_baseline": res.compare(MASKED, BASELINE, key, "test accuracy"),
        "pooling_vs_last": res.compare(PADDED, LAST, key, "test accuracy"),
        "masked_vs_padded": res.compare(MASKED, PADDED, key, "test accuracy"),
        "gap": res.compare(MASKED, BASELINE, gap, "train minus validation accuracy"),
    }


def padding_effect(last: torch.Tensor, pooled: torch.Tensor, padded: torch.Tensor) -> Comparison:
    """Does padding cost the last-step readout more than max pooling over the same padding?

    `last` and `pooled` are each test article's correctness (1/0), one row per seed; `padded`
    marks the articles shorter than max_len. Per article, the last-step readout's correctness
    minus max pooling's, averaged over seeds; then the unpadded articles against the padded ones
    (Welch t-interval over articles). The unit is the article, not the seed: when few articles
    are unpadded (6 of 333 at max_len 1024), which articles they are limits what can be known,
    and a paired interval over 3 seeds of the same 6 articles would hide that.
    """
    advantage = (last.float() - pooled.float()).mean(dim=0)
    if padded.all() or not padded.any():
        raise ValueError("padding_effect: needs test articles both with and without padding")
    return compare(
        "the group of unpadded test articles",
        advantage[~padded].tolist(),
        "the group of padded ones",
        advantage[padded].tolist(),
        "the last-step readout's accuracy minus max pooling's (per article, mean over seeds)",
        unit="articles",
        bounds=(-1.0, 1.0),
    )


def accuracy_by_padding(res: SweepResult, arms: list[str]) -> tuple[torch.Tensor, dict]:
    """Add each run's test accuracy on articles without and with padding to its summary
    (`test_by_padding`), from its final weights (last.pt alone). Returns which test articles
    are padded and, per arm, each article's correctness (a seeds x articles tensor).

    The final weights are those the run's last evaluation used, so the overall accuracy must
    equal the run's own `test/acc`: a check that the model was rebuilt exactly.
    """
    corpus = txt.load_corpus(res.runs[arms[0]][res.seeds[0]].settings)
    test = corpus.sets["test"]
    ids, labels = torch.stack(test.tokens), torch.tensor(test.labels)
    padded = ids[:, -1] == corpus.info.pad_idx  # shorter than max_len: pads at the end
    correct_by_arm = {}
    for arm in arms:
        rows = []
        for record in res.records(arm):
            model = txt.load(record.checkpoint)
            with torch.no_grad():
                predicted = torch.cat(
                    [model(ids[i : i + 64]).argmax(1) for i in range(0, len(ids), 64)]
                )
            correct = (predicted == labels).float()
            if abs(correct.mean().item() - record.final["test/acc"]) > 1e-6:
                raise RuntimeError(
                    f"{arm}, seed {record.seed}: rebuilt model disagrees with its run"
                )
            record.summary["test_by_padding"] = {
                "unpadded": correct[~padded].mean().item(),
                "padded": correct[padded].mean().item(),
            }
            rows.append(correct)
        correct_by_arm[arm] = torch.stack(rows)
    return padded, correct_by_arm


def q44_text(
    c: dict[str, Comparison],
    pooling_identical: bool,
    accuracies: str = "",
    by_padding: str = "",
    last_unlearned: str = "",
) -> str:
    """The 4.4.b/c readings, each sentence chosen by a computed comparison. `last_unlearned`
    is the measured sentence saying that the last-step readout stayed at the majority-class
    rate ("" when it rose above it): comparisons with it then read as learned vs not."""
    lstm = c["lstm_vs_baseline"]
    parts = [f"**4.4.b** {lstm.reading()}"]
    if lstm.direction > 0:
        parts.append(
            "The LSTM reads words in order and its max over time picks out the strongest "
            "topic cues, where the baseline's mean is diluted by the pad embeddings."
        )
    gap = c["gap"]
    if lstm.direction < 0 and gap.direction > 0:
        parts.append(
            "Its train-validation gap is the larger (below): the LSTM's recurrent weights "
            "fit the training articles more than the topics, which the handout allows."
        )
    parts.append(f"\n\n**4.4.c** {accuracies} {gap.reading('larger', 'smaller')}")
    if gap.direction > 0:
        parts.append("The LSTM fits its training articles more closely than it generalises.")
    elif gap.direction < 0:
        parts.append("The baseline's training accuracy runs further ahead of its validation.")
    pool, hurts = c["pooling_vs_last"], c["padding_hurts_last"]
    parts.append(f"\n\nPadding and the readout: {pool.reading()} {by_padding}")
    if last_unlearned:
        parts.append(
            f"{_sentence(last_unlearned)}: the last-step readout did not measurably learn, so "
            "the margin above measures how far the pooling model rose above the majority-class "
            "rate, not a contest between two readouts that both learned; and its split by "
            "padding follows which topics each group holds, not what padding does to a trained "
            "readout."
        )
    parts.append(f"Padding's own share: {hurts.reading()}")
    if hurts.direction > 0 and not last_unlearned:
        parts.append(
            "Padding does hurt the last-step readout: after an article's last word the "
            "recurrence keeps running over pad tokens, and the state it ends in is what the "
            "classifier sees, while a max over time keeps the strongest activation from the "
            "real tokens."
        )
    elif pool.direction > 0 and not last_unlearned:
        parts.append(
            "So at this budget the last-step readout's deficit cannot be pinned on padding. "
            "What does differ for every article: its final state must carry the topic "
            "through every one of up to max_len tokens, while a max over time keeps the "
            "strongest activation wherever it occurs."
        )
    parts.append(c["masked_vs_padded"].reading())
    if pooling_identical:
        parts.append(
            "Every seed gave identical accuracies with and without the mask: no pad "
            "position won the max for any article, so the two trained alike."
        )
    return " ".join(parts)


def _by_padding(res: SweepResult, n_padded: int, n_test: int) -> str:
    """Mean test accuracy on articles without / with padding, per readout, in words."""

    def mean(arm: str, part: str) -> str:
        return fmt(statistics.fmean(r.summary["test_by_padding"][part] for r in res.records(arm)))

    return (
        f"Split by padding ({n_padded} of the {n_test} test articles are shorter than max_len): "
        f"the last-step readout scores {mean(LAST, 'unpadded')} on articles without padding "
        f"and {mean(LAST, 'padded')} on those with it; max pooling over the same padding "
        f"{mean(PADDED, 'unpadded')} and {mean(PADDED, 'padded')}."
    )


Q44_LSTM = Claim(
    "the handout's sample LSTM beats the baseline (validation 72.4 vs 59.2, test 78.4 vs "
    "60.8), though it adds that this has depended on the semester's data.",
    "LSTM (max over real tokens) minus baseline test accuracy, paired over seeds",
)
Q44_GAP = Claim(
    "the LSTM fits its training articles more closely: a larger train-validation gap than the "
    "baseline's (sample: 27.1 vs 8.2 points).",
    "LSTM minus baseline (train running accuracy minus validation accuracy), paired",
)
Q44_PADDING = Claim(
    "padding can hurt a last-step readout: padded articles lose more with it than with pooling.",
    "per test article, last-step minus max-over-padding correctness (mean over seeds); "
    "unpadded minus padded articles, Welch t-interval over articles",
)
Q44_POOLING = Claim(
    "a pooling layer after the LSTM does better than the last-step readout.",
    "max-over-padding minus last-step readout test accuracy, paired over seeds",
)


def q44_arms(budget: Budget) -> dict[str, txt.Settings]:
    """The baseline and three LSTM readouts, all with Adam at the handout's lr 0.001 (4.3:
    "use Adam for future questions as well"), the starter's other settings."""
    adam = base(budget, optimizer="adam", lr=0.001, max_len=256 if budget.quick else 1024)
    lstm = adam.replace(model="lstm")
    return {BASELINE: adam} | {arm: lstm.replace(pooling=p) for arm, p in POOLING_OF.items()}


def mean_epoch_curve(res: SweepResult, arm: str, key: str) -> tuple[list[int], list[float]]:
    per_seed = [[v for _, v in r.history.column(key)] for r in res.records(arm)]
    means = [statistics.fmean(epoch) for epoch in zip(*per_seed, strict=True)]
    return list(range(1, len(means) + 1)), means


def q44_verdicts(
    c: dict[str, Comparison], budget: Budget, n_padded: int, n_test: int, last_unlearned: str = ""
) -> list[Verdict]:
    """The four Q4.4 verdicts. When the last-step readout stayed at the majority-class rate
    (`last_unlearned`, measured), its accuracy split by padding tells nothing about padding:
    that verdict is not resolved, and the pooling verdict says what it compares."""
    stand = stand_reason(budget)
    padded = (
        f"{n_test - n_padded} of the {n_test} test articles are unpadded and {n_padded} padded; "
        "the Welch interval is over articles, so it widens as either group shrinks"
    )
    padding = expect_direction(Q44_PADDING.expectation, c["padding_hurts_last"], +1, padded)
    pooling = expect_direction(Q44_POOLING.expectation, c["pooling_vs_last"], +1)
    if last_unlearned:
        never = f"the last-step readout did not measurably learn: {last_unlearned}"
        padding = dataclasses.replace(padding, outcome=NOT_RESOLVED, reason=f"{never}; {padded}")
        pooling = dataclasses.replace(pooling, reason=never)
    return [
        expect_direction(Q44_LSTM.expectation, c["lstm_vs_baseline"], +1, stand),
        expect_direction(Q44_GAP.expectation, c["gap"], +1, stand, "larger", "smaller"),
        padding,
        pooling,
    ]


def last_step_unlearned(res: SweepResult, chance: float) -> str:
    """'' when the last-step readout's test accuracy lies above the majority-class rate (its
    95% interval over seeds); otherwise the measured sentence that says it does not."""
    s = res.summary(LAST, "final.test/acc")
    if s.ci is not None and s.ci[0] > chance:
        return ""
    return _versus_chance(res, LAST, "final.test/acc", chance)


def q44(budget: Budget, out: Path) -> Answer:
    arms = q44_arms(budget)
    res = sweep(budget, arms, _seeds(budget), _folder(out))
    max_len = arms[BASELINE].max_len
    padded, correct = accuracy_by_padding(res, [PADDED, LAST])
    n_padded, n_test = int(padded.sum()), len(padded)
    c = lstm_readings(res)
    c["padding_hurts_last"] = padding_effect(correct[LAST], correct[PADDED], padded)
    unlearned = last_step_unlearned(res, _majority_rate())
    identical = res.values(MASKED, "final.test/acc") == res.values(
        PADDED, "final.test/acc"
    ) and res.values(MASKED, "final.val/acc") == res.values(PADDED, "final.val/acc")
    first = res.runs[MASKED][res.seeds[0]]
    labels = len(first.summary["labels"])
    lengths = train_lengths(budget)
    short = sum(n < max_len for n in lengths) / len(lengths)
    plots = [
        Run(out).save_figure(
            line_plot(
                {arm: mean_epoch_curve(res, arm, f"{key}/acc") for arm in res.arms},
                f"HW0 Q4.4: {split} accuracy per epoch (mean of {len(res.seeds)} seeds; "
                "BBC News stand-in, 5 topics)",
                "epoch",
                f"{split} accuracy",
            ),
            f"{key}_accuracy.png",
        )
        for split, key in (("validation", "val"), ("test", "test"))
    ]
    vocab = first.summary["vocab_size"]
    return Answer(
        text=(
            f"**4.4.a** tokens (B, T) -> Embedding({vocab:,}, 64, padding_idx=<PAD>) -> "
            "LSTM(64 -> 64, one layer, batch_first) -> outputs h_1..h_T (B, T, 64) -> "
            "max over the positions of real tokens, max_t h_t (B, 64) -> Linear(64, "
            f"{labels}) -> logits; {first.parameters:,} parameters. Adam at the handout's lr "
            f"{first.settings.lr:g} (4.3 keeps Adam at its default rate for the rest of §4), "
            "otherwise the starter's settings (5 epochs, batch 8, clipping 0.1). Two "
            "variants show the handout's padding caveat: the max taken over pad positions "
            "too, and the output at the last position (after the padding) instead of a max. "
            f"The baseline is the course's model with Adam (lr 0.001). Every run pads to "
            f"max_len {max_len}, so the {100 * short:.0f}% of training articles shorter than "
            f"that carry padding. {pipeline_used(res)} {_setting(budget)} The data: "
            f"{stand_in()}, so which model wins here says nothing about the course's task.\n\n"
            + q44_text(
                c, identical, _accuracies(res), _by_padding(res, n_padded, n_test), unlearned
            )
        ),
        commands=res.commands,
        tables=[
            res.table(
                [
                    ("test acc", "final.test/acc"),
                    ("val acc", "final.val/acc"),
                    ("train acc (running, last epoch)", "final.train/avg_acc"),
                ],
                arm_header="model",
            )
        ],
        images=plots,
        metrics={arm: res.summary(arm, "final.test/acc").mean for arm in res.arms},
        verdicts=q44_verdicts(c, budget, n_padded, n_test, unlearned),
        key_result=(
            f"test acc: LSTM {fmt(res.summary(MASKED, 'final.test/acc').mean)}, baseline "
            f"{fmt(res.summary(BASELINE, 'final.test/acc').mean)}, last-step readout "
            f"{fmt(res.summary(LAST, 'final.test/acc').mean)}"
        ),
    )


def _accuracies(res: SweepResult) -> str:
    """Mean train (running, last epoch) and validation accuracy of the LSTM and the baseline."""

    def mean(arm: str, key: str) -> str:
        return fmt(res.summary(arm, key).mean)

    return (
        f"Train accuracy (running over the last epoch) {mean(MASKED, 'final.train/avg_acc')} "
        f"for the LSTM and {mean(BASELINE, 'final.train/avg_acc')} for the baseline; "
        f"validation {mean(MASKED, 'final.val/acc')} and {mean(BASELINE, 'final.val/acc')}."
    )


# -- Q4.5 ---------------------------------------------------------------------------------
def token_class_scores(model: torch.nn.Module) -> torch.Tensor:
    """(V, K): how far each token, alone in a bag, pushes each class above the mean class.

    The baseline's logits are fc(mean of embeddings) = mean over tokens of W e_t, plus b, so
    `W e_t` is token t's exact additive share of an article's logits (weighted by 1/length).
    """
    with torch.no_grad():
        scores = model.embedding.weight @ model.fc.weight.T
        return scores - scores.mean(dim=1, keepdim=True)


def top_tokens(
    scores: torch.Tensor, vocab: data.Vocab, counts: dict[str, int], min_count: int, n: int
) -> list[list[str]]:
    """For each class, the `n` tokens seen >= `min_count` times with the highest score."""
    frequent = torch.tensor(
        [counts.get(t, 0) >= min_count and i > 1 for i, t in enumerate(vocab.idx2str)]
    )
    best = []
    for k in range(scores.shape[1]):
        column = scores[:, k].masked_fill(~frequent, float("-inf"))
        best.append([vocab.idx2str[i] for i in column.topk(n).indices.tolist()])
    return best


def q45(budget: Budget, out: Path) -> Answer:
    seed = _seeds(budget)[0]
    arms = {arm: st for arm, st in q43_arms(budget).items() if arm in (ADAM, PAD_AWARE)}
    res = sweep(budget, arms, [seed], _folder(out))  # Q4.3's runs, reused when it ran first
    corpus = txt.load_corpus(arms[ADAM])
    counts: dict[str, int] = {}
    for a in corpus.train_articles:
        for t in set(corpus.tokenize(a.text)):
            counts[t] = counts.get(t, 0) + 1  # in how many articles each token occurs
    names = res.runs[ADAM][seed].summary["labels"]
    tops, accuracies = {}, {}
    for arm in res.arms:
        record = res.runs[arm][seed]
        vocab = txt.vocabulary(record.checkpoint)  # the run's own, from its checkpoint
        scores = token_class_scores(txt.load(record.checkpoint))
        tops[arm] = top_tokens(scores, vocab, counts, min_count=5, n=8)
        accuracies[arm] = record.final["test/acc"]
        if arm == ADAM:
            pad_class = names[int(scores[vocab.pad_idx].argmax())]
    rows = [
        [name, *(" ".join(f"`{t}`" for t in tops[arm][k]) for arm in res.arms)]
        for k, name in enumerate(names)
    ]
    headers = ["class"] + [f"{arm} (test acc {accuracies[arm]:.3f})" for arm in res.arms]
    return Answer(
        text=(
            "**On the course's data (speculation, as the question asks; the real/fake "
            "articles are not available here).** The baseline is a bag of words: its logits "
            "are the average of one vector per token, so it can only succeed through words "
            "and punctuation whose frequencies differ between real and generated articles, "
            "such as phrasing and formatting habits of the generating model, or the local "
            "names and sources a real report cites. Word order, facts and coherence are "
            "invisible to it.\n\n"
            f"**Shown on the stand-in (measured; {stand_in()}: topic words, not the cues of "
            "real/fake news).** Because the logits are an average, each "
            "token's share of them is exactly `W e_t` (the output layer applied to its "
            f"embedding), weighted by 1/length. For the two Adam runs of Q4.3 (seed {seed}), "
            "the table lists the eight tokens, among those in at least 5 training articles, "
            "that push each class furthest above the others: the course's model, and the "
            "same model whose bag skips the padding. In the course's model the pad token "
            f"pushes most toward `{pad_class}`; as pads are averaged in, the more padding an "
            "article has (the shorter it is), the more its logits lean that way."
        ),
        commands=res.commands,
        tables=[markdown_table(headers, rows)],
        metrics={"top_tokens": tops, "pad_class": pad_class, "test_acc": accuracies},
        verdicts=[
            written(
                "speculate how the model trains successfully on the real/fake pairs.",
                "through label-specific word frequencies (a bag of words); on the stand-in "
                "each class's strongest tokens are listed",
                demonstrated=True,
            )
        ],
        key_result=(
            f"pad-aware bag: {names[0]} <- {' '.join(tops[PAD_AWARE][0][:3])}; "
            f"{names[-1]} <- {' '.join(tops[PAD_AWARE][-1][:3])}"
        ),
    )


QUESTIONS = [
    Question("hw0", qid, title, run, quick, full)
    for qid, title, run, quick, full in (
        ("Q4.1", "Histogram of raw article lengths", q41, 3, 5),
        ("Q4.2.a", "Run time: batch size and max_len", q42a, 10, 150),
        ("Q4.2.b", "Batch 32 without max_len: the stack error, why, and the fix", q42b, 2, 8),
        ("Q4.3", "SGD (lr 5) vs Adam (lr 0.001)", q43, 14, 120),
        (
            "Q4.4",
            "LSTM classifier vs the baseline; padding, pooling and the last-step readout",
            q44,
            50,
            3600,
        ),
        ("Q4.5", "How the model trains successfully: the tokens it relies on", q45, 1, 5),
    )  # fmt: skip
]
