"""HW0 §4: text classification (EmbeddingBag baseline or LSTM) on the course's text CSVs.

from neurallab.programs import txt
rec = txt.train(txt.Settings(train_articles=350, max_len=256), run_dir="runs/txt/try")
rec.final["test/acc"]; model = txt.load(rec.run_dir); vocab = txt.vocabulary(rec.run_dir)

The defaults are the course pipeline (shared/spec/course-interfaces.md, HW0 text), so the
numbers a handout question reports are the starter's: the course tokenizer (case kept,
`. , : ; ! ? ( )` split off), the first-seen vocabulary, every article truncated and padded to
`max_len` and stacked, the EmbeddingBag that averages pad ids in; seed 10999, SGD lr 5.0,
5 epochs, batch 8, embed 64, max_len 1024, gradient clipping 0.1, and the learning rate divided
by 10 whenever validation accuracy falls below its best so far.

neurallab's alternatives are named settings: `tokenizer="words"` (lower-cased words and
punctuation), `model="simple_pad_aware"` (the bag skips padding), `padding="batch"` (pad each
batch to its longest article, so `max_len=-1` works at any batch size) and `padding="bucket"`
(also batch articles of similar length together).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from neurallab.data import text as data
from neurallab.engine import Callback, StepOutput, fit, seed_everything
from neurallab.engine.options import ENGINE, TrainingConfig, TrainSettings
from neurallab.errors import UserError
from neurallab.flags import non_negative_int, positive_int
from neurallab.models.text import (
    POOLINGS,
    LSTMClassifier,
    PadAwareTextClassificationModel,
    TextClassificationModel,
)
from neurallab.programs.run import (
    RunOptions,
    RunRecord,
    classification_step,
    finish,
    load_model,
    open_run,
    read_checkpoint,
)
from neurallab.report.plots import histogram, line_plot
from neurallab.settings import setting, with_default

PROGRAM = "txt"
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


@dataclass(frozen=True)
class Settings(TrainSettings):
    """The starter's defaults: 5 epochs of SGD (lr 5.0, clipping 0.1) at batch 8, seed 10999."""

    PROGRAM = PROGRAM
    epochs: int = setting(
        5,
        "passes over the training set (0, with length_histogram: the histogram alone)",
        flags=("--epochs", "--n_epochs"),
        check=non_negative_int,
        group=ENGINE,
    )
    batch_size: int = with_default(TrainSettings, "batch_size", 8)
    lr: float = with_default(TrainSettings, "lr", 5.0)
    optimizer: str = with_default(TrainSettings, "optimizer", "sgd")
    clip_grad: float = with_default(TrainSettings, "clip_grad", 0.1)
    seed: int = with_default(TrainSettings, "seed", 10999)
    data_dir: Path | None = setting(
        None, "folder with txt_train/val/test.csv (default: prepared BBC News)"
    )
    train_articles: int | None = setting(
        None,
        "train on the first N training articles only (the vocabulary too); "
        "validation and test stay whole (default: all)",
        check=positive_int,
    )
    tokenizer: str = setting(
        "course",
        "course: the starter's tokenizer; words: lower-cased words and punctuation",
        choices=tuple(TOKENIZERS),
    )
    model: str = setting(
        "simple",
        "simple: the course's EmbeddingBag, which averages pad ids in; "
        "simple_pad_aware: the bag skips padding; lstm: LSTM + max pooling",
        choices=tuple(MODELS),
    )
    embed_dim: int = setting(64, "embedding size", check=positive_int)
    max_len: int = setting(
        1024,
        "truncate to this many tokens (and with padding max_len pad to it); < 1: off",
    )
    padding: str = setting(
        "max_len",
        "max_len: the starter's (pad every article to max_len and stack; with max_len < 1 "
        "unequal articles in a batch are an error); batch: pad each batch to its longest "
        "article; bucket: batch similar lengths together, pad per batch",
        choices=tuple(PADDINGS),
    )
    hidden_dim: int = setting(64, "LSTM hidden units", check=positive_int)
    num_layers: int = setting(1, "LSTM layers", check=positive_int)
    bidirectional: bool = setting(False, "bidirectional LSTM")
    pooling: str = setting(
        "masked",
        "LSTM readout: masked: max over real tokens; padded: max over every position, "
        "padding included; last: the output at the final position (after the padding)",
        choices=POOLINGS,
    )
    length_histogram: bool = setting(
        False, "save a histogram of raw article lengths (no truncation/padding)"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.epochs == 0 and not self.length_histogram:
            raise UserError(
                f"{self._where()}epochs: 0 trains nothing; give at least 1 (0 is for "
                "length_histogram alone)"
            )
        trains = self.epochs > 0
        if trains and self.padding == "max_len" and self.max_len < 1 and self.batch_size > 1:
            # The starter's stacking needs equal lengths: without truncation and padding the
            # articles of a batch differ, and the first batch would fail after set-up.
            raise UserError(
                f"{self._where()}max_len: {self.max_len} (no truncation or padding) with "
                f"padding max_len cannot stack articles of unequal length at batch_size "
                f"{self.batch_size}; use padding batch or bucket, or batch_size 1"
            )

    def csv(self, split: str) -> Path:
        return self.data_dir / f"txt_{split}.csv" if self.data_dir else data.default_csv(split)


def effective_config(settings: Settings, options: RunOptions | None = None) -> TrainingConfig:
    """What `train` hands the engine: the settings plus what this program fixes itself."""
    unpadded = settings.padding == "max_len" and settings.max_len < 1
    return settings.training_config(
        options,
        best_metric="val/acc",
        # Evaluation batches of 64 whatever the training batch: the same accuracies (every
        # model here gives each article the same logits in any batch, except pooling over
        # per-batch padding), a fraction of the time for the LSTM. Unpadded articles of
        # unequal length cannot be stacked: those are evaluated at the training batch size.
        eval_batch_size=settings.batch_size if unpadded else max(64, settings.batch_size),
        scheduler_interval="manual",  # DivideLrWhenValAccDrops steps it
    )


# -- data ---------------------------------------------------------------------------------
@dataclass
class Corpus:
    """The splits a run trains and evaluates on, with what was derived from the training set."""

    sets: dict[str, data.TextDataset]
    info: data.CorpusInfo
    names: list[str]
    train_articles: list[data.Article]
    tokenize: Any


def load_corpus(settings: Settings) -> Corpus:
    paths = tuple(settings.csv(s) for s in data.SPLITS)
    # Files are keyed by their size and modification time, so an edited CSV is read afresh.
    stamps = tuple((str(p), *_stamp(p)) for p in paths)
    return _load_corpus(
        stamps, settings.tokenizer, settings.train_articles, settings.max_len, settings.padding
    )


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1)  # read_text_csv names the missing file
    return stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=2)
