"""HW7: text from a trained rnn-lm run (greedy, temperature, top-k); trains nothing.

from neurallab.programs import generate
out = generate.run(generate.Settings(checkpoint="runs/rnn-lm/try", temperature=(0, 0.8)))
out.samples[0.8]          # the texts at temperature 0.8
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurallab.engine.checkpoint import CheckpointError
from neurallab.engine.checkpoint import load as load_checkpoint
from neurallab.engine.generation import generate_samples, load_language_model
from neurallab.errors import UserError
from neurallab.flags import non_negative_float, positive_int
from neurallab.programs import rnn_lm
from neurallab.settings import Settings as BaseSettings
from neurallab.settings import setting

PROGRAM = "generate"
HELP = "HW7: sample text from a trained rnn-lm checkpoint at one or more temperatures"


@dataclass(frozen=True)
class Settings(BaseSettings):
    """What to sample: from which checkpoint, after which prompt, how many tokens, how hot."""

    PROGRAM = PROGRAM
    checkpoint: Path | None = setting(
        None, "an rnn-lm run folder (its best.pt), or its best.pt or last.pt (required)"
    )
    prompt: str = setting("Once upon a time there was a", "the text to continue")
    temperature: tuple[float, ...] = setting(
        (0.0,), "0 is greedy", nargs="+", check=non_negative_float
    )
    num_tokens: int = setting(64, "new tokens per sample", check=positive_int)
    samples: int = setting(1, "samples per temperature", check=positive_int)
    top_k: int | None = setting(None, "sample among the k likeliest tokens", check=positive_int)
    seed: int = setting(0, "seeds the sampling")
    out: Path | None = setting(None, "also write the samples as JSON")


@dataclass(frozen=True)
class Generated:
    """What `run` returns: the settings, the checkpoint read and the texts per temperature."""

    settings: Settings
    checkpoint: Path
    samples: dict[float, list[str]] = field(repr=False)


def load_model(path: Path | str) -> tuple[Any, Any]:
    """(model, tokenizer) from an rnn-lm run folder or checkpoint. A checkpoint written before
    checkpoints named their model is read through its run folder's config.json, as then."""
    path = Path(path)
    if path.is_file():
        try:
            state = load_checkpoint(path)
        except CheckpointError as exc:  # one line: what the file is, and what was expected
            raise UserError(f"{exc}; expected a best.pt or last.pt written by rnn-lm") from None
        legacy = isinstance(state, dict) and "model" in state and "program" not in state
        config = path.parent / "config.json"
        if legacy and config.exists() and "embed_dim" in json.loads(config.read_text()):
            return load_language_model(path)
    return rnn_lm.load_with_tokenizer(path)


def run(settings: Settings, run_dir: Path | str | None = None, **options: Any) -> Generated:
    """Sample `settings.samples` continuations per temperature (one when greedy), print them,
    and write them as JSON to `settings.out` (and to `run_dir/samples.json` if given).
    `options` (a run's tracker, progress, ...) do not apply: nothing is trained or logged."""
    if settings.checkpoint is None:
        raise UserError("generate setting checkpoint: required (an rnn-lm run folder or .pt)")
    model, tokenizer = load_model(settings.checkpoint)
    vocab = tokenizer.get_vocab_size()
    if settings.top_k is not None and settings.top_k > vocab:
        raise UserError(f"top_k: {settings.top_k} is more than the vocabulary's {vocab} tokens")
    samples = generate_samples(
        model,
        tokenizer,
        prompt=settings.prompt,
        temperatures=list(settings.temperature),
        num_tokens=settings.num_tokens,
        samples=settings.samples,
        top_k=settings.top_k,
        seed=settings.seed,
    )
    for t, texts in samples.items():
        for i, text in enumerate(texts, start=1):
            print(f"--- temperature {t:g}, sample {i} ---\n{text}\n")
    as_json = json.dumps({str(t): v for t, v in samples.items()}, indent=1)
    if settings.out:
        Path(settings.out).write_text(as_json)
    if run_dir is not None:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        (Path(run_dir) / "samples.json").write_text(as_json)
    return Generated(settings, Path(settings.checkpoint), samples)
