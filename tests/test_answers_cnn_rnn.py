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

# -- CIFAR Q1/Q2 readings ------------------------------------------------------------------------


def test_q1_verdict_follows_the_measured_accuracy():
    text, v = cifar.q1_reading(summarize([0.90, 0.91, 0.92]), 727, "quick")
    assert v.outcome == AGREES and "reaches the handout's upper 80s" in text
    text, v = cifar.q1_reading(summarize([0.62, 0.64, 0.66]), 727, "quick")
    assert v.outcome == DISAGREES and "stays below" in text
    assert "clip-art stand-in" in v.reason and "727 training drawings" in v.reason
    _, v = cifar.q1_reading(summarize([0.80, 0.95, 0.88]), 727, "quick")
    assert v.outcome == NOT_RESOLVED


@pytest.mark.parametrize("sign", [1, -1])
def test_q2_reading_and_verdict_flip_with_the_early_difference(sign):
    net = [0.50, 0.55, 0.52]
    bn = [v + sign * 0.1 + d for v, d in zip(net, [0.0, 0.01, -0.01], strict=True)]
    early = compare(cifar.BN, bn, cifar.NET, net, "early val acc", paired=True)
    flat = compare(cifar.BN, [0.6, 0.7, 0.5], cifar.NET, [0.65, 0.6, 0.6], "best", paired=True)
    text, (verdict,) = cifar.q2_reading(early, flat, flat, 3, 155)
    if sign > 0:
        assert verdict.outcome == AGREES
        assert "Net + BatchNorm is higher than Net on early val acc" in text
        assert "it shows here" in text
    else:
        assert verdict.outcome == DISAGREES
        assert "Net + BatchNorm is lower than Net on early val acc" in text
        assert "against the usual claim" in text
    assert "Not resolved at this budget" in text  # the flat comparisons say so


def test_q2_unresolved_early_difference_is_not_called_a_speed_up():
    early = compare(cifar.BN, [0.6, 0.5, 0.55], cifar.NET, [0.55, 0.56, 0.54], "early", True)
    text, (verdict,) = cifar.q2_reading(early, early, early, 3, 155)
    assert verdict.outcome == NOT_RESOLVED
    assert "not resolved at this budget" in text and "it shows here" not in text
    assert "different signs" in text  # per-seed differences +0.05, -0.06, +0.01
    same_sign = compare(cifar.BN, [0.6, 0.5, 0.55], cifar.NET, [0.55, 0.49, 0.54], "early", True)
    text, (verdict,) = cifar.q2_reading(same_sign, early, early, 3, 155)
    assert verdict.outcome == NOT_RESOLVED and "share a sign" in text


# -- CIFAR Q1-Q3 end to end on made-up runs ------------------------------------------------------


def _fake_cifar_run(argv: list[str], run_dir: Path) -> dict:
    """What `neurallab cifar` leaves in its folder, with made-up curves (BatchNorm higher)."""
    seed = int(argv[argv.index("--seed") + 1])
    bn = "--batchnorm" in argv
    epochs = int(argv[argv.index("--epochs") + 1]) if "--epochs" in argv else 50
    run_dir.mkdir(parents=True, exist_ok=True)
    curve = [min(0.9, 0.4 + 0.03 * e + 0.01 * seed + (0.1 if bn else 0.0)) for e in range(epochs)]
    curve[2] = max(curve) + 0.01  # a best epoch that is not the last
    lines = ["step,key,value"] + [f"{(e + 1) * 727},val/acc,{a}" for e, a in enumerate(curve)]
    (run_dir / "metrics.csv").write_text("\n".join(lines) + "\n")
    model = cifar_model(bn)
    best = {"epoch": 3.0, "val/acc": curve[2]}
    torch.save({"model": model.state_dict(), "metrics": best}, run_dir / "best.pt")
    (run_dir / "training.png").write_bytes(b"png")
    summary = {
        "command": "neurallab " + " ".join(argv),
        "parameters": sum(p.numel() for p in model.parameters()),
        "best": best,
        "final": {"train/avg_acc": 0.7 + (0.1 if bn else 0.0) + 0.01 * seed},
        "seed": seed,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary))
    return summary


def cifar_model(batchnorm: bool):
    from neurallab.models.cifar import Net

    torch.manual_seed(0)
    return Net(batchnorm=batchnorm)


def test_cifar_questions_read_one_run_per_curve(tmp_path, monkeypatch):
    calls = []

    def fake_run(self, argv, run_dir):
        calls.append(run_dir)
        summary = _fake_cifar_run(argv, run_dir)
        self.runs.append(summary)
        return summary

    monkeypatch.setattr(Budget, "run", fake_run)
    budget = Budget(quick=True)
    out = tmp_path / "cnn-rnn" / "q2"
    a1 = cifar.q1(budget, tmp_path / "cnn-rnn" / "q1")
    assert a1.verdicts[0].outcome == DISAGREES  # made-up accuracies stay below 0.87
    assert len(calls) == 3 and all(p.parent.name == "cifar-runs" for p in calls)

    a2 = cifar.q2(budget, out)
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
    assert "In all 6 runs" in a3.text


def test_saved_weights_check_catches_a_wrong_epoch(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text(
        "step,key,value\n1,val/acc,0.5\n2,val/acc,0.7\n3,val/acc,0.6\n"
    )
    torch.save({"model": {}, "metrics": {"epoch": 2.0, "val/acc": 0.7}}, run / "best.pt")
    assert cifar.saved_epoch_is_best(run) == (True, 0.7)
    torch.save({"model": {}, "metrics": {"epoch": 3.0, "val/acc": 0.6}}, run / "best.pt")
    assert cifar.saved_epoch_is_best(run)[0] is False


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
    text, key = parity.q6_reading(_acc_by_length(drop=True))
    assert "length 20 is lower than length 5" in text
    assert "reaches down to chance" in text
    text, key = parity.q6_reading(_acc_by_length(drop=False))
    assert "still above chance" in text and "lower than" not in text


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
