"""The quick-vs-full table follows the verdicts it is given."""

from neurallab.experiments.budgets import budget_rows, budget_table
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
