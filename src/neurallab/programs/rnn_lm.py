"""HW7: the RNN language model with self-attention (fast path), trained on token sequences.

Handout defaults: embed, hidden, dk, dv and batch size 128; 50,000 sequences; Adam lr 1e-3;
gradients clipped at norm 1; validation every tenth of the budget (or every `eval_every` steps)
on the first validation batch (the course's definition; `full_validation` uses the whole set).
Writes the course's three files (`train_losses.txt`, `val_losses.txt`, `metrics.txt`) into the
run folder, and the wall time of every training step (forward, backward, clipping, update;
validation and checkpoints excluded) into summary.json.

The budget is `num_sequences`, as in the course: the engine's `epochs` and `max_samples` would
contradict it, so rnn-lm refuses them.

    from neurallab.programs import rnn_lm
    rec = rnn_lm.train(rnn_lm.Settings(num_sequences=1280), run_dir="runs/rnn-lm/try")
    rec.final["val/loss"], rec.summary["passes"]; model, tokenizer = rnn_lm.load_with_tokenizer(rec.run_dir)
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from neurallab.data import stories
from neurallab.engine import Callback, StepOutput, fit, seed_everything
from neurallab.engine.options import TrainingConfig, TrainSettings
from neurallab.errors import UserError
from neurallab.flags import positive_int
from neurallab.models.rnn_lm_fast import FastRNNLanguageModel
from neurallab.programs.run import RunOptions, RunRecord, finish, open_run, read_checkpoint
from neurallab.report.plots import line_plot
from neurallab.settings import setting, with_default

PROGRAM = "rnn-lm"
HELP = "HW7: RNN + self-attention language model (train, validate every tenth, course files)"
BUDGET_IS_NUM_SEQUENCES = "rnn-lm's training budget is --num_sequences"
DATA = "data and model"


@dataclass(frozen=True)
class Settings(TrainSettings):
    """The handout's defaults: 50,000 sequences, batch 128, Adam 1e-3, clipping at 1, seed 10601."""

    PROGRAM = PROGRAM
    REFUSED = {"epochs": BUDGET_IS_NUM_SEQUENCES, "max_samples": BUDGET_IS_NUM_SEQUENCES}
    batch_size: int = with_default(TrainSettings, "batch_size", 128)
    clip_grad: float = with_default(TrainSettings, "clip_grad", 1.0)
    seed: int = with_default(TrainSettings, "seed", 10601)
    eval_every: int | None = with_default(
        TrainSettings,
        "eval_every",
        None,
        help="steps between validations (default: every tenth of --num_sequences)",
    )
    num_sequences: int = setting(
        50_000,
        "training budget in sequences (the data is cycled if needed)",
        check=positive_int,
        group=DATA,
    )
    train_data: Path | None = setting(
        None, "course JSON or raw text (default: the BBC corpus)", group=DATA
    )
    val_data: Path | None = setting(
        None, "validation data; required with --train_data (default: the BBC corpus)", group=DATA
    )
    tokenizer: Path | None = setting(
        None, "tokenizer directory (default: the BBC corpus's)", group=DATA
    )
    embed_dim: int = setting(128, "embedding size", check=positive_int, group=DATA)
    hidden_dim: int = setting(128, "RNN hidden size", check=positive_int, group=DATA)
    dk: int = setting(128, "attention key size", check=positive_int, group=DATA)
    dv: int = setting(128, "attention value size", check=positive_int, group=DATA)
    lr_schedule: str = setting(
        "constant",
        "constant (the course's), or a linear warm-up over the first twentieth of the steps "
        "followed by a cosine decay to 0 at the end of the budget",
        choices=("constant", "cosine"),
    )
    full_validation: bool = setting(
        False, "validate on the whole validation set, not its first batch"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_sequences < self.batch_size:
            raise UserError(
                f"{self._where()}num_sequences: --num_sequences {self.num_sequences} is smaller "
                f"than --batch_size {self.batch_size}: not one batch would be trained"
            )
        given = {"train_data": self.train_data, "val_data": self.val_data}
        missing = [name for name, path in given.items() if path is None]
        if len(missing) == 1:
            other = next(name for name in given if name not in missing)
            raise UserError(
                f"{self._where()}{missing[0]}: must be given with {other} {given[other]} "
                "(the default BBC set would mix two corpora in one run)"
            )


def model_args(settings: Settings, vocab_size: int) -> dict[str, int]:
    """The model's constructor arguments: stored in every checkpoint, so `load` needs no flags."""
    return {
        "embed_dim": settings.embed_dim,
        "hidden_dim": settings.hidden_dim,
        "vocab_size": vocab_size,
        "key_dim": settings.dk,
        "value_dim": settings.dv,
    }


def effective_config(settings: Settings, options: RunOptions | None = None) -> TrainingConfig:
    """The budget is num_sequences; validation every eval_every steps, else every tenth of the
    budget (the course's); the best checkpoint has the lowest validation loss."""
    tenth = max(1, int(settings.num_sequences * 0.1) // settings.batch_size)
    return settings.training_config(
        options,
        epochs=1,  # unused: the budget is max_samples
        max_samples=settings.num_sequences,
        eval_every=settings.eval_every or tenth,
        best_metric="val/loss",
        best_mode="min",
        scheduler_interval="step",
    )


class StepTimer(Callback):
    """Wall time of each training step alone: forward, backward, clipping, optimizer update.

    The clock starts when the step function receives a training batch (the model is in train
    mode; validation runs in eval mode) and stops in the optimizer's post-step hook, so
    validation, checkpoints, logging and batch slicing fall outside every interval. Its times
    are kept in the checkpoint, so a resumed run reports every step it made.
    """

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.seconds: list[float] = []
        self._started: float | None = None
        optimizer.register_step_post_hook(self._stop)

    def wrap(self, step):
        def timed_step(model: torch.nn.Module, batch) -> StepOutput:
            if model.training:
                self._started = time.perf_counter()
            return step(model, batch)

        return timed_step

    def _stop(self, optimizer, args, kwargs) -> None:
        if self._started is not None:
            self.seconds.append(time.perf_counter() - self._started)
            self._started = None

    def state_dict(self) -> dict[str, Any]:
        return {"seconds": list(self.seconds)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.seconds = list(state.get("seconds", []))

    def summary(self) -> dict[str, Any]:
        if not self.seconds:
            return {}
        return {
            "steps_timed": len(self.seconds),
            "train_step_seconds": round(sum(self.seconds), 4),
            "median_step_seconds": round(statistics.median(self.seconds), 5),
            "step_seconds": [round(s, 5) for s in self.seconds],
        }


def lr_schedule(settings: Settings, optimizer: torch.optim.Optimizer):
    """None for a constant learning rate; else warm-up then cosine decay, stepped per step."""
    if settings.lr_schedule == "constant":
        return None
    total = math.ceil(settings.num_sequences / settings.batch_size)
    warmup = max(1, total // 20)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def lm_step(model: torch.nn.Module, batch) -> StepOutput:
    (tokens,) = batch
    logits, _, _ = model(tokens)
    loss = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]).float(), tokens[:, 1:].reshape(-1)
    )
    return StepOutput(loss=loss, size=len(tokens))


def _refuse_binary(path: Path, name: str) -> None:
    """A data file must be text (the course's JSON or raw stories), never bytes read as text."""
    if not path.is_file():
        raise UserError(f"{name}: {path} is not a file")
    head = path.open("rb").read(4096)
    if b"\x00" in head or head.startswith(b"\x93NUMPY"):
        kind = "a NumPy array" if head.startswith(b"\x93NUMPY") else "a binary file"
        raise UserError(
            f"{name}: {path} is {kind}, not text; expected the course's JSON of token ids, "
            "a JSON list of stories, or a text file"
        )


def load_data(settings: Settings) -> tuple[TensorDataset, TensorDataset, int, Path]:
    """Train/valid tensors (N, T), the vocabulary size and the tokenizer folder. With no data
    named, the BBC corpus; a named train_data comes with its val_data (Settings checks)."""
    defaults = stories.default_paths()
    if settings.train_data is not None and settings.tokenizer is None:
        print(f"tokenizer: none given; using the BBC corpus's ({defaults['tokenizer']})")
    tokenizer_dir = Path(settings.tokenizer or defaults["tokenizer"])
    paths = {
        "train_data": Path(settings.train_data or defaults["train"]),
        "val_data": Path(settings.val_data or defaults["valid"]),
    }
    for name, path in paths.items():
        _refuse_binary(path, name)
    train = stories.load_sequences(paths["train_data"], tokenizer_dir)
    valid = stories.load_sequences(paths["val_data"], tokenizer_dir)
    if train[0].shape != valid[0].shape:
        raise UserError(
            f"val_data: its sequences have {len(valid[0])} tokens, train_data's {len(train[0])}"
        )
    vocab = stories.load_tokenizer(tokenizer_dir).get_vocab_size()
    return (
        TensorDataset(torch.stack(train)),
        TensorDataset(torch.stack(valid)),
        vocab,
        tokenizer_dir,
    )


def _write_course_files(run, history: list[dict[str, float]], settings: Settings) -> dict:
    """train_losses.txt, val_losses.txt, metrics.txt and losses.png, as the course writes."""
    train_losses = [round(h["train/avg_loss"], 6) for h in history if "train/avg_loss" in h]
    val_losses = [round(h["val/loss"], 6) for h in history]
    (run.dir / "train_losses.txt").write_text("".join(f"{x}\n" for x in train_losses))
    (run.dir / "val_losses.txt").write_text("".join(f"{x}\n" for x in val_losses))
    (run.dir / "metrics.txt").write_text(
        f"Final Train Loss: {train_losses[-1]}\nFinal Valid Loss: {val_losses[-1]}\n"
    )
    seen = [h["samples"] for h in history]
    curves = {
        "train (mean since last point)": (seen, train_losses),
        "validation": (seen, val_losses),
    }
    title = (
        f"HW7 LM: embed {settings.embed_dim}, hidden {settings.hidden_dim}, "
        f"batch {settings.batch_size}"
    )
    run.save_figure(
        line_plot(curves, title, "sequences seen", "cross-entropy (nats/token)"), "losses.png"
    )
    return {"sequences": seen, "train_loss": train_losses, "val_loss": val_losses}


def train(settings: Settings, run_dir: Path | str | None = None, **options: Any) -> RunRecord:
    """Train the language model; the record's summary holds the course's final losses, the
    step times, the training-set size and the passes over it."""
    started = time.perf_counter()
    opts = RunOptions(run_dir=run_dir, **options)
    config = effective_config(settings, opts)
    train_set, valid, vocab, tokenizer = load_data(settings)
    seed_everything(config.seed)
    args = model_args(settings, vocab)
    model = FastRNNLanguageModel(**args)
    run = open_run(settings, opts, config, model)
    train_size = len(train_set)
    run.update_summary(
        {
            "tokenizer": str(tokenizer.resolve()),  # `generate` and `load` read it from here
            "eval_every_steps": config.fit.eval_every,
            "train_sequences": train_size,
            "val_sequences": len(valid),
            # Timing conditions, for answers that compare wall times: threads, and the
            # machine's 1-minute load average when training started (and, below, ended).
            "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "load_average_start": round(os.getloadavg()[0], 2),
        }
    )
    val_set = (
        valid
        if settings.full_validation
        else TensorDataset(valid.tensors[0][: settings.batch_size])
    )
    optimizer = config.optimizer.build(model.parameters())
    timer = StepTimer(optimizer)
    result = fit(
        model,
        optimizer,
        train_set,
        timer.wrap(lm_step),
        run,
        config.fit,
        eval_sets={"val": val_set},
        scheduler=lr_schedule(settings, optimizer),
        callbacks=[timer],
        checkpoint_extra={
            "program": PROGRAM,
            "model_args": args,
            "tokenizer": str(tokenizer.resolve()),
        },
    )
    curve = _write_course_files(run, result.history, settings)
    print(
        f"final train loss {curve['train_loss'][-1]:.4f}, validation loss "
        f"{curve['val_loss'][-1]:.4f} after {result.samples:,} sequences "
        f"({result.samples / train_size:.2f} passes over {train_size:,}; {result.seconds:.1f} s)"
    )
    return finish(
        run,
        started,
        settings,
        final_train_loss=curve["train_loss"][-1],
        final_val_loss=curve["val_loss"][-1],
        vocab_size=vocab,
        sequences_read=result.samples,  # whole batches: can pass num_sequences by a partial one
        passes=round(result.samples / train_size, 4),
        load_average_end=round(os.getloadavg()[0], 2),
        **timer.summary(),
        curve=curve,
    )


def load_with_tokenizer(path: Path | str) -> tuple[FastRNNLanguageModel, Any]:
    """(model in eval mode, tokenizer) from a run folder (its best.pt) or an rnn-lm checkpoint
    alone: the checkpoint names the model's sizes and the tokenizer it trained with."""
    state = read_checkpoint(path, PROGRAM)
    folder = Path(state.get("tokenizer") or stories.default_paths()["tokenizer"])
    if not folder.exists():
        raise UserError(f"{path}: its tokenizer {folder} no longer exists")
    tokenizer = stories.load_tokenizer(folder)
    args = state["model_args"]
    if tokenizer.get_vocab_size() != args["vocab_size"]:
        raise UserError(
            f"{path}: the model has {args['vocab_size']} token ids, its tokenizer {folder} "
            f"{tokenizer.get_vocab_size()}"
        )
    model = FastRNNLanguageModel(**args)
    model.load_state_dict(state["model"])
    return model.eval(), tokenizer


def load(path: Path | str) -> torch.nn.Module:
    """The trained language model from a run folder (its best.pt) or a checkpoint, in eval mode."""
    return load_with_tokenizer(path)[0]
