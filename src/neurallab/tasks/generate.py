"""HW7: generate text from a trained `neurallab rnn-lm` checkpoint (greedy, temperature, top-k)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from neurallab.data.stories import default_paths, load_tokenizer
from neurallab.engine import load_model_weights
from neurallab.errors import UserError
from neurallab.flags import non_negative_float, positive_int
from neurallab.models.rnn_lm_fast import FastRNNLanguageModel

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


def tokenizer_of(run_dir: Path, config: dict) -> Path:
    """The tokenizer a run trained with: summary.json records it (resolved); runs made before
    it did stored it in config.json; a run given no --tokenizer used the BBC corpus's."""
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    folder = summary.get("tokenizer") or config.get("tokenizer")
    return Path(folder) if folder else default_paths()["tokenizer"]


def load_model(checkpoint: Path) -> tuple[FastRNNLanguageModel, object]:
    config_path = checkpoint.parent / "config.json"
    if not config_path.exists():
        raise UserError(
            f"{config_path}: not found; --checkpoint must be inside an rnn-lm run folder"
        )
    c = json.loads(config_path.read_text())
    tokenizer = load_tokenizer(tokenizer_of(checkpoint.parent, c))
    model = FastRNNLanguageModel(
        c["embed_dim"], c["hidden_dim"], tokenizer.get_vocab_size(), c["dk"], c["dv"]
    )
    load_model_weights(model, checkpoint)
    return model, tokenizer


def generate_samples(
    model,
    tokenizer,
    prompt: str,
    temperatures,
    num_tokens: int,
    samples: int,
    top_k: int | None,
    seed: int,
) -> dict[float, list[str]]:
    ids = tokenizer.encode(prompt, add_special_tokens=False).ids if prompt.strip() else []
    if not ids:
        raise UserError(f"--prompt {prompt!r} tokenises to nothing")
    prompt_tokens = torch.tensor([ids])
    torch.manual_seed(seed)
    out = {}
    for t in temperatures:
        n = 1 if t == 0 else samples  # greedy decoding gives one answer
        # Decode prompt and continuation together so the first new word keeps its space.
        out[t] = [
            tokenizer.decode(ids + model.generate(prompt_tokens, num_tokens, t, top_k).tolist())
            for _ in range(n)
        ]
    return out


def run(args: argparse.Namespace) -> int:
    model, tokenizer = load_model(args.checkpoint)
    results = generate_samples(
        model,
        tokenizer,
        args.prompt,
        args.temperature,
        args.num_tokens,
        args.samples,
        args.top_k,
        args.seed,
    )
    for t, texts in results.items():
        for i, text in enumerate(texts, start=1):
            print(f"--- temperature {t:g}, sample {i} ---\n{text}\n")
    if args.out:
        args.out.write_text(json.dumps({str(t): v for t, v in results.items()}, indent=1))
    return 0
