"""HW0 §4: text classification (EmbeddingBag baseline or LSTM) on the course's text CSVs.

The defaults are the course pipeline (shared/spec/course-interfaces.md, HW0 text), so the
numbers a handout question reports are the starter's: the course tokenizer (case kept,
`. , : ; ! ? ( )` split off), the first-seen vocabulary, every article truncated and padded to
`--max_len` and stacked, the EmbeddingBag that averages pad ids in; seed 10999, SGD lr 5.0,
5 epochs, batch 8, embed 64, max_len 1024, gradient clipping 0.1, and the learning rate divided
by 10 whenever validation accuracy falls below its best so far.

neurallab's alternatives are named options: `--tokenizer words` (lower-cased words and
punctuation), `--model simple_pad_aware` (the bag skips padding), `--padding batch` (pad each
batch to its longest article, so `--max_len -1` works at any batch size) and `--padding
bucket` (also batch articles of similar length together).
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

import torch

from neurallab.data import text as data
from neurallab.engine import Callback, StepOutput, fit, seed_everything
from neurallab.engine.options import TrainingConfig, add_engine_args, training_config
from neurallab.flags import positive_int
from neurallab.models.text import (
    POOLINGS,
    LSTMClassifier,
    PadAwareTextClassificationModel,
    TextClassificationModel,
)
from neurallab.report.plots import histogram, line_plot
from neurallab.tasks.common import add_run_args, classification_step, finish, open_run
from neurallab.tracking import Run

COMMAND = "txt"
HELP = "HW0 §4: news topic classifier (EmbeddingBag baseline or LSTM) on BBC News"

MODELS = {
    "simple": "the course's EmbeddingBag (pad ids averaged in)",
    "simple_pad_aware": "EmbeddingBag that skips padding (neurallab)",
    "lstm": "LSTM",
}
READOUTS = {
    "masked": "max over real tokens",
    "padded": "max over every position, padding included",
    "last": "output at the final position",
}
PADDINGS = {
    "max_len": "every article padded to max_len and stacked (course)",
    "batch": "each batch padded to its longest article (neurallab)",
    "bucket": "similar lengths batched together, padded per batch (neurallab)",
}
TOKENIZERS = {
    "course": "course tokenizer (case kept, . , : ; ! ? ( ) split off)",
    "words": "lower-cased words and punctuation (neurallab)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_engine_args(
        parser, epochs=5, batch_size=8, lr=5.0, seed=10999, optimizer="sgd", clip_grad=0.1
    )
    add_run_args(parser, COMMAND)
    parser.add_argument(
        "--data_dir",
        type=Path,
        default=None,
        help="folder with txt_train/val/test.csv (default: prepared BBC News)",
    )
    parser.add_argument(
        "--train_articles",
        type=positive_int,
        default=None,
        help="train on the first N training articles only (the vocabulary too); "
        "validation and test stay whole (default: all)",
    )
    parser.add_argument(
        "--tokenizer",
        choices=tuple(TOKENIZERS),
        default="course",
        help="course: the starter's tokenizer; words: lower-cased words and punctuation",
    )
    parser.add_argument(
        "--model",
        choices=tuple(MODELS),
        default="simple",
        help="simple: the course's EmbeddingBag, which averages pad ids in; "
        "simple_pad_aware: the bag skips padding; lstm: LSTM + max pooling",
    )
    parser.add_argument("--embed_dim", type=positive_int, default=64, help="embedding size")
    parser.add_argument(
        "--max_len",
        type=int,
        default=1024,
        help="truncate to this many tokens (and with --padding max_len pad to it); < 1: off",
    )
    parser.add_argument(
        "--padding",
        choices=tuple(PADDINGS),
        default="max_len",
        help="max_len: the starter's (pad every article to --max_len and stack; with "
        "--max_len < 1 unequal articles in a batch are an error); batch: pad each batch to "
        "its longest article; bucket: batch similar lengths together, pad per batch",
    )
    parser.add_argument("--hidden_dim", type=positive_int, default=64, help="LSTM hidden units")
    parser.add_argument("--num_layers", type=positive_int, default=1, help="LSTM layers")
    parser.add_argument("--bidirectional", action="store_true", help="bidirectional LSTM")
    parser.add_argument(
        "--pooling",
        choices=POOLINGS,
        default="masked",
        help="LSTM readout: masked: max over real tokens; padded: max over every position, "
        "padding included; last: the output at the final position (after the padding)",
    )
    parser.add_argument(
        "--length_histogram",
        action="store_true",
        help="save a histogram of raw article lengths (no truncation/padding)",
    )


def effective_config(args: argparse.Namespace) -> TrainingConfig:
    return training_config(
        args,
        best_metric="val/acc",
        # Evaluation batches of 64 whatever the training batch: the same accuracies (every
        # model here gives each article the same logits in any batch, except pooling over
        # per-batch padding), a fraction of the time for the LSTM. Unpadded articles of
        # unequal length cannot be stacked: those are evaluated at the training batch size.
        eval_batch_size=(
            args.batch_size
            if args.padding == "max_len" and args.max_len < 1
            else max(64, args.batch_size)
        ),
        scheduler_interval="manual",  # DivideLrWhenValAccDrops steps it
    )


def load_splits(args: argparse.Namespace):
    """Train/val/test datasets, the corpus info, the label names, the raw training articles
    and the tokenizer."""
    paths = tuple(
        args.data_dir / f"txt_{s}.csv" if args.data_dir else data.default_csv(s)
        for s in data.SPLITS
    )
    # Files are keyed by their size and modification time, so an edited CSV is read afresh.
    stamps = tuple((str(p), *_stamp(p)) for p in paths)
    return _load_splits(stamps, args.tokenizer, args.train_articles, args.max_len, args.padding)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)  # read_text_csv names the missing file
    return stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=2)
def _load_splits(stamps, tokenizer_name, train_articles, max_len, padding):
    # The runs of a sweep (seeds, models, optimizers) share their data: `reproduce` runs
    # them in one process, and tokenising 2,225 articles costs about a second each time.
    paths = {s: Path(stamp[0]) for s, stamp in zip(data.SPLITS, stamps, strict=True)}
    articles = {s: data.read_text_csv(p) for s, p in paths.items()}
    if train_articles:
        articles["train"] = articles["train"][:train_articles]
    names = data.label_names(articles["train"], paths["train"])
    tokenizer = data.TOKENIZERS[tokenizer_name]()
    seen: dict[str, list[str]] = {}  # the training articles are tokenised once, not twice

    def tokenize(text: str) -> list[str]:
        if text not in seen:
            seen[text] = tokenizer(text)
        return seen[text]

    info = data.CorpusInfo(articles["train"], tokenize)  # the tokenise-only first pass
    transforms = [data.TruncateToMaxLen(max_len)]
    if padding == "max_len":
        transforms.append(data.PadToMaxLen(max_len, info.pad_idx))
    sets = {
        s: data.TextDataset(
            articles[s], tokenize, info.vocab, transforms, info.num_labels, paths[s]
        )
        for s in data.SPLITS
    }
    return sets, info, names, articles["train"], tokenize


def build_model(args: argparse.Namespace, info: data.CorpusInfo) -> torch.nn.Module:
    if args.model == "simple":
        return TextClassificationModel(info.vocab_size, args.embed_dim, info.num_labels)
    if args.model == "simple_pad_aware":
        return PadAwareTextClassificationModel(
            info.vocab_size, args.embed_dim, info.num_labels, info.pad_idx
        )
    return LSTMClassifier(
        info.vocab_size,
        args.embed_dim,
        args.hidden_dim,
        info.num_labels,
        info.pad_idx,
        args.num_layers,
        args.bidirectional,
        args.pooling,
    )


def pipeline(args: argparse.Namespace) -> dict[str, str]:
    """Which tokenizer, padding and model a run used, in words (for its summary and report)."""
    padding = PADDINGS[args.padding]
    if args.max_len < 1:
        padding = (
            "no truncation or padding, batches stacked (course)"
            if args.padding == "max_len"
            else f"{padding}, no truncation"
        )
    model = MODELS[args.model]
    if args.model == "lstm":
        model = f"{model}, readout {args.pooling}: {READOUTS[args.pooling]}"
    return {
        "tokenizer": f"{args.tokenizer}: {TOKENIZERS[args.tokenizer]}",
        "vocabulary": "first-seen order, <OOV> 0, <PAD> 1 (course)",
        "padding": f"{args.padding}: {padding}",
        "model": f"{args.model}: {model}",
        "lr_schedule": "lr / 10 when val accuracy falls below its best (course)",
    }


class TrainingClock:
    """Wraps a step function and adds up the seconds of training steps alone.

    The interval from one training call to the next call (a training step or the first
    evaluation batch) is one full step: forward, backward, clipping, optimizer, logging.
    Evaluation, checkpoints and loader set-up between epochs are left out.
    """

    def __init__(self, step) -> None:
        self.step, self._since = step, None
        self.seconds = 0.0  # wall time
        self.cpu_seconds = 0.0  # CPU time of the process: less disturbed by other programs

    def __call__(self, model: torch.nn.Module, batch) -> StepOutput:
        now = (time.perf_counter(), time.process_time())
        if self._since is not None:
            self.seconds += now[0] - self._since[0]
            self.cpu_seconds += now[1] - self._since[1]
        self._since = now if model.training else None
        return self.step(model, batch)


class DivideLrWhenValAccDrops(Callback):
    """The starter's rule (that of the PyTorch tutorial it is based on): divide the learning
    rate by 10 whenever validation accuracy falls below its best so far."""

    def __init__(self, optimizer: torch.optim.Optimizer, run: Run, train_size: int) -> None:
        self.optimizer, self.run, self.train_size = optimizer, run, train_size
        self.scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.1)
        self.best: float | None = None

    def on_evaluation(self, step: int, metrics: dict[str, float]) -> None:
        acc = metrics["val/acc"]
        if self.best is not None and acc < self.best:
            self.scheduler.step()
        else:
            self.best = acc
        samples = round(metrics["epoch"] * self.train_size)
        self.run.log({"lr": self.optimizer.param_groups[0]["lr"]}, step=samples)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = effective_config(args)
    seed_everything(config.seed)
    sets, info, names, train_articles, tokenizer = load_splits(args)
    model = build_model(args, info)
    run_ = open_run(COMMAND, args, config, model)
    used = pipeline(args)
    run_.update_summary({"pipeline": used})
    print(
        f"{len(sets['train'])} train / {len(sets['val'])} val / {len(sets['test'])} test articles, "
        f"{info.num_labels} labels, vocabulary {info.vocab_size:,}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters"
    )
    for part, value in used.items():
        print(f"  {part}: {value}")
    if args.length_histogram:
        lengths = [len(tokenizer(a.text)) for a in train_articles]
        run_.save_figure(
            histogram(
                lengths, "HW0 Q4.1: raw article lengths (training set)", "tokens per article"
            ),
            "length_histogram.png",
        )
        run_.update_summary({"length_stats": _length_stats(lengths)})

    optimizer = config.optimizer.build(model.parameters())
    lr_rule = DivideLrWhenValAccDrops(optimizer, run_, len(sets["train"]))
    lengths = sets["train"].lengths()

    def length_buckets(generator: torch.Generator) -> list[list[int]]:
        return data.bucketed_batches(lengths, config.fit.batch_size, generator)

    collate = data.stack_collate if args.padding == "max_len" else data.pad_collate(info.pad_idx)
    clock = TrainingClock(classification_step)
    result = fit(
        model,
        optimizer,
        sets["train"],
        clock,
        run_,
        config.fit,
        eval_sets={"val": sets["val"], "test": sets["test"]},
        collate_fn=collate,
        batch_order=length_buckets if args.padding == "bucket" else None,
        scheduler=lr_rule.scheduler,
        callbacks=[lr_rule],
    )
    epochs = list(range(1, len(result.history) + 1))
    run_.save_figure(
        line_plot(
            {
                split: (epochs, [h.get(key, float("nan")) for h in result.history])
                for split, key in (
                    ("train (running)", "train/avg_acc"),
                    ("val", "val/acc"),
                    ("test", "test/acc"),
                )
            },
            f"HW0 §4: {args.model} accuracy per epoch",
            "epoch",
            "accuracy",
        ),
        "accuracy.png",
    )
    final = result.metrics
    if final:
        print(f"val accuracy {final['val/acc']:.4f}, test accuracy {final['test/acc']:.4f}")
    finish(
        run_,
        result,
        started,
        labels=names,
        vocab_size=info.vocab_size,
        train_articles=len(sets["train"]),
        # Seconds in training steps alone (this session; evaluation and checkpoints excluded).
        train_step_seconds=round(clock.seconds, 4),
        train_step_cpu_seconds=round(clock.cpu_seconds, 4),
        val_acc=final.get("val/acc"),
        test_acc=final.get("test/acc"),
    )
    return 0


def _length_stats(lengths: list[int]) -> dict[str, float]:
    import numpy as np

    values = np.asarray(lengths)
    return {
        "n": int(values.size),
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "max": int(values.max()),
        "share_over_1024": float((values > 1024).mean()),
        "share_under_256": float((values < 256).mean()),
    }
