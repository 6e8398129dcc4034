"""`neurallab.compat.img_classifier` used the way the course's HW0 image starter is used: its
module names, `CsvImageDataset`/`get_data(args)` in a course folder (`./data/img_*.csv`), the
transform against a re-implementation written here from the spec, the starter's loop against a
loop written here, and `model.pth` in the working directory loaded with plain `torch.load`."""

from __future__ import annotations

import argparse
import csv
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader

import neurallab.compat.img_classifier as course
from neurallab.compat.img_classifier import (
    CsvImageDataset,
    NeuralNetwork,
    device,
    evaluate,
    get_data,
    img_size,
    main,
    normalize_mean,
    normalize_std,
    num_labels,
    train_one_epoch,
)
from neurallab.errors import DataError
from neurallab.models.images import CNN

LABELS = ("parrot", "narwhal", "axolotl")
# (width, height) of the pictures: landscape and portrait 451x300 (the spec's truncation
# example), a 259x256 picture (odd crop margin: torchvision starts the crop at 2, not 1), a
# square one and a small one that is scaled up.
SIZES = [(451, 300), (300, 451), (259, 256), (256, 256), (40, 30)]
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def _picture(label_idx: int, n: int, size: tuple[int, int]) -> Image.Image:
    """A picture whose dominant colour is its class (so a tiny model can learn), with texture."""
    rng = np.random.default_rng(100 * label_idx + n)
    w, h = size
    img = rng.integers(0, 90, (h, w, 3))
    img[..., label_idx] += 150
    y, x = np.mgrid[0:h, 0:w]
    img[..., (label_idx + 1) % 3] += (x * 60 // w + y * 40 // h).astype(img.dtype)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


@pytest.fixture
def course_dir(tmp_path, monkeypatch):
    """A course folder: ./data/<label>/<label>-<n>.jpg and ./data/img_{train,val,test}.csv."""
    counts = {"train": 4, "val": 1, "test": 2}  # pictures per class
    n = dict.fromkeys(LABELS, 0)
    for split, per_class in counts.items():
        rows = []
        for k in range(per_class):
            for idx, label in enumerate(LABELS):
                folder = tmp_path / "data" / label
                folder.mkdir(parents=True, exist_ok=True)
                name = f"{label}-{n[label]}.jpg"
                size = SIZES[(n[label] + idx) % len(SIZES)]
                _picture(idx, n[label], size).save(folder / name, quality=95)
                n[label] += 1
                rows.append([f"./data/{label}/{name}", f"a {label}, picture {k}", label, idx])
        with (tmp_path / "data" / f"img_{split}.csv").open("w", newline="") as f:
            csv.writer(f).writerows([["image", "prompt", "label", "label_idx"], *rows])
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def small(monkeypatch):
    """The course's own way to shrink the model: edit the module-level img_size."""
    monkeypatch.setattr(course, "img_size", (32, 32))


def reference_transform(pil: Image.Image, size: int = 256, long_side=None, left_top=None):
    """The spec's transform written out: ToTensor, shorter side to `size` with the longer side
    int(size * long / short) (torchvision returns a picture already at `size` unchanged),
    antialiased bilinear, crop at int(round(margin / 2)), ImageNet normalisation.
    `long_side` and `left_top` override the computed values (to show they matter)."""
    x = torch.from_numpy(np.asarray(pil.convert("RGB")).copy()).permute(2, 0, 1).float() / 255
    h, w = x.shape[1:]
    short, long = min(h, w), max(h, w)
    new_long = long_side or int(size * long / short)
    if short != size or long_side:
        new = (size, new_long) if h <= w else (new_long, size)
        x = F.interpolate(x[None], new, mode="bilinear", antialias=True, align_corners=False)[0]
    h, w = x.shape[1:]
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    if left_top is not None:
        left, top = left_top
    x = x[:, top : top + size, left : left + size]
    return (x - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)


def test_module_level_names_are_the_starters():
    assert img_size == (256, 256) and num_labels == 3
    assert normalize_mean == MEAN and normalize_std == STD
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else ("mps" if torch.backends.mps.is_available() else "cpu")
    )
    assert device == expected and isinstance(device, str)
    with torch.device("meta"):  # the 100.9M-parameter baseline, without allocating it
        model = NeuralNetwork()
    assert sum(p.numel() for p in model.parameters()) == 100_928_003
    assert [type(m).__name__ for m in model.linear_relu_stack] == [
        "Linear",
        "ReLU",
        "Linear",
        "ReLU",
        "Linear",
    ]
    assert model.linear_relu_stack[0].in_features == 196_608
    for name in ("train_one_epoch", "evaluate", "get_data", "main", "CsvImageDataset", "device"):
        assert name in course.__all__


