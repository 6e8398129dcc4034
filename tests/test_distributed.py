"""The distributed path: device and backend choice, reductions on the process's device, and
DDP under torchrun (gloo, 2 CPU processes) following the single-process trajectory.

What needs GPUs (NCCL itself) cannot run here; the choices that lead to it are checked with
the environment and CUDA queries mocked. docs/scaling.md says what was run and what was not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as torch_dist
from torch import nn
from torch.utils.data import TensorDataset

from neurallab.cli import main
from neurallab.engine import FitConfig, fit, resolve_device
from neurallab.engine.distributed import DistributedContext
from neurallab.errors import UserError
from neurallab.programs.run import classification_step
from neurallab.tracking import Run, metric_series, read_metrics

TORCHRUN = Path(sys.executable).with_name("torchrun")
ARGS = [
    "mnist",
    "--epochs",
    "1",
    "--train_limit",
    "2000",
    "--batch_size",
    "50",
    "--checkpoint_every",
    "10",
    "--tracker",
    "none",
    "--no_progress",
]


def _single(run_dir: Path, *extra: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "neurallab.cli", *ARGS, "--run_dir", str(run_dir), *extra],
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun not installed beside python")
def test_ddp_two_processes_equal_single_process_with_same_global_batch(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")}
    out = subprocess.run(
        [
            str(TORCHRUN),
            "--nproc_per_node",
            "2",
            "--master_port",
            "29517",
            "-m",
            "neurallab.cli",
            *ARGS,
            "--run_dir",
            str(tmp_path / "ddp"),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    # Only rank 0 prints the results (torchrun passes both ranks' stdout through).
    assert out.stdout.count("test accuracy") == 1, out.stdout
    _single(tmp_path / "single")
    steps_ddp, ddp = metric_series(tmp_path / "ddp" / "metrics.csv", "train/batch_loss")
    steps_one, one = metric_series(tmp_path / "single" / "metrics.csv", "train/batch_loss")
    assert steps_ddp == steps_one and len(one) == 40
    assert max(abs(a - b) for a, b in zip(ddp, one, strict=True)) < 1e-5

    # Only rank 0 wrote: one metrics row per step, not two.
    assert len(ddp) == len(set(steps_ddp))

    # The DDP checkpoint resumes in a single process: run one more epoch from it.
    _single(tmp_path / "ddp", "--resume", "--epochs", "2")
    _single(tmp_path / "single", "--resume", "--epochs", "2")
    ddp_final = json.loads((tmp_path / "ddp" / "summary.json").read_text())["final"]
    one_final = json.loads((tmp_path / "single" / "summary.json").read_text())["final"]
    assert ddp_final["epoch"] == 2.0
    assert abs(ddp_final["val/loss"] - one_final["val/loss"]) < 1e-4


# -- device and backend choice, with the environment and CUDA mocked -----------------------


@pytest.fixture
def gpus(monkeypatch):
    """Pretend this machine has `n` CUDA devices; returns a setter."""

    def have(n: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)

    return have


@pytest.mark.parametrize(
    ("name", "local_rank", "n_gpus", "expected"),
    [
        ("auto", None, 0, "cpu"),
        ("cpu", "1", 2, "cpu"),
        ("auto", None, 1, "cuda:0"),
        ("auto", "1", 2, "cuda:1"),  # torchrun: each process its own GPU
        ("cuda", "1", 2, "cuda:1"),  # an explicit --device cuda too
        ("cuda", None, 2, "cuda:0"),
        ("cuda:0", "1", 2, "cuda:0"),  # an explicit index is taken as given
    ],
)
def test_device_choice(monkeypatch, gpus, name, local_rank, n_gpus, expected):
    gpus(n_gpus)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    if local_rank is None:
        monkeypatch.delenv("LOCAL_RANK", raising=False)
    else:
        monkeypatch.setenv("LOCAL_RANK", local_rank)
    assert resolve_device(name) == torch.device(expected)


@pytest.mark.parametrize(
    ("name", "local_rank", "n_gpus", "message"),
    [
        ("cuda", "0", 0, "no CUDA device"),
        ("cuda", "2", 2, "needs GPU 2, but only 2 are visible"),
        ("cuda:3", "0", 2, "needs GPU 3"),
        ("tpu", "0", 0, "unknown device"),
    ],
)
def test_impossible_device_is_a_one_line_error(
    monkeypatch, gpus, name, local_rank, n_gpus, message
):
    gpus(n_gpus)
    monkeypatch.setenv("LOCAL_RANK", local_rank)
    with pytest.raises(UserError, match=message):
        resolve_device(name)


class _FakeGroup:
    """Records what the engine asks of torch.distributed instead of joining a group."""

    def __init__(self, monkeypatch, rank: int, world: int) -> None:
        self.backend = None
        self.cuda_device = None
        self.reduced: list[torch.Tensor] = []
        monkeypatch.setattr(torch_dist, "is_initialized", lambda: self.backend is not None)
        monkeypatch.setattr(torch_dist, "init_process_group", self._init)
        monkeypatch.setattr(torch_dist, "get_rank", lambda: rank)
        monkeypatch.setattr(torch_dist, "get_world_size", lambda: world)
        monkeypatch.setattr(torch_dist, "all_reduce", self._all_reduce)
        monkeypatch.setattr(torch.cuda, "set_device", self._set_device)
        self.world = world

    def _init(self, backend):
        self.backend = backend

    def _set_device(self, device):
        self.cuda_device = torch.device(device)

    def _all_reduce(self, tensor):
        self.reduced.append(tensor)
        if tensor.device.type != "meta":
            tensor.mul_(self.world)  # every rank held the same values


@pytest.mark.parametrize(
    ("device", "local_rank", "backend", "cuda_device"),
    [
        ("cpu", "1", "gloo", None),
        ("cuda:1", "1", "cpu:gloo,cuda:nccl", "cuda:1"),
        ("cuda", "1", "cpu:gloo,cuda:nccl", "cuda:1"),  # no index: LOCAL_RANK's GPU
    ],
)
def test_process_group_follows_the_training_device(
    monkeypatch, device, local_rank, backend, cuda_device
):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", local_rank)
    group = _FakeGroup(monkeypatch, rank=1, world=2)
    ctx = DistributedContext.from_env(torch.device(device))
    assert (ctx.rank, ctx.world, group.backend) == (1, 2, backend)
    assert group.cuda_device == (torch.device(cuda_device) if cuda_device else None)
    assert ctx.device == torch.device(cuda_device or device)


def test_single_process_joins_no_group(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    group = _FakeGroup(monkeypatch, rank=0, world=1)
    ctx = DistributedContext.from_env(torch.device("cpu"))
    assert (ctx.world, group.backend) == (1, None)
    assert ctx.mean(0.25) == 0.25 and not group.reduced


def test_reductions_use_tensors_on_the_process_device(monkeypatch):
    group = _FakeGroup(monkeypatch, rank=0, world=2)
    # A CPU run reduces CPU tensors and gets the mean back.
    ctx = DistributedContext(rank=0, world=2, device=torch.device("cpu"))
    assert ctx.mean(0.5) == 0.5
    assert torch.allclose(
        ctx.mean_tensor(torch.tensor([1.0, 3.0])), torch.tensor([1.0, 3.0]).double()
    )
    # On an accelerator ("meta" stands in for cuda:N here), the tensors handed to the
    # collective live on that device, whatever device the values came from.
    ctx = DistributedContext(rank=0, world=2, device=torch.device("meta"))
    ctx.mean_tensor(torch.tensor([1.0, 2.0]))
    assert ctx.tensor([1.0]).device.type == "meta"
    assert [t.device.type for t in group.reduced] == ["cpu", "cpu", "meta"]


def test_only_rank_zero_prints(monkeypatch, capsys):
    monkeypatch.setenv("RANK", "1")
    assert main(["internals", "conv"]) == 0
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("RANK", "0")
    assert main(["internals", "conv"]) == 0
    assert "§2 Q1a" in capsys.readouterr().out


# -- the gloo path end to end: 2 processes through `fit` -----------------------------------


def _tiny_fit(folder: Path) -> None:
    """A few steps of a small classifier through `fit` (in this or a spawned process)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(120, 6, generator=g)
    data = TensorDataset(x, (x[:, 0] > x[:, 1]).long())
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))
    cfg = FitConfig(epochs=2, batch_size=20, eval_every=4, progress=False, seed=5)
    run = Run(folder, writes=int(os.environ.get("RANK", "0")) == 0)
    fit(
        model,
        torch.optim.SGD(model.parameters(), lr=0.5),
        data,
        classification_step,
        run,
        cfg,
        eval_sets={"val": data},
    )
    run.finish()


