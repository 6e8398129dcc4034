"""The one training loop every task uses: `fit` and `evaluate`.

A task supplies a model, an optimizer, datasets and a `step(model, batch) -> StepOutput`
function; the loop does the rest: batching with a seeded per-epoch order, mixed precision,
gradient clipping, evaluation, metrics, checkpoints, resume, Ctrl-C and NaN handling.
`FitConfig` holds plain values only (it is written to config.json as the run's effective
configuration); what a task plugs in is passed to `fit` by name: `batch_order` (its own batches
per epoch) and `callbacks` (objects whose `on_evaluation` runs after every evaluation).

The hot path is what a hand-written loop does: take a batch, forward, backward, optimizer step.
In-memory tensors (a `TensorDataset`) are indexed a batch at a time, never collated example by
example. Per-step losses stay tensors on the device; they are read in one go every
`FLUSH_EVERY` (50) steps and before every evaluation or checkpoint (one host sync for many
steps), and only then logged, checked for NaN/Inf, summed into the running averages and shown
on the progress bar. A NaN/Inf loss therefore stops training within 50 steps, not at its own
step: the weights in memory have taken those few extra steps, but no checkpoint is written
after the bad step, and the error names the step where the loss first became NaN/Inf.
Evaluation runs in large batches (`EVAL_BATCH_SIZE` = 1024 for in-memory tensors, no
gradients kept). `last.pt` is written every `checkpoint_every` steps, at an evaluation only
when the previous write is at least `checkpoint_seconds` old (so a run that evaluates every few
milliseconds is not slowed), and when training ends; `best.pt` (the weights of the best
evaluation so far, kept in memory) is written together with `last.pt`, so the two agree.

`fit` does not seed: the command seeds once (`engine.seed.seed_everything`) before building its
model. The batch order of an epoch comes from `epoch_generator(seed, epoch)`.

Resume is exact: the checkpoint stores the position inside the epoch (how many batches were
done), the optimizer and scheduler state and every RNG state; since the batch order of an epoch
is a function of (seed, epoch) alone, a resumed run sees the same batches as an uninterrupted
one and, on CPU, ends with identical weights and metrics.
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from neurallab.engine import checkpoint
from neurallab.engine.device import autocast, move_to
from neurallab.engine.distributed import DistributedContext
from neurallab.engine.progress import TrainProgress
from neurallab.engine.seed import epoch_generator, rng_state, set_rng_state
from neurallab.errors import UserError

if TYPE_CHECKING:
    from neurallab.tracking.run import Run

EVAL_BATCH_SIZE = 1024  # default evaluation batch for in-memory tensors (no gradients kept)
FLUSH_EVERY = 50  # steps between reads of the buffered training losses


@dataclass
class StepOutput:
    """What a task's step function returns for one batch."""

    loss: torch.Tensor  # scalar mean over the batch: what backward() uses
    size: int  # how many examples (or tokens) the mean is over
    correct: torch.Tensor | int | None = None  # correct predictions, when accuracy applies
    summed: bool = False  # the loss is a sum over the batch (reduction='sum'), not a mean


StepFn = Callable[[nn.Module, Any], StepOutput]
# A task's own batches for one epoch (lists of example indices), drawn from the epoch's
# generator only, so that resume and every process under torchrun see the same batches.
BatchOrder = Callable[[torch.Generator], list[list[int]]]


