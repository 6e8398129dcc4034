"""The one training loop every task uses: `fit` and `evaluate`.

A task supplies a model, an optimizer, datasets and a `step(model, batch) -> StepOutput`
function; the loop does the rest: batching with a seeded per-epoch order, mixed precision,
gradient clipping, evaluation, metrics, checkpoints, resume, Ctrl-C and NaN handling.

Resume is exact: the checkpoint stores the position inside the epoch (how many batches were
done), the optimizer and scheduler state and every RNG state; since the batch order of an epoch
is a function of (seed, epoch) alone, a resumed run sees the same batches as an uninterrupted
one and, on CPU, ends with identical weights and metrics.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from neurallab.engine import checkpoint
from neurallab.engine.device import autocast, move_to
from neurallab.engine.distributed import DistributedContext
from neurallab.engine.progress import TrainProgress
from neurallab.engine.seed import rng_state, seed_everything, set_rng_state
from neurallab.errors import UserError
from neurallab.tracking.run import Run


@dataclass
class StepOutput:
    """What a task's step function returns for one batch."""

    loss: torch.Tensor  # scalar mean over the batch: what backward() uses
    size: int  # how many examples (or tokens) the mean is over
    correct: torch.Tensor | int | None = None  # correct predictions, when accuracy applies
    summed: bool = False  # the loss is a sum over the batch (reduction='sum'), not a mean

    def mean_loss(self) -> float:
        """The batch's mean loss per example, whatever the reduction, for logging."""
        value = float(self.loss.detach())
        return value / self.size if self.summed else value


StepFn = Callable[[nn.Module, Any], StepOutput]


@dataclass
class FitConfig:
    epochs: int = 1
    max_samples: int | None = None  # budget in examples instead of epochs
    batch_size: int = 32
    eval_batch_size: int | None = None
    shuffle: bool = True
    drop_last: bool = False
    clip_grad: float | None = None
    eval_every: int | None = None  # optimizer steps between evaluations; None: every epoch
    checkpoint_every: int | None = None  # steps between `last.pt` writes (also at every eval)
    best_metric: str | None = "val/acc"
    best_mode: Literal["max", "min"] = "max"
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    precision: str = "fp32"
    seed: int = 0
    resume: bool = False
    progress: bool = True
    log_every: int = 1  # steps between `train/loss` points
    num_workers: int = 0
    # When the engine steps a scheduler: after each "epoch", each "step", or "manual" (the
    # task steps it itself, e.g. from on_eval). The engine always checkpoints its state.
    scheduler_interval: Literal["epoch", "step", "manual"] = "epoch"
    # A task may choose the batches of each epoch itself (e.g. length-bucketed batches): a
    # function of (seed, epoch) only, so that resume stays exact. None: a seeded permutation.
    batch_order: Callable[[int, int], list[list[int]]] | None = None


@dataclass
class FitResult:
    metrics: dict[str, float]  # the last evaluation, keys like "val/acc"
    best: dict[str, float]  # the evaluation at which best_metric was best
    steps: int
    samples: int
    epochs: float
    seconds: float
    stopped: str  # "budget", "interrupted", "early_stop" or "nan"
    history: list[dict[str, float]] = field(default_factory=list)  # every evaluation


class TrainingDiverged(UserError):
    """The loss became NaN or Inf; the last good checkpoint is kept."""


@dataclass
class _Position:
    """Where training is; everything needed to continue exactly."""

    epoch: int = 0
    batch_in_epoch: int = 0
    step: int = 0
    samples: int = 0
    best_value: float | None = None
    best_metrics: dict = field(default_factory=dict)
    running_loss: float = 0.0  # sums since the last evaluation, for train/avg_loss
    running_correct: float = 0.0
    running_n: int = 0
    has_correct: bool = False
    seconds: float = 0.0  # training wall time up to the last checkpoint
    last_metrics: dict = field(default_factory=dict)
    history: list = field(default_factory=list)


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool) -> torch.Tensor:
    """The example order of one epoch: a function of (seed, epoch) only."""
    if not shuffle:
        return torch.arange(n)
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


