"""`neurallab.compat.cifar_pytorch` and `compat.cifar_evaluate` used the way the course's CIFAR-3
files are used: the course's pickles `cifar10_hst_{train,val,test}` in the working directory,
the starter's no-argument ColorJitter (a no-op), Q3's best weights saved as a plain state_dict
that a `Net` written here from the handout loads with `torch.load` + `load_state_dict`, and
the student's `test.py` run against them."""

from __future__ import annotations

import contextlib
import io
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import neurallab.compat.cifar_pytorch as course
from neurallab.cli import main as neurallab_main
from neurallab.compat import cifar_evaluate
from neurallab.compat.cifar_pytorch import CIFAR3, Net, main
from neurallab.data import images as data


class HandoutNet(nn.Module):
    """Q1's network written from the handout's list: conv1 relu conv2 pool1 relu conv3 relu
    conv4 relu pool2 fc1 relu fc2 (3x3 filters, padding 1), as a student would."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv4 = nn.Conv2d(64, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 8 * 8, 512)
        self.fc2 = nn.Linear(512, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.max_pool2d(self.conv2(F.relu(self.conv1(x))), 2))
        x = F.max_pool2d(F.relu(self.conv4(F.relu(self.conv3(x)))), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def _pictures(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n pictures, N x 3072 uint8 (planes R, G, B), whose brightest plane is their class."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    images = rng.integers(0, 110, (n, 3, 32, 32))
    images[np.arange(n), labels] += 140
    return images.reshape(n, 3072).astype(np.uint8), labels.reshape(n, 1)


def _write_course_pickles(folder) -> None:
    for split, n, seed in (("train", 30, 0), ("val", 15, 1), ("test", 21, 2)):
        images, labels = _pictures(n, seed)
        with (folder / f"cifar10_hst_{split}").open("wb") as f:
            pickle.dump({"images": images, "labels": labels}, f)


@pytest.fixture
def course_dir(tmp_path, monkeypatch):
    _write_course_pickles(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One short training run (3 epochs) in a course folder: (folder, history, printed)."""
    folder = tmp_path_factory.mktemp("course")
    _write_course_pickles(folder)
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(io.StringIO()) as out:
        mp.chdir(folder)
        history = main(["--epochs", "3", "--batch_size", "10", "--lr", "1e-3"])
    return folder, history, out.getvalue()


def _decode(row: np.ndarray) -> torch.Tensor:
    """The starter's __getitem__: r, g, b planes of 1024 values each, stacked, as floats."""
    r, g, b = row[:1024].reshape(32, 32), row[1024:2048].reshape(32, 32), row[2048:].reshape(32, 32)
    return torch.tensor(np.stack([r, g, b]), dtype=torch.float32)


def test_dataset_reads_the_course_pickles_from_the_working_directory(course_dir):
    with open("cifar10_hst_test", "rb") as f:
        raw = pickle.load(f)
    test = CIFAR3("test")
    assert test.path.name == "cifar10_hst_test" and len(test) == 21 and len(CIFAR3("val")) == 15
    for i in (0, 7, 20):
        x, y = test[i]
        assert torch.equal(x, _decode(raw["images"][i])) and y == int(raw["labels"][i, 0])
    x, _ = CIFAR3("test", transform=course.normalize)[3]
    torch.testing.assert_close(x, _decode(raw["images"][3]) / 127.5 - 1)
    assert sum(p.numel() for p in Net().parameters()) == 2_164_771
    assert sum(p.numel() for p in HandoutNet().parameters()) == 2_164_771


def test_default_augmentation_keeps_colours_like_colorjitter_without_arguments(monkeypatch):
    """With rotation switched off, the default augmentation may only flip: every picture comes
    back as itself or its mirror image. With --jitter 0.2 (neurallab's) colours change."""
    monkeypatch.setattr(course, "ROTATION", 0.0)
    x = torch.rand(16, 3, 32, 32) * 255
    out = course.augment(x, generator=torch.Generator().manual_seed(0))
    flipped = 0
    for a, b in zip(out, x, strict=True):
        same, mirrored = (a - b).abs().max(), (a - b.flip(-1)).abs().max()
        assert min(same, mirrored) < 1e-3
        flipped += bool(mirrored < same)
    assert 0 < flipped < 16  # the flip is random, about half of the time
    jittered = course.augment(x, jitter=0.2, generator=torch.Generator().manual_seed(0))
    far = [
        min((a - b).abs().max(), (a - b.flip(-1)).abs().max())
        for a, b in zip(jittered, x, strict=True)
    ]
    assert min(far) > 1.0
    assert course.build_parser().parse_args([]).jitter == 0.0


