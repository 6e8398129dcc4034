"""LSTM parity: hand-set weights, dataset and collate, packing, a short training run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from neurallab.cli import main
from neurallab.data.parity import Parity, all_strings, pad_collate
from neurallab.errors import UserError
from neurallab.internals.parity import verify_hand_weights
from neurallab.models.parity import (
    HAND_WEIGHTS,
    ParityLSTM,
    lstm_from_hand_weights,
    univariate_lstm_states,
)


def test_hand_weights_solve_every_string_up_to_length_20():
    r = verify_hand_weights(20)
    assert r["wrong"] == 0 and r["strings_checked"] == 2**21 - 2
    assert r["min_h_odd"] > 0.5 > r["max_h_even"]
    assert r["nn_lstm_max_abs_diff"] < 1e-12  # nn.LSTM(1, 1) computes the same states


def test_the_check_catches_a_broken_gate():
    broken = {**HAND_WEIGHTS, "w_gh": 0.0}  # candidate no longer computes NAND
    bits = all_strings(6)
    h = univariate_lstm_states(bits, broken)
    assert not torch.equal(h > 0.5, (bits.cumsum(1) % 2) == 1)


def test_course_tester_module_passes():
    out = subprocess.run(
        [sys.executable, "-m", "neurallab.compat.univariate_tester"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and "16384/16384" in out.stdout


def test_hand_weights_in_nn_lstm_generalise_to_long_strings():
    lstm = lstm_from_hand_weights(HAND_WEIGHTS).double()
    torch.manual_seed(0)
    bits = torch.randint(0, 2, (64, 500)).double()
    out, _ = lstm(bits.unsqueeze(-1))
    assert torch.equal(out[:, -1, 0] > 0.5, bits.sum(1) % 2 == 1)


def test_parity_dataset_and_collate_follow_the_course():
    train, val = Parity("train", 5), Parity("val", 5)
    assert len(train) == 62 and len(val) == 32
    x, y = train[5]
    assert y == x.sum() % 2
    x_pad, labels, lengths = pad_collate([(torch.tensor([1.0, 1.0]), 0), (torch.tensor([1.0]), 1)])
    assert x_pad.tolist() == [[1.0, 1.0], [1.0, 0.0]] and labels.dtype == torch.long
    assert lengths == [2, 1]
    with pytest.raises(UserError, match="only 0 and 1"):
        pad_collate([(torch.tensor([2.0]), 0)])
    with pytest.raises(UserError, match="length 0"):
        pad_collate([(torch.tensor([]), 0)])


def test_packing_makes_padding_invisible():
    torch.manual_seed(0)
    model = ParityLSTM(8)
    assert str(model) == "LSTM-8"
    alone = model(torch.tensor([[1.0, 0.0, 1.0]]), [3])
    padded = model(torch.tensor([[1.0, 0.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0]]), [3, 5])
    torch.testing.assert_close(alone[0], padded[0])
    unpacked = model(torch.tensor([[1.0, 0.0, 1.0, 0.0, 0.0]]), [5])  # zeros read as bits
    assert not torch.allclose(alone, unpacked)


def test_parity_training_reaches_100_percent(tmp_path):
    assert (
        main(
            [
                "parity",
                "--hidden_dim",
                "32",
                "--test_max_length",
                "8",
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
    assert s["fitted"] and s["final"]["train/acc"] == 1.0 and s["stopped"] == "early_stop"
    assert all(s["accuracy_by_length"][str(n)] == 1.0 for n in range(1, 6))
    assert (tmp_path / "LSTM-32_parity_generalization.png").exists()


def test_parity_from_python_runs_every_epoch_like_the_driver_and_notes_the_first_fit(tmp_path):
    from neurallab.programs import parity as program

    settings = program.Settings(
        hidden_dim=16, epochs=3, stop_when_fit=False, lr=0.05, test_max_length=6
    )
    rec = program.train(settings, tmp_path / "run", tracker="none", progress=False)
    assert rec.summary["epochs"] == 3 and rec.summary["stopped"] == "budget"
    fitted = [
        e
        for (_, e), (_, a) in zip(
            rec.history.column("epoch"), rec.history.column("train/acc"), strict=True
        )
        if a == 1.0
    ]
    assert rec.summary["fitted"] == bool(fitted)
    assert rec.summary["epochs_to_fit"] == (fitted[0] if fitted else None)
    assert set(rec.summary["accuracy_by_length"]) == {str(n) for n in range(1, 7)}
    model = program.load(rec.run_dir)  # the hidden size comes from the checkpoint
    assert str(model) == "LSTM-16" and not model.training


def test_the_fit_watcher_keeps_its_first_fit_across_a_resume():
    from neurallab.programs.parity import StopWhenTrainingSetIsFit

    watch = StopWhenTrainingSetIsFit(stop=False)
    assert watch.on_evaluation(10, {"train/acc": 0.9, "epoch": 1.0}) is False
    assert watch.on_evaluation(20, {"train/acc": 1.0, "epoch": 2.0}) is False  # keeps going
    watch.on_evaluation(30, {"train/acc": 1.0, "epoch": 3.0})
    resumed = StopWhenTrainingSetIsFit(stop=False)
    resumed.load_state_dict(watch.state_dict())
    assert resumed.first_fit == {"epoch": 2.0, "step": 20.0}
    assert StopWhenTrainingSetIsFit().on_evaluation(5, {"train/acc": 1.0, "epoch": 1.0}) is True


def test_parity_manual_returns_its_record(tmp_path):
    from neurallab.programs import parity_manual

    rec = parity_manual.run(parity_manual.Settings(max_length=8), tmp_path, tracker="none")
    assert rec.summary["wrong"] == 0 and rec.summary["strings_checked"] == 2**9 - 2
    assert rec.command.startswith("neurallab parity-manual --max_length 8")
