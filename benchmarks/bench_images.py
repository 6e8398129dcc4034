"""HW0 §3 images: cached uint8 tensors vs decoding every epoch; MLP/CNN training fp32 vs bf16.

Each call of a side is one unit of work, so the table's seconds convert to throughput:
images per second = images in the label / median seconds.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

from harness import Benchmark
from neurallab.compat.img_classifier import CsvImageDataset, course_transform
from neurallab.data import images as data
from neurallab.data import transforms as T
from neurallab.engine.device import autocast
from neurallab.models.images import CNN, NeuralNetwork
from neurallab.programs.images import prepare_batch


def _input_epochs():
    """One epoch of normalised 256x256 training batches (batch 8, 727 pictures): the starter's
    Dataset (JPEG decode, resize, crop, normalise per item, every epoch) vs slicing the cached
    uint8 tensor and normalising the batch."""
    csv_path = data.default_csv("train")
    course = DataLoader(CsvImageDataset(str(csv_path), course_transform), batch_size=8)
    cached = data.load_image_split(csv_path, 256)  # decoded once (and cached on disk)
    images = cached.tensors[0]

    def decode_every_epoch():
        for x, _ in course:
            x.sum()

    def cached_tensors():
        for i in range(0, len(images), 8):
            prepare_batch(images[i : i + 8], grayscale=False).sum()

    return decode_every_epoch, cached_tensors


def _training_epochs():
    """A whole training epoch of the MLP at 64x64 (batch 8, SGD): inputs decoded and resized
    from the JPEGs every epoch vs the cached uint8 tensors."""
    csv_path = data.default_csv("train")
    rows = data.read_image_csv(csv_path)
    labels = torch.tensor([idx for _, _, idx in rows])
    cached = data.load_image_split(csv_path, 64).tensors[0]
    model = NeuralNetwork(3, 64, 3)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def train(batches):
        for x, y in batches:
            loss = torch.nn.functional.cross_entropy(model(x), y, reduction="sum")
            opt.zero_grad()
            loss.backward()
            opt.step()

    def decoded():
        for i in range(0, len(rows), 8):
            chunk = rows[i : i + 8]
            x = torch.stack([data.decode(p, csv_path, i + 1, 64) for p, _, _ in chunk])
            yield T.normalize(T.to_float(x)), labels[i : i + 8]

    def cached_batches():
        for i in range(0, len(rows), 8):
            yield prepare_batch(cached[i : i + 8], grayscale=False), labels[i : i + 8]

    return (lambda: train(decoded())), (lambda: train(cached_batches()))


def _precision_pair(make_model, size: int, steps: int, batch: int = 8):
    """`steps` SGD steps at batch `batch`, fp32 vs the engine's bf16 autocast."""
    torch.manual_seed(0)
    model = make_model(3, size, 3)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(0, 3, (batch,))
    cpu = torch.device("cpu")

    def run(precision: str):
        for _ in range(steps):
            with autocast(cpu, precision):
                loss = torch.nn.functional.cross_entropy(model(x).float(), y, reduction="sum")
            opt.zero_grad()
            loss.backward()
            opt.step()

    return (lambda: run("fp32")), (lambda: run("bf16"))


BENCHMARKS = [
    Benchmark(
        "input epoch, 727 pictures at 256x256",
        "decode + resize every epoch",
        "cached uint8 tensors",
        _input_epochs,
        goal=5.0,
        repeats=3,
    ),
    Benchmark(
        "MLP training epoch at 64x64, 727 pictures",
        "decode + resize every epoch",
        "cached uint8 tensors",
        _training_epochs,
        goal=5.0,
        repeats=3,
    ),
    Benchmark(
        "MLP 100.9M params, 256x256: 4 steps x 8 = 32 images",
        "fp32",
        "bf16 autocast",
        lambda: _precision_pair(NeuralNetwork, 256, 4),
        repeats=3,
    ),
    Benchmark(
        "CNN 3.37M params, 256x256: 2 steps x 8 = 16 images",
        "fp32",
        "bf16 autocast",
        lambda: _precision_pair(CNN, 256, 2),
        repeats=3,
    ),
]

if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from run import main

    raise SystemExit(main(["images", *sys.argv[1:]]))
