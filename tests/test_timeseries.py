"""HW3 P5 time series: the .ts reader, padding and packing, each model on a short run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neurallab.cli import main
from neurallab.data.timeseries import load_splits, read_ts
from neurallab.errors import DataError
from neurallab.models.timeseries import SeriesCNN, SeriesRNN

TS = """# a comment
@problemName Tiny
@dimensions 2
@classLabel true up down
@data
1,2,3:4,5,6:up
7,8:9,10:down
"""


def test_ts_reader_parses_channels_lengths_and_labels(tmp_path):
    path = tmp_path / "tiny.ts"
    path.write_text(TS)
    s = read_ts(path)
    assert s.classes == ["up", "down"] and s.labels.tolist() == [0, 1]
    assert s.values[0].tolist() == [[1, 4], [2, 5], [3, 6]]  # (T, F)
    assert s.values[1].shape == (2, 2)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1,2:3:up", "line 6: channels have different lengths"),
        ("1,?:3,4:up", "line 6: missing or NaN values"),
        ("1,x:3,4:up", "line 6: a value is not a number"),
        ("1,2:3,4:sideways", "line 6: class 'sideways' is not declared"),
    ],
)
def test_ts_reader_names_the_bad_line(tmp_path, line, message):
    path = tmp_path / "bad.ts"
    path.write_text(
        TS.splitlines()[0] + "\n" + "\n".join(TS.splitlines()[1:5]) + "\n" + line + "\n"
    )
    with pytest.raises(DataError, match=message):
        read_ts(path)


def test_real_uea_sets_load_with_unequal_lengths():
    s = load_splits("JapaneseVowels")
    (train, val, test), classes, features, steps = s.sets, s.classes, s.features, s.steps
    assert (len(train) + len(val), len(test), features, len(classes)) == (270, 370, 12, 9)
    lengths = torch.cat([train.tensors[1], test.tensors[1]])
    assert lengths.min() == 7 and lengths.max() == steps == 29  # no test series is cut
    s = load_splits("BasicMotions")
    (train, val, test), features, steps = s.sets, s.features, s.steps
    assert (len(train) + len(val), len(test), features, steps) == (40, 40, 6, 100)
    assert abs(float(train.tensors[0].mean())) < 1e-4  # z-scored with training statistics


def test_padding_does_not_change_cnn_or_rnn_outputs():
    torch.manual_seed(0)
    x = torch.randn(1, 7, 3)
    padded = torch.cat([x, torch.randn(1, 5, 3)], dim=1)  # garbage after the end
    for model in (
        SeriesCNN(3, 4, kernel=1),
        SeriesRNN(3, 4, cell="lstm"),
        SeriesRNN(3, 4, cell="gru"),
    ):
        torch.testing.assert_close(model(x, torch.tensor([7])), model(padded, torch.tensor([7])))


def test_npy_input_and_its_errors(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 50, 8)).astype(np.float32)
    y = rng.integers(0, 2, size=60)
    x[y == 1, :, 0] += 2.0  # a learnable difference
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    assert (
        main(
            [
                "timeseries",
                "--npy",
                str(tmp_path / "x.npy"),
                str(tmp_path / "y.npy"),
                "--model",
                "mlp",
                "--epochs",
                "20",
                "--tracker",
                "none",
                "--no_progress",
                "--run_dir",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["final"]["test/acc"] >= 0.8
    x[3, 4, 5] = np.nan
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(DataError, match="row 4: NaN"):
        load_splits("", (tmp_path / "x.npy", tmp_path / "y.npy"))
    np.save(tmp_path / "y.npy", y[:10])
    with pytest.raises(DataError, match="expected 60 labels"):
        load_splits("", (tmp_path / "x.npy", tmp_path / "y.npy"))


@pytest.mark.parametrize("model", ["mlp", "cnn", "lstm", "gru"])
def test_each_model_learns_basic_motions(tmp_path, model):
    assert (
        main(
            [
                "timeseries",
                "--model",
                model,
                "--epochs",
                "40",
                "--lr",
                "0.003",
                "--tracker",
                "none",
                "--no_progress",
                "--run_dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["final"]["test/acc"] > 0.5  # four classes: chance is 0.25


def test_python_run_records_its_files_and_loads_from_the_checkpoint_alone(tmp_path):
    from neurallab.programs import timeseries

    settings = timeseries.Settings(model="gru", epochs=2, batch_size=8, seed=4)
    rec = timeseries.train(settings, tmp_path / "r", tracker="none", progress=False)
    assert rec.settings == settings and rec.seed == 4
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert rec.final == summary["final"] and rec.summary["dataset"] == "BasicMotions"
    assert [row["step"] for row in rec.history.rows] == sorted(
        {int(line.split(",")[0]) for line in (tmp_path / "r/metrics.csv").read_text().split()[1:]}
    )
    model = timeseries.load(rec.run_dir)  # no settings repeated
    state = torch.load(tmp_path / "r" / "best.pt", weights_only=False)
    assert sorted(state["class_names"]) == ["Badminton", "Running", "Standing", "Walking"]
    test = load_splits("BasicMotions", seed=4).sets[2]
    x, lengths, _ = test.tensors
    reference = timeseries.build_series_model(**state["model_args"])
    reference.load_state_dict(state["model"])
    torch.testing.assert_close(model(x, lengths), reference.eval()(x, lengths))


def test_sigkill_then_resume_matches_the_uninterrupted_run(tmp_path):
    from kill_resume import kill_and_resume, logged, run_whole

    argv = ["--model", "mlp", "--epochs", "8", "--eval_every", "2", "--checkpoint_every", "1"]
    killed = kill_and_resume("timeseries", argv, tmp_path / "k", 2)
    whole = run_whole("timeseries", argv, tmp_path / "w")
    assert logged(killed) == logged(whole)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d.mkdir(), "is a folder, expected a .npy file"),
        (lambda d: d.write_text("1,2,3\n"), "not a NumPy .npy file"),
        (lambda d: np.savez(d.open("wb"), a=np.zeros(3)), "an .npz archive"),
        (lambda d: np.save(d, np.zeros((4, 5))), r"shape \(N, T, F\)"),
        (lambda d: np.save(d, np.array([[["a"]]] * 4)), "expected numbers"),
    ],
)
def test_wrong_kind_of_x_file_is_one_line(tmp_path, make, message):
    x, y = tmp_path / "x.npy", tmp_path / "y.npy"
    make(x)
    np.save(y, np.zeros(4, dtype=int))
    with pytest.raises(DataError, match=message) as err:
        load_splits("", (x, y))
    assert str(x) in str(err.value) and "\n" not in str(err.value)


def test_labels_that_are_not_classes_and_too_few_series_are_refused(tmp_path):
    x, y = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x, np.zeros((4, 5, 2), dtype=np.float32))
    np.save(y, np.array([0.0, 1.0, 0.5, 1.0]))
    with pytest.raises(DataError, match="row 3: label 0.5 is not a class"):
        load_splits("", (x, y))
    np.save(y, np.array([0, 1, 0, 1]))
    with pytest.raises(DataError, match="too few for a validation split"):
        load_splits("", (x, y))


def test_a_binary_or_folder_ts_file_is_one_line(tmp_path):
    (tmp_path / "bin.ts").write_bytes(b"\x80\x81\xff" * 10)
    with pytest.raises(DataError, match="not a text file"):
        read_ts(tmp_path / "bin.ts")
    with pytest.raises(DataError, match="is a folder"):
        read_ts(tmp_path)


def test_bad_settings_are_refused_before_a_run_folder_exists(tmp_path):
    from neurallab.errors import UserError
    from neurallab.programs import timeseries

    for bad in ({"epochs": 0}, {"batch_size": 0}, {"lr": -1.0}, {"npy": ("x.npy",)}):
        with pytest.raises(UserError, match=next(iter(bad))):
            timeseries.Settings(**bad)
    rc = main(["timeseries", "--npy", str(tmp_path), str(tmp_path / "y.npy"), "--tracker",
               "none", "--run_dir", str(tmp_path / "run")])  # fmt: skip
    assert rc == 1 and not (tmp_path / "run").exists()
