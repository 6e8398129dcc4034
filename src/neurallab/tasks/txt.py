"""HW0 §4: text classification (EmbeddingBag baseline or LSTM) on the course's text CSVs.

Defaults are the starter's: seed 10999, SGD lr 5.0, 5 epochs, batch 8, embed 64, max_len
1024, gradient clipping 0.1, and the learning rate divided by 10 whenever validation accuracy
drops. Unlike the starter, batches are padded per batch (dynamic padding) by default, so
`--max_len -1` works with any batch size; `--pad_to_max_len` restores the starter's padding.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from neurallab.data import text as data
from neurallab.engine import fit
from neurallab.flags import positive_int
from neurallab.models.text import LSTMClassifier, TextClassificationModel
from neurallab.report.plots import histogram, line_plot
from neurallab.tasks.common import (
    add_engine_args,
    classification_step,
    finish,
    fit_config,
    make_optimizer,
    open_run,
)

COMMAND = "txt"
HELP = "HW0 §4: news topic classifier (EmbeddingBag baseline or LSTM) on BBC News"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_engine_args(
        parser, epochs=5, batch_size=8, lr=5.0, seed=10999, optimizer="sgd", clip_grad=0.1
    )
    parser.add_argument(
        "--data_dir",
        type=Path,
        default=None,
        help="folder with txt_train/val/test.csv (default: prepared BBC News)",
    )
    parser.add_argument("--model", choices=("simple", "lstm"), default="simple")
    parser.add_argument("--embed_dim", type=positive_int, default=64)
    parser.add_argument(
        "--max_len",
        type=int,
        default=1024,
        help="truncate (and with --pad_to_max_len pad) to this many tokens; < 1: off",
    )
    parser.add_argument(
        "--pad_to_max_len",
        action="store_true",
        help="the starter's batching: pad every article to --max_len and stack "
        "(with --max_len < 1, unequal articles in a batch are an error); "
        "default: pad each batch to its longest article",
    )
    parser.add_argument(
        "--bucket",
        action="store_true",
        help="batch articles of similar length together (less padding)",
    )
    parser.add_argument("--hidden_dim", type=positive_int, default=64, help="LSTM hidden units")
    parser.add_argument("--num_layers", type=positive_int, default=1, help="LSTM layers")
    parser.add_argument("--bidirectional", action="store_true", help="bidirectional LSTM")
    parser.add_argument(
        "--pooling",
        choices=("masked", "padded"),
        default="masked",
        help="LSTM max pooling over real tokens only, or over padding too",
    )
    parser.add_argument(
        "--length_histogram",
        action="store_true",
        help="save a histogram of raw article lengths (no truncation/padding)",
    )


def load_splits(args: argparse.Namespace):
    """Train/val/test datasets, the corpus info and the label names."""
    paths = {
        s: (args.data_dir / f"txt_{s}.csv" if args.data_dir else data.default_csv(s))
        for s in data.SPLITS
    }
    articles = {s: data.read_text_csv(p) for s, p in paths.items()}
    names = data.label_names(articles["train"], paths["train"])
    tokenizer = data.SimpleTokenizer()
    info = data.CorpusInfo(articles["train"], tokenizer)
    transforms = [data.TruncateToMaxLen(args.max_len)]
    if args.pad_to_max_len:
        transforms.append(data.PadToMaxLen(args.max_len, info.pad_idx))
    sets = {
        s: data.TextDataset(
            articles[s], tokenizer, info.vocab, transforms, info.num_labels, paths[s]
        )
        for s in data.SPLITS
    }
    return sets, info, names, articles["train"], tokenizer


def build_model(args: argparse.Namespace, info: data.CorpusInfo) -> torch.nn.Module:
    if args.model == "simple":
        return TextClassificationModel(
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


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    torch.manual_seed(args.seed)
    sets, info, names, train_articles, tokenizer = load_splits(args)
    model = build_model(args, info)
    run_ = open_run(COMMAND, args, model)
    print(
        f"{len(sets['train'])} train / {len(sets['val'])} val / {len(sets['test'])} test articles, "
        f"{info.num_labels} labels, vocabulary {info.vocab_size:,}, model {args.model} "
        f"with {sum(p.numel() for p in model.parameters()):,} parameters"
    )
    if args.length_histogram:
        lengths = [len(tokenizer(a.text)) for a in train_articles]
        run_.save_figure(
            histogram(
                lengths, "HW0 Q4.1: raw article lengths (training set)", "tokens per article"
            ),
            "length_histogram.png",
        )
        run_.update_summary({"length_stats": _length_stats(lengths)})

    optimizer = make_optimizer(args, model.parameters())
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.1)
    best_val = {"acc": None}

    def step_lr_when_val_acc_drops(epoch: int, metrics: dict) -> None:
        # The starter's rule: divide the learning rate by 10 whenever validation accuracy drops.
        acc = metrics["val/acc"]
        if best_val["acc"] is not None and acc < best_val["acc"]:
            scheduler.step()
        best_val["acc"] = acc
        run_.log(
            {"lr": optimizer.param_groups[0]["lr"]}, step=int(metrics["epoch"] * len(sets["train"]))
        )

    lengths = sets["train"].lengths()
    cfg = fit_config(
        args,
        best_metric="val/acc",
        scheduler_interval="manual",
        batch_order=(
            (lambda seed, epoch: data.bucketed_batches(lengths, args.batch_size, seed, epoch))
            if args.bucket
            else None
        ),
    )
    collate = data.stack_collate if args.pad_to_max_len else data.pad_collate(info.pad_idx)
    result = fit(
        model,
        optimizer,
        sets["train"],
        classification_step,
        run_,
        cfg,
        eval_sets={"val": sets["val"], "test": sets["test"]},
        collate_fn=collate,
        scheduler=scheduler,
        on_eval=step_lr_when_val_acc_drops,
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
    }
