"""HW0 §3 images: transforms vs Pillow or by hand, the course's CSV + JPEG format, bad input,
the exact-count models, the compat module and a short real training run."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance

from neurallab.cli import main
from neurallab.compat import img_classifier as compat
from neurallab.data import images as data
from neurallab.data import transforms as T
from neurallab.errors import DataError
from neurallab.models.images import CNN, NeuralNetwork


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_hw0_parameter_counts_are_exact_and_shapes_adapt():
    assert _count(NeuralNetwork()) == 100_928_003
    assert _count(CNN()) == 3_365_507
    # Grayscale only shrinks the first layer: 1 input channel instead of 3.
    assert _count(NeuralNetwork(channels=1)) == 100_928_003 - 2 * 256 * 256 * 512
    assert _count(CNN(channels=1)) == 3_365_507 - 2 * 128 * 4 * 4
    assert CNN(1, 64)(torch.zeros(2, 1, 64, 64)).shape == (2, 3)
    assert NeuralNetwork(3, 32)(torch.zeros(5, 3, 32, 32)).shape == (5, 3)
    with pytest.raises(ValueError, match="multiple of 8"):
        CNN(3, 60)


@pytest.fixture
def photo() -> Image.Image:
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
    theirs = _t(photo.resize((40, 30), Image.BILINEAR))  # Pillow's bilinear is antialiased
    diff = (ours.int() - theirs.int()).abs()
    assert diff.float().mean() < 1.0 and diff.max() <= 6
    # Without antialiasing a 3x downscale samples only a few pixels: much further from Pillow.
    plain = torch.nn.functional.interpolate(_t(photo)[None].float(), (30, 40), mode="bilinear")
    assert (plain[0].round() - theirs).abs().mean() > diff.float().mean() + 1


def test_center_crop_grayscale_flip_by_hand(photo):
    t = _t(photo)
    assert torch.equal(T.center_crop(t, 50), t[:, 20:70, 35:85])
    # ITU-R 601-2: L = 0.299 R + 0.587 G + 0.114 B; (10, 20, 30) -> 18.15 -> 18.
    pixel = torch.tensor([10, 20, 30], dtype=torch.uint8).view(3, 1, 1)
    assert T.grayscale(pixel).item() == 18
    pil_gray = torch.from_numpy(np.array(photo.convert("L"))).int()
    assert (T.grayscale(t)[0].int() - pil_gray).abs().max() <= 1  # PIL rounds fixed-point luma
    assert torch.equal(T.hflip(t), _t(photo.transpose(Image.FLIP_LEFT_RIGHT)))


def test_normalize_and_denormalize_by_hand():
    x = torch.rand(3, 4, 4)
    n = T.normalize(x)
    torch.testing.assert_close(n[0, 0, 0], (x[0, 0, 0] - 0.485) / 0.229)
    torch.testing.assert_close(n[2, 1, 3], (x[2, 1, 3] - 0.406) / 0.225)
    torch.testing.assert_close(T.denormalize(n), x)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (T.adjust_brightness, ImageEnhance.Brightness),
        (T.adjust_contrast, ImageEnhance.Contrast),
        (T.adjust_saturation, ImageEnhance.Color),
    ],
)
def test_colour_jitter_matches_pillow_enhance(photo, ours, theirs):
    x = T.to_float(_t(photo))
    for factor in (0.7, 1.3):
        mine = (ours(x, factor) * 255).round()
        pil = _t(theirs(photo).enhance(factor)).float()
        assert (mine - pil).abs().mean() < 1.0
        assert (mine - _t(photo).float()).abs().mean() > 3  # and it did change the picture


def test_rotation_matches_pillow(photo):
    square = photo.crop((0, 0, 90, 90))
    x = T.to_float(_t(square))[None]
    # 90 degrees lands exactly on pixel centres: equal to Pillow's (counter-clockwise) rotate.
    quarter = (T.rotate(x, torch.tensor([90.0]))[0] * 255).round().to(torch.uint8)
    assert torch.equal(quarter, _t(square.rotate(90)))
    mine = (T.rotate(x, torch.tensor([30.0]))[0] * 255).round()
    pil = _t(square.rotate(30, resample=Image.BILINEAR)).float()
    inner = (slice(None), slice(25, 65), slice(25, 65))  # away from the zero-filled corners
    assert (mine[inner] - pil[inner]).abs().mean() < 2.0
    assert mine[:, 0, 0].eq(0).all()  # corners outside the rotated picture are zero


def test_cifar_augment_is_seeded_and_bounded():
    x = torch.rand(4, 3, 32, 32)
    a = T.cifar_augment(x, torch.Generator().manual_seed(1))
    b = T.cifar_augment(x, torch.Generator().manual_seed(1))
    c = T.cifar_augment(x, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1 and a.shape == x.shape


def _course_csv(tmp_path, rows, header=data.COLUMNS):
    """The course's layout: data/img_train.csv with ./data/<label>/<label>-<n>.jpg paths."""
    d = tmp_path / "data"
    (d / "parrot").mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), (200, 10, 10)).save(d / "parrot" / "parrot-0.jpg")
    Image.new("RGB", (30, 50), (10, 10, 200)).save(d / "parrot" / "parrot-1.jpg")
    (d / "parrot" / "broken.jpg").write_bytes(b"not a jpeg")
    (d / "parrot" / "empty.jpg").write_bytes(b"")
    path = d / "img_train.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_course_csv_and_jpegs_decode_once_into_a_cache(tmp_path):
    rows = [
        ["./data/parrot/parrot-0.jpg", "a red parrot", "parrot", "0"],
        ["./data/parrot/parrot-1.jpg", "a blue parrot", "parrot", "1"],
    ]
    path = _course_csv(tmp_path, rows)
    ds = data.load_image_split(path, size=16, num_labels=2)
    assert ds.tensors[0].shape == (2, 3, 16, 16) and ds.tensors[0].dtype == torch.uint8
    assert ds.tensors[0][0, 0].float().mean() > 150 and ds.tensors[0][1, 2].float().mean() > 150
    assert ds.tensors[1].tolist() == [0, 1]
    cache = path.with_suffix(".16px.pt")
    assert cache.exists()
    # A changed picture invalidates the cache: it is decoded again, not served stale.
    Image.new("RGB", (40, 30), (10, 200, 10)).save(path.parent / "parrot" / "parrot-0.jpg")
    os.utime(path.parent / "parrot" / "parrot-0.jpg", ns=(1, 1))
    again = data.load_image_split(path, size=16, num_labels=2)
    assert again.tensors[0][0, 1].float().mean() > 150  # now green


