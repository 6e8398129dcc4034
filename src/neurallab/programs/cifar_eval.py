"""CNN/RNN handout Q3 (`test.py`): load the best CIFAR-3 weights and report test accuracy.

The weights may be a `cifar` run's `best.pt` (or its run folder) or a plain state_dict (what
the course's `torch.save(net.state_dict(), ...)` writes). The test split is the course's pickle
`cifar10_hst_test` when there is one (in `data_dir`, or else in the working directory), else
`test.pkl` in `data_dir`, else the prepared clip-art CIFAR-3; one line says which. Nothing is
trained: `run` returns the record of a small run folder holding the test accuracy, and writes
`test.json` beside the weights as before.

    from neurallab.programs import cifar_eval
    rec = cifar_eval.run(cifar_eval.Settings(weights="runs/cifar/try/best.pt"), tracker="none")
    rec.summary["test_acc"]
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from neurallab.data import images as data
from neurallab.engine import FitConfig, evaluate, resolve_device
from neurallab.engine import checkpoint as ckpt
from neurallab.engine.device import DEVICES
from neurallab.errors import UserError
from neurallab.models.cifar import Net
from neurallab.programs.cifar import CIFAR10_DIR, CLASSES, check_classes, make_step
from neurallab.programs.run import RunOptions, RunRecord, finish, open_run
from neurallab.settings import Settings as BaseSettings
from neurallab.settings import setting

PROGRAM = "cifar-test"
HELP = "CNN/RNN Q3: evaluate saved CIFAR-3 weights on the test split"
EXPECTED = (
    "expected the best.pt of a `neurallab cifar` run (or its run folder) or a state_dict of "
    "the CIFAR Net, as torch.save(net.state_dict(), path) writes"
)


@dataclass(frozen=True)
class Settings(BaseSettings):
    """What to test and on which data; `weights` must be given."""

    PROGRAM = PROGRAM
    weights: Path | None = setting(
        None, "best.pt of a `cifar` run (or its run folder), or a plain state_dict of Net"
    )
    batchnorm: bool = setting(False, "the weights have BatchNorm (else detected)")
    device: str = setting(
        "auto", "where to evaluate (auto: CUDA, then MPS, then the CPU)", choices=DEVICES
    )
    data_dir: Path | None = setting(
        None,
        "folder with the course's cifar10_hst_test or a test.pkl (default: ./cifar10_hst_test "
        "if present, else the prepared clip-art CIFAR-3)",
        group="data",
    )
    cifar10_dir: Path | None = setting(None, CIFAR10_DIR, group="data")
    classes: tuple[int, ...] = setting((0, 1, 2), CLASSES, nargs=3, group="data")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_classes(self.classes)


def _read_state(path: Path) -> dict[str, Any]:
    """The file's contents as a dict, or one line saying what the file is instead."""
    if path.is_dir():
        if not (path / "best.pt").is_file():
            raise UserError(f"weights: {path} is a folder without best.pt; {EXPECTED}")
        path = path / "best.pt"
    if not path.is_file():
        raise UserError(f"weights: {path} is not a file; {EXPECTED}")
    try:
        state = ckpt.load(path)
    except ckpt.CheckpointError as exc:
        raise UserError(f"weights: {exc}; {EXPECTED}") from None
    except Exception as exc:  # torch's unpickler fails on arbitrary bytes with KeyError etc.
        raise UserError(
            f"weights: {path} is not a PyTorch weights file (unpickling failed with "
            f"{type(exc).__name__}); {EXPECTED}"
        ) from None
    if not isinstance(state, dict):
        raise UserError(f"weights: {path} holds a {type(state).__name__}; {EXPECTED}")
    made_by = state.get("program")
    if made_by is not None and made_by != "cifar":
        raise UserError(f"weights: {path} is a checkpoint of `neurallab {made_by}`; {EXPECTED}")
    return state


