"""HW0 §3: the image classifier (starter MLP or the Q3.6 CNN) on the course's CSV + JPEGs.

Defaults are the starter's: seed 10999, SGD lr 1e-3, CrossEntropyLoss(reduction='sum'),
5 epochs, batch 8, images resized (shorter side) and centre-cropped to 256, ImageNet
normalisation. Images are decoded once and cached as uint8 tensors.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from neurallab.data import images as data
from neurallab.data import transforms as T
from neurallab.engine import StepOutput, fit, seed_everything
from neurallab.engine.checkpoint import save_atomic
from neurallab.engine.options import TrainingConfig, add_engine_args, training_config
from neurallab.flags import positive_int
from neurallab.models.images import CNN, NeuralNetwork
from neurallab.report.plots import image_grid, learning_curves
from neurallab.tasks.common import add_run_args, finish, open_run

COMMAND = "img"
HELP = "HW0 §3: image classifier (MLP or CNN) on 3-class colour pictures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_engine_args(parser, epochs=5, batch_size=8, lr=1e-3, seed=10999, optimizer="sgd")
    add_run_args(parser, COMMAND)
    parser.add_argument(
        "--data_dir",
        type=Path,
        default=None,
        help="folder with img_train/val/test.csv (default: prepared clip art)",
    )
    parser.add_argument("--model", choices=("simple", "cnn"), default="simple")
    parser.add_argument("--grayscale", action="store_true", help="one luma channel (Q3.4)")
    parser.add_argument(
        "--image_size",
        type=positive_int,
        default=256,
        help="resize shorter side + centre crop to this size (course: 256)",
    )


def effective_config(args: argparse.Namespace) -> TrainingConfig:
    return training_config(args, best_metric="val/acc")


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


@torch.no_grad()
def captioned_first_batches(model, sets, csvs, names, args, run, step: int) -> dict[str, list]:
    """Q3.5: the first batch of each split, de-normalised, captioned '<predicted> / <true>',
    logged to the tracker and saved as `<split>_first_batch.png`. Returns, per split, each
    picture's prompt with its predicted and true label (for summary.json)."""
    model.eval()
    records = {}
    for split, dataset in sets.items():
        images = dataset.tensors[0][: args.batch_size]
        labels = dataset.tensors[1][: args.batch_size].tolist()
        inputs = prepare_batch(images, args.grayscale)
        predicted = model(inputs).argmax(1).tolist()
        shown = [T.denormalize(x) for x in inputs]
        captions = [f"{names[p]} / {names[t]}" for p, t in zip(predicted, labels, strict=True)]
        run.log_images(f"{split}/first_batch", shown, captions, step=step)
        grid = image_grid(shown, captions, f"{split}: predicted / true", cols=min(8, len(shown)))
        run.save_figure(grid, f"{split}_first_batch.png")
        prompts = data.read_prompts(csvs[split])
        records[split] = [
            {"prompt": prompts[i], "predicted": names[p], "true": names[t]}
            for i, (p, t) in enumerate(zip(predicted, labels, strict=True))
        ]
    return records


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = effective_config(args)
    csvs = {
        s: (args.data_dir / f"img_{s}.csv" if args.data_dir else data.default_csv(s))
        for s in data.SPLITS
    }
    names = data.label_names_of(csvs["train"])
    sets = {
        s: data.load_image_split(p, args.image_size, num_labels=len(names)) for s, p in csvs.items()
    }
    seed_everything(config.seed)
    channels = 1 if args.grayscale else 3
    model = (NeuralNetwork if args.model == "simple" else CNN)(
        channels, args.image_size, len(names)
    )
    run_ = open_run(COMMAND, args, config, model)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"{args.model} model, {channels}x{args.image_size}x{args.image_size} input: "
        f"{n_params:,} parameters; {len(sets['train'])}/{len(sets['val'])}/{len(sets['test'])} images"
    )
    result = fit(
        model,
        config.optimizer.build(model.parameters()),
        sets["train"],
        make_step(args.grayscale),
        run_,
        config.fit,
        eval_sets=sets,
    )
    first = captioned_first_batches(model, sets, csvs, names, args, run_, result.samples)
    run_.save_figure(
        learning_curves(
            result.history,
            f"HW0 §3: {args.model} model" + (" (grayscale)" if args.grayscale else ""),
        ),
        "curves.png",
    )
    save_atomic(model.state_dict(), run_.dir / "model.pth")  # the starter's output file
    f = result.metrics
    print(
        f"train acc {f['train/acc']:.4f}, val acc {f['val/acc']:.4f}, test acc {f['test/acc']:.4f}"
    )
    finish(
        run_,
        result,
        started,
        labels=names,
        train_acc=f["train/acc"],
        test_acc=f["test/acc"],
        first_batches=first,
    )
    return 0
