"""HW7: generate text from a trained `neurallab rnn-lm` checkpoint (greedy, temperature, top-k)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from neurallab.engine.generation import generate_samples, load_language_model
from neurallab.flags import non_negative_float, positive_int

COMMAND = "generate"
HELP = "HW7: sample text from a trained rnn-lm checkpoint at one or more temperatures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", type=Path, required=True, help="best.pt or last.pt of rnn-lm"
    )
    parser.add_argument("--prompt", default="Once upon a time there was a")
    parser.add_argument(
        "--temperature", type=non_negative_float, nargs="+", default=[0.0], help="0 is greedy"
    )
    parser.add_argument("--num_tokens", type=positive_int, default=64)
    parser.add_argument("--samples", type=positive_int, default=1, help="samples per temperature")
    parser.add_argument("--top_k", type=positive_int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the samples as JSON")


def effective_config(args: argparse.Namespace) -> dict[str, Any]:
    """The sampling settings, as `generate_samples` takes them (it seeds from `seed`)."""
    return {
        "prompt": args.prompt,
        "temperatures": list(args.temperature),
        "num_tokens": args.num_tokens,
        "samples": args.samples,
        "top_k": args.top_k,
        "seed": args.seed,
    }


def run(args: argparse.Namespace) -> int:
    config = effective_config(args)
    model, tokenizer = load_language_model(args.checkpoint)
    results = generate_samples(model, tokenizer, **config)
    for t, texts in results.items():
        for i, text in enumerate(texts, start=1):
            print(f"--- temperature {t:g}, sample {i} ---\n{text}\n")
    if args.out:
        args.out.write_text(json.dumps({str(t): v for t, v in results.items()}, indent=1))
    return 0
