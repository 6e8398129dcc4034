"""The training engine: exact resume, atomic checkpoints, seeding, NaN guard."""

from __future__ import annotations

import pickle
import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from neurallab.engine import (
    Callback,
    FitConfig,
    StepOutput,
    TrainingDiverged,
    checkpoint,
    fit,
)
from neurallab.engine.seed import epoch_generator
from neurallab.programs.run import classification_step
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


# -- the lean loop: same numbers as a hand-written loop, batched evaluation -------------------


def test_logged_losses_equal_a_hand_written_loop(tmp_path):
    """Losses are read from the device in batches; each logged point is still its own step's."""
    from neurallab.engine.loop import epoch_order

    data = _data()
    config = FitConfig(epochs=3, batch_size=10, seed=3, progress=False, log_every=1)
    run = Run(tmp_path)
    model = _model()
    fit(model, torch.optim.SGD(model.parameters(), lr=0.1), data, classification_step, run, config)
    run.finish()

    # The same weights, and the global RNG where _model() left it: fit does not seed, so the
    # dropout masks continue the stream that drew the initial weights.
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    expected, samples = [], 0
    for epoch in range(3):
        for idx in epoch_order(len(data), 3, epoch, shuffle=True).split(10):
            x, y = data.tensors[0][idx], data.tensors[1][idx]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            samples += len(idx)
            expected.append((samples, loss.item()))
    rows = [(s, v) for s, k, v in read_metrics(tmp_path / "metrics.csv") if k == "train/batch_loss"]
    assert [s for s, _ in rows] == [s for s, _ in expected]
    assert max(abs(a - b) for (_, a), (_, b) in zip(rows, expected, strict=True)) < 1e-6


def test_logging_less_often_does_not_change_training(tmp_path):
    a, model_a = _fit(tmp_path / "a")
    b, model_b = _fit(tmp_path / "b", log_every=4)
    for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(p, q)
    steps = {
        s for s, k, _ in read_metrics(tmp_path / "b" / "metrics.csv") if k == "train/batch_loss"
    }
    assert len(steps) == a.steps // 4


class _CountingTensors(TensorDataset):
    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.items = 0

    def __getitem__(self, index):
        self.items += 1
        return super().__getitem__(index)


def test_in_memory_tensors_are_never_collated_example_by_example(tmp_path):
    train = _CountingTensors(*_data(300).tensors)
    val = _CountingTensors(*_data(2500, 1).tensors)
    calls = {"n": 0}

    def step(m, batch):
        calls["n"] += 1
        return classification_step(m, batch)

    model = _model()
    cfg = FitConfig(epochs=1, batch_size=50, progress=False)
    fit(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        train,
        step,
        Run(tmp_path),
        cfg,
        eval_sets={"val": val},
    )
    assert train.items == val.items == 0
    # 6 training steps; the 2,500 validation examples in batches of 1,024: 3 forward calls.
    assert calls["n"] == 6 + 3


def test_batched_evaluation_equals_example_by_example():
    from neurallab.engine import evaluate

    data = _data(333, 2)
    model = _model()
    big = evaluate(model, data, classification_step, FitConfig(batch_size=8))
    one = evaluate(model, data, classification_step, FitConfig(batch_size=1, eval_batch_size=1))
    listed = evaluate(
        model, [data[i : i + 7] for i in range(0, 333, 7)], classification_step, FitConfig()
    )
    assert big["n"] == one["n"] == listed["n"] == 333
    assert big["acc"] == one["acc"] == listed["acc"]
    assert abs(big["loss"] - one["loss"]) < 1e-6 and abs(big["loss"] - listed["loss"]) < 1e-6


def _last_checkpoint_writes(tmp_path, monkeypatch, **cfg) -> list[int]:
    """The steps at which fit wrote last.pt."""
    written = []
    save = checkpoint.save_atomic

    def spy(state, path, keep_previous=False):
        if path.name == "last.pt":
            written.append(state["position"]["step"])
        save(state, path, keep_previous)

    monkeypatch.setattr(checkpoint, "save_atomic", spy)
    model = _model()
    config = FitConfig(epochs=4, batch_size=10, progress=False, eval_every=3, **cfg)
    fit(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        _data(),
        classification_step,
        Run(tmp_path),
        config,
    )
    return written


def test_checkpoint_cadence(tmp_path, monkeypatch):
    # 4 epochs of 10 batches; evaluations every 3 steps and at the end (step 40).
    every_eval = _last_checkpoint_writes(tmp_path / "a", monkeypatch, checkpoint_seconds=0)
    assert every_eval == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 40]
    at_end = _last_checkpoint_writes(tmp_path / "b", monkeypatch, checkpoint_seconds=3600)
    assert at_end == [40]
    stepped = _last_checkpoint_writes(
        tmp_path / "c", monkeypatch, checkpoint_seconds=3600, checkpoint_every=7
    )
    assert stepped == [7, 14, 21, 28, 35, 40]


# -- callbacks, batch order, seeding ------------------------------------------------------------


class _StopAt(Callback):
    """Records every evaluation and asks to stop at `stop_step`."""

    def __init__(self, stop_step: int) -> None:
        self.stop_step, self.heard = stop_step, []

    def on_evaluation(self, step, metrics):
        self.heard.append((step, round(metrics["epoch"], 4)))
        return step >= self.stop_step


def _train(folder, cfg: FitConfig, step=classification_step, **hooks):
    """A fresh _model() trained on _data() with SGD; `hooks`: fit's batch_order/callbacks."""
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return fit(model, optimizer, _data(), step, Run(folder), cfg, **hooks)