def _load_corpus(stamps, tokenizer_name, train_articles, max_len, padding) -> Corpus:
    # The runs of a sweep (seeds, models, optimizers) share their data: `reproduce` runs
    # them in one process, and tokenising 2,225 articles costs about a second each time.
    paths = {s: Path(stamp[0]) for s, stamp in zip(data.SPLITS, stamps, strict=True)}
    articles = {s: data.read_text_csv(p) for s, p in paths.items()}
    if train_articles:
        articles["train"] = articles["train"][:train_articles]
    names = data.label_names(articles["train"], paths["train"])
    for split in ("val", "test"):
        data.check_labels_match(articles[split], paths[split], names, paths["train"])
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
    return Corpus(sets, info, names, articles["train"], tokenize)


# -- the model ----------------------------------------------------------------------------
def model_args(settings: Settings, info: data.CorpusInfo) -> dict[str, Any]:
    """The model's constructor arguments (the vocabulary's size and pad id, the label count
    come from the training set): stored in every checkpoint, so `load` needs no flags."""
    args: dict[str, Any] = {
        "model": settings.model,
        "vocab_size": info.vocab_size,
        "embed_dim": settings.embed_dim,
        "num_class": info.num_labels,
        "pad_idx": info.pad_idx,
    }
    if settings.model == "lstm":
        args.update(
            hidden_dim=settings.hidden_dim,
            num_layers=settings.num_layers,
            bidirectional=settings.bidirectional,
            pooling=settings.pooling,
        )
    return args


def build_model(model: str, vocab_size: int, embed_dim: int, num_class: int, pad_idx: int, **lstm):
    if model == "simple":
        return TextClassificationModel(vocab_size, embed_dim, num_class)
    if model == "simple_pad_aware":
        return PadAwareTextClassificationModel(vocab_size, embed_dim, num_class, pad_idx)
    return LSTMClassifier(vocab_size, embed_dim, num_class=num_class, pad_idx=pad_idx, **lstm)


def load(path: Path | str) -> torch.nn.Module:
    """The trained model from a run folder (its best.pt) or a checkpoint (e.g. last.pt: the
    final weights), in eval mode."""
    return load_model(path, PROGRAM, build_model)


def vocabulary(path: Path | str) -> data.Vocab:
    """The vocabulary a run's model reads (token ids), from its checkpoint alone."""
    state = read_checkpoint(path, PROGRAM)
    vocab = data.Vocab()
    vocab.add_tokens(state["vocab"][2:])  # <OOV> and <PAD> come first, as in every Vocab
    return vocab


def pipeline(settings: Settings) -> dict[str, str]:
    """Which tokenizer, padding and model a run used, in words (for its summary and report)."""
    padding = PADDINGS[settings.padding]
    if settings.max_len < 1:
        padding = (
            "no truncation or padding, batches stacked (course)"
            if settings.padding == "max_len"
            else f"{padding}, no truncation"
        )
    model = MODELS[settings.model]
    if settings.model == "lstm":
        model = f"{model}, readout {settings.pooling}: {READOUTS[settings.pooling]}"
    return {
        "tokenizer": f"{settings.tokenizer}: {TOKENIZERS[settings.tokenizer]}",
        "vocabulary": "first-seen order, <OOV> 0, <PAD> 1 (course)",
        "padding": f"{settings.padding}: {padding}",
        "model": f"{settings.model}: {model}",
        "lr_schedule": "lr / 10 when val accuracy falls below its best (course)",
    }