@pytest.mark.parametrize(
    ("row", "header", "message"),
    [
        (
            ["./data/parrot/missing.jpg", "p", "parrot", "0"],
            None,
            r"row 1: image file .* not found",
        ),
        (["./data/parrot/broken.jpg", "p", "parrot", "0"], None, "row 1: cannot read image broken"),
        (["./data/parrot/empty.jpg", "p", "parrot", "0"], None, "row 1: cannot read image empty"),
        (["./data/parrot/parrot-0.jpg", "p", "parrot", "7"], None, "row 1: label_idx 7 is out of"),
        (["./data/parrot/parrot-0.jpg", "p", "parrot", "x"], None, "row 1: label_idx 'x' is not"),
        (["./data/parrot/parrot-0.jpg", "p", "parrot"], ("image", "prompt", "label"), "label_idx"),
    ],
)
def test_bad_image_inputs_name_file_and_row(tmp_path, row, header, message):
    good = ["./data/parrot/parrot-0.jpg", "p", "parrot", "0"]
    path = _course_csv(tmp_path, [row, good] if header is None else [row], header or data.COLUMNS)
    with pytest.raises(DataError, match=message) as err:
        data.load_image_split(path, size=16, num_labels=3)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_empty_split_is_an_error(tmp_path):
    with pytest.raises(DataError, match="the split is empty"):
        data.read_image_csv(_course_csv(tmp_path, []))


