"""HW0 §2 and §3 answers: readings and verdicts follow made-up numbers in both directions, epochs
come from each run's own log, and the written answers say what their code printed."""

from __future__ import annotations

import json

import pytest
import torch

from neurallab.experiments import hw0_images as hw0
from neurallab.experiments import hw0_primer as primer
from neurallab.experiments.base import Budget
from neurallab.experiments.stats import fmt
from neurallab.experiments.sweep import SweepResult, run_slug
from neurallab.experiments.verdict import AGREES, DEMONSTRATED, DISAGREES, NOT_RESOLVED
from neurallab.programs import images
from neurallab.programs.run import RunRecord

SEEDS = [10999, 11000, 11001]
TRAIN_SIZE = 727  # steps are examples seen, as the engine logs them


def write_run(folder, per_epoch: dict[str, list[float]], final: dict[str, float], **extra):
    """A run folder as the engine writes it: metrics.csv with an `epoch` row per evaluation."""
    folder.mkdir(parents=True, exist_ok=True)  # questions share runs, as in reproduce
    epochs = len(next(iter(per_epoch.values())))
    lines = ["step,key,value"]
    for e in range(1, epochs + 1):
        step = TRAIN_SIZE * e
        lines.append(f"{step - 8},train/batch_loss,1.0")
        lines.append(f"{step},epoch,{float(e)!r}")
        lines += [f"{step},{k},{v[e - 1]!r}" for k, v in per_epoch.items()]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    summary = {
        "epochs": float(epochs),
        "final": final,
        "parameters": 1_000,
        "labels": ["animals", "food", "transportation"],
        "command": f"neurallab img --run_dir {folder}",
        "run_dir": str(folder),
        **extra,
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    config = {"program": "img", **images.Settings(image_size=32).record()}
    (folder / "config.json").write_text(json.dumps(config))
    return RunRecord.read(folder, images.Settings)


def fake_result(tmp_path, arms: dict[str, list[dict]]) -> SweepResult:
    """`arms[label][i]` = {"curves": {...}, "final": {...}} for seed SEEDS[i]."""
    runs = {}
    for label, seeds in arms.items():
        runs[label] = {}
        for seed, spec in zip(SEEDS, seeds, strict=True):
            folder = tmp_path / "runs" / f"{run_slug(label)}-s{seed}"
            runs[label][seed] = write_run(folder, spec["curves"], spec["final"])
    return SweepResult(arms=list(arms), seeds=SEEDS, runs=runs)


def use_fake_runs(monkeypatch, tmp_path, by_arm: dict[str, list[dict]]) -> None:
    """Questions get made-up runs instead of training: labels are looked up by arm name."""

    def run_arms(budget, out, labels):
        return fake_result(tmp_path, {label: by_arm[arm] for arm, label in labels.items()})

    monkeypatch.setattr(hw0, "run_arms", run_arms)


def curves(train_loss, val_loss, train_acc, val_acc) -> dict:
    return {
        "train/avg_loss": train_loss,
        "train/loss": train_loss,
        "val/loss": val_loss,
        "train/acc": train_acc,
        "val/acc": val_acc,
    }


def final(train_acc, test_acc, val_acc=0.6) -> dict:
    return {"train/acc": train_acc, "test/acc": test_acc, "val/acc": val_acc}


# -- epochs come from the run's own log ----------------------------------------------------
def test_epoch_series_reads_epochs_from_the_log_and_refuses_a_mixed_folder(tmp_path):
    write_run(tmp_path / "one", {"val/loss": [0.9, 0.8, 0.7]}, {})
    assert hw0.epoch_series(tmp_path / "one", "val/loss") == ([1, 2, 3], [0.9, 0.8, 0.7])
    # A second run appended to the same metrics.csv (the old bug): epochs 1,2,3,1,2,3.
    lines = (tmp_path / "one" / "metrics.csv").read_text().splitlines()
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "metrics.csv").write_text("\n".join(lines + lines[1:]) + "\n")
    with pytest.raises(RuntimeError, match="not one run"):
        hw0.epoch_series(tmp_path / "mixed", "val/loss")


def test_per_epoch_checks_the_log_against_the_epochs_trained(tmp_path):
    spec = {"curves": {"val/acc": [0.5, 0.6]}, "final": {}}
    result = fake_result(tmp_path, {"a": [spec, spec, spec]})
    epochs, values = hw0.per_epoch(result, "a", "val/acc")
    assert epochs == [1, 2] and values == [[0.5, 0.6]] * 3
    result.runs["a"][SEEDS[1]].summary["epochs"] = 5.0  # the summary says 5, the log holds 2
    with pytest.raises(RuntimeError, match="2 epochs logged, 5 trained"):
        hw0.per_epoch(result, "a", "val/acc")


# -- Q3.1-3.3: loss falls, read from the numbers ----------------------------------------------
def narwhal(falling: bool) -> list[dict]:
    runs = []
    for k in range(3):
        loss = [1.1 - 0.1 * e + 0.01 * k for e in range(5)]
        acc = [0.4 + 0.08 * e + 0.01 * k for e in range(5)]
        if not falling:
            loss, acc = loss[::-1], acc[::-1]
        val_loss = [v + 0.3 for v in loss]
        val_acc = [v - 0.2 for v in acc]
        runs.append({"curves": curves(loss, val_loss, acc, val_acc), "final": final(0.8, 0.6)})
    return runs