def test_dataset_yields_pil_pictures_and_labels_as_the_starter(course_dir):
    ds = CsvImageDataset("./data/img_train.csv")
    assert len(ds) == 12
    image, label = ds[0]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and label == 0
    with open("./data/img_train.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for i in (0, 4, 11):
        image, label = ds[i]
        assert label == int(rows[i]["label_idx"])
        assert np.array_equal(np.asarray(image), np.asarray(Image.open(rows[i]["image"])))
    assert ds[torch.tensor(2)][1] == ds[2][1]  # a tensor index, as a sampler may pass
    with pytest.raises(IndexError):
        ds[len(ds)]
    x, _ = CsvImageDataset("./data/img_train.csv", transform=course.course_transform)[0]
    assert x.shape == (3, 256, 256) and x.dtype == torch.float32


def test_transform_truncates_the_long_side_and_rounds_the_crop_like_torchvision(course_dir):
    landscape = _picture(0, 0, (451, 300))
    assert int(256 * 451 / 300) == 384  # the spec's example: 451x300 -> 384x256
    ours = course.course_transform(landscape)
    torch.testing.assert_close(ours, reference_transform(landscape), rtol=0, atol=1e-6)
    torch.testing.assert_close(
        course.course_transform(landscape.transpose(Image.Transpose.ROTATE_90)),
        reference_transform(landscape.transpose(Image.Transpose.ROTATE_90)),
        rtol=0,
        atol=1e-6,
    )
    # Rounding the long side to 385 (what neurallab's own resize does) gives other pixels.
    rounded = reference_transform(landscape, long_side=385)
    assert (ours - rounded).abs().max() > 0.05
    # A 259x256 picture is not resized; its crop starts at round(1.5) = 2 (torchvision), not 1.
    odd = _picture(1, 3, (259, 256))
    ours = course.course_transform(odd)
    torch.testing.assert_close(ours, reference_transform(odd), rtol=0, atol=1e-6)
    assert (ours - reference_transform(odd, left_top=(1, 0))).abs().max() > 0.05
    small_pic = _picture(2, 1, (40, 30))
    torch.testing.assert_close(
        course.course_transform(small_pic), reference_transform(small_pic), rtol=0, atol=1e-5
    )
    gray = course.course_transform(landscape, grayscale=True)
    assert gray.shape == (1, 256, 256)


def test_get_data_takes_args_and_returns_unshuffled_loaders(course_dir, capsys):
    train_dl, test_dl = get_data(argparse.Namespace(batch_size=4, grayscale=False))
    out = capsys.readouterr().out
    assert "Shape of X [B, C, H, W]: torch.Size([4, 3, 256, 256])" in out
    assert "Shape of y: torch.Size([4]) torch.int64" in out
    assert isinstance(train_dl, DataLoader) and isinstance(test_dl, DataLoader)
    assert len(train_dl.dataset) == 12 and len(test_dl.dataset) == 6
    with open("./data/img_test.csv", newline="") as f:
        csv_labels = [int(r["label_idx"]) for r in csv.DictReader(f)]
    first = [int(v) for _, y in test_dl for v in y]
    again = [int(v) for _, y in test_dl for v in y]
    assert first == again == csv_labels  # CSV order, every pass: no shuffling
    gray_dl, _ = get_data(argparse.Namespace(batch_size=2, grayscale=True))
    assert next(iter(gray_dl))[0].shape == (2, 1, 256, 256)


def test_get_data_names_a_missing_csv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"img_train\.csv: file not found"):
        get_data(argparse.Namespace(batch_size=8, grayscale=False))


