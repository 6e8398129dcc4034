"""Run folders and trackers: files are the ground truth; trackers receive converted values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import neurallab
from neurallab.atomic import previous_path, write_atomic, write_json_atomic
from neurallab.data.transforms import to_uint8_image
from neurallab.tracking import Run, read_metrics
from neurallab.tracking.base import to_float


def test_values_are_converted_for_trackers():
    assert to_float(torch.tensor(0.25)) == 0.25 and isinstance(to_float(torch.tensor(1)), float)
    with pytest.raises(ValueError):
        to_float(torch.ones(2))
    chw = torch.zeros(3, 4, 5)
    chw[0] = 1.0  # red, as floats in [0, 1]
    img = to_uint8_image(chw)
    assert img.shape == (4, 5, 3) and img.dtype == np.uint8
    assert img[..., 0].min() == 255 and img[..., 1].max() == 0
    assert to_uint8_image(torch.full((1, 2, 2), 2.0)).tolist() == [[255, 255], [255, 255]]


class _Recorder:
    def __init__(self):
        self.scalars, self.images = [], []

    def log(self, metrics, step):
        self.scalars.append((step, metrics))

    def log_images(self, key, images, captions, step):
        self.images.append((key, images, captions))

    def finish(self):
        pass


def test_run_writes_files_and_mirrors_tracker(tmp_path):
    tracker = _Recorder()
    run = Run(tmp_path / "r", tracker)
    run.log({"train/loss": torch.tensor(1.5)}, step=8)
    run.log({"train/loss": 1.25, "val/acc": np.float32(0.5)}, step=16)
    run.log_images("examples", [torch.rand(3, 8, 8)], ["parrot / parrot"], step=16)
    run.update_summary({"a": 1})
    run.update_summary({"b": 2})
    run.finish()
    assert read_metrics(tmp_path / "r" / "metrics.csv") == [
        (8, "train/loss", 1.5),
        (16, "train/loss", 1.25),
        (16, "val/acc", 0.5),
    ]
    assert tracker.scalars[0] == (8, {"train/loss": 1.5})
    key, images, captions = tracker.images[0]
    assert images[0].dtype == np.uint8 and images[0].shape == (8, 8, 3)
    assert captions == ["parrot / parrot"]
    assert json.loads((tmp_path / "r" / "summary.json").read_text()) == {"a": 1, "b": 2}


def test_truncate_drops_points_after_a_checkpoint(tmp_path):
    run = Run(tmp_path)
    for step in (1, 2, 3):
        run.log({"x": step}, step=step)
    run.finish()
    with (tmp_path / "metrics.csv").open("a") as f:
        f.write("4,x,")  # a row torn by a crash
    run.truncate_metrics(after_step=2)
    assert read_metrics(tmp_path / "metrics.csv") == [(1, "x", 1.0), (2, "x", 2.0)]


def test_trackio_backend_records_every_point(tmp_path):
    # trackio reads TRACKIO_DIR at import, so the check runs in a fresh interpreter.
    script = textwrap.dedent(f"""
        import numpy as np, torch
        from neurallab.tracking.trackio_ import TrackioTracker
        from neurallab.tracking import Run
        run = Run({str(tmp_path / "run")!r}, TrackioTracker("proj", "r1", {{"lr": 0.1}}, False))
        for step in range(25):
            run.log({{"train/loss": torch.tensor(1.0 / (step + 1))}}, step=step)
        run.log_images("grid", [np.zeros((4, 4, 3), np.float32)], ["cap"], step=24)
        run.finish()
        import trackio
        from trackio.sqlite_storage import SQLiteStorage
        logs = SQLiteStorage.get_logs("proj", "r1")
        print("points", sum(1 for row in logs if "train/loss" in row))
        print("images", sum(1 for row in logs if "grid/0" in row))
    """)
    env = {**os.environ, "TRACKIO_DIR": str(tmp_path / "trackio")}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert "points 25" in lines and "images 1" in lines, out.stdout
    assert list((tmp_path / "trackio").glob("*.db")), "trackio wrote no database"


def test_wandb_backend_offline(tmp_path):
    pytest.importorskip("wandb")
    from neurallab.tracking.wandb_ import WandbTracker

    tracker = WandbTracker("proj", "r1", {"lr": 0.1}, tmp_path, online=False)
    tracker.log({"loss": 1.0}, step=0)
    tracker.log_images("img", [np.zeros((4, 4, 3), np.uint8)], ["cap"], step=0)
    tracker.finish()
    assert list(tmp_path.rglob("*.wandb"))


def test_tensorboard_backend_writes_every_point(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from neurallab.tracking.tensorboard_ import TensorboardTracker

    tracker = TensorboardTracker(tmp_path)
    for step in range(7):
        tracker.log({"train/loss": 1.0 / (step + 1), "val/acc": step / 10}, step=step)
    tracker.log_images("first_batch", [np.zeros((4, 4, 3), np.uint8)], ["cap"], step=6)
    tracker.finish()
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    losses = events.Scalars("train/loss")
    assert [e.step for e in losses] == list(range(7))
    assert losses[3].value == pytest.approx(0.25)
    assert len(events.Scalars("val/acc")) == 7
    assert events.Tags()["images"], "the image was not written"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "new" / "config.json"  # the folder does not exist yet
    write_json_atomic(path, {"lr": 0.1, "where": tmp_path})
    assert json.loads(path.read_text()) == {"lr": 0.1, "where": str(tmp_path)}

    def crash_halfway(f):
        f.write(b'{"lr": 0.')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, crash_halfway)
    assert json.loads(path.read_text())["lr"] == 0.1
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]
    write_atomic(path, lambda f: f.write(b"{}"), keep_previous=True)
    assert path.read_text() == "{}" and json.loads(previous_path(path).read_text())["lr"] == 0.1


def test_a_finished_trackio_run_says_nothing_more_at_exit(tmp_path):
    """trackio finishes its current run again at interpreter exit; once our tracker has
    finished it, nothing more is printed (reproduce's output stays one line per question)."""
    import os
    import subprocess
    import sys

    script = (
        "from neurallab.tracking.trackio_ import TrackioTracker\n"
        "t = TrackioTracker('p', 'r', {}, False)\n"
        "t.log({'a': 1.0}, 0)\n"
        "t.finish()\n"
        "print('END-OF-SCRIPT')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TRACKIO_DIR": str(tmp_path)},
        check=True,
    ).stdout
    assert "END-OF-SCRIPT" in out
    assert out.split("END-OF-SCRIPT", 1)[1].strip() == ""


