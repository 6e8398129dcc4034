"""Images: transforms vs Pillow, the course's file formats, real CIFAR-10 images, models."""

from __future__ import annotations

import csv
import io
import json
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance

from neurallab.cli import main
from neurallab.data import images as data
from neurallab.data import transforms as T
from neurallab.errors import DataError
from neurallab.models.cifar import Net
from neurallab.models.image import CNN, NeuralNetwork


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_parameter_counts_are_exact():
    assert _count(NeuralNetwork()) == 100_928_003
    assert _count(CNN()) == 3_365_507
    assert _count(Net()) == 2_164_771
    assert _count(Net(batchnorm=True)) == 2_165_795
    assert Net.num_flat_features(torch.zeros(5, 64, 8, 8)) == 4096
    assert CNN(1, 64)(torch.zeros(2, 1, 64, 64)).shape == (2, 3)
    assert Net()(torch.zeros(2, 3, 32, 32)).shape == (2, 3)


@pytest.fixture
def photo():
    rng = np.random.default_rng(0)
    # Smooth content (a gradient plus noise) so resampling differences stay small.
    y, x = np.mgrid[0:90, 0:120]
    img = np.stack([x * 2, y * 2, (x + y)], -1) + rng.integers(0, 20, (90, 120, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def _t(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)


def test_resize_shorter_side_matches_pillow_antialiased(photo):
    ours = T.resize_shorter(_t(photo), 30)
    assert ours.shape == (3, 30, 40)
    theirs = _t(photo.resize((40, 30), Image.BILINEAR))
    assert (ours.int() - theirs.int()).abs().float().mean() < 2.0


def test_center_crop_grayscale_flip_by_hand(photo):
    t = _t(photo)
    crop = T.center_crop(t, 50)
    assert torch.equal(crop, t[:, 20:70, 35:85])
    gray = T.grayscale(t)[0].int()
    pil_gray = torch.from_numpy(np.array(photo.convert("L"))).int()
    assert (gray - pil_gray).abs().max() <= 1  # PIL rounds its fixed-point luma differently
    assert torch.equal(T.hflip(t), _t(photo.transpose(Image.FLIP_LEFT_RIGHT)))


def test_normalize_and_denormalize_round_trip():
    x = torch.rand(3, 4, 4)
    n = T.normalize(x)
    torch.testing.assert_close(n[0, 0, 0], (x[0, 0, 0] - 0.485) / 0.229)
    torch.testing.assert_close(T.denormalize(n), x)


@pytest.mark.parametrize(("ours", "theirs"), [
    (T.adjust_brightness, ImageEnhance.Brightness),
    (T.adjust_contrast, ImageEnhance.Contrast),
    (T.adjust_saturation, ImageEnhance.Color),
])
def test_colour_jitter_matches_pillow_enhance(photo, ours, theirs):
    x = T.to_float(_t(photo))
    for factor in (0.7, 1.3):
        mine = (ours(x, factor) * 255).round()
        pil = _t(theirs(photo).enhance(factor)).float()
        assert (mine - pil).abs().mean() < 2.5


def test_rotation_matches_pillow(photo):
    square = photo.crop((0, 0, 90, 90))
    x = T.to_float(_t(square))[None]
    mine = (T.rotate(x, torch.tensor([30.0]))[0] * 255).round()
    pil = _t(square.rotate(30, resample=Image.BILINEAR)).float()
    inner = (slice(None), slice(25, 65), slice(25, 65))  # away from the zero-filled corners
    assert (mine[inner] - pil[inner]).abs().mean() < 4.0
    assert not torch.allclose(T.rotate(x, torch.tensor([-30.0])), T.rotate(x, torch.tensor([30.0])))


def test_cifar_augment_is_seeded_and_bounded():
    x = torch.rand(4, 3, 32, 32)
    a = T.cifar_augment(x, torch.Generator().manual_seed(1))
    b = T.cifar_augment(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1 and not torch.equal(a, x)


@pytest.fixture(scope="module")
def cifar10_pngs(tmp_path_factory):
    """The 20 real CIFAR-10 test images shipped in PyPI foolbox 3.3.4."""
    folder = tmp_path_factory.mktemp("foolbox")
    got = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                          "foolbox==3.3.4", "-d", str(folder)], capture_output=True, timeout=300)
    wheels = list(folder.glob("foolbox-*.whl"))
    if got.returncode != 0 or not wheels:
        pytest.skip("PyPI foolbox 3.3.4 is not reachable")
    with zipfile.ZipFile(wheels[0]) as z:
        names = sorted(n for n in z.namelist() if n.split("/")[-1].startswith("cifar10_"))
        return [(np.asarray(Image.open(io.BytesIO(z.read(n))).convert("RGB")),
                 int(n.rsplit("_", 1)[1].split(".")[0])) for n in names]


def test_cifar10_python_batches_load_real_images(tmp_path, cifar10_pngs):
    assert len(cifar10_pngs) == 20
    rows = np.stack([img.transpose(2, 0, 1).reshape(-1) for img, _ in cifar10_pngs])  # R, G, B planes
    labels = [label for _, label in cifar10_pngs]
    with (tmp_path / "test_batch").open("wb") as f:
        pickle.dump({b"data": rows, b"labels": labels}, f)
    classes = (3, 8, 0)  # cat, ship, airplane
    ds = data.load_cifar10_batches([tmp_path / "test_batch"], classes)
    keep = [i for i, lab in enumerate(labels) if lab in classes]
    assert len(ds) == len(keep) > 0
    for j, i in enumerate(keep):
        assert torch.equal(ds.tensors[0][j].permute(1, 2, 0), torch.from_numpy(cifar10_pngs[i][0]))
        assert int(ds.tensors[1][j]) == classes.index(labels[i])


def test_prepared_cifar3_pickles_follow_the_course_format():
    with data.default_cifar3("train").open("rb") as f:
        raw = pickle.load(f)
    assert raw["images"].dtype == np.uint8 and raw["images"].shape[1] == 3072
    assert raw["labels"].shape == (len(raw["images"]), 1)
    ds = data.load_cifar3(data.default_cifar3("train"))
    # Plane layout: the first 1024 values are the red channel of the 32x32 picture.
    assert torch.equal(ds.tensors[0][0, 0].reshape(-1), torch.from_numpy(raw["images"][0, :1024]))
    assert set(ds.tensors[1].tolist()) == {0, 1, 2}


def _course_csv(tmp_path, rows, header=data.COLUMNS):
    d = tmp_path / "data"
    (d / "parrot").mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), (200, 10, 10)).save(d / "parrot" / "parrot-0.jpg")
    (d / "parrot" / "broken.jpg").write_bytes(b"not a jpeg")
    (d / "parrot" / "empty.jpg").write_bytes(b"")
    path = d / "img_train.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_course_csv_and_jpegs_load_with_the_course_transform(tmp_path):
    path = _course_csv(tmp_path, [["./data/parrot/parrot-0.jpg", "a parrot", "parrot", "0"]])
    ds = data.load_image_split(path, size=16)
    assert ds.tensors[0].shape == (1, 3, 16, 16) and ds.tensors[0].dtype == torch.uint8
    assert ds.tensors[0][0, 0].float().mean() > 150  # red
    assert path.with_suffix(".16px.pt").exists()  # decoded once, cached