def _rank_main(rank: int, folder: str, port: int) -> None:
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE="2",
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    _tiny_fit(Path(folder))
    torch_dist.destroy_process_group()


def test_gloo_two_processes_follow_the_single_process_run(tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.multiprocessing.spawn(_rank_main, args=(str(tmp_path / "ddp"), port), nprocs=2)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    _tiny_fit(tmp_path / "one")
    rows = {name: read_metrics(tmp_path / name / "metrics.csv") for name in ("ddp", "one")}
    assert [(s, k) for s, k, _ in rows["ddp"]] == [(s, k) for s, k, _ in rows["one"]]
    assert len(rows["one"]) > 12  # 12 steps of batch losses, and evaluations
    for (_, key, a), (_, _, b) in zip(rows["ddp"], rows["one"], strict=True):
        assert abs(a - b) < 1e-5, key


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun not installed beside python")
def test_reproduce_launcher_runs_a_question_command_under_torchrun(tmp_path, monkeypatch):
    """`reproduce --launcher 'torchrun ...'` (the several-GPU recipe) changes no question code:
    run_program starts the same training command under torchrun, records the launched
    command, and follows the in-process run's trajectory."""
    from neurallab import commands
    from neurallab.experiments.base import run_program
    from neurallab.programs import mnist

    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    settings = mnist.Settings.from_args(commands.parser("mnist").parse_args(ARGS[1:]))
    launcher = f"{TORCHRUN} --nproc_per_node 2 --master_port 29533"
    launched, _ = run_program(settings, tmp_path / "launched", device="cpu", launcher=launcher)
    here, _ = run_program(settings, tmp_path / "here", device="cpu")
    assert launched.command.startswith(f"{launcher} -m neurallab.cli mnist ")
    assert here.command.startswith("neurallab mnist ")
    _, two = metric_series(tmp_path / "launched" / "metrics.csv", "train/batch_loss")
    _, one = metric_series(tmp_path / "here" / "metrics.csv", "train/batch_loss")
    assert len(two) == len(one) == 40
    assert max(abs(a - b) for a, b in zip(two, one, strict=True)) < 1e-5