def test_training_saves_the_best_weights_as_a_plain_state_dict(trained, monkeypatch):
    course_dir, history, out = trained
    monkeypatch.chdir(course_dir)
    assert (course_dir / "best.pt").is_file() and (course_dir / "training_plot.png").is_file()
    assert not (course_dir / "runs").exists()
    # The student's test.py: a Net, then torch.load + load_state_dict, nothing else.
    net = Net()
    net.load_state_dict(torch.load("best.pt"))
    state = torch.load("best.pt")
    assert set(state) == set(Net().state_dict())
    handout = HandoutNet()
    handout.load_state_dict(state)  # the handout's layer names fit, strictly
    # Saved exactly after each epoch that beat every earlier one, and holding the best weights.
    saves = [int(m) for m in re.findall(r"^epoch (\d+):.*; saved best\.pt$", out, re.M)]
    val = history["val_acc"]
    assert saves == [e + 1 for e in range(len(val)) if all(val[e] > v for v in val[:e])]
    valset = CIFAR3("val")
    x = torch.stack([valset[i][0] for i in range(len(valset))]) / 127.5 - 1
    y = torch.tensor([valset[i][1] for i in range(len(valset))])
    handout.eval()
    with torch.no_grad():
        assert (handout(x).argmax(1) == y).float().mean().item() == pytest.approx(max(val))
    assert max(val) > 0.5  # it learnt the colour classes (chance is 1/3)


def test_batchnorm_weights_load_into_the_batchnorm_net(course_dir):
    main(["--epochs", "1", "--batch_size", "10", "--batchnorm"])
    state = torch.load("best.pt")
    assert {"bn.weight", "bn.bias", "bn.running_mean"} <= set(state)
    Net(batchnorm=True).load_state_dict(state)
    assert sum(p.numel() for p in Net(batchnorm=True).parameters()) == 2_165_795


def test_student_test_py_evaluates_best_pt_on_the_course_test_pickle(trained, monkeypatch, capsys):
    monkeypatch.chdir(trained[0])
    assert cifar_evaluate.main([]) == 0  # no flags: ./best.pt on ./cifar10_hst_test
    out = capsys.readouterr().out
    assert "cifar-test: test data cifar10_hst_test (the course's pickle), 21 images" in out
    reported = float(re.search(r"test accuracy (\d\.\d+) on 21 images", out).group(1))
    # The same accuracy computed here with the handout's network and normalisation.
    with open("cifar10_hst_test", "rb") as f:
        raw = pickle.load(f)
    x = torch.stack([_decode(row) for row in raw["images"]]) / 127.5 - 1
    net = HandoutNet()
    net.load_state_dict(torch.load("best.pt"))
    net.eval()
    with torch.no_grad():
        acc = (net(x).argmax(1) == torch.from_numpy(raw["labels"][:, 0])).float().mean().item()
    assert reported == pytest.approx(acc, abs=5e-5)


def test_cifar_evaluate_uses_a_folder_of_course_pickles_and_says_which_data(
    course_dir, tmp_path_factory, capsys, monkeypatch
):
    torch.save(Net().state_dict(), course_dir / "weights.pt")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    argv = ["cifar-test", "--weights", str(course_dir / "weights.pt")]
    assert neurallab_main([*argv, "--data_dir", str(course_dir)]) == 0
    out = capsys.readouterr().out
    assert f"test data {course_dir / 'cifar10_hst_test'} (the course's pickle), 21 images" in out
    assert neurallab_main([*argv, "--data_dir", str(elsewhere)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"--data_dir: {elsewhere} holds neither cifar10_hst_test nor test.pkl")
    assert "\n" not in err
    # No course pickle here and no --data_dir: the prepared clip-art test split, named.
    assert neurallab_main(argv) == 0
    out = capsys.readouterr().out
    n = len(data.load_cifar3(data.default_cifar3("test")))
    assert f"test data {data.default_cifar3('test')} (the prepared clip-art CIFAR-3), {n}" in out


def test_course_files_importing_the_module_train_nothing_and_load_best_pt(trained):
    """The course's own flow with our module behind it: `cifar_pytorch.py` holding the star
    import, and a student's `test.py` that imports `Net` from it and loads `best.pt` with plain
    torch calls. Importing trains nothing (the starter would train at import)."""
    folder = trained[0]
    (folder / "cifar_pytorch.py").write_text(
        "from neurallab.compat.cifar_pytorch import *  # noqa: F403\n"
    )
    (folder / "test.py").write_text(
        "import torch\n"
        "from cifar_pytorch import CIFAR3, Net, normalize\n"
        "from torch.utils.data import DataLoader\n\n"
        "net = Net()\n"
        'net.load_state_dict(torch.load("best.pt"))\n'
        "net.eval()\n"
        "correct = total = 0\n"
        'for x, y in DataLoader(CIFAR3("test", transform=normalize), batch_size=256):\n'
        "    correct += int((net(x).argmax(1) == y).sum())\n"
        "    total += len(y)\n"
        'print(f"test accuracy {correct / total:.4f} on {total}")\n'
    )
    before = sorted(p.name for p in folder.iterdir())
    saved_at = (folder / "best.pt").stat().st_mtime_ns
    done = subprocess.run(
        [sys.executable, "test.py"], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"test accuracy \d\.\d{4} on 21\n", done.stdout)
    after = sorted(p.name for p in folder.iterdir() if p.name != "__pycache__")
    assert after == before  # no training happened: no new files, best.pt untouched
    assert (folder / "best.pt").stat().st_mtime_ns == saved_at
