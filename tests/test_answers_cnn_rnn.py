"""CNN/RNN handout answers: readings and verdicts follow their numbers (made-up numbers in both
directions), Q7 reads generalisation among fitted seeds only, and Q2/Q3 wire the sweep's runs
into the answer without mixing runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neurallab.experiments import cnn_rnn_cifar as cifar
from neurallab.experiments import cnn_rnn_parity as parity
from neurallab.experiments.base import Budget
from neurallab.experiments.stats import compare, summarize
from neurallab.experiments.verdict import AGREES, DISAGREES, NOT_RESOLVED
from neurallab.programs import cifar as cifar_program
from neurallab.programs.run import RunRecord

# -- CIFAR Q1/Q2 readings ------------------------------------------------------------------------


def test_q1_verdict_follows_the_measured_accuracy_and_names_under_training():
    falling_curves = [[1.0 - r * e for e in range(12)] for r in (0.05, 0.06, 0.04)]
    falling, _, trend = cifar.end_slope(falling_curves, 150)
    assert trend == -1 and "under-trained" in falling and "150 optimizer steps" in falling
    text, v = cifar.q1_reading(summarize([0.90, 0.91, 0.92]), 727, falling)
    assert v.outcome == AGREES and "reaches the handout's upper 80s" in text
    text, v = cifar.q1_reading(summarize([0.62, 0.64, 0.66]), 727, falling)
    assert v.outcome == DISAGREES and "stays below" in text and "under-trained" in text
    assert "clip-art stand-in" in v.reason and "727 training drawings" in v.reason
    assert "under-trained" in v.reason
    _, v = cifar.q1_reading(summarize([0.80, 0.95, 0.88]), 727, falling)
    assert v.outcome == NOT_RESOLVED
    flat_curves = [[0.5, 0.51, 0.49, 0.5], [0.5, 0.49, 0.51, 0.5], [0.5, 0.5, 0.5, 0.5]]
    flat, _, trend = cifar.end_slope(flat_curves, 150)
    assert trend == 0 and "not resolved as falling" in flat and "is open" in flat


def test_signed_readings_print_the_difference_with_its_intervals_sign():
    c = compare("a", [0.1, 0.2, 0.15], "b", [0.6, 0.72, 0.68], "acc", paired=True)
    text = cifar.signed(c)
    assert "a minus b on acc: -0.517 (95% CI -0." in text and "a is lower" in text
    assert "lower by" not in text


@pytest.mark.parametrize("sign", [1, -1])
def test_q2_reading_and_verdict_flip_with_the_early_difference(sign):
    net = [0.50, 0.55, 0.52]
    bn = [v + sign * 0.1 + d for v, d in zip(net, [0.0, 0.01, -0.01], strict=True)]
    early = compare(cifar.BN, bn, cifar.NET, net, "early val acc", paired=True)
    flat = compare(cifar.BN, [0.6, 0.7, 0.5], cifar.NET, [0.65, 0.6, 0.6], "best", paired=True)
    text, (verdict,) = cifar.q2_reading(early, flat, flat, 3, 155)
    if sign > 0:
        assert verdict.outcome == AGREES
        assert "Net + BatchNorm minus Net on early val acc: +0.1" in text
        assert "it shows here" in text
    else:
        assert verdict.outcome == DISAGREES
        assert "Net + BatchNorm minus Net on early val acc: -0.1" in text
        assert "against the usual claim" in text
    assert "not resolved (contains 0)" in text  # the flat comparisons say so


def test_q2_unresolved_early_difference_is_not_called_a_speed_up():
    early = compare(cifar.BN, [0.6, 0.5, 0.55], cifar.NET, [0.55, 0.56, 0.54], "early", True)
    text, (verdict,) = cifar.q2_reading(early, early, early, 3, 155)
    assert verdict.outcome == NOT_RESOLVED
    assert "not resolved at this budget" in text and "it shows here" not in text
    assert "different signs" in text  # per-seed differences +0.05, -0.06, +0.01
    same_sign = compare(cifar.BN, [0.6, 0.5, 0.55], cifar.NET, [0.55, 0.49, 0.54], "early", True)
    text, (verdict,) = cifar.q2_reading(same_sign, early, early, 3, 155)
    assert verdict.outcome == NOT_RESOLVED and "share a sign" in text


def test_q2_says_when_an_arm_never_learned():
    early = compare(cifar.BN, [0.6, 0.62, 0.61], cifar.NET, [0.35, 0.36, 0.34], "early", True)
    note = cifar.NEVER_LEARNED.format(arm=cifar.NET, rate="0.381", summary="0.35")
    text, (verdict,) = cifar.q2_reading(early, early, early, 3, 155, note)
    assert "Net never rose clearly above the majority-class rate" in text
    assert "not which trains faster" in verdict.reason


# -- CIFAR Q1-Q3 end to end on made-up runs ------------------------------------------------------


def cifar_model(batchnorm: bool):
    from neurallab.models.cifar import Net

    torch.manual_seed(0)
    return Net(batchnorm=batchnorm)


def _fake_cifar_run(settings, run_dir: Path) -> RunRecord:
    """What `cifar.train` leaves in its folder, with made-up curves (BatchNorm higher)."""
    seed, bn, epochs = settings.seed, settings.batchnorm, settings.epochs
    run_dir.mkdir(parents=True, exist_ok=True)
    curve = [min(0.9, 0.4 + 0.03 * e + 0.01 * seed + (0.1 if bn else 0.0)) for e in range(epochs)]
    curve[2] = max(curve) + 0.01  # a best epoch that is not the last
    lines = ["step,key,value", "0,val/acc,0.33", "0,epoch,0.0"]
    for e, a in enumerate(curve):
        step = (e + 1) * 727
        lines += [f"{step},val/acc,{a}", f"{step},epoch,{e + 1}.0"]
        lines += [f"{step},train/avg_loss,{1.0 - 0.05 * e - 0.01 * seed}"]
    (run_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    model = cifar_model(bn)
    best = {"epoch": 3.0, "val/acc": curve[2]}
    torch.save({"model": model.state_dict(), "metrics": best}, run_dir / "best.pt")
    (run_dir / "training.png").write_bytes(b"png")
    config = {"program": "cifar", **settings.record()}
    (run_dir / "config.json").write_text(json.dumps(config))
    summary = {
        "command": f"neurallab cifar {' '.join(settings.to_argv())}",
        "parameters": sum(p.numel() for p in model.parameters()),
        "best": best,
        "final": {"train/avg_acc": 0.7 + (0.1 if bn else 0.0) + 0.01 * seed},
        "steps": 23 * epochs,
        "samples": 727 * epochs,
        "epochs": float(epochs),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary))
    return RunRecord.read(run_dir, type(settings))


def test_cifar_questions_read_one_run_per_curve(tmp_path, monkeypatch):
    calls = []

    def fake_train(self, settings, run_dir, run_name=None):
        calls.append(run_dir)
        return _fake_cifar_run(settings, run_dir)

    monkeypatch.setattr(Budget, "train", fake_train)
    budget = Budget(quick=True)
    a1 = cifar.q1(budget, tmp_path / "cnn-rnn" / "q1")
    assert a1.verdicts[0].outcome == DISAGREES  # made-up accuracies stay below 0.87
    assert "under-trained" in a1.text and "230 optimizer steps" in a1.text
    assert len(calls) == 3 and all(p.parent.name == "cifar-runs" for p in calls)

    a2 = cifar.q2(budget, tmp_path / "cnn-rnn" / "q2")
    assert {p.name for p in calls[3:]} == {
        "net-s0",
        "net-s1",
        "net-s2",
        "net-batchnorm-s0",
        "net-batchnorm-s1",
        "net-batchnorm-s2",
    }
    assert a2.verdicts[0].outcome == AGREES  # BatchNorm's made-up curves are 0.1 higher
    assert a2.metrics["early_epochs"] == 3  # a quarter of 10 epochs, rounded up
    assert a2.images[0] == tmp_path / "cnn-rnn" / "cifar-runs" / "net-batchnorm-s0" / "training.png"
    assert a2.images[1].exists()

    a3 = cifar.q3(budget, tmp_path / "cnn-rnn" / "q3")
    assert a3.metrics["saved_is_best"] == [True] * 6
    assert len(a3.metrics["test_acc"][cifar.BN]) == 3
    assert "In all 6 runs" in a3.text and "clip-art" in a3.text


def test_saved_weights_check_catches_a_wrong_epoch(tmp_path):
    rec = _fake_cifar_run(cifar.arms(Budget(quick=True))[cifar.NET], tmp_path / "run")
    assert cifar.saved_epoch_is_best(rec) == (True, rec.best["val/acc"])
    torch.save({"model": {}, "metrics": {"epoch": 4.0, "val/acc": 0.6}}, rec.run_dir / "best.pt")
    assert cifar.saved_epoch_is_best(rec)[0] is False


def test_full_budgets_use_the_course_settings():
    full = Budget(quick=False)
    assert cifar.arms(full)[cifar.NET] == cifar_program.Settings()  # 50 epochs, batch 256
    p = parity.settings(full, 64)
    assert p.epochs == 2000 and not p.stop_when_fit and p.test_samples is None
    assert "all 2000 epochs, as the course driver" in parity.training_text(full)
    assert "a quick-budget difference" in parity.training_text(Budget(quick=True))


# -- parity Q6 / Q7 readings ---------------------------------------------------------------------


def _acc_by_length(drop: bool) -> dict[int, list[float]]:
    acc = {}
    for n in range(1, 21):
        if n <= 5 or not drop:
            acc[n] = [1.0, 1.0, 1.0]
        else:
            mean = max(0.5, 1.0 - 0.1 * (n - 5))
            acc[n] = [mean - 0.01, mean, mean + 0.01]
    return acc


def test_q6_reading_follows_the_trend():
    text, key, direction = parity.q6_reading(_acc_by_length(drop=True))
    assert "length 20 minus length 5 on accuracy: -0.5" in text and direction == -1
    assert "reaches down to chance" in text
    text, key, direction = parity.q6_reading(_acc_by_length(drop=False))
    assert "still above chance" in text and "is lower" not in text and direction == 0


def _record(seed, fitted, epochs, acc20):
    return {"seed": seed, "fitted": fitted, "epochs": epochs, "acc8": acc20, "acc20": acc20}


def _sweep_records(small_generalise_better: bool, size_one_fits: bool) -> dict:
    """Sizes 64..1; the fitted small models generalise better (or worse) than large ones, while
    unfitted seeds sit at chance or below, so a mean over all seeds would tell another story."""
    good, bad = (0.95, 0.5) if small_generalise_better else (0.5, 0.95)
    spread = [-0.02, 0.0, 0.02]
    recs = {}
    for h, epochs in ((64, 150), (16, 250), (4, 500), (2, 600)):
        base = bad if h >= 16 else good
        recs[h] = [_record(s, True, epochs + 10 * s, base + spread[s]) for s in range(3)]
    recs[1] = [
        _record(0, size_one_fits, 700 if size_one_fits else 1000, good if size_one_fits else 0.1),
        _record(1, False, 1000, 0.1),
        _record(2, False, 1000, 0.2),
    ]
    return recs


@pytest.mark.parametrize("better", [True, False])
def test_q7_generalisation_is_read_among_fitted_seeds_and_flips(better):
    text, verdicts, key, rows = parity.q7_reading(_sweep_records(better, True), cap=1000)
    if better:
        assert "rises as the hidden size shrinks" in text
        assert "generalise better when smaller" in key
    else:
        assert "falls as the hidden size shrinks" in text
        assert "generalise worse when smaller" in key
    # The unfitted 1-unit seeds (0.1, 0.2) are named apart, not averaged in.
    assert "hidden 1 seed 1: 0.100" in text
    assert rows[-1][4] == ("0.950" if better else "0.500")
    assert verdicts[0].outcome == AGREES  # size 1 needs far more epochs than size 64


def test_q7_size_one_verdict_counts_fitted_seeds():
    _, verdicts, key, _ = parity.q7_reading(_sweep_records(True, True), cap=1000)
    assert verdicts[1].outcome == DISAGREES and "1 of 3 seeds (seed 0)" in verdicts[1].key_result
    assert "smallest size fit: 1" in key
    _, verdicts, key, _ = parity.q7_reading(_sweep_records(True, False), cap=1000)
    assert verdicts[1].outcome == AGREES and "0 of 3 seeds" in verdicts[1].key_result
    assert "smallest size fit: 2" in key


def test_q7_training_verdict_flips_when_small_models_fit_faster():
    recs = _sweep_records(True, True)
    for r in recs[1]:
        r.update(fitted=True, epochs=50 + r["seed"])
    for r in recs[64]:
        r["epochs"] = 900 + 10 * r["seed"]
    _, verdicts, _, _ = parity.q7_reading(recs, cap=1000)
    assert verdicts[0].outcome == DISAGREES


def test_slope_per_halving_is_least_squares_on_log2_size():
    rng = np.random.default_rng(0)
    sizes = [64, 64, 16, 16, 4, 4, 2, 1]
    ys = [0.5 + 0.05 * -np.log2(h) + rng.normal(0, 0.01) for h in sizes]
    slope, (low, high) = parity.slope_per_halving(list(zip(sizes, ys, strict=True)))
    assert slope == pytest.approx(np.polyfit(-np.log2(sizes), ys, 1)[0])
    assert low < 0.05 < high and low > 0
    assert parity.slope_per_halving([(64, 0.5), (64, 0.6), (64, 0.7)]) is None