def _mismatch(got: dict[str, Any], model: torch.nn.Module) -> str:
    """What differs between a state_dict and the model's, in a few words."""
    want = model.state_dict()
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    shapes = [
        f"{k} is {'x'.join(map(str, got[k].shape))} there, "
        f"{'x'.join(map(str, want[k].shape))} in the Net"
        for k in want
        if k in got and hasattr(got[k], "shape") and got[k].shape != want[k].shape
    ]

    def few(names: list[str]) -> str:
        return ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")

    parts = [f"missing {few(missing)}"] if missing else []
    parts += [f"unexpected {few(extra)}"] if extra else []
    return "; ".join(parts + shapes[:2])


def load_weights(path: Path, batchnorm: bool = False) -> Net:
    """The Net (with BatchNorm if asked or if the weights have it) holding the file's weights."""
    state = _read_state(Path(path))
    weights = state.get("model", state)
    weights = {
        str(k).removeprefix("_orig_mod.").removeprefix("module."): v for k, v in weights.items()
    }
    if not all(isinstance(v, torch.Tensor) for v in weights.values()) or not weights:
        raise UserError(f"weights: {path} holds no tensors by name; {EXPECTED}")
    with_bn = batchnorm or any(k.startswith("bn.") for k in weights)
    model = Net(batchnorm=with_bn)
    try:
        model.load_state_dict(weights)
    except RuntimeError:
        name = "Net + BatchNorm" if with_bn else "Net"
        raise UserError(
            f"weights: {path} holds the weights of another network, not the CIFAR {name} "
            f"({_mismatch(weights, model)}); {EXPECTED}"
        ) from None
    return model.eval()


def load_test_split(settings: Settings) -> tuple[TensorDataset, str]:
    """The test split the settings name (see the module docstring) and a description of it."""
    if settings.cifar10_dir:
        path = Path(settings.cifar10_dir) / "test_batch"
        test = data.load_cifar10_batches([path], tuple(settings.classes))
        return test, f"{path} (CIFAR-10 classes {' '.join(map(str, settings.classes))})"
    folder = Path(settings.data_dir) if settings.data_dir else None
    course = data.course_cifar3(folder or Path("."), "test")
    if folder is not None:
        path = course or folder / "test.pkl"
        if not path.is_file():
            raise UserError(f"--data_dir: {folder} holds neither cifar10_hst_test nor test.pkl")
        kind = "the course's pickle" if course else "CIFAR-3 pickle"
    else:
        path = course or data.default_cifar3("test")
        kind = "the course's pickle" if course else "the prepared clip-art CIFAR-3"
    return data.load_cifar3(path), f"{path} ({kind})"


def effective_config(settings: Settings) -> FitConfig:
    """How the test split is evaluated: on the device, in batches of 256 (no gradients)."""
    return FitConfig(batch_size=256, device=resolve_device(settings.device))


def run(settings: Settings, run_dir: Path | str | None = None, **options: Any) -> RunRecord:
    """Test the weights: checks the weights and the data before any file is written."""
    started = time.perf_counter()
    if settings.weights is None:
        raise UserError(f"weights: name the weights to test; {EXPECTED}")
    weights = Path(settings.weights)
    model = load_weights(weights, settings.batchnorm)
    test, described = load_test_split(settings)
    config = effective_config(settings)
    opts = RunOptions(run_dir=run_dir, **options)
    run_ = open_run(settings, opts, model=model)
    print(f"cifar-test: test data {described}, {len(test)} images")
    metrics = evaluate(model.to(config.device), test, make_step(augment=False), config)
    print(f"test accuracy {metrics['acc']:.4f} on {metrics['n']} images ({weights})")
    result = {"test_acc": metrics["acc"], "test_loss": metrics["loss"], "n": metrics["n"]}
    beside = (weights if weights.is_dir() else weights.parent) / "test.json"
    beside.write_text(json.dumps(result) + "\n")
    return finish(run_, started, settings, **result, test_data=described)
