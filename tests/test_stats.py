"""The compare layer: intervals match textbook values, and readings follow their numbers."""

import math

import pytest

from neurallab.experiments.stats import compare, ordered_readings, summarize
from neurallab.experiments.verdict import (
    AGREES,
    DISAGREES,
    NOT_RESOLVED,
    expect_direction,
    expect_threshold,
)


def test_summary_interval_is_the_student_t_interval():
    s = summarize([1.0, 2.0, 3.0])
    # mean 2, sd 1, t(0.975, 2) = 4.302653 -> half width 4.302653 / sqrt(3)
    half = 4.302653 / math.sqrt(3)
    assert s.ci == pytest.approx((2 - half, 2 + half), rel=1e-6)
    assert summarize([0.5]).ci is None
    assert "one run" in summarize([0.5]).text()


def test_welch_interval_matches_a_hand_computation():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0]
    c = compare("a", a, "b", b, "x")
    va, vb = (5 / 3) / 4, 4.0 / 3
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    from scipy import stats

    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert c.diff == pytest.approx(-1.5)
    assert c.interval == pytest.approx((-1.5 - half, -1.5 + half))
    assert c.method == "Welch t-interval"


@pytest.mark.parametrize("sign", [1, -1])
def test_reading_flips_with_the_numbers(sign):
    high, low = [0.90, 0.91, 0.92], [0.60, 0.61, 0.62]
    a, b = (high, low) if sign > 0 else (low, high)
    c = compare("colour", a, "grayscale", b, "test accuracy")
    text = c.reading()
    assert c.direction == sign
    assert ("colour is higher than grayscale" in text) == (sign > 0)
    assert ("colour is lower than grayscale" in text) == (sign < 0)
    assert "0.300" in text and "95% CI" in text
    v = expect_direction("colour helps", c, expected=1)
    assert v.outcome == (AGREES if sign > 0 else DISAGREES)


def test_overlapping_arms_are_not_resolved():
    c = compare("a", [0.5, 0.7, 0.6], "b", [0.55, 0.65, 0.62], "acc")
    assert c.direction == 0
    assert c.reading().startswith("Not resolved at this budget")
    assert "contains 0" in c.reading()
    assert expect_direction("a beats b", c, expected=1).outcome == NOT_RESOLVED


def test_one_run_per_arm_never_claims_a_direction():
    c = compare("a", [0.9], "b", [0.1], "acc")
    assert c.interval is None and c.direction == 0
    assert "no interval" in c.reading()


def test_paired_interval_uses_per_seed_differences():
    # Seeds move both arms together: unpaired the gap is hidden, paired it is resolved.
    a, b = [0.50, 0.70, 0.90], [0.48, 0.68, 0.88]
    assert compare("a", a, "b", b, "acc").direction == 0
    paired = compare("a", a, "b", b, "acc", paired=True)
    assert paired.direction == 1 and "paired" in paired.reading()


@pytest.mark.parametrize(
    ("values", "outcome"),
    [
        ([0.001, 0.002, 0.003], AGREES),
        ([0.05, 0.06, 0.07], DISAGREES),
        ([0.0, 0.02, 0.001], NOT_RESOLVED),
    ],
)
def test_threshold_verdicts(values, outcome):
    v = expect_threshold("MSE < 0.01", summarize(values), 0.01, below=True, what="final MSE")
    assert v.outcome == outcome


def test_ordered_readings_count_steps():
    arms = [("10k", [5.0, 5.1, 5.05]), ("20k", [4.5, 4.6, 4.55]), ("50k", [4.0, 4.1, 4.05])]
    steps, sentence = ordered_readings(arms, "validation loss", paired=True)
    assert [c.direction for c in steps] == [-1, -1, -1]
    assert "Adjacent steps (2): 0 resolved higher, 2 resolved lower, 0 not resolved." in sentence


def test_report_summary_table_shows_each_question_and_its_computed_verdict():
    from neurallab.experiments.stats import compare
    from neurallab.report.render import summary_table

    def record(qid, a, b):
        c = compare("bn", a, "plain", b, "early val acc", paired=True)
        v = expect_direction("BatchNorm speeds early training", c, expected=1)
        return {
            "handout": "cnn-rnn",
            "qid": qid,
            "title": "t",
            "ok": True,
            "seconds": 3.0,
            "verdicts": [v.as_dict()],
            "key_result": c.reading(),
        }

    table = summary_table(
        [
            record("Q2", [0.8, 0.82, 0.81], [0.6, 0.61, 0.62]),
            record("Q2b", [0.6, 0.61, 0.62], [0.8, 0.82, 0.81]),
        ]
    )
    rows = [r for r in table.splitlines() if r.startswith("| [cnn-rnn")]
    assert "**agrees**" in rows[0] and "bn is higher than plain" in rows[0]
    assert "**disagrees**" in rows[1] and "bn is lower than plain" in rows[1]
    assert "Verdicts: 1 agrees, 1 disagrees." in table


def test_html_report_keeps_fenced_code_as_code():
    from neurallab.report.render import markdown_to_html

    page = markdown_to_html("Before **b**.\n\n```python\nx = 1 < 2\n\nprint(x)\n```\n\nAfter.")
    assert "<pre><code>x = 1 &lt; 2\n\nprint(x)</code></pre>" in page
    assert "<strong>b</strong>" in page and "<p>After.</p>" in page
