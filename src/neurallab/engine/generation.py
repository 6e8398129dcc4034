"""Sampling text from a trained language model (and reading checkpoints older than the ones
that name their model, through their run folder's config.json).

Shared by `neurallab.programs.generate` and the HW7 questions, so both decode the same way:
prompt and continuation are decoded together, greedy decoding (temperature 0) gives one sample.
A current checkpoint is loaded by `neurallab.programs.rnn_lm.load_with_tokenizer`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch

from neurallab.data.stories import default_paths, load_tokenizer
from neurallab.engine.checkpoint import load_model_weights
from neurallab.errors import UserError
from neurallab.models.rnn_lm_fast import FastRNNLanguageModel


def tokenizer_of(run_dir: Path, config: dict) -> Path:
    """The tokenizer a run trained with: summary.json records it (resolved); runs made before
    it did stored it in config.json; a run given no --tokenizer used the BBC corpus's."""
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    folder = summary.get("tokenizer") or config.get("tokenizer")
    return Path(folder) if folder else default_paths()["tokenizer"]


def load_language_model(checkpoint: Path) -> tuple[FastRNNLanguageModel, object]:
    """(model, tokenizer) of an older rnn-lm run that wrote `checkpoint` (its best.pt or
    last.pt), rebuilt from the run folder's config.json."""
    config_path = checkpoint.parent / "config.json"
    if not config_path.exists():
        raise UserError(f"{checkpoint}: no config.json beside it; not inside an rnn-lm run folder")
    c = json.loads(config_path.read_text())
    tokenizer = load_tokenizer(tokenizer_of(checkpoint.parent, c))
    model = FastRNNLanguageModel(
        c["embed_dim"], c["hidden_dim"], tokenizer.get_vocab_size(), c["dk"], c["dv"]
    )
    load_model_weights(model, checkpoint)
    return model, tokenizer


def generate_samples(
    model: FastRNNLanguageModel,
    tokenizer,
    prompt: str,
    temperatures: Iterable[float],
    num_tokens: int,
    samples: int,
    top_k: int | None,
    seed: int,
) -> dict[float, list[str]]:
    """`samples` continuations of `prompt` per temperature (one for temperature 0), seeded."""
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
