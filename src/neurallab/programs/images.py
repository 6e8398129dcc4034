"""HW0 §3: the image classifier (starter MLP or the Q3.6 CNN) on the course's CSV + JPEGs.

from neurallab.programs import images
rec = images.train(images.Settings(image_size=32, epochs=1), run_dir="runs/img/try")
rec.final["test/acc"]; model = images.load(rec.run_dir)

Defaults are the starter's: seed 10999, SGD lr 1e-3, CrossEntropyLoss(reduction='sum'),
5 epochs, batch 8, images resized (shorter side) and centre-cropped to 256, ImageNet
normalisation. Images are decoded once and cached as uint8 tensors.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from neurallab.data import images as data
from neurallab.data import transforms as T
from neurallab.engine import StepOutput, fit, seed_everything
from neurallab.engine.checkpoint import save_atomic
from neurallab.engine.options import TrainingConfig, TrainSettings
from neurallab.flags import positive_int
from neurallab.models.images import CNN, NeuralNetwork
from neurallab.programs.run import (
    RunOptions,
    RunRecord,
    finish,
    load_model,
    open_run,
)
from neurallab.report.plots import image_grid, learning_curves
from neurallab.settings import setting, with_default
from neurallab.tracking import Run

PROGRAM = "img"
HELP = "HW0 §3: image classifier (MLP or CNN) on 3-class colour pictures"
MODELS = {"simple": NeuralNetwork, "cnn": CNN}


@dataclass(frozen=True)
class Settings(TrainSettings):
    """The starter's defaults: 5 epochs of SGD (lr 1e-3) at batch 8, seed 10999, 256x256."""

    PROGRAM = PROGRAM
    epochs: int = with_default(TrainSettings, "epochs", 5)
    batch_size: int = with_default(TrainSettings, "batch_size", 8)
    optimizer: str = with_default(TrainSettings, "optimizer", "sgd")
    seed: int = with_default(TrainSettings, "seed", 10999)
    data_dir: Path | None = setting(
        None, "folder with img_train/val/test.csv (default: prepared clip art)"
    )
    model: str = setting(
        "simple", "simple: the starter's MLP; cnn: Q3.6's CNN", choices=tuple(MODELS)
    )
    grayscale: bool = setting(False, "one luma channel (Q3.4)")
    image_size: int = setting(
        256, "resize shorter side + centre crop to this size (course: 256)", check=positive_int
    )

    def csv(self, split: str) -> Path:
        return self.data_dir / f"img_{split}.csv" if self.data_dir else data.default_csv(split)


def model_args(settings: Settings, classes: int) -> dict[str, Any]:
    """The model's constructor arguments: stored in every checkpoint, so `load` needs no flags."""
    return {
        "model": settings.model,
        "channels": 1 if settings.grayscale else 3,
        "size": settings.image_size,
        "classes": classes,
    }


def build_model(model: str, channels: int, size: int, classes: int) -> torch.nn.Module:
    return MODELS[model](channels, size, classes)


def effective_config(settings: Settings, options: RunOptions | None = None) -> TrainingConfig:
    """What `train` hands the engine: the settings plus what this program fixes itself."""
    return settings.training_config(options, best_metric="val/acc")


def prepare_batch(images: torch.Tensor, grayscale: bool) -> torch.Tensor:
    """uint8 (B, 3, S, S) -> normalised float, one channel if grayscale."""
    if grayscale:
        images = T.grayscale(images)
    return T.normalize(T.to_float(images))


def make_step(grayscale: bool):
    def step(model: torch.nn.Module, batch) -> StepOutput:
        images, labels = batch
        logits = model(prepare_batch(images, grayscale))
        # The starter sums the loss over the batch (reduction='sum').
        loss = torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
        return StepOutput(
            loss=loss, size=len(labels), correct=(logits.argmax(1) == labels).sum(), summed=True
        )

    return step