def test_evaluate_prints_the_starters_line_with_the_summed_loss_over_the_dataset(
    course_dir, small, capsys
):
    torch.manual_seed(1)
    model = NeuralNetwork(3, 32, 3)
    train_dl, test_dl = get_data(argparse.Namespace(batch_size=4, grayscale=False))
    capsys.readouterr()
    acc, loss = evaluate(test_dl, "Test", model, torch.nn.CrossEntropyLoss(reduction="sum"))
    printed = capsys.readouterr().out.strip()
    # Written here: every test picture through the reference transform, one batch.
    x = torch.stack([reference_transform(Image.open(p), 32) for p in _column("img_test", "image")])
    y = torch.tensor([int(v) for v in _column("img_test", "label_idx")])
    with torch.no_grad():
        logits = model(x)
    expected_loss = F.cross_entropy(logits, y, reduction="sum").item() / len(y)
    expected_acc = (logits.argmax(1) == y).float().mean().item()
    assert acc == pytest.approx(expected_acc) and loss == pytest.approx(expected_loss, rel=1e-5)
    assert printed == f"Test accuracy = {100 * acc:>0.1f}%, Test avg loss = {loss:>8f}"


def _column(split: str, name: str) -> list[str]:
    with open(f"./data/{split}.csv", newline="") as f:
        return [r[name] for r in csv.DictReader(f)]


def test_main_trains_like_the_starter_and_saves_model_pth_in_the_working_dir(
    course_dir, small, capsys
):
    main(["--n_epochs", "2", "--batch_size", "4", "--learning_rate", "0.002"])
    out = capsys.readouterr().out
    assert (course_dir / "model.pth").is_file() and not (course_dir / "runs").exists()
    assert "Saved PyTorch Model State to model.pth" in out
    assert len(re.findall(r"^Train accuracy = \d+\.\d%, Train avg loss = ", out, re.M)) == 2
    test_lines = re.findall(r"^Test accuracy = (\d+\.\d)%, Test avg loss = (\S+)$", out, re.M)
    assert len(test_lines) == 2
    saved = torch.load("model.pth")  # plain torch.load: a plain state_dict
    model = NeuralNetwork(3, 32, 3)
    model.load_state_dict(saved)

    # The starter's loop written here: seed 10999, loaders in CSV order (iterating the first
    # batch for the shape print, as get_data does), SGD, summed cross-entropy, 2 epochs.
    torch.manual_seed(10999)
    files = _column("img_train", "image")
    x = torch.stack([reference_transform(Image.open(p), 32) for p in files])
    y = torch.tensor([int(v) for v in _column("img_train", "label_idx")])
    loader = DataLoader(list(zip(x, y, strict=True)), batch_size=4)
    next(iter(loader))
    ref = NeuralNetwork(3, 32, 3)
    optimizer = torch.optim.SGD(ref.parameters(), lr=0.002)
    for _ in range(2):
        for xb, yb in loader:
            loss = F.cross_entropy(ref(xb), yb, reduction="sum")
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    for k, v in ref.state_dict().items():
        torch.testing.assert_close(saved[k], v, rtol=1e-4, atol=1e-6)
    # The model learnt the colour classes: the last test accuracy beats chance.
    assert float(test_lines[-1][0]) > 50.0