def test_callbacks_hear_every_evaluation_and_can_stop_training(tmp_path):
    first, second = _StopAt(6), _StopAt(10**9)
    cfg = FitConfig(epochs=5, batch_size=10, eval_every=3, progress=False)
    result = _train(tmp_path, cfg, callbacks=[first, second])
    assert first.heard == second.heard == [(3, 0.3125), (6, 0.625)]
    assert (result.stopped, result.steps) == ("early_stop", 6)


def test_batch_order_draws_from_the_epochs_generator_only(tmp_path):
    seen = []

    def pairs(generator):
        # A task's own batches: any function of the generator the engine hands it.
        order = torch.randperm(96, generator=generator).tolist()
        seen.append(order[:3])
        return [order[i : i + 2] for i in range(0, 96, 2)]

    cfg = FitConfig(epochs=2, batch_size=2, progress=False, seed=4, best_metric=None)
    result = _train(tmp_path, cfg, batch_order=pairs)
    assert result.steps == 96
    expected = [torch.randperm(96, generator=epoch_generator(4, e)).tolist()[:3] for e in (0, 1)]
    assert seen == expected


def test_fit_does_not_reseed_the_global_generators(tmp_path):
    """The command seeds once; fit continues the stream (a re-seed would repeat it)."""
    drawn = []

    def step(m, batch):
        drawn.append(torch.rand(1).item())
        return classification_step(m, batch)

    model = _model()
    torch.manual_seed(7)
    torch.rand(1)
    expected = torch.rand(1).item()  # the second draw after seeding
    torch.manual_seed(7)
    torch.rand(1)  # the command's own first draw (its model's weights, say)
    cfg = FitConfig(epochs=1, batch_size=96, progress=False, seed=7, best_metric=None)
    fit(model, torch.optim.SGD(model.parameters(), lr=0.1), _data(), step, Run(tmp_path), cfg)
    assert drawn == [expected]


def test_best_checkpoint_is_written_with_last_and_holds_the_best_evaluation(tmp_path, monkeypatch):
    written = []
    save = checkpoint.save_atomic

    def spy(state, path, keep_previous=False):
        written.append(path.name)
        save(state, path, keep_previous)

    monkeypatch.setattr(checkpoint, "save_atomic", spy)
    cfg = FitConfig(
        epochs=4,
        batch_size=10,
        progress=False,
        eval_every=3,
        checkpoint_every=20,
        checkpoint_seconds=3600,
        best_metric="train/avg_loss",
        best_mode="min",
    )
    result = _train(tmp_path, cfg)
    # 14 evaluations improve the best now and then; best.pt is written only beside last.pt.
    assert written == ["best.pt", "last.pt", "best.pt", "last.pt"]
    best = checkpoint.load(tmp_path / "best.pt")
    assert best["metrics"] == result.best
    assert result.best["train/avg_loss"] == min(h["train/avg_loss"] for h in result.history)


class _HalveLrWhenLossRises(Callback):
    """A callback with state: the best validation loss so far, and how often it acted."""

    def __init__(self, optimizer) -> None:
        self.optimizer, self.best, self.halvings = optimizer, None, 0

    def on_evaluation(self, step, metrics):
        if self.best is not None and metrics["val/loss"] > self.best:
            for group in self.optimizer.param_groups:
                group["lr"] /= 2
            self.halvings += 1
        else:
            self.best = metrics["val/loss"]

    def state_dict(self):
        return {"best": self.best, "halvings": self.halvings}

    def load_state_dict(self, state):
        self.best, self.halvings = state["best"], state["halvings"]


def _fit_with_state(folder, resume=False, stop_after=None):
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.8, momentum=0.9)
    callback = _HalveLrWhenLossRises(optimizer)
    cfg = FitConfig(
        epochs=6,
        batch_size=10,
        eval_every=4,
        seed=3,
        resume=resume,
        progress=False,
        checkpoint_every=2,
    )
    steps = {"n": 0}

    def step(m, batch):
        steps["n"] += 1
        if stop_after is not None and steps["n"] > stop_after:
            raise KeyboardInterrupt
        return classification_step(m, batch)

    run = Run(folder)
    result = fit(
        model,
        optimizer,
        _data(),
        step,
        run,
        cfg,
        eval_sets={"val": _data(40, 1)},
        callbacks=[callback],
    )
    run.finish()
    return result, callback


def test_a_callbacks_state_survives_a_crash_and_resume_exactly(tmp_path):
    """The callback's state rides in last.pt: a resumed run acts as the uninterrupted one
    (without it, the resumed callback would start with no best loss and act differently)."""
    reference, ref_callback = _fit_with_state(tmp_path / "ref")
    assert ref_callback.halvings >= 2, "the check needs a callback that acts"
    with pytest.raises(KeyboardInterrupt):
        _fit_with_state(tmp_path / "crash", stop_after=31)
    resumed, callback = _fit_with_state(tmp_path / "crash", resume=True)
    assert callback.state_dict() == ref_callback.state_dict()
    assert read_metrics(tmp_path / "crash" / "metrics.csv") == read_metrics(
        tmp_path / "ref" / "metrics.csv"
    )
    # The learning rate is logged with every evaluation: the halvings show in the history.
    # Each evaluation logs the rate its stretch of steps used: 0.8 halved once for every
    # earlier evaluation whose loss rose above the best before it.
    best, halvings, expected = None, 0, []
    for h in reference.history:
        expected.append(0.8 / 2**halvings)
        if best is not None and h["val/loss"] > best:
            halvings += 1
        else:
            best = h["val/loss"]
    assert halvings == ref_callback.halvings
    assert [h["lr"] for h in reference.history] == pytest.approx(expected, rel=1e-12)