def load_splits(settings: Settings) -> tuple[dict[str, Any], list[str]]:
    """Train/val/test datasets and the label names (from the training CSV)."""
    names = data.label_names_of(settings.csv("train"))
    for split in ("val", "test"):
        data.check_labels_match(settings.csv(split), names, settings.csv("train"))
    sets = {
        s: data.load_image_split(settings.csv(s), settings.image_size, num_labels=len(names))
        for s in data.SPLITS
    }
    return sets, names


@torch.no_grad()
def captioned_first_batches(
    model: torch.nn.Module, sets: dict, settings: Settings, names: list[str], run: Run, step: int
) -> dict[str, list]:
    """Q3.5: the first batch of each split, de-normalised, captioned '<predicted> / <true>',
    logged to the tracker and saved as `<split>_first_batch.png`. Returns, per split, each
    picture's prompt with its predicted and true label (for summary.json)."""
    model.eval()
    records = {}
    for split, dataset in sets.items():
        images = dataset.tensors[0][: settings.batch_size]
        labels = dataset.tensors[1][: settings.batch_size].tolist()
        inputs = prepare_batch(images, settings.grayscale)
        predicted = model(inputs).argmax(1).tolist()
        shown = [T.denormalize(x) for x in inputs]
        captions = [f"{names[p]} / {names[t]}" for p, t in zip(predicted, labels, strict=True)]
        run.log_images(f"{split}/first_batch", shown, captions, step=step)
        grid = image_grid(shown, captions, f"{split}: predicted / true", cols=min(8, len(shown)))
        run.save_figure(grid, f"{split}_first_batch.png")
        prompts = data.read_prompts(settings.csv(split))
        records[split] = [
            {"prompt": prompts[i], "predicted": names[p], "true": names[t]}
            for i, (p, t) in enumerate(zip(predicted, labels, strict=True))
        ]
    return records


def train(settings: Settings, run_dir: Path | str | None = None, **options: Any) -> RunRecord:
    """Train the MLP or CNN; log the captioned first batches; save the starter's model.pth."""
    started = time.perf_counter()
    opts = RunOptions(run_dir=run_dir, **options)
    config = effective_config(settings, opts)
    sets, names = load_splits(settings)
    seed_everything(config.seed)
    args = model_args(settings, len(names))
    model = build_model(**args)
    run = open_run(settings, opts, config, model)
    n_params = sum(p.numel() for p in model.parameters())
    size = settings.image_size
    print(
        f"{settings.model} model, {args['channels']}x{size}x{size} input: {n_params:,} "
        f"parameters; {len(sets['train'])}/{len(sets['val'])}/{len(sets['test'])} images"
    )
    result = fit(
        model,
        config.optimizer.build(model.parameters()),
        sets["train"],
        make_step(settings.grayscale),
        run,
        config.fit,
        eval_sets=sets,
        checkpoint_extra={"program": PROGRAM, "model_args": args, "labels": names},
    )
    first = captioned_first_batches(model, sets, settings, names, run, result.samples)
    title = f"HW0 §3: {settings.model} model" + (" (grayscale)" if settings.grayscale else "")
    if settings.data_dir is None:
        title += ", clip-art stand-in"
    run.save_figure(learning_curves(result.history, title), "curves.png")
    save_atomic(model.state_dict(), run.dir / "model.pth")  # the starter's output file
    f = result.metrics
    print(
        f"train acc {f['train/acc']:.4f}, val acc {f['val/acc']:.4f}, test acc {f['test/acc']:.4f}"
    )
    return finish(
        run,
        started,
        settings,
        labels=names,
        train_acc=f["train/acc"],
        test_acc=f["test/acc"],
        first_batches=first,
    )


def load(path: Path | str) -> torch.nn.Module:
    """The trained model from a run folder (its best.pt) or a checkpoint (e.g. last.pt: the
    final weights), in eval mode."""
    return load_model(path, PROGRAM, build_model)