def _batches(order: torch.Tensor, batch_size: int, drop_last: bool) -> list[list[int]]:
    chunks = [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    if drop_last and chunks and len(chunks[-1]) < batch_size:
        chunks.pop()
    return chunks


def _loader(data: Dataset, batches: list[list[int]], collate_fn, cfg: FitConfig) -> Iterable:
    """Batches of `data` in the given index order.

    Tensors already in memory (a TensorDataset) are sliced directly: a DataLoader would
    index them one example at a time and stack the results again.
    """
    if isinstance(data, TensorDataset) and collate_fn is None and cfg.num_workers == 0:
        return (tuple(t[torch.as_tensor(b)] for t in data.tensors) for b in batches)
    return DataLoader(
        data, batch_sampler=batches, collate_fn=collate_fn, num_workers=cfg.num_workers
    )


def evaluate(
    model: nn.Module,
    data: Dataset | Iterable,
    step: StepFn,
    cfg: FitConfig,
    collate_fn: Callable | None = None,
) -> dict[str, float]:
    """Mean loss (and accuracy, if the step reports `correct`) over `data`."""
    loader = data
    if isinstance(data, Dataset):
        size = cfg.eval_batch_size or cfg.batch_size
        batches = [list(range(i, min(i + size, len(data)))) for i in range(0, len(data), size)]
        loader = _loader(data, batches, collate_fn, cfg)
    was_training = model.training
    model.eval()
    total_loss, total_correct, total_n, has_correct = 0.0, 0.0, 0, False
    with torch.no_grad(), autocast(cfg.device, cfg.precision):
        for batch in loader:
            out = step(model, move_to(batch, cfg.device))
            total_loss += out.mean_loss() * out.size
            total_n += out.size
            if out.correct is not None:
                has_correct = True
                total_correct += float(out.correct)
    model.train(was_training)
    if total_n == 0:
        raise UserError("evaluation set is empty")
    metrics = {"loss": total_loss / total_n, "n": total_n}
    if has_correct:
        metrics["acc"] = total_correct / total_n
    return metrics


class _StopRequest:
    """First Ctrl-C asks the loop to stop after the current step; a second one is immediate."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> _StopRequest:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: leave Ctrl-C alone
            self._previous = None
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train_set: Dataset,
    step: StepFn,
    run: Run,
    cfg: FitConfig,
    *,
    eval_sets: dict[str, Dataset | Iterable] | None = None,
    collate_fn: Callable | None = None,
    scheduler: Any = None,
    on_eval: Callable[[int, dict[str, float]], bool | None] | None = None,
) -> FitResult:
    """Train `model` on `train_set` within the budget of `cfg`; see the module docstring.

    `on_eval(epoch, metrics)` runs after each evaluation; returning True stops training early.
    """
    eval_sets = eval_sets or {}
    dist = DistributedContext.from_env()
    model = model.to(cfg.device)
    train_model = dist.wrap(model)
    pos = _Position()
    last_path, best_path = run.dir / "last.pt", run.dir / "best.pt"

    seed_everything(cfg.seed)
    if cfg.resume and (last_path.exists() or checkpoint.previous_path(last_path).exists()):
        pos = _restore(last_path, model, optimizer, scheduler)
        run.truncate_metrics(pos.samples)

    session_start, earlier_seconds = time.perf_counter(), pos.seconds

    def save_last() -> None:
        pos.seconds = earlier_seconds + time.perf_counter() - session_start
        if dist.is_main:
            state = _checkpoint_state(model, optimizer, scheduler, pos, cfg)
            checkpoint.save_atomic(state, last_path, keep_previous=True)

    def evaluate_all() -> bool:
        """Evaluate every split, log, keep the best; True if on_eval asks to stop."""
        metrics: dict[str, float] = {"epoch": pos.samples / max(1, len(train_set))}
        if pos.running_n:
            metrics["train/avg_loss"] = dist.mean(pos.running_loss / pos.running_n)
            if pos.has_correct:
                metrics["train/avg_acc"] = dist.mean(pos.running_correct / pos.running_n)
        for split, data in eval_sets.items():
            for key, value in evaluate(model, data, step, cfg, collate_fn).items():
                if key != "n":
                    metrics[f"{split}/{key}"] = value
        pos.running_loss = pos.running_correct = 0.0
        pos.running_n = 0
        run.log(metrics, step=pos.samples)
        pos.last_metrics = metrics
        pos.history.append({"samples": pos.samples, **metrics})
        if cfg.best_metric in metrics and _improves(metrics[cfg.best_metric], pos.best_value, cfg):
            pos.best_value, pos.best_metrics = metrics[cfg.best_metric], dict(metrics)
            if dist.is_main:
                best = {"model": checkpoint.model_state(model), "metrics": metrics}
                checkpoint.save_atomic(best, best_path)
        return bool(on_eval is not None and on_eval(pos.epoch, metrics))

    stopped = "budget"
    budget = cfg.max_samples if cfg.max_samples else cfg.epochs * len(train_set)
    train_model.train()
    progress = TrainProgress(budget, enabled=cfg.progress and dist.is_main)
    with _StopRequest() as stop, progress:
        progress.update(pos.samples)
        while pos.samples < budget and stopped == "budget":
            if cfg.batch_order is not None:
                global_batches = cfg.batch_order(cfg.seed, pos.epoch)
            else:
                order = epoch_order(len(train_set), cfg.seed, pos.epoch, cfg.shuffle)
                global_batches = _batches(order, cfg.batch_size, cfg.drop_last)
            if not global_batches:
                raise UserError("the training set is empty")
            loader = _loader(
                train_set, dist.shard(global_batches[pos.batch_in_epoch :]), collate_fn, cfg
            )
            for batch in loader:
                loss_value = _train_step(train_model, optimizer, step, batch, cfg, pos)
                loss_value = dist.mean(loss_value)
                if not math.isfinite(loss_value):
                    stopped = "nan"
                    break
                pos.samples += len(global_batches[pos.batch_in_epoch])
                pos.batch_in_epoch += 1
                pos.step += 1
                if scheduler is not None and cfg.scheduler_interval == "step":
                    scheduler.step()
                if pos.step % cfg.log_every == 0:
                    run.log({"train/batch_loss": loss_value}, step=pos.samples)
                progress.update(pos.samples, loss_value)
                epoch_done = pos.batch_in_epoch == len(global_batches)
                if epoch_done:
                    pos.epoch += 1
                    pos.batch_in_epoch = 0
                    if scheduler is not None and cfg.scheduler_interval == "epoch":
                        scheduler.step()
                budget_done = pos.samples >= budget
                due = pos.step % cfg.eval_every == 0 if cfg.eval_every else epoch_done
                if due or budget_done:
                    if evaluate_all():
                        stopped = "early_stop"
                    save_last()
                elif cfg.checkpoint_every and pos.step % cfg.checkpoint_every == 0:
                    save_last()
                if stop.requested and stopped == "budget":
                    stopped = "interrupted"
                if budget_done or stopped != "budget" or epoch_done:
                    break

    if stopped == "interrupted":
        save_last()
    seconds = earlier_seconds + time.perf_counter() - session_start
    result = FitResult(
        metrics=pos.last_metrics,
        best=pos.best_metrics,
        steps=pos.step,
        samples=pos.samples,
        epochs=pos.samples / max(1, len(train_set)),
        seconds=round(seconds, 3),
        stopped=stopped,
        history=pos.history,
    )
    run.update_summary(
        {
            "final": pos.last_metrics,
            "best": pos.best_metrics,
            "steps": pos.step,
            "samples": pos.samples,
            "epochs": result.epochs,
            "train_seconds": result.seconds,
            "stopped": stopped,
        }
    )
    if stopped == "nan":
        raise TrainingDiverged(
            f"loss became NaN/Inf at step {pos.step + 1} (epoch {pos.epoch}); training stopped; "
            f"last good checkpoint: {last_path if last_path.exists() else 'none yet'}"
        )
    if stopped == "interrupted":
        raise KeyboardInterrupt
    return result


def _improves(value: float, best: float | None, cfg: FitConfig) -> bool:
    if best is None:
        return True
    return value > best if cfg.best_mode == "max" else value < best


def _train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: StepFn,
    batch: Any,
    cfg: FitConfig,
    pos: _Position,
) -> float:
    """One optimizer step; returns the loss, or NaN without updating if it is not finite."""
    batch = move_to(batch, cfg.device)
    optimizer.zero_grad(set_to_none=True)
    with autocast(cfg.device, cfg.precision):
        out = step(model, batch)
    loss_value = out.mean_loss()
    if not math.isfinite(loss_value):
        return float("nan")
    out.loss.backward()
    if cfg.clip_grad:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
    optimizer.step()
    pos.running_loss += loss_value * out.size
    pos.running_n += out.size
    if out.correct is not None:
        pos.has_correct = True
        pos.running_correct += float(out.correct)
    return loss_value


def _checkpoint_state(model, optimizer, scheduler, pos: _Position, cfg: FitConfig) -> dict:
    return {
        "model": checkpoint.model_state(model),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "position": {k: v for k, v in vars(pos).items()},
        "rng": rng_state(),
        "seed": cfg.seed,
    }


def _restore(path: Path, model, optimizer, scheduler) -> _Position:
    state = checkpoint.load_latest(path)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    set_rng_state(state["rng"])
    return _Position(**state["position"])