@pytest.mark.parametrize(("row", "header", "message"), [
    (["./data/parrot/missing.jpg", "p", "parrot", "0"], data.COLUMNS, "row 1: image file .* not found"),
    (["./data/parrot/broken.jpg", "p", "parrot", "0"], data.COLUMNS, "row 1: cannot read image broken.jpg"),
    (["./data/parrot/empty.jpg", "p", "parrot", "0"], data.COLUMNS, "row 1: cannot read image empty.jpg"),
    (["./data/parrot/parrot-0.jpg", "p", "parrot", "7"], data.COLUMNS, "row 1: label_idx 7 is out of range"),
    (["./data/parrot/parrot-0.jpg", "p", "parrot"], ("image", "prompt", "label"), "missing column"),
])
def test_bad_image_inputs_are_named(tmp_path, row, header, message):
    path = _course_csv(tmp_path, [row], header)
    with pytest.raises(DataError, match=message):
        data.load_image_split(path, size=16, num_labels=3)


def test_empty_split_is_an_error(tmp_path):
    with pytest.raises(DataError, match="the split is empty"):
        data.read_image_csv(_course_csv(tmp_path, []))


def test_img_and_cifar_short_runs(tmp_path):
    assert main(["img", "--image_size", "32", "--epochs", "2", "--tracker", "none", "--no_progress",
                 "--run_dir", str(tmp_path / "img")]) == 0
    s = json.loads((tmp_path / "img" / "summary.json").read_text())
    assert s["parameters"] == 3 * 32 * 32 * 512 + 512 + 512 * 512 + 512 + 512 * 3 + 3
    assert s["final"]["train/acc"] > 0.45  # chance is about 1/3
    assert (tmp_path / "img" / "test_first_batch.png").exists() and (tmp_path / "img" / "model.pth").exists()
    assert main(["cifar", "--epochs", "3", "--batch_size", "64", "--lr", "0.001", "--tracker", "none",
                 "--no_progress", "--run_dir", str(tmp_path / "cifar")]) == 0
    assert main(["cifar-test", "--weights", str(tmp_path / "cifar" / "best.pt")]) == 0
    test = json.loads((tmp_path / "cifar" / "test.json").read_text())
    assert test["n"] == 157 and 0.0 <= test["test_acc"] <= 1.0
