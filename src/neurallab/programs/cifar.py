"""CNN/RNN handout Q1-Q2: the CIFAR-3 CNN, optionally with BatchNorm after fc1.

Course settings: batch 256, Adam lr 1e-4 with weight decay 1e-3, 50 epochs, augmentation
(colour jitter, rotation up to 30 degrees, horizontal flip), pixels normalised as x/127.5 - 1.
The weights of the epoch with the best validation accuracy are kept (`best.pt`, written with
each checkpoint; the handout says "lower", a slip: a lower accuracy is worse); `cifar_eval`
(`neurallab cifar-test`) evaluates them on test. The default data are the prepared clip-art
stand-in for the course's CIFAR-3 photos.

    from neurallab.programs import cifar
    rec = cifar.train(cifar.Settings(epochs=2, batchnorm=True), run_dir="runs/cifar/try")
    rec.best["val/acc"]; model = cifar.load(rec.run_dir)
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from neurallab.data import images as data
from neurallab.data.transforms import cifar_augment
from neurallab.engine import StepOutput, evaluate, fit, seed_everything
from neurallab.engine.options import TrainingConfig, TrainSettings
from neurallab.errors import UserError
from neurallab.models.cifar import Net
from neurallab.programs.run import (
    RunOptions,
    RunRecord,
    finish,
    load_model,
    open_run,
)
from neurallab.report.plots import panels
from neurallab.settings import setting, with_default

PROGRAM = "cifar"
HELP = "CNN/RNN Q1-Q2: the CIFAR-3 CNN (--batchnorm for Q2), saving the best weights"
STAND_IN = "clip-art CIFAR-3 stand-in"  # what the default data are, in titles and messages


CIFAR10_DIR = "real CIFAR-10 python batches instead (cifar-10-batches-py)"
CLASSES = "the three CIFAR-10 classes to keep (with cifar10_dir)"


def check_classes(classes: tuple[int, ...]) -> None:
    if len(classes) != 3 or len(set(classes)) != 3 or not all(0 <= c <= 9 for c in classes):
        raise UserError(f"classes: three different CIFAR-10 classes 0..9, got {list(classes)}")


@dataclass(frozen=True)
class Settings(TrainSettings):
    """The course's defaults: 50 epochs of Adam (lr 1e-4, weight decay 1e-3) at batch 256."""

    PROGRAM = PROGRAM
    epochs: int = with_default(TrainSettings, "epochs", 50)
    batch_size: int = with_default(TrainSettings, "batch_size", 256)
    lr: float = with_default(TrainSettings, "lr", 1e-4)
    weight_decay: float = with_default(TrainSettings, "weight_decay", 1e-3)
    batchnorm: bool = setting(False, "BatchNorm1d(512) after fc1 (Q2)")
    augment: bool = setting(True, "train without augmentation", negate=True)
    data_dir: Path | None = setting(
        None,
        "folder with the CIFAR-3 pickles train.pkl/val.pkl/test.pkl (default: the prepared "
        "clip-art CIFAR-3)",
        group="data",
    )
    cifar10_dir: Path | None = setting(None, CIFAR10_DIR, group="data")
    classes: tuple[int, ...] = setting((0, 1, 2), CLASSES, nargs=3, group="data")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_classes(self.classes)


def model_args(settings: Settings) -> dict[str, Any]:
    """The model's constructor arguments: stored in every checkpoint, so `load` needs no flags."""
    return {"batchnorm": settings.batchnorm}


def effective_config(settings: Settings, options: RunOptions | None = None) -> TrainingConfig:
    return settings.training_config(options, best_metric="val/acc")