# -- training -----------------------------------------------------------------------------
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
    rate by 10 whenever validation accuracy falls below its best so far. The engine saves the
    scheduler; the best accuracy so far is this callback's state, checkpointed with it."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.1)
        self.best: float | None = None

    def on_evaluation(self, step: int, metrics: dict[str, float]) -> None:
        acc = metrics["val/acc"]
        if self.best is not None and acc < self.best:
            self.scheduler.step()
        else:
            self.best = acc

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state.get("best")


def train(settings: Settings, run_dir: Path | str | None = None, **options: Any) -> RunRecord:
    """Train the classifier (or, at epochs 0, only draw the length histogram)."""
    started = time.perf_counter()
    opts = RunOptions(run_dir=run_dir, **options)
    config = effective_config(settings, opts)
    seed_everything(config.seed)
    corpus = load_corpus(settings)
    sets, info = corpus.sets, corpus.info
    args = model_args(settings, info)
    model = build_model(**args)
    run = open_run(settings, opts, config, model)
    used = pipeline(settings)
    run.update_summary({"pipeline": used})
    print(
        f"{len(sets['train'])} train / {len(sets['val'])} val / {len(sets['test'])} test articles, "
        f"{info.num_labels} labels, vocabulary {info.vocab_size:,}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters"
    )
    for part, value in used.items():
        print(f"  {part}: {value}")
    extra: dict[str, Any] = {
        "labels": corpus.names,
        "vocab_size": info.vocab_size,
        "train_articles": len(sets["train"]),
    }
    if settings.length_histogram:
        extra["length_stats"] = save_length_histogram(corpus, run, settings)
    if settings.epochs > 0:
        extra.update(fit_classifier(settings, config, corpus, model, args, run))
    return finish(run, started, settings, **extra)


def fit_classifier(settings, config, corpus: Corpus, model, args, run) -> dict[str, Any]:
    """`fit` with the course's batching and learning-rate rule; the numbers for summary.json."""
    sets, info = corpus.sets, corpus.info
    optimizer = config.optimizer.build(model.parameters())
    lr_rule = DivideLrWhenValAccDrops(optimizer)
    lengths = sets["train"].lengths()

    def length_buckets(generator: torch.Generator) -> list[list[int]]:
        return data.bucketed_batches(lengths, config.fit.batch_size, generator)

    max_len = settings.padding == "max_len"
    clock = TrainingClock(classification_step)
    result = fit(
        model,
        optimizer,
        sets["train"],
        clock,
        run,
        config.fit,
        eval_sets={"val": sets["val"], "test": sets["test"]},
        collate_fn=data.stack_collate if max_len else data.pad_collate(info.pad_idx),
        batch_order=length_buckets if settings.padding == "bucket" else None,
        scheduler=lr_rule.scheduler,
        callbacks=[lr_rule],
        checkpoint_extra={
            "program": PROGRAM,
            "model_args": args,
            "labels": corpus.names,
            "vocab": list(info.vocab.idx2str),
        },
    )
    epochs = list(range(1, len(result.history) + 1))
    curves = {
        split: (epochs, [h.get(key, float("nan")) for h in result.history])
        for split, key in (("train (running)", "train/avg_acc"), ("val", "val/acc"))
    }
    curves["test"] = (epochs, [h.get("test/acc", float("nan")) for h in result.history])
    data_name = "" if settings.data_dir else " (BBC News stand-in, 5 topics)"
    title = f"HW0 §4: {settings.model} accuracy per epoch{data_name}"
    run.save_figure(line_plot(curves, title, "epoch", "accuracy"), "accuracy.png")
    final = result.metrics
    print(f"val accuracy {final['val/acc']:.4f}, test accuracy {final['test/acc']:.4f}")
    return {
        # Seconds in training steps alone (this session; evaluation and checkpoints excluded).
        "train_step_seconds": round(clock.seconds, 4),
        "train_step_cpu_seconds": round(clock.cpu_seconds, 4),
        "val_acc": final["val/acc"],
        "test_acc": final["test/acc"],
    }


def save_length_histogram(corpus: Corpus, run, settings: Settings) -> dict[str, float]:
    """Q4.1: the raw lengths of the training articles (no truncation or padding)."""
    import numpy as np

    lengths = np.asarray([len(corpus.tokenize(a.text)) for a in corpus.train_articles])
    data_name = "" if settings.data_dir else ", BBC News stand-in"
    title = f"HW0 Q4.1: raw article lengths (training set{data_name})"
    run.save_figure(
        histogram(lengths.tolist(), title, "tokens per article"), "length_histogram.png"
    )
    return {
        "n": int(lengths.size),
        "mean": float(lengths.mean()),
        "median": float(np.median(lengths)),
        "max": int(lengths.max()),
        "share_over_1024": float((lengths > 1024).mean()),
        "share_under_256": float((lengths < 256).mean()),
    }