def test_main_cnn_grayscale_and_the_course_train_one_epoch_signature(course_dir, small, capsys):
    main(["--n_epochs", "1", "--batch_size", "6", "--model", "cnn", "--grayscale"])
    cnn = CNN(1, 32, 3)
    cnn.load_state_dict(torch.load("model.pth"))
    # train_one_epoch(dataloader, model, loss_fn, optimizer, t) called as a student's loop does
    train_dl, _ = get_data(argparse.Namespace(batch_size=6, grayscale=True))
    before = cnn.layers[0].weight.detach().clone()
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")
    optimizer = torch.optim.SGD(cnn.parameters(), lr=1e-3)
    assert train_one_epoch(train_dl, cnn, loss_fn, optimizer, 0) is None
    assert not torch.equal(before, cnn.layers[0].weight)
    assert "Train batch avg loss = " in capsys.readouterr().out


def test_use_wandb_logs_batch_losses_and_epoch_metrics(course_dir, small, monkeypatch):
    logged, finished, pictures = [], [], {}

    class Recorder:
        def log(self, metrics, step):
            logged.append((step, dict(metrics)))

        def log_images(self, key, images, captions, step):
            pictures[key] = (images, captions, step)

        def finish(self):
            finished.append(True)

    import neurallab.tracking

    monkeypatch.setattr(neurallab.tracking, "make_tracker", lambda kind, *a, **k: Recorder())
    main(["--n_epochs", "2", "--batch_size", "4", "--use_wandb"])
    batches = [(s, m) for s, m in logged if "batch_loss" in m]
    epochs = [(s, m) for s, m in logged if "test_acc" in m]
    assert [s for s, _ in batches] == [4, 8, 12, 16, 20, 24]  # examples seen so far
    assert [m["epoch"] for _, m in epochs] == [1, 2] and finished == [True]
    assert course.tracker is None  # reset for the next caller
    # Q3.5, last epoch only: first batches de-normalised, captioned "<predicted> / <true>".
    assert set(pictures) == {"train_first_batch", "test_first_batch"}
    images, captions, step = pictures["test_first_batch"]
    assert step == 24 and len(images) == len(captions) == 4
    true = [LABELS[int(v)] for v in _column("img_test", "label_idx")[:4]]
    assert [c.split(" / ")[1] for c in captions] == true
    assert all(c.split(" / ")[0] in LABELS for c in captions)
    first = Image.open(_column("img_test", "image")[0])
    # De-normalised back to the resized, cropped picture: x * std + mean, as uint8 HWC.
    shown = torch.from_numpy(images[0].astype(np.float32) / 255).permute(2, 0, 1)
    expected = reference_transform(first, 32) * torch.tensor(STD).view(3, 1, 1)
    expected += torch.tensor(MEAN).view(3, 1, 1)
    assert (shown - expected).abs().max() <= 0.5 / 255 + 1e-6


def test_a_student_file_star_importing_the_module_serves_a_harness(course_dir, monkeypatch, capsys):
    """`img_classifier.py` holding only the star import (and the main guard) gives a harness
    every starter name. Its module-level values are copies: setting `img_size` on the student's
    module does not reach ours; setting it on neurallab.compat.img_classifier does."""
    (course_dir / "img_classifier.py").write_text(
        "from neurallab.compat.img_classifier import *  # noqa: F403\n\n"
        'if __name__ == "__main__":\n    main()  # noqa: F405\n'
    )
    monkeypatch.syspath_prepend(str(course_dir))
    monkeypatch.delitem(__import__("sys").modules, "img_classifier", raising=False)
    import img_classifier as student

    for name in ("img_size", "num_labels", "normalize_mean", "normalize_std", "device"):
        assert getattr(student, name) == getattr(course, name)
    for name in ("CsvImageDataset", "get_data", "NeuralNetwork", "train_one_epoch", "evaluate"):
        assert getattr(student, name) is getattr(course, name)
    student.img_size = (32, 32)
    args = argparse.Namespace(batch_size=2, grayscale=False)
    assert next(iter(student.get_data(args)[0]))[0].shape == (2, 3, 256, 256)
    monkeypatch.setattr(course, "img_size", (32, 32))
    assert next(iter(student.get_data(args)[0]))[0].shape == (2, 3, 32, 32)
