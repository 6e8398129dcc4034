"""The training engine: exact resume, atomic checkpoints, seeding, NaN guard."""

from __future__ import annotations

import pickle
import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from neurallab.engine import FitConfig, StepOutput, TrainingDiverged, checkpoint, fit
from neurallab.tasks.common import classification_step
from neurallab.tracking import Run, read_metrics


def _data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return TensorDataset(x, y)


def _model(seed=0):
    torch.manual_seed(seed)
    # Dropout makes the check stronger: resume must restore the RNG as well as the weights.
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))


def _fit(folder, epochs=3, resume=False, stop_after=None, **cfg):
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    config = FitConfig(
        epochs=epochs,
        batch_size=10,
        seed=3,
        resume=resume,
        progress=False,
        checkpoint_every=2,
        **cfg,
    )
    data = _data()
    steps = {"n": 0}

    def step(m, batch):
        steps["n"] += 1
        if stop_after is not None and steps["n"] > stop_after:
            raise KeyboardInterrupt  # a crash between checkpoints
        return classification_step(m, batch)

    run = Run(folder)
    result = fit(
        model, opt, data, step, run, config, eval_sets={"val": _data(40, 1)}, scheduler=sched
    )
    run.finish()
    return result, model


def test_resume_after_crash_equals_uninterrupted_run(tmp_path):
    reference, ref_model = _fit(tmp_path / "ref")
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path / "crash", stop_after=13)  # mid-epoch 2; last checkpoint at step 12
    resumed, model = _fit(tmp_path / "crash", resume=True)
    assert resumed.metrics == reference.metrics
    for a, b in zip(ref_model.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # The resumed metrics file holds every point exactly once, like the reference.
    ref_rows = read_metrics(tmp_path / "ref" / "metrics.csv")
    rows = read_metrics(tmp_path / "crash" / "metrics.csv")
    assert [(s, k) for s, k, _ in rows] == [(s, k) for s, k, _ in ref_rows]
    assert [v for *_, v in rows] == [v for *_, v in ref_rows]


def test_same_seed_same_run_bit_for_bit(tmp_path):
    a, _ = _fit(tmp_path / "a")
    b, _ = _fit(tmp_path / "b")
    assert (tmp_path / "a" / "metrics.csv").read_text() == (
        tmp_path / "b" / "metrics.csv"
    ).read_text()
    assert a.metrics == b.metrics


def test_max_samples_budget_and_eval_cadence(tmp_path):
    result, _ = _fit(tmp_path / "r", epochs=100, max_samples=250, eval_every=5)
    # 96 examples in batches of 10: each epoch is 9 batches of 10 and one of 6. The budget
    # is reached during the 26th step; evaluations come every 5 steps and at the end.
    assert (result.samples, result.steps) == (252, 26)
    assert [h["samples"] for h in result.history] == [50, 96, 146, 192, 242, 252]


def test_best_checkpoint_tracks_named_metric(tmp_path):
    result, _ = _fit(tmp_path / "r", best_metric="val/loss", best_mode="min")
    best = checkpoint.load(tmp_path / "r" / "best.pt")
    assert best["metrics"]["val/loss"] == min(h["val/loss"] for h in result.history)


def test_atomic_save_keeps_old_checkpoint_when_write_crashes(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    checkpoint.save_atomic({"model": {"w": torch.ones(3)}}, path)

    def torn_save(obj, f):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(OSError):
        checkpoint.save_atomic({"model": {"w": torch.zeros(3)}}, path)
    monkeypatch.undo()
    assert torch.equal(checkpoint.load(path)["model"]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp file left behind


def test_corrupt_last_checkpoint_falls_back_to_previous(tmp_path):
    path = tmp_path / "last.pt"
    checkpoint.save_atomic({"step": 1}, path, keep_previous=True)
    checkpoint.save_atomic({"step": 2}, path, keep_previous=True)
    path.write_bytes(path.read_bytes()[:40])  # truncated
    with pytest.raises(checkpoint.CheckpointError, match="corrupt or truncated"):
        checkpoint.load(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert checkpoint.load_latest(path)["step"] == 1
    assert "previous checkpoint" in str(caught[0].message)


class _Exploit:
    def __reduce__(self):
        return (print, ("this ran on load",))


def test_checkpoint_that_would_run_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"model": _Exploit()}, path, pickle_module=pickle)
    with pytest.raises(checkpoint.CheckpointError, match="refused"):
        checkpoint.load(path)
    assert "this ran on load" not in capsys.readouterr().out


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    data = _data()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = {"n": 0}

    def step(m, batch):
        calls["n"] += 1
        out = classification_step(m, batch)
        if calls["n"] == 7:
            return StepOutput(loss=out.loss * float("nan"), size=out.size)
        return out

    cfg = FitConfig(epochs=3, batch_size=10, checkpoint_every=2, progress=False)
    run = Run(tmp_path)
    with pytest.raises(TrainingDiverged, match="step 7"):
        fit(model, opt, data, step, run, cfg)
    state = checkpoint.load(tmp_path / "last.pt")
    assert state["position"]["step"] == 6
    assert all(torch.isfinite(t).all() for t in state["model"].values())
    import json

    assert json.loads((tmp_path / "summary.json").read_text())["stopped"] == "nan"