def test_the_trackio_hint_works_as_printed_from_another_folder(tmp_path):
    """Every tracked run prints `trackio show --project "<p>"`: the store must not depend on
    the folder a run is started from, so the hint (and `neurallab dashboard`) finds the run
    from anywhere. `trackio list projects` reads what `trackio show` reads, without serving."""
    import os
    import re
    import shutil
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TRACKIO_DIR"}
    env["HF_HOME"] = str(tmp_path / "hf")  # trackio's default store, kept inside the test
    # the neurallab under test, from any folder (PYTHONPATH may be relative)
    env["PYTHONPATH"] = str(Path(neurallab.__file__).resolve().parents[1])
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    script = (
        "from neurallab.tracking.trackio_ import TrackioTracker\n"
        "t = TrackioTracker('Hint-Test', 'r', {}, False)\n"
        "t.log({'a': 1.0}, 0)\n"
        "t.finish()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    hint = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert 'trackio show --project "Hint-Test"' in hint
    assert not (here / "runs").exists(), "the store must not land in the folder run from"
    trackio = shutil.which("trackio", path=os.path.dirname(sys.executable))
    listed = subprocess.run(
        [trackio, "list", "projects"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Hint-Test" in listed.stdout, listed.stdout + listed.stderr
    # neurallab dashboard finds it too (any case); an unknown project is one line naming it.
    dash = subprocess.run(
        [sys.executable, "-m", "neurallab.cli", "dashboard", "--project", "no-such"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    err = dash.stderr.strip().splitlines()
    assert dash.returncode == 1 and len(err) == 1, dash.stderr
    assert "'no-such'" in err[0] and "'Hint-Test'" in err[0] and str(tmp_path / "hf") in err[0]
