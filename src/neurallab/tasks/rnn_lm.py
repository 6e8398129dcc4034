"""HW7: train the RNN language model with self-attention (fast path) on token sequences.

Handout defaults: embed, hidden, dk, dv and batch size 128; 50,000 sequences; Adam lr 1e-3;
gradients clipped at norm 1; validation every tenth of the budget (or every `--eval_every`
steps) on the first validation batch (the course's definition; `--full_validation` uses the
whole set). Writes the course's three files (`train_losses.txt`, `val_losses.txt`,
`metrics.txt`) into the run folder, and the wall time of every training step (forward,
backward, clipping, update; validation and checkpoints excluded) into summary.json.

The budget is `--num_sequences`, as in the course: the engine's `--epochs` and
`--max_samples` would contradict it, so rnn-lm does not offer them and refuses them, on one
line, if given.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from neurallab.data import stories
from neurallab.engine import StepOutput, fit, seed_everything
from neurallab.engine.options import TrainingConfig, add_engine_args, training_config
from neurallab.errors import UserError
from neurallab.flags import positive_int
from neurallab.models.rnn_lm_fast import FastRNNLanguageModel
from neurallab.report.plots import line_plot
from neurallab.tasks.common import add_run_args, finish, open_run

COMMAND = "rnn-lm"
HELP = "HW7: RNN + self-attention language model (train, validate every tenth, course files)"

BUDGET_IS_NUM_SEQUENCES = "rnn-lm's training budget is --num_sequences"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_engine_args(
        parser,
        batch_size=128,
        lr=1e-3,
        seed=10601,
        optimizer="adam",
        clip_grad=1.0,
        eval_every_help="steps between validations (default: every tenth of --num_sequences)",
        refuse={"epochs": BUDGET_IS_NUM_SEQUENCES, "max_samples": BUDGET_IS_NUM_SEQUENCES},
    )
    add_run_args(parser, COMMAND)
    parser.add_argument(
        "--num_sequences",
        type=positive_int,
        default=50_000,
        help="training budget in sequences (the data is cycled if needed)",
    )
    parser.add_argument("--train_data", type=Path, default=None, help="course JSON (default: BBC)")
    parser.add_argument("--val_data", type=Path, default=None)
    parser.add_argument("--tokenizer", type=Path, default=None, help="tokenizer directory")
    for flag in ("--embed_dim", "--hidden_dim", "--dk", "--dv"):
        parser.add_argument(flag, type=positive_int, default=128)
    parser.add_argument(
        "--lr_schedule",
        choices=("constant", "cosine"),
        default="constant",
        help="constant (the course's), or a linear warm-up over the first twentieth of the "
        "steps followed by a cosine decay to 0 at the end of the budget",
    )
    parser.add_argument(
        "--full_validation",
        action="store_true",
        help="validate on the whole validation set, not its first batch",
    )


def effective_config(args: argparse.Namespace) -> TrainingConfig:
    """The budget is --num_sequences; validation every --eval_every steps, else every tenth
    of the budget (the course's); the best checkpoint has the lowest validation loss."""
    if args.num_sequences < args.batch_size:
        raise UserError(
            f"--num_sequences {args.num_sequences} is smaller than --batch_size "
            f"{args.batch_size}: not one batch would be trained"
        )
    tenth = max(1, int(args.num_sequences * 0.1) // args.batch_size)
    return training_config(
        args,
        epochs=1,  # unused: the budget is max_samples
        max_samples=args.num_sequences,
        eval_every=args.eval_every or tenth,
        best_metric="val/loss",
        best_mode="min",
        scheduler_interval="step",
    )


class StepTimer:
    """Wall time of each training step alone: forward, backward, clipping, optimizer update.

    The clock starts when the step function receives a training batch (the model is in train
    mode; validation runs in eval mode) and stops in the optimizer's post-step hook, so
    validation, checkpoints, logging and batch slicing fall outside every interval.
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

    def summary(self) -> dict:
        if not self.seconds:
            return {}
        return {
            "steps_timed": len(self.seconds),
            "train_step_seconds": round(sum(self.seconds), 4),
            "median_step_seconds": round(statistics.median(self.seconds), 5),
            "step_seconds": [round(s, 5) for s in self.seconds],
        }


def lr_schedule(args: argparse.Namespace, optimizer: torch.optim.Optimizer):
    """None for a constant learning rate; else warm-up then cosine decay, stepped per step."""
    if args.lr_schedule == "constant":
        return None
    total = math.ceil(args.num_sequences / args.batch_size)
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


def load_data(args: argparse.Namespace):
    """Train/valid tensors (N, T) and the tokenizer folder; the BBC defaults fill what is unset."""
    given = args.train_data and args.val_data and args.tokenizer
    defaults = {} if given else stories.default_paths()
    tokenizer_dir = args.tokenizer or defaults["tokenizer"]
    train = stories.load_sequences(args.train_data or defaults["train"], tokenizer_dir)
    valid = stories.load_sequences(args.val_data or defaults["valid"], tokenizer_dir)
    if train[0].shape != valid[0].shape:
        raise UserError(
            f"--train_data sequences have {len(train[0])} tokens, --val_data {len(valid[0])}"
        )
    vocab = stories.load_tokenizer(tokenizer_dir).get_vocab_size()
    return (
        TensorDataset(torch.stack(train)),
        TensorDataset(torch.stack(valid)),
        vocab,
        tokenizer_dir,
    )


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = effective_config(args)
    train, valid, vocab, tokenizer = load_data(args)
    seed_everything(config.seed)
    model = FastRNNLanguageModel(args.embed_dim, args.hidden_dim, vocab, args.dk, args.dv)
    run_ = open_run(COMMAND, args, config, model)
    # What ran, beyond the flags as given: `generate` reads the tokenizer from here.
    run_.update_summary(
        {"tokenizer": str(Path(tokenizer).resolve()), "eval_every_steps": config.fit.eval_every}
    )
    val_set = valid if args.full_validation else TensorDataset(valid.tensors[0][: args.batch_size])
    optimizer = config.optimizer.build(model.parameters())
    timer = StepTimer(optimizer)
    result = fit(
        model,
        optimizer,
        train,
        timer.wrap(lm_step),
        run_,
        config.fit,
        eval_sets={"val": val_set},
        scheduler=lr_schedule(args, optimizer),
    )
    train_losses = [round(h["train/avg_loss"], 6) for h in result.history if "train/avg_loss" in h]
    val_losses = [round(h["val/loss"], 6) for h in result.history]
    (run_.dir / "train_losses.txt").write_text("".join(f"{x}\n" for x in train_losses))
    (run_.dir / "val_losses.txt").write_text("".join(f"{x}\n" for x in val_losses))
    (run_.dir / "metrics.txt").write_text(
        f"Final Train Loss: {train_losses[-1]}\nFinal Valid Loss: {val_losses[-1]}\n"
    )
    seen = [h["samples"] for h in result.history]
    run_.save_figure(
        line_plot(
            {
                "train (mean since last point)": (seen, train_losses),
                "validation": (seen, val_losses),
            },
            f"HW7 LM: embed {args.embed_dim}, hidden {args.hidden_dim}, batch {args.batch_size}",
            "sequences seen",
            "cross-entropy (nats/token)",
        ),
        "losses.png",
    )
    print(
        f"final train loss {train_losses[-1]:.4f}, validation loss {val_losses[-1]:.4f} "
        f"after {result.samples:,} sequences ({result.seconds:.1f} s)"
    )
    finish(
        run_,
        result,
        started,
        final_train_loss=train_losses[-1],
        final_val_loss=val_losses[-1],
        vocab_size=vocab,
        **timer.summary(),
        curve={"sequences": seen, "train_loss": train_losses, "val_loss": val_losses},
    )
    return 0
