"""The engine's cost: the same training run through `fit` and through a bare PyTorch loop.

For each of four handout workloads both sides build the same model from the same seed, take
the same batches in the same order (the engine's seeded per-epoch permutation), make the same
number of optimizer steps and evaluate at the same steps on the same data. The bare loop is
what one writes by hand: index a batch, forward, loss, backward, step, `loss.item()` into a
list, and a no-grad evaluation in large slices. The engine does, in addition, everything a
neurallab run records: metrics.csv (every logged point), last.pt/best.pt checkpoints, running
training averages and accuracy, the NaN guard. Runs go to a temporary folder with no tracker
(the tracker's own cost belongs to the tracking layer).

Both sides must end with the same evaluation loss: the benchmark refuses to report a ratio for
runs that did different work. The ratio is bare seconds / engine seconds, i.e. the engine's
throughput as a fraction of the bare loop's. Both sides run on one thread: on this shared
2-core machine two OpenMP threads make every op wait for a descheduled partner, and the same
MNIST run then takes anywhere from 7 s to 28 s; on one thread it takes 1.2-1.5 s. One thread
is also where the engine's share of the time is largest (the harder test).

    python benchmarks/run.py engine
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn.functional import cross_entropy, mse_loss
from torch.utils.data import DataLoader, Dataset, TensorDataset

from harness import Benchmark
from neurallab.engine import FitConfig, StepOutput, fit
from neurallab.engine.loop import epoch_order
from neurallab.tracking import Run


@dataclass
class Workload:
    make_model: Callable[[], nn.Module]
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer]
    train: Dataset
    evals: dict[str, Dataset]
    step: Callable[[nn.Module, tuple], StepOutput]  # what the neurallab task's step computes
    loss: Callable[[nn.Module, tuple], torch.Tensor]  # what a bare loop computes
    batch_size: int
    steps: int
    eval_every: int | None  # None: at the end of every epoch
    log_every: int = 1
    clip_grad: float | None = None
    collate_fn: Callable | None = None
    best_metric: str | None = None
    threads: int = 1


def _batches(work: Workload, epoch: int, seed: int = 0) -> list[torch.Tensor]:
    return list(epoch_order(len(work.train), seed, epoch, shuffle=True).split(work.batch_size))


def _take(data: Dataset, indices: torch.Tensor, collate_fn: Callable | None) -> tuple:
    if collate_fn is None:
        return tuple(t[indices] for t in data.tensors)
    return collate_fn([data[i] for i in indices.tolist()])


@torch.no_grad()
def _bare_evaluate(work: Workload, model: nn.Module, data: Dataset) -> float:
    """Mean loss over `data`, in slices of 1024 (or the course's DataLoader for parity)."""
    model.eval()
    total, n = 0.0, 0
    if work.collate_fn is None:
        chunks = zip(*(t.split(1024) for t in data.tensors), strict=True)
    else:
        chunks = DataLoader(data, batch_size=work.batch_size, collate_fn=work.collate_fn)
    for batch in chunks:
        total += work.loss(model, batch).item() * len(batch[0])
        n += len(batch[0])
    model.train()
    return total / n


def bare_loop(work: Workload) -> float:
    """A hand-written training loop; returns the last evaluation's loss of the first split."""
    torch.manual_seed(0)
    model = work.make_model()
    optimizer = work.make_optimizer(model)
    losses, step, epoch, last = [], 0, 0, math.nan
    model.train()
    while step < work.steps:
        batches = _batches(work, epoch)
        for i, indices in enumerate(batches):
            batch = _take(work.train, indices, work.collate_fn)
            optimizer.zero_grad(set_to_none=True)
            loss = work.loss(model, batch)
            loss.backward()
            if work.clip_grad:
                nn.utils.clip_grad_norm_(model.parameters(), work.clip_grad)
            optimizer.step()
            losses.append(loss.item())
            step += 1
            end_of_epoch = i == len(batches) - 1
            due = step % work.eval_every == 0 if work.eval_every else end_of_epoch
            if due or step == work.steps:
                scores = [_bare_evaluate(work, model, d) for d in work.evals.values()]
                last = scores[0]
            if step == work.steps:
                break
        epoch += 1
    return last


def engine_run(work: Workload, folder: Path) -> float:
    """The same run through `fit`; returns the last evaluation's loss of the first split."""
    torch.manual_seed(0)
    model = work.make_model()
    cfg = FitConfig(
        epochs=1,
        max_samples=_samples(work),
        batch_size=work.batch_size,
        eval_every=work.eval_every,
        clip_grad=work.clip_grad,
        log_every=work.log_every,
        best_metric=work.best_metric,
        progress=False,
        seed=0,
    )
    run = Run(folder)
    result = fit(
        model,
        work.make_optimizer(model),
        work.train,
        work.step,
        run,
        cfg,
        eval_sets=work.evals,
        collate_fn=work.collate_fn,
    )
    run.finish()
    assert result.steps == work.steps, (result.steps, work.steps)
    return result.metrics[f"{next(iter(work.evals))}/loss"]


def _samples(work: Workload) -> int:
    """The budget in examples that makes exactly `work.steps` steps."""
    n, size = len(work.train), work.batch_size
    per_epoch = math.ceil(n / size)
    epochs, rest = divmod(work.steps, per_epoch)
    return epochs * n + min(rest * size, n)


@contextlib.contextmanager
def _threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _pair(make: Callable[[], Workload]):
    """(bare, engine) callables for the harness; each engine call writes a fresh run folder."""

    def setup():
        work = make()
        root = tempfile.TemporaryDirectory(prefix="bench_engine_")  # removed at exit
        calls = {"n": 0}
        final = {}

        def bare() -> None:
            with _threads(work.threads):
                final["bare"] = bare_loop(work)

        def engine() -> None:
            calls["n"] += 1
            with _threads(work.threads):
                final["engine"] = engine_run(work, Path(root.name) / f"run{calls['n']}")
            if "bare" in final and not math.isclose(
                final["bare"], final["engine"], rel_tol=1e-4, abs_tol=1e-6
            ):
                raise AssertionError(f"the two loops did different work: {final}")

        return bare, engine

    return setup


# -- the four workloads -----------------------------------------------------------------------


def _toy() -> Workload:
    """HW4 Ex5: ToyModel on the 20 fixed points, full batch, 5,000 Adam steps (lr 0.03) and
    20 evaluations, as the handout's exercise runs them."""
    from neurallab.data.toy import generate_data
    from neurallab.models.toy import ToyModel

    torch.manual_seed(0)
    data = TensorDataset(*generate_data(20))

    def step(model, batch):
        x, y = batch
        return StepOutput(loss=mse_loss(model(x), y), size=len(x))

    return Workload(
        make_model=ToyModel,
        make_optimizer=lambda m: torch.optim.Adam(m.parameters(), lr=0.03),
        train=data,
        evals={"fixed": data},
        step=step,
        loss=lambda model, batch: mse_loss(model(batch[0]), batch[1]),
        batch_size=20,
        steps=5000,
        eval_every=250,
        log_every=5,  # the task logs every steps // 1000 steps
    )


def _parity() -> Workload:
    """CNN/RNN Q5: ParityLSTM(64) on strings of length 1..5 through the course's collate."""
    from neurallab.data.parity import Parity, pad_collate
    from neurallab.models.parity import ParityLSTM

    train = Parity("train", 5)

    def loss(model, batch):
        x, y, lengths = batch
        return cross_entropy(model(x, lengths), y)

    def step(model, batch):
        x, y, lengths = batch
        scores = model(x, lengths)
        correct = (scores.argmax(1) == y).sum()
        return StepOutput(loss=cross_entropy(scores, y), size=len(y), correct=correct)

    return Workload(
        make_model=lambda: ParityLSTM(64),
        make_optimizer=lambda m: torch.optim.Adam(m.parameters(), lr=0.003, weight_decay=1e-5),
        train=train,
        evals={"train": train},
        step=step,
        loss=loss,
        batch_size=100,
        steps=200,  # one batch per epoch: 200 epochs, each evaluated on the training set
        eval_every=None,
        collate_fn=pad_collate,
        best_metric="train/acc",
    )


def _mnist() -> Workload:
    """HW3 P1: the 784-64-10 MLP, batch 64, Adam; one epoch of 50,000 images, then val and test
    (the task evaluates once an epoch)."""
    from neurallab.data.digits import load_mnist
    from neurallab.models.mlp import mnist_mlp

    def step(model, batch):
        x, y = batch
        logits = model(x)
        correct = (logits.argmax(-1) == y).sum()
        return StepOutput(loss=cross_entropy(logits, y), size=len(y), correct=correct)

    return Workload(
        make_model=mnist_mlp,
        make_optimizer=lambda m: torch.optim.Adam(m.parameters(), lr=1e-3),
        train=load_mnist("train"),
        evals={"val": load_mnist("val"), "test": load_mnist("test")},
        step=step,
        loss=lambda model, batch: cross_entropy(model(batch[0]), batch[1]),
        batch_size=64,
        steps=math.ceil(50_000 / 64),
        eval_every=None,
        best_metric="val/acc",
    )


def _language_model() -> Workload:
    """HW7: the fast RNN + attention LM (dims 128, V 1024), batch 128, 10 validations."""
    from neurallab.data import stories
    from neurallab.models.rnn_lm_fast import FastRNNLanguageModel

    paths = stories.default_paths()
    vocab = stories.load_tokenizer(paths["tokenizer"]).get_vocab_size()
    train = torch.stack(stories.load_sequences(paths["train"], paths["tokenizer"]))
    valid = torch.stack(stories.load_sequences(paths["valid"], paths["tokenizer"]))

    def loss(model, batch):
        (tokens,) = batch
        logits, _, _ = model(tokens)
        return cross_entropy(logits[:, :-1].reshape(-1, vocab).float(), tokens[:, 1:].reshape(-1))

    return Workload(
        make_model=lambda: FastRNNLanguageModel(128, 128, vocab, 128, 128),
        make_optimizer=lambda m: torch.optim.Adam(m.parameters(), lr=1e-3),
        train=TensorDataset(train),
        evals={"val": TensorDataset(valid[:128])},  # the task's default: one batch
        step=lambda model, batch: StepOutput(loss=loss(model, batch), size=len(batch[0])),
        loss=loss,
        batch_size=128,
        steps=20,
        eval_every=2,
        clip_grad=1.0,
        best_metric="val/loss",
    )


BENCHMARKS = [
    Benchmark(
        "HW4 toy 3-4-2 net: 5,000 Adam steps, 20 evals",
        "bare loop",
        "fit",
        _pair(_toy),
        goal=0.8,
        repeats=5,
    ),
    Benchmark(
        "parity LSTM(64): 200 epochs, eval each",
        "bare loop",
        "fit",
        _pair(_parity),
        goal=0.8,
        repeats=5,
    ),
    Benchmark(
        "MNIST MLP: one epoch, 782 steps of 64, eval of val+test",
        "bare loop",
        "fit",
        _pair(_mnist),
        goal=0.9,
        repeats=5,
    ),
    Benchmark(
        "HW7 LM fast path: 20 steps of 128x128 tokens, 10 evals",
        "bare loop",
        "fit",
        _pair(_language_model),
        goal=0.9,
        repeats=3,
    ),
]

if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from run import main

    raise SystemExit(main(["engine", *sys.argv[1:]]))