@dataclass
class FitConfig:
    """How `fit` trains: plain values only, recorded in config.json as what the run used."""

    epochs: int = 1
    max_samples: int | None = None  # budget in examples instead of epochs
    batch_size: int = 32
    # None: EVAL_BATCH_SIZE (or batch_size, if larger) for a TensorDataset, batch_size otherwise
    eval_batch_size: int | None = None
    shuffle: bool = True
    drop_last: bool = False
    clip_grad: float | None = None
    eval_every: int | None = None  # optimizer steps between evaluations; None: every epoch
    checkpoint_every: int | None = None  # steps between `last.pt` writes
    # last.pt is also written at an evaluation when the previous write is at least this old,
    # and always when training ends (budget, early stop, Ctrl-C)
    checkpoint_seconds: float = 10.0
    best_metric: str | None = "val/acc"
    best_mode: Literal["max", "min"] = "max"
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    precision: str = "fp32"
    seed: int = 0  # the batch order's; the command seeds the global generators with it
    resume: bool = False
    progress: bool = True
    log_every: int = 1  # steps between `train/batch_loss` points
    num_workers: int = 0
    # When the engine steps a scheduler: after each "epoch", each "step", or "manual" (the
    # task steps it itself, e.g. from a callback). The engine always checkpoints its state.
    scheduler_interval: Literal["epoch", "step", "manual"] = "epoch"