@pytest.mark.parametrize("falling", [True, False])
def test_q31_to_q33_readings_and_verdicts_follow_the_curves(monkeypatch, tmp_path, falling):
    use_fake_runs(monkeypatch, tmp_path, {hw0.NARWHAL: narwhal(falling)})
    budget = Budget()
    a31 = hw0.q31(budget, tmp_path / "q31")
    a32 = hw0.q32(budget, tmp_path / "q32")
    a33 = hw0.q33(budget, tmp_path / "q33")
    expected = AGREES if falling else DISAGREES
    assert [a.verdicts[0].outcome for a in (a31, a32, a33)] == [expected] * 3
    loss_word = "lower" if falling else "higher"
    assert f"Epoch 5 is {loss_word} than epoch 1 on mean batch loss" in a31.text
    # Each seed's own trend decides Q3.1, not the paired interval over seeds.
    assert f"fell in {3 if falling else 0} of 3 seeds" in a31.verdicts[0].key_result
    assert f"rose in {3 if falling else 0} of 3 seeds" in a33.verdicts[0].key_result
    assert f"Epoch 5 is {loss_word} than epoch 1 on train loss" in a32.text
    acc_word = "higher" if falling else "lower"
    assert f"Epoch 5 is {acc_word} than epoch 1 on train accuracy" in a33.text
    # Epoch counts come from the logs: 5 epochs, never a multiple from appended runs.
    assert a32.metrics["epochs"] == 5 and "5 epochs, read from each run's own log" in a32.text
    # Validation loss sits above train loss, validation accuracy below: overfitting, both ways.
    assert "fits the training pictures better than it generalises" in a32.text
    assert "fits the training pictures better than it generalises" in a33.text


def test_gap_sentence_flips_with_the_gap():
    from neurallab.experiments.stats import compare

    higher = compare("validation", [0.9, 0.91, 0.92], "train", [0.5, 0.52, 0.5], "loss", True)
    lower = compare("validation", [0.5, 0.52, 0.5], "train", [0.9, 0.91, 0.92], "loss", True)
    tie = compare("validation", [0.5, 0.7, 0.6], "train", [0.55, 0.6, 0.65], "loss", True)
    assert "generalises" in hw0.gap_sentence(higher, "loss")
    assert "no sign of overfitting" in hw0.gap_sentence(lower, "loss")
    assert "no sign of overfitting" in hw0.gap_sentence(higher, "acc")
    assert "do not resolve" in hw0.gap_sentence(tie, "loss")


# -- Q3.4: colour vs grayscale ----------------------------------------------------------------
def arm(test_accs: list[float], train_acc: float = 0.8) -> list[dict]:
    flat = curves([1.0] * 5, [1.0] * 5, [0.5] * 5, [0.5] * 5)
    return [{"curves": flat, "final": final(train_acc, t)} for t in test_accs]


@pytest.mark.parametrize(
    ("gray", "outcome", "reading"),
    [
        ([0.50, 0.52, 0.51], AGREES, "Grayscale is lower than colour on test accuracy"),
        ([0.70, 0.72, 0.71], DISAGREES, "Grayscale is higher than colour on test accuracy"),
        ([0.55, 0.65, 0.60], NOT_RESOLVED, "Not resolved at this budget"),
    ],
)
def test_q34_reading_and_verdict_follow_the_numbers(monkeypatch, tmp_path, gray, outcome, reading):
    colour = [0.60, 0.62, 0.61]
    use_fake_runs(monkeypatch, tmp_path, {hw0.NARWHAL: arm(colour), "grayscale": arm(gray)})
    answer = hw0.q34(Budget(), tmp_path / "q34")
    assert answer.verdicts[0].outcome == outcome
    assert reading in answer.text
    assert ", ".join(fmt(g) for g in gray) in answer.tables[0]  # per-seed values in the table
    assert "No: grayscale test accuracy" in answer.text  # all three lie well above 1/3


def test_q34b_chance_sentence_needs_the_interval_above_chance():
    assert hw0.chance_sentence([0.50, 0.52, 0.51], 1 / 3).startswith("No:")
    assert hw0.chance_sentence([0.30, 0.40, 0.35], 1 / 3).startswith("This budget cannot tell")
    assert "below chance" in hw0.chance_sentence([0.20, 0.21, 0.22], 1 / 3)
    assert hw0.chance_sentence([0.9], 1 / 3).startswith("This budget cannot tell")  # one seed


# -- Q3.5: errors, counted over seeds and explained from measured cues --------------------------
def test_cue_features_measure_colour_and_coverage():
    image = torch.full((1, 3, 10, 10), 255, dtype=torch.uint8)  # a white canvas
    image[0, :, :5, :4] = torch.tensor([255, 0, 0], dtype=torch.uint8).view(3, 1, 1)  # red
    features = hw0.cue_features(image)[0]
    assert features[3].item() == pytest.approx(0.2)  # 20 of 100 pixels drawn on
    assert features[:3].tolist() == pytest.approx([1.0, 0.8, 0.8])  # mean R, G, B


