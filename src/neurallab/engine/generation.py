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


# -- measured properties of a text, for samples and real text alike ------------------------


def unigram_entropy(sequences: torch.Tensor, vocab: int) -> float:
    """Entropy (nats/token) of the token frequencies of the predicted positions (all but the
    first of each sequence): the loss of the best model that ignores context."""
    counts = torch.bincount(sequences[:, 1:].reshape(-1), minlength=vocab).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())


def distinct_fraction(tokens: list[int], n: int = 1) -> float:
    """Distinct n-grams / n-grams (1 = no n-gram repeats)."""
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / max(1, len(grams))


def repeated_ngrams(tokens: list[int], n: int = 4) -> float:
    """Fraction of the n-grams of a text that already occurred earlier in it (loops -> 1)."""
    return 1.0 - distinct_fraction(tokens, n) if len(tokens) >= n else 0.0


def continuation_loss(model, prompt: torch.Tensor, continuation: torch.Tensor) -> float:
    """Mean cross-entropy (nats/token) of the continuation's tokens under the model."""
    tokens = torch.cat([prompt, continuation]).unsqueeze(0)
    with torch.no_grad():
        logits, _, _ = model(tokens)
    start = len(prompt) - 1  # the logits at position t predict token t + 1
    return float(
        torch.nn.functional.cross_entropy(logits[0, start:-1].float(), tokens[0, start + 1 :])
    )


MEASURES = {
    "distinct": "distinct-token fraction",
    "distinct 2-grams": "distinct 2-gram fraction",
    "repeated 4-grams": "repeated 4-gram fraction",
    "loss": "per-token loss under the model",
}


def measure(model, prompt: torch.Tensor, continuation: torch.Tensor) -> dict[str, float]:
    ids = continuation.tolist()
    return {
        "distinct": distinct_fraction(ids),
        "distinct 2-grams": distinct_fraction(ids, 2),
        "repeated 4-grams": repeated_ngrams(ids),
        "loss": continuation_loss(model, prompt, continuation),
    }


def split_loss(model, sequences: torch.Tensor, batch: int = 128) -> float:
    """Mean next-token cross-entropy (nats/token) over every predicted token of a split."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(sequences), batch):
            tokens = sequences[i : i + batch]
            logits, _, _ = model(tokens)
            targets = tokens[:, 1:].reshape(-1)
            flat = logits[:, :-1].reshape(-1, logits.shape[-1]).float()
            total += float(torch.nn.functional.cross_entropy(flat, targets, reduction="sum"))
            count += len(targets)
    return total / count