class Callback:
    """A named hook into `fit`: subclass it and override the events you need."""

    def on_evaluation(self, step: int, metrics: dict[str, float]) -> bool | None:
        """After each evaluation, with the metrics as logged ("val/acc", "epoch", ...).

        `step` counts optimizer steps so far. Return True to stop training early.
        """
        return None

    def state_dict(self) -> dict[str, Any]:
        """What the callback has accumulated, saved in `last.pt` so that `--resume` continues
        it exactly (plain values and tensors only: checkpoints load with weights_only=True)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""


# Why training ended: its budget was spent, Ctrl-C, a callback asked, or the loss became NaN/Inf.
Stop = Literal["budget", "interrupted", "early_stop", "nan"]


@dataclass
class FitResult:
    metrics: dict[str, float]  # the last evaluation, keys like "val/acc"
    best: dict[str, float]  # the evaluation at which best_metric was best
    steps: int
    samples: int
    epochs: float
    seconds: float
    stopped: Stop
    history: list[dict[str, float]] = field(default_factory=list)  # every evaluation


class TrainingDiverged(UserError):
    """The loss became NaN or Inf; the last good checkpoint is kept."""


@dataclass
class _Position:
    """Where training is; everything needed to continue exactly (saved in checkpoints)."""

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


# -- batches ----------------------------------------------------------------------------------


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool) -> torch.Tensor:
    """The example order of one epoch: a function of (seed, epoch) only."""
    if not shuffle:
        return torch.arange(n)
    return torch.randperm(n, generator=epoch_generator(seed, epoch))


def epoch_batches(
    n: int, cfg: FitConfig, epoch: int, batch_order: BatchOrder | None = None
) -> list[torch.Tensor] | list[list[int]]:
    """The global batches (example indices) of one epoch: a function of (seed, epoch) only."""
    if batch_order is not None:
        return batch_order(epoch_generator(cfg.seed, epoch))
    batches = list(epoch_order(n, cfg.seed, epoch, cfg.shuffle).split(cfg.batch_size))
    if cfg.drop_last and batches and _count(batches[-1]) < cfg.batch_size:
        batches.pop()
    return batches


def _in_memory(data: Any, collate_fn: Callable | None, cfg: FitConfig) -> bool:
    return isinstance(data, TensorDataset) and collate_fn is None and cfg.num_workers == 0


def batch_iterator(
    data: Dataset, batches: list, collate_fn: Callable | None, cfg: FitConfig
) -> Iterable:
    """Batches of `data` in the given index order.

    Tensors already in memory (a TensorDataset) are gathered a whole batch at once: a
    DataLoader would fetch them one example at a time and stack the results again.
    (`index_select` does what `t[indices]` does, several times faster for image rows.)
    """
    if _in_memory(data, collate_fn, cfg):
        tensors = data.tensors
        return (tuple([torch.index_select(t, 0, _index(b)) for t in tensors]) for b in batches)
    batches = [b.tolist() if isinstance(b, torch.Tensor) else b for b in batches]
    return DataLoader(
        data, batch_sampler=batches, collate_fn=collate_fn, num_workers=cfg.num_workers
    )


def _index(batch: torch.Tensor | list[int]) -> torch.Tensor:
    return batch if isinstance(batch, torch.Tensor) else torch.tensor(batch, dtype=torch.long)


def _count(batch: torch.Tensor | list[int]) -> int:
    return batch.shape[0] if isinstance(batch, torch.Tensor) else len(batch)


def eval_batch_size(data: Any, cfg: FitConfig) -> int:
    """The evaluation batch: large for in-memory tensors (no activations are kept)."""
    if cfg.eval_batch_size:
        return cfg.eval_batch_size
    if isinstance(data, TensorDataset):
        return max(cfg.batch_size, EVAL_BATCH_SIZE)
    return cfg.batch_size


def _eval_batches(data: Any, cfg: FitConfig, collate_fn: Callable | None) -> Iterable:
    if not isinstance(data, Dataset):
        return data  # an iterable of ready batches
    size = eval_batch_size(data, cfg)
    if _in_memory(data, collate_fn, cfg):  # contiguous slices: views, no copies
        n = len(data)
        return (tuple(t[i : i + size] for t in data.tensors) for i in range(0, n, size))
    return DataLoader(data, batch_size=size, collate_fn=collate_fn, num_workers=cfg.num_workers)


# -- sums of step outputs, read from the device in one go -------------------------------------


def _weighted_loss_sum(outputs: list[StepOutput]) -> torch.Tensor:
    """Per output: the loss summed over its examples (mean x size, or the sum itself)."""
    losses = torch.stack([o.loss.detach().float() for o in outputs]).double()
    weights = [1.0 if o.summed else float(o.size) for o in outputs]
    return losses * torch.tensor(weights, dtype=torch.float64, device=losses.device)


def _correct_sum(outputs: list[StepOutput]) -> float | None:
    counts = [o.correct for o in outputs if o.correct is not None]
    if not counts:
        return None
    tensors = [c for c in counts if isinstance(c, torch.Tensor)]
    total = float(sum(c for c in counts if not isinstance(c, torch.Tensor)))
    if tensors:
        total += float(torch.stack([t.double() for t in tensors]).sum())
    return total


def evaluate(
    model: nn.Module,
    data: Dataset | Iterable,
    step: StepFn,
    cfg: FitConfig,
    collate_fn: Callable | None = None,
) -> dict[str, float]:
    """Mean loss (and accuracy, if the step reports `correct`) over `data`."""
    outputs = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), autocast(cfg.device, cfg.precision):
            for batch in _eval_batches(data, cfg, collate_fn):
                outputs.append(step(model, move_to(batch, cfg.device)))
    finally:
        model.train(was_training)
    total_n = sum(o.size for o in outputs)
    if total_n == 0:
        raise UserError("evaluation set is empty")
    metrics = {"loss": float(_weighted_loss_sum(outputs).sum()) / total_n, "n": total_n}
    correct = _correct_sum(outputs)
    if correct is not None:
        metrics["acc"] = correct / total_n
    return metrics


# -- the loop ---------------------------------------------------------------------------------


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
    batch_order: BatchOrder | None = None,
    scheduler: Any = None,
    callbacks: Iterable[Callback] = (),
    checkpoint_extra: dict[str, Any] | None = None,
) -> FitResult:
    """Train `model` on `train_set` within the budget of `cfg`; see the module docstring.

    `batch_order(generator)` replaces the seeded permutation with the task's own batches of
    each epoch; each callback's `on_evaluation(step, metrics)` runs after every evaluation.
    `checkpoint_extra` is stored in `last.pt` and `best.pt` beside the weights: what rebuilds
    the model from the checkpoint alone (the program and the model's constructor arguments).
    """
    dist = DistributedContext.from_env(cfg.device)
    model.to(cfg.device)
    train_model = dist.wrap(model)
    loop = _Loop(model, optimizer, scheduler, run, cfg, dist, train_set, step)
    loop.eval_sets, loop.collate_fn, loop.callbacks = eval_sets or {}, collate_fn, list(callbacks)
    loop.extra = dict(checkpoint_extra or {})
    if cfg.resume:
        loop.restore()

    train_model.train()
    with _StopRequest() as ctrl_c, loop.progress:
        try:
            while loop.stopped is None and loop.pos.samples < loop.budget:
                batches = epoch_batches(len(train_set), cfg, loop.pos.epoch, batch_order)
                if not batches:
                    raise UserError("the training set is empty")
                todo = batches[loop.pos.batch_in_epoch :]  # after a resume: the rest of it
                loaded = batch_iterator(train_set, dist.shard(todo), collate_fn, cfg)
                for indices, batch in zip(todo, loaded, strict=True):
                    out = _train_step(train_model, optimizer, step, batch, cfg)
                    loop.after_step(out, _count(indices), len(batches))
                    if ctrl_c.requested and loop.stopped is None:
                        loop.stopped = "interrupted"
                    if loop.stopped is not None or loop.pos.batch_in_epoch == 0:
                        break  # stopped, or the epoch is over: its next one is drawn anew
        except BaseException:
            loop.flush(collective=False)  # the steps that did finish keep their points
            raise
    if loop.stopped == "interrupted":
        loop.save_last()
    return loop.finish()


def _train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: StepFn,
    batch: Any,
    cfg: FitConfig,
) -> StepOutput:
    """One optimizer step. The loss is not read here: `_Loop.flush` checks it later."""
    batch = move_to(batch, cfg.device)
    optimizer.zero_grad(set_to_none=True)
    with autocast(cfg.device, cfg.precision):
        out = step(model, batch)
    out.loss.backward()
    if cfg.clip_grad:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
    optimizer.step()
    out.loss = out.loss.detach()  # keep the value, free the graph and its activations
    return out


@dataclass
class _Pending:
    """A step whose loss has not been read from the device yet."""

    out: StepOutput
    samples_before: int
    samples_after: int
    logged: bool  # a train/batch_loss point is due at this step


class _Loop:
    """What surrounds the steps: position, pending losses, evaluation, checkpoints, summary."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        run: Run,
        cfg: FitConfig,
        dist: DistributedContext,
        train_set: Dataset,
        step: StepFn,
    ) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.run, self.cfg, self.dist = run, cfg, dist
        self.train_set, self.step = train_set, step
        self.budget = cfg.max_samples if cfg.max_samples else cfg.epochs * len(train_set)
        self.eval_sets: dict[str, Any] = {}
        self.collate_fn: Callable | None = None
        self.callbacks: list[Callback] = []
        self.extra: dict[str, Any] = {}  # stored in every checkpoint (see fit)
        self.pos = _Position()
        self.stopped: Stop | None = None  # None while training goes on
        self.diverged: _Pending | None = None  # the first step whose loss was NaN/Inf
        self.diverged_step = 0
        self.pending: list[_Pending] = []
        self.last_path, self.best_path = run.dir / "last.pt", run.dir / "best.pt"
        self.unsaved_best: dict | None = None  # best.pt's content, until last.pt is written
        self.last_saved = time.perf_counter()  # when last.pt was last written
        self.session_start, self.earlier_seconds = time.perf_counter(), 0.0
        self.progress = TrainProgress(self.budget, enabled=cfg.progress and dist.is_main)

    def after_step(self, out: StepOutput, examples: int, epoch_batches: int) -> None:
        """The cadence after each optimizer step, in order: count and schedule, read the
        buffered losses, evaluate, checkpoint."""
        epoch_done = self.advance(out, examples, epoch_batches)
        budget_done = self.pos.samples >= self.budget
        evaluate_now = budget_done or self.evaluation_due(epoch_done)
        checkpoint_now = budget_done or self.checkpoint_due()
        if evaluate_now or checkpoint_now or len(self.pending) >= FLUSH_EVERY:
            self.flush()  # at the same steps on every rank: it may reduce across them
        if self.stopped == "nan":
            return
        if evaluate_now and self.evaluate_all():
            self.stopped = "early_stop"
        # An evaluation also refreshes last.pt, unless the last write is younger than
        # checkpoint_seconds: a run that evaluates every few milliseconds is not slowed.
        if checkpoint_now or self.stopped is not None or (evaluate_now and self.last_is_old()):
            self.save_last()
        if budget_done and self.stopped is None:
            self.stopped = "budget"

    def advance(self, out: StepOutput, examples: int, epoch_batches: int) -> bool:
        """Count the step, queue its loss, step the scheduler; True if it ended an epoch."""
        pos, cfg = self.pos, self.cfg
        pos.step += 1
        pos.samples += examples
        pos.batch_in_epoch += 1
        logged = pos.step % cfg.log_every == 0
        self.pending.append(_Pending(out, pos.samples - examples, pos.samples, logged))
        if self.scheduler is not None and cfg.scheduler_interval == "step":
            self.scheduler.step()
        if pos.batch_in_epoch < epoch_batches:
            return False
        pos.epoch += 1
        pos.batch_in_epoch = 0
        if self.scheduler is not None and cfg.scheduler_interval == "epoch":
            self.scheduler.step()
        return True

    def evaluation_due(self, epoch_done: bool) -> bool:
        if self.cfg.eval_every:
            return self.pos.step % self.cfg.eval_every == 0
        return epoch_done

    def checkpoint_due(self) -> bool:
        every = self.cfg.checkpoint_every
        return bool(every and self.pos.step % every == 0)

    def last_is_old(self) -> bool:
        return time.perf_counter() - self.last_saved >= self.cfg.checkpoint_seconds

    def flush(self, collective: bool = True) -> None:
        """Read the pending losses at once: NaN check, running sums, log points, progress."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        outputs = [p.out for p in pending]
        summed = _weighted_loss_sum(outputs)  # each batch's loss summed over its examples
        sizes = [o.size for o in outputs]
        means = summed / torch.tensor(sizes, dtype=torch.float64, device=summed.device)
        if collective:  # every rank flushes at the same steps
            means = self.dist.mean_tensor(means)
        values = means.tolist()
        good = next((i for i, v in enumerate(values) if not math.isfinite(v)), len(values))
        if good < len(values):
            self.stopped = "nan"
            self.diverged = pending[good]
            self.diverged_step = self.pos.step - len(values) + good + 1
        pos = self.pos
        pos.running_loss += float(summed[:good].sum())
        pos.running_n += sum(sizes[:good])
        correct = _correct_sum(outputs[:good])
        if correct is not None:
            pos.has_correct = True
            pos.running_correct += correct
        for p, value in zip(pending[:good], values, strict=False):
            if p.logged:
                self.run.log({"train/batch_loss": value}, step=p.samples_after)
        if good:
            self.progress.update(pending[good - 1].samples_after, values[good - 1])

    def evaluate_all(self) -> bool:
        """Evaluate every split, log, keep the best; True if a callback asks to stop."""
        pos, dist = self.pos, self.dist
        metrics: dict[str, float] = {"epoch": pos.samples / max(1, len(self.train_set))}
        if pos.running_n:
            metrics["train/avg_loss"] = dist.mean(pos.running_loss / pos.running_n)
            if pos.has_correct:
                metrics["train/avg_acc"] = dist.mean(pos.running_correct / pos.running_n)
        for split, data in self.eval_sets.items():
            scores = evaluate(self.model, data, self.step, self.cfg, self.collate_fn)
            metrics.update({f"{split}/{k}": v for k, v in scores.items() if k != "n"})
        metrics["lr"] = float(self.optimizer.param_groups[0]["lr"])  # the rate this stretch used
        pos.running_loss = pos.running_correct = 0.0
        pos.running_n = 0
        self.run.log(metrics, step=pos.samples)
        pos.last_metrics = metrics
        pos.history.append({"samples": pos.samples, **metrics})
        best = self.cfg.best_metric
        if best in metrics and _improves(metrics[best], pos.best_value, self.cfg):
            pos.best_value, pos.best_metrics = metrics[best], dict(metrics)
            if dist.is_main:  # a copy in memory; written to best.pt together with last.pt
                weights = checkpoint.model_state(self.model)
                weights = {
                    k: v.detach().clone() if isinstance(v, torch.Tensor) else v
                    for k, v in weights.items()
                }
                self.unsaved_best = {"model": weights, "metrics": metrics, **self.extra}
        # Every callback hears of every evaluation, even after one has asked to stop.
        stops = [bool(c.on_evaluation(pos.step, metrics)) for c in self.callbacks]
        return any(stops)

    def save_best(self) -> None:
        """Write `best.pt` if a better evaluation came since it was last written.

        It is written with `last.pt` (and when training ends), so that the two always agree
        on which evaluation was the best: one fsync'd write per checkpoint, not per
        improvement (early in a run nearly every evaluation improves).
        """
        if self.unsaved_best is not None:
            checkpoint.save_atomic(self.unsaved_best, self.best_path)
            self.unsaved_best = None

    def save_last(self) -> None:
        """Write `last.pt` and `best.pt`; after a NaN/Inf loss only `best.pt` (a good
        evaluation's): the last good `last.pt` stays."""
        self.flush()
        self.save_best()
        if self.stopped == "nan":
            return
        self.pos.seconds = self.earlier_seconds + time.perf_counter() - self.session_start
        if self.dist.is_main:
            # The history grows with the run: as one JSON string it pickles in one go.
            position = {**vars(self.pos), "history": json.dumps(self.pos.history)}
            state = {
                "model": checkpoint.model_state(self.model),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
                "position": position,
                "rng": rng_state(),
                "seed": self.cfg.seed,
                "callbacks": [c.state_dict() for c in self.callbacks],
                **self.extra,
            }
            checkpoint.save_atomic(state, self.last_path, keep_previous=True)
        self.last_saved = time.perf_counter()

    def restore(self) -> None:
        """Continue from `last.pt` (or its previous copy), if there is one."""
        if not (self.last_path.exists() or checkpoint.previous_path(self.last_path).exists()):
            return
        state = checkpoint.load_latest(self.last_path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        for callback, saved in zip(self.callbacks, state.get("callbacks", []), strict=False):
            callback.load_state_dict(saved)
        position = dict(state["position"])
        if isinstance(position["history"], str):
            position["history"] = json.loads(position["history"])
        self.pos = _Position(**position)
        self.earlier_seconds = self.pos.seconds
        self.run.truncate_metrics(self.pos.samples)

    def finish(self) -> FitResult:
        """Record the summary; raise if training diverged or was interrupted."""
        self.flush()
        self.save_best()
        pos, stopped = self.pos, self.stopped or "budget"
        if self.diverged is not None:  # report where the last good step left off
            pos.step, pos.samples = self.diverged_step - 1, self.diverged.samples_before
        seconds = self.earlier_seconds + time.perf_counter() - self.session_start
        result = FitResult(
            metrics=pos.last_metrics,
            best=pos.best_metrics,
            steps=pos.step,
            samples=pos.samples,
            epochs=pos.samples / max(1, len(self.train_set)),
            seconds=round(seconds, 3),
            stopped=stopped,
            history=pos.history,
        )
        self.run.update_summary(
            {
                "final": pos.last_metrics,
                "best": pos.best_metrics,
                "steps": pos.step,
                "samples": pos.samples,
                "epochs": result.epochs,
                "train_seconds": result.seconds,
                # Of which before this process resumed (the checkpoint carries it): what a
                # run resumed across sessions cost in its earlier processes.
                "resumed_after_seconds": round(self.earlier_seconds, 3),
                "stopped": stopped,
            }
        )
        if stopped == "nan":
            raise TrainingDiverged(
                f"loss became NaN/Inf at step {self.diverged_step} (epoch {result.epochs:.2f}); "
                "training stopped; last good checkpoint: "
                f"{self.last_path if self.last_path.exists() else 'none yet'}"
            )
        if stopped == "interrupted":
            raise KeyboardInterrupt
        return result


def _improves(value: float, best: float | None, cfg: FitConfig) -> bool:
    if best is None:
        return True
    return value > best if cfg.best_mode == "max" else value < best
