"""The compare layer: intervals match textbook values, and readings follow their numbers."""

import math
import re

import pytest

from neurallab.experiments.stats import (
    NON_NEGATIVE,
    PROPORTION,
    UNBOUNDED,
    Summary,
    bounds_of,
    compare,
    ordered_readings,
    proportion,
    summarize,
)
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


# -- intervals stay inside what is possible; readings carry the sign of their interval -----


def test_a_proportions_interval_stays_in_0_1_and_says_it_was_clipped():
    s = summarize([0.62, 0.95, 0.99], bounds=PROPORTION)
    raw_low, raw_high = summarize([0.62, 0.95, 0.99]).ci
    assert raw_high > 1  # what the report printed before: up to 1.2
    low, high = s.ci
    assert low == pytest.approx(raw_low) and high == 1.0
    assert "to 1.00, n=3, t-interval clipped at 1)" in s.text()
    with pytest.raises(ValueError, match="outside the bounds"):
        summarize([0.5, 1.2], bounds=PROPORTION)


def test_a_time_interval_never_goes_below_zero():
    s = summarize([0.5, 1.0, 11.7], bounds=NON_NEGATIVE)  # a t-interval of -13.9 to 22.7
    assert summarize([0.5, 1.0, 11.7]).ci[0] < 0
    assert s.ci[0] == 0.0 and s.ci[1] > 20 and "clipped at 0" in s.text()
    tight = summarize([4.0, 4.1, 4.2], bounds=NON_NEGATIVE)
    assert tight.ci == summarize([4.0, 4.1, 4.2]).ci and "clipped" not in tight.text()


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    # Wilson 95% intervals (Agresti & Coull 1998 / statsmodels proportion_confint 'wilson').
    [(7, 10, (0.3968, 0.8922)), (0, 10, (0.0, 0.2775)), (10, 10, (0.7225, 1.0))],
)
def test_success_counts_get_the_wilson_interval(k, n, expected):
    p = proportion(k, n)
    assert p.ci == pytest.approx(expected, abs=1e-4)
    assert f"{k} of {n}" in p.text() and "Wilson" in p.text()
    below = expect_threshold("most inits fail", p, 0.5, below=True, what="success rate")
    assert below.outcome == (AGREES if k == 0 else DISAGREES if k == 10 else NOT_RESOLVED)


def test_metric_names_imply_their_range_unless_a_value_says_otherwise():
    assert bounds_of("final.test/acc") == PROPORTION
    assert bounds_of("seconds per epoch") == NON_NEGATIVE
    assert bounds_of("train minus validation accuracy") == UNBOUNDED
    assert bounds_of("validation loss", [-0.3]) == UNBOUNDED  # a log-likelihood, say
    assert bounds_of("perplexity") == UNBOUNDED


@pytest.mark.parametrize("sign", [1, -1])
def test_a_resolved_difference_is_read_with_the_sign_of_its_interval(sign):
    # Epoch 5 vs epoch 1 losses, as the report once printed "lower by 0.520 (95% CI
    # [-0.777, -0.262])": the size and its interval must both be positive.
    one, five = [1.60, 1.75, 1.64], [1.04, 1.27, 1.12]
    a, b = (five, one) if sign < 0 else (one, five)
    c = compare("epoch 5", a, "epoch 1", b, "train loss", paired=True)
    text = c.reading()
    word = "higher" if sign > 0 else "lower"
    assert f"epoch 5 is {word} than epoch 1 on train loss by 0.520 (95% CI " in text
    low, high = (float(x) for x in re.search(r"95% CI ([-\d.]+) to ([-\d.]+)", text).groups())
    assert 0 < low < 0.520 < high
    assert "[" not in text and "-0." not in text
    # the signed interval of a minus b is still there for a sentence that prints the signed diff
    assert c.interval_text().startswith("95% CI [-" if sign < 0 else "95% CI [0.")


def test_readings_and_verdicts_flip_with_made_up_numbers():
    up = compare("bn", [0.80, 0.82, 0.81], "plain", [0.60, 0.61, 0.62], "val accuracy")
    down = compare("bn", [0.60, 0.61, 0.62], "plain", [0.80, 0.82, 0.81], "val accuracy")
    assert up.bounds == PROPORTION  # from the metric's name
    for c, word, outcome in ((up, "higher", AGREES), (down, "lower", DISAGREES)):
        assert f"bn is {word} than plain on val accuracy by 0.200 (95% CI 0.1" in c.reading()
        assert expect_direction("BN helps", c, expected=1).outcome == outcome
        assert expect_direction("BN hurts", c, expected=-1).outcome != outcome


def test_no_verdict_comes_from_a_constant():
    # A verdict needs a statistic computed from measured values, not a number or a string.
    for constant in (0.5, "0.5", True, None, [0.9, 0.8]):
        with pytest.raises(TypeError, match="measured values"):
            expect_direction("a beats b", constant, expected=1)
        with pytest.raises(TypeError, match="measured values"):
            expect_threshold("MSE < 0.01", constant, 0.01, below=True, what="MSE")
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        Summary(())
    with pytest.raises(ValueError, match="measured values"):
        expect_threshold("x", Summary((1,)), 0.01, below=True, what="x")  # not from summarize


def test_a_metric_computed_by_a_function_keeps_its_interval_in_range():
    """A sweep's per-arm interval of a function-computed metric is bounded by the function's
    name like a logged metric by its own: a standard deviation of losses stops at 0."""
    from neurallab.experiments.sweep import SweepResult

    def loss_jitter(run):
        return run["v"]

    def spread(run):  # a name that says nothing: no bounds assumed
        return run["v"]

    result = SweepResult(arms=["a"], seeds=[0, 1, 2])
    result.runs["a"] = {
        s: {"v": v} for s, v in zip([0, 1, 2], [0.003, 0.0009, 0.0004], strict=True)
    }
    low, _ = result.summary("a", loss_jitter).ci
    assert low == 0.0
    assert result.summary("a", spread).ci[0] < 0