def load_splits(settings: Settings) -> dict[str, TensorDataset]:
    """train/val/test: real CIFAR-10 classes, the pickles in data_dir, or the clip-art set."""
    if settings.cifar10_dir:
        d, classes = Path(settings.cifar10_dir), tuple(settings.classes)
        return {
            "train": data.load_cifar10_batches(
                [d / f"data_batch_{i}" for i in range(1, 5)], classes
            ),
            "val": data.load_cifar10_batches([d / "data_batch_5"], classes),
            "test": data.load_cifar10_batches([d / "test_batch"], classes),
        }
    folder = Path(settings.data_dir) if settings.data_dir else None
    return {
        s: data.load_cifar3(folder / f"{s}.pkl" if folder else data.default_cifar3(s))
        for s in data.SPLITS
    }


def data_name(settings: Settings) -> str:
    if settings.cifar10_dir:
        return f"CIFAR-10 classes {', '.join(map(str, settings.classes))}"
    return f"CIFAR-3 pickles of {settings.data_dir}" if settings.data_dir else STAND_IN


def make_step(augment: bool):
    def step(model: torch.nn.Module, batch) -> StepOutput:
        images, labels = batch
        x = images.float() / 255.0
        if augment and model.training:  # augmentation only while training
            x = cifar_augment(x)
        logits = model(x * 2.0 - 1.0)  # = pixels / 127.5 - 1
        loss = torch.nn.functional.cross_entropy(logits, labels)
        return StepOutput(loss=loss, size=len(labels), correct=(logits.argmax(1) == labels).sum())

    return step


def log_untrained(model: Net, val: TensorDataset, run, config: TrainingConfig) -> None:
    """Validation loss and accuracy of the untrained network at step 0, so every curve starts
    where training starts (it draws nothing random: a resumed run's numbers are unchanged)."""
    scores = evaluate(model.to(config.fit.device), val, make_step(False), config.fit)
    run.log({"epoch": 0.0, "val/loss": scores["loss"], "val/acc": scores["acc"]}, step=0)


def training_figure(rec: RunRecord, title: str):
    """Loss and accuracy per iteration. The loss of batch i is drawn at i (the iterations done
    before it: the first, at 0, is the untrained network's), an evaluation at the iterations
    done when it ran (the untrained network's at 0)."""
    batches = [step for step, _ in rec.history.column("train/batch_loss")]  # examples seen

    def series(key: str) -> tuple[list[float], list[float]]:
        pairs = rec.history.column(key)
        if key == "train/batch_loss":
            return list(range(len(pairs))), [v for _, v in pairs]
        return [bisect.bisect_right(batches, s) for s, _ in pairs], [v for _, v in pairs]

    return panels(
        {
            "loss": {"train (per batch)": series("train/batch_loss"), "val": series("val/loss")},
            "accuracy": {"train (running)": series("train/avg_acc"), "val": series("val/acc")},
        },
        title,
        "iteration",
    )


def train(settings: Settings, run_dir: Path | str | None = None, **options: Any) -> RunRecord:
    """Train the Net on the settings' data; keep the best validation epoch's weights."""
    started = time.perf_counter()
    opts = RunOptions(run_dir=run_dir, **options)
    config = effective_config(settings, opts)
    sets = load_splits(settings)
    seed_everything(config.seed)
    model = Net(**model_args(settings))
    run = open_run(settings, opts, config, model)
    if not opts.resume:
        log_untrained(model, sets["val"], run, config)
    result = fit(
        model,
        config.optimizer.build(model.parameters()),
        sets["train"],
        make_step(settings.augment),
        run,
        config.fit,
        eval_sets={"val": sets["val"]},
        checkpoint_extra={"program": PROGRAM, "model_args": model_args(settings)},
    )
    title = f"Net{' + BatchNorm' if settings.batchnorm else ''} on the {data_name(settings)}"
    run.save_figure(training_figure(RunRecord.read(run.dir, Settings), title), "training.png")
    print(f"{title}: best val acc {result.best['val/acc']:.4f}; weights in {run.dir / 'best.pt'}")
    return finish(
        run,
        started,
        settings,
        best_val_acc=result.best["val/acc"],
        data=data_name(settings),
    )


def load(path: Path | str) -> Net:
    """The trained Net from a run folder (its best.pt) or a checkpoint, in eval mode."""
    return load_model(path, PROGRAM, Net)
