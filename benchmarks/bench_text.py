"""HW0 §4 text: LSTM epoch time with bucketed, per-batch padding vs padding to 1024; tokenising."""

from __future__ import annotations

import torch

from harness import Benchmark
from neurallab.data import text as data
from neurallab.engine import FitConfig, fit
from neurallab.models.text import LSTMClassifier
from neurallab.programs.run import classification_step
from neurallab.tracking import Run


def _lstm_epochs():
    """One LSTM epoch at batch 32: padded to 1024 tokens vs bucketed + padded per batch."""
    import tempfile

    articles = data.read_text_csv(data.default_csv("train"))
    tok = data.SimpleTokenizer()
    info = data.CorpusInfo(articles, tok)
    truncated = data.TextDataset(articles, tok, info.vocab, [data.TruncateToMaxLen(1024)])
    padded = data.TextDataset(
        articles,
        tok,
        info.vocab,
        [data.TruncateToMaxLen(1024), data.PadToMaxLen(1024, info.pad_idx)],
    )
    lengths = truncated.lengths()
    folder = tempfile.mkdtemp()

    def epoch(dataset, collate, batch_order):
        torch.manual_seed(0)
        model = LSTMClassifier(info.vocab_size, 64, 64, info.num_labels, info.pad_idx)
        cfg = FitConfig(epochs=1, batch_size=32, progress=False, best_metric=None, seed=0)
        run = Run(folder, writes=False)
        return fit(
            model,
            torch.optim.Adam(model.parameters(), 3e-3),
            dataset,
            classification_step,
            run,
            cfg,
            collate_fn=collate,
            batch_order=batch_order,
        )

    def pad_to_1024():
        epoch(padded, data.stack_collate, None)

    def bucketed():
        epoch(
            truncated,
            data.pad_collate(info.pad_idx),
            lambda generator: data.bucketed_batches(lengths, 32, generator),
        )

    return pad_to_1024, bucketed


def _tokenise():
    articles = data.read_text_csv(data.default_csv("train"))

    def split_and_count():  # the naive way: str.split and a dict of counts
        counts: dict[str, int] = {}
        for a in articles:
            for w in a.text.lower().split():
                counts[w] = counts.get(w, 0) + 1

    def corpus_info():
        data.CorpusInfo(articles, data.SimpleTokenizer())

    return split_and_count, corpus_info


BENCHMARKS = [
    Benchmark(
        "LSTM epoch, BBC train, batch 32",
        "pad every article to 1024",
        "bucketed + per-batch padding",
        _lstm_epochs,
        goal=3.0,
        repeats=1,
        warmup=0,
    ),
    Benchmark(
        "vocabulary over 1,558 articles",
        "str.split + dict (no punctuation split)",
        "SimpleTokenizer + CorpusInfo",
        _tokenise,
        repeats=3,
    ),
]

if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from run import main

    raise SystemExit(main(["text", *sys.argv[1:]]))