def test_nearest_mean_rule_picks_the_nearest_class_centre():
    train = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    labels = torch.tensor([0, 0, 1, 1])
    test = torch.tensor([[0.2, 0.1], [4.0, 4.5]])
    assert hw0.nearest_mean_rule(train, labels, test, 2).tolist() == [0, 1]


def test_errors_sentence_counts_what_it_is_given():
    errors = [
        {"picture": 1, "true": "food", "predicted": "animals", "cue": "animals"},
        {"picture": 2, "true": "food", "predicted": "animals", "cue": "food"},
        {"picture": 3, "true": "animals", "predicted": "transportation", "cue": "food"},
    ]
    text = hw0.errors_sentence(errors, 0.55)
    assert "make 3 errors" in text and "food called animals (2)" in text
    assert "1 (0.333) are the same wrong class" in text and "The other 2 are not" in text
    assert "no error to explain" in hw0.errors_sentence([], 0.5)
    matched = [dict(e, cue=e["predicted"]) for e in errors]
    assert "The other" not in hw0.errors_sentence(matched, 0.5)


# -- Q3.6: the verdict rests on the measured comparison, the counts are a written answer ------
@pytest.mark.parametrize(
    ("cnn", "cnn_train", "word", "gap_outcome"),
    [
        ([0.70, 0.72, 0.71], 0.85, "higher", AGREES),  # CNN gap 0.14 vs MLP 0.29: smaller
        ([0.50, 0.52, 0.51], 0.95, "lower", DISAGREES),  # CNN gap 0.44: larger
    ],
)
def test_q36_verdict_follows_the_measured_gap_not_the_counts(
    monkeypatch, tmp_path, cnn, cnn_train, word, gap_outcome
):
    use_fake_runs(
        monkeypatch,
        tmp_path,
        {hw0.NARWHAL: arm([0.60, 0.62, 0.61], 0.9), "new-model": arm(cnn, cnn_train)},
    )
    answer = hw0.q36(Budget(), tmp_path / "q36")
    gap, train, counts = answer.verdicts
    assert gap.outcome == gap_outcome and "test accuracy" in gap.reason
    assert train.outcome == (AGREES if cnn_train < 0.9 else DISAGREES)
    assert counts.outcome == DEMONSTRATED and "NOT the handout's" not in counts.key_result
    assert "100,928,003" in answer.text and "3,365,507" in answer.text
    assert f"CNN (new-model) is {word} than MLP (base-model) on test accuracy" in answer.text
    if gap_outcome == AGREES:
        assert "smaller train-test gap is what that bias predicts" in answer.text
    else:
        assert "against what that bias predicts" in answer.text
    # A wrong model would be caught: the handout's counts are compared, not restated.
    monkeypatch.setitem(hw0.HANDOUT_PARAMETERS, "cnn", 3_365_508)
    assert "NOT the handout's" in hw0.q36(Budget(), tmp_path / "q36b").verdicts[2].key_result


def test_quick_and_full_settings():
    quick, full = Budget(quick=True), Budget(quick=False)
    assert hw0.arm_settings(full, "new-model") == images.Settings(model="cnn")
    assert hw0.arm_settings(quick, "grayscale").image_size == hw0.QUICK_SIZE
    assert hw0.arm_settings(quick, "grayscale").grayscale
    for budget in (quick, full):
        s = hw0.arm_settings(budget, hw0.NARWHAL)
        assert (s.epochs, s.lr, s.batch_size, s.optimizer) == (5, 1e-3, 8, "sgd")
    assert quick.seeds(3, default=hw0.HANDOUT_SEED) == SEEDS


# -- §2 written answers: sentences follow what the code returned ----------------------------
def test_primer_answers_are_demonstrated_and_state_what_the_code_printed(tmp_path):
    for question in primer.QUESTIONS:
        answer = question.run(Budget(), tmp_path)
        assert answer.verdicts[0].outcome == DEMONSTRATED
        assert "```python" in answer.text and "Output:" in answer.text
    a21 = primer.q21(Budget(), tmp_path)
    assert "equals the chain-rule derivative" in a21.text and "[-12.0, -4.0, -8.0]" in a21.text
    a23 = primer.q23(Budget(), tmp_path)
    assert "could not be stacked" in a23.text and "stack expects each tensor" in a23.text


def test_primer_sentence_flips_when_the_demonstration_disagrees(monkeypatch, tmp_path):
    def wrong_autograd() -> dict:
        print("pretend")
        return {
            "matches": False,
            "x_has_no_grad": False,
            "accumulates": False,
            "freed": False,
            "graph": ["X"],
        }

    monkeypatch.setattr(primer, "autograd_demo", wrong_autograd)
    text = primer.q21(Budget(), tmp_path).text
    assert "does NOT equal the chain-rule derivative" in text
    assert "gets a gradient" in text and "does not add to" in text and "can be run" in text