def test_cli_reports_bad_data_on_one_line(tmp_path, capsys):
    path = _course_csv(tmp_path, [["./data/parrot/broken.jpg", "p", "parrot", "0"]])
    for split in ("val", "test"):
        (path.parent / f"img_{split}.csv").write_text(path.read_text())
    code = main(["img", "--data_dir", str(path.parent), "--image_size", "16", "--tracker", "none"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "img_train.csv, row 1: cannot read image broken.jpg" in err


def test_prepared_dataset_is_in_the_course_layout():
    path = data.default_csv("train")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(data.COLUMNS)
    assert {r["label"] for r in rows} == set(data.CLASSES)
    for r in rows[:20]:
        assert r["image"].startswith(f"./data/{r['label']}/{r['label']}-")
        assert data.CLASSES.index(r["label"]) == int(r["label_idx"]) and r["prompt"]
    sizes = {s: len(data.read_image_csv(data.default_csv(s))) for s in data.SPLITS}
    total = sum(sizes.values())
    assert abs(sizes["train"] / total - 0.70) < 0.01 and abs(sizes["test"] / total - 0.15) < 0.01


def test_compat_dataset_and_transform_follow_the_starter(tmp_path, capsys):
    path = _course_csv(tmp_path, [["./data/parrot/parrot-1.jpg", "p", "parrot", "0"]])
    raw, label = compat.CsvImageDataset(str(path))[0]  # transform=None: the RGB PIL picture
    assert isinstance(raw, Image.Image) and raw.size == (30, 50) and raw.mode == "RGB"
    assert label == 0
    x, _ = compat.CsvImageDataset(str(path), compat.course_transform)[0]
    assert x.shape == (3, 256, 256)
    # Reference with Pillow: shorter side to 256 (antialiased), centre crop, ImageNet normalise.
    pil = Image.open(path.parent / "parrot" / "parrot-1.jpg").convert("RGB").resize((256, 427))
    ref = T.normalize(T.to_float(_t(pil))[:, 85:341, :])
    assert (x - ref).abs().mean() < 0.02
    gray, _ = compat.CsvImageDataset(str(path), lambda i: compat.course_transform(i, True))[0]
    assert gray.shape == (1, 256, 256)
    with pytest.raises(SystemExit):
        compat.to_neurallab_argv(["--n_epochs", "0"])
    assert "--n_epochs: must be a positive integer" in capsys.readouterr().err
    argv = compat.to_neurallab_argv(["--model", "cnn", "--learning_rate", "0.01", "--grayscale"])
    assert argv[:9] == [
        "img",
        "--epochs",
        "5",
        "--batch_size",
        "8",
        "--lr",
        "0.01",
        "--model",
        "cnn",
    ]
    assert "--grayscale" in argv


def test_img_short_run_learns_and_writes_its_files(tmp_path):
    run_dir = tmp_path / "img"
    argv = ["img", "--image_size", "16", "--epochs", "2", "--batch_size", "16", "--lr", "3e-4"]
    assert main([*argv, "--tracker", "none", "--no_progress", "--run_dir", str(run_dir)]) == 0
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["parameters"] == 3 * 16 * 16 * 512 + 512 + 512 * 512 + 512 + 512 * 3 + 3
    assert s["final"]["train/acc"] > 0.45  # chance is about 1/3
    # Accuracy is counted over the whole test split: a whole number of its pictures are right.
    n_test = len(data.read_image_csv(data.default_csv("test")))
    correct = s["final"]["test/acc"] * n_test
    assert abs(correct - round(correct)) < 1e-6 and s["final"]["val/loss"] > 0
    for name in ("test_first_batch.png", "train_first_batch.png", "model.pth", "curves.png"):
        assert (run_dir / name).exists(), name
    with (run_dir / "metrics.csv").open() as f:
        keys = {row["key"] for row in csv.DictReader(f)}
    assert {"train/batch_loss", "train/loss", "val/acc", "test/acc"} <= keys


# -- data that contradicts itself or its companion files: one line naming file and row -------
P0, P1 = "./data/parrot/parrot-0.jpg", "./data/parrot/parrot-1.jpg"


def _three_classes(extra: list[str]) -> list[list[str]]:
    rows = [[P0, "p", "animals", "0"], [P1, "p", "food", "1"], [P0, "p", "transportation", "2"]]
    return [*rows, extra]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([P1, "p", "animals", "3"], "row 4: label 'animals' has label_idx 3 here but 0 earlier"),
        ([P1, "p", "plants", "1"], "row 4: label_idx 1 is 'plants' here but 'food' earlier"),
        ([P1, "p", "plants", "5"], r"label indices \[0, 1, 2, 5\] are not 0..3"),
    ],
)
def test_labels_that_contradict_their_indices_are_refused(tmp_path, capsys, extra, message):
    """`animals,3` in a 3-class set once trained a 4-class model labelled
    ['animals', 'food', 'transportation', 'animals']."""
    path = _course_csv(tmp_path, _three_classes(extra))
    with pytest.raises(DataError, match=message):
        data.label_names_of(path)
    for split in ("val", "test"):
        (path.parent / f"img_{split}.csv").write_text(path.read_text())
    code = main(["img", "--data_dir", str(path.parent), "--image_size", "16", "--tracker", "none",
                 "--run_dir", str(tmp_path / "run")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "img_train.csv" in err[0]
    assert not (tmp_path / "run").exists(), "refused before the run folder is made"


def test_a_split_that_labels_otherwise_than_training_is_refused(tmp_path, capsys):
    path = _course_csv(tmp_path, _three_classes([P1, "p", "food", "1"]))
    (path.parent / "img_val.csv").write_text(path.read_text())
    swapped = path.read_text().replace("food,1", "food,0").replace("animals,0", "animals,1")
    (path.parent / "img_test.csv").write_text(swapped)
    code = main(["img", "--data_dir", str(path.parent), "--image_size", "16", "--tracker", "none",
                 "--run_dir", str(tmp_path / "run")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert "img_test.csv, row 1: label 'animals' has label_idx 1, which is 'food' in" in err[0]


def test_wrong_files_for_a_csv_are_named_on_one_line(tmp_path):
    binary = tmp_path / "img_train.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(DataError, match="not a text CSV"):
        data.read_image_csv(binary)
    with pytest.raises(DataError, match="a folder, not a CSV"):
        data.read_image_csv(tmp_path)


def test_img_from_python_returns_its_record_and_reloads_the_final_model(tmp_path):
    from neurallab.programs import images
    from neurallab.programs.run import RunRecord

    settings = images.Settings(image_size=16, epochs=1, batch_size=32)  # 16: decoded, cached
    rec = images.train(settings, tmp_path / "r", tracker="none", progress=False)
    again = RunRecord.read(tmp_path / "r", images.Settings)
    assert rec.settings == again.settings == settings and rec.summary == again.summary
    sets, _ = images.load_splits(settings)
    x, y = sets["test"].tensors
    with torch.no_grad():
        predicted = images.load(rec.checkpoint)(images.prepare_batch(x, False)).argmax(1)
    assert abs((predicted == y).float().mean().item() - rec.final["test/acc"]) < 1e-6
