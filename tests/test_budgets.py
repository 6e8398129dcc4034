"""The quick-vs-full table follows the verdicts it is given."""

from neurallab.experiments.budgets import budget_rows, budget_table, settings_changed
from neurallab.experiments.verdict import AGREES, DISAGREES, NOT_RESOLVED, WRITTEN


def record(qid: str, *outcomes: str, ok: bool = True, reason: str = "") -> dict:
    verdicts = [
        {"expectation": f"{qid} expectation {i}", "outcome": o, "key_result": "x", "reason": reason}
        for i, o in enumerate(outcomes)
    ]
    return {"handout": "hw7", "qid": qid, "ok": ok, "verdicts": verdicts}


def test_same_and_different_verdicts_side_by_side():
    quick = [record("Q1", AGREES, NOT_RESOLVED), record("Q2", AGREES, reason="32x32 images")]
    full = [record("Q1", AGREES, AGREES), record("Q2", DISAGREES, reason="256x256 images")]
    rows = budget_rows(quick, full)
    assert [r[2:5] for r in rows] == [
        [AGREES, AGREES, "yes"],
        [NOT_RESOLVED, AGREES, "no"],
        [AGREES, DISAGREES, "no"],
    ]
    assert "quick run's interval does not resolve" in rows[1][5]
    assert "32x32 images" in rows[2][5] and "256x256 images" in rows[2][5]
    assert "1 of 3 verdicts the same" in budget_table(quick, full)


def test_written_answers_are_left_out_and_missing_full_answers_wait():
    quick = [record("Q1", WRITTEN), record("Q2", AGREES)]
    full = [record("Q2", AGREES, ok=False)]  # failed or not run: no full verdict yet
    rows = budget_rows(quick, full)
    assert [r[0] for r in rows] == ["hw7 Q2"]
    assert rows[0][3] == "not run yet" and rows[0][4] == "—"
    assert "1 not run yet at one budget" in budget_table(quick, full)


def test_the_full_side_flips_the_comparison():
    quick = [record("Q1", AGREES)]
    assert budget_rows(quick, [record("Q1", AGREES)])[0][4] == "yes"
    assert budget_rows(quick, [record("Q1", DISAGREES)])[0][4] == "no"


def with_runs(qid: str, outcome: str, seeds: list[int], *commands: str) -> dict:
    return record(qid, outcome) | {"seeds": seeds, "commands": list(commands)}


def mnist(seed: int, budget: str, arm: str, *flags: str) -> str:
    place = f"--run_dir runs/reproduce/{budget}/hw3/{arm}-s{seed} --run_name mnist-{arm}-s{seed}"
    return f"neurallab mnist {' '.join(flags)} --seed {seed} {place} --no_progress"


def test_every_setting_the_quick_runs_change_is_named_from_their_commands():
    quick = with_runs(
        "P1",
        NOT_RESOLVED,
        [0, 1],
        mnist(0, "quick", "mse", "--epochs 1 --loss mse --eval_every 200"),
        mnist(1, "quick", "mse", "--epochs 1 --loss mse --eval_every 200"),
        mnist(0, "quick", "ce", "--epochs 1 --lr 0.1"),
    )
    full = with_runs(
        "P1",
        AGREES,
        [0, 1, 2],
        mnist(0, "full", "mse", "--epochs 10 --loss mse"),
        mnist(0, "full", "ce", "--epochs 10"),
    )
    changed = settings_changed(quick, full)
    # epochs differs in both arms: named once; eval_every and lr in one arm each, named with it;
    # the full side's unset --eval_every and --lr read as the program's defaults.
    assert "epochs 1 (full: 10)," in changed and "in the" not in changed.split(",")[0]
    assert "eval_every 200 (full: default) in mnist-mse" in changed
    assert "lr 0.1 (full: " in changed and "in mnist-ce" in changed
    assert changed.endswith("; 2 seeds (full: 3)")
    # seeds, run folders and names are bookkeeping, not settings
    assert "seed " not in changed and "run_dir" not in changed and "progress" not in changed
    assert settings_changed(full, full) == ""
    # the reason a differing verdict gives names them, and the list under the table too
    row = budget_rows([quick], [full])[0]
    assert row[4] == "no" and "the quick budget runs epochs 1 (full: 10)" in row[5]
    assert "- hw7 P1: epochs 1 (full: 10)" in budget_table([quick], [full])


def test_arms_run_at_one_budget_only_are_named():
    quick = with_runs("P1", AGREES, [0], mnist(0, "quick", "a", "--epochs 1"))
    full = with_runs("P1", AGREES, [0], mnist(0, "full", "b", "--epochs 1"))
    changed = settings_changed(quick, full)
    assert "runs only at --quick: mnist-a" in changed and "runs only at --full: mnist-b" in changed
    # a command that is not a neurallab program (a course script) is left out, not misread
    script = with_runs("P1", AGREES, [0], "python -m neurallab.compat.txt_classifier --epochs 1")
    assert settings_changed(script, script) == ""


def test_an_agreement_between_runs_that_had_not_learned_says_so():
    """Class 7: the same verdict at both budgets says little when one budget's runs had not
    learned yet (the question measured it: `metrics["not_learned"]`)."""
    plateau = "no arm's validation loss is below it"
    quick = [record("Q1", AGREES) | {"metrics": {"not_learned": plateau}}]
    row = budget_rows(quick, [record("Q1", AGREES) | {"metrics": {"not_learned": ""}}])[0]
    assert row[4] == "yes" and "had not learned yet" in row[5] and f"quick: {plateau}" in row[5]
    assert "full:" not in row[5]
    learned = [record("Q1", AGREES) | {"metrics": {"not_learned": ""}}]
    assert budget_rows(learned, [record("Q1", AGREES)])[0][5] == ""
