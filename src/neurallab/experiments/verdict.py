"""A verdict: does the measured result agree with what the handout expects?

Each empirical question declares the handout's expectation (from the handout's own words; see
`shared/spec/handout-expectations.md`) and derives its verdict from a computed comparison or
summary, never from fixed text:

- **agrees**: the 95% interval lies on the side the handout expects;
- **disagrees**: it lies on the other side;
- **not resolved at this budget**: the interval straddles the line (or there is one run only).

Written questions (no measurement to compare) get `written(...)`: the answer is given, and where
code demonstrates it the verdict says so.

The measured verdicts take a statistic computed from measured values (a `Comparison`, a
`Summary` or a `Proportion`) and refuse anything else: a number or a string typed in cannot
make "agrees".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from neurallab.experiments.stats import Comparison, Proportion, Summary, fmt

AGREES = "agrees"
DISAGREES = "disagrees"
NOT_RESOLVED = "not resolved at this budget"
WRITTEN = "written answer"
DEMONSTRATED = "written answer, shown by code"
OUTCOMES = (AGREES, DISAGREES, NOT_RESOLVED, WRITTEN, DEMONSTRATED)


@dataclass(frozen=True)
class Verdict:
    expectation: str  # what the handout states or implies
    outcome: str  # one of OUTCOMES
    key_result: str  # the measured number(s) the outcome rests on
    reason: str = ""  # why, where it helps: data stand-in, budget, noise, CPU vs GPU

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown verdict outcome {self.outcome!r}")

    def as_dict(self) -> dict:
        return asdict(self)

    def sentence(self) -> str:
        text = (
            f"**Verdict: {self.outcome}.** Handout: {self.expectation} Measured: {self.key_result}"
        )
        return text + (f" ({self.reason})" if self.reason else "")


def expect_direction(
    expectation: str,
    comparison: Comparison,
    expected: int,
    reason: str = "",
    higher: str = "higher",
    lower: str = "lower",
) -> Verdict:
    """The handout expects `comparison.a` above (+1) or below (-1) `comparison.b`."""
    if expected not in (1, -1):
        raise ValueError("expected must be +1 or -1")
    _measured(comparison, Comparison)
    got = comparison.direction
    outcome = NOT_RESOLVED if got == 0 else (AGREES if got == expected else DISAGREES)
    return Verdict(expectation, outcome, comparison.reading(higher, lower), reason)


def _measured(statistic: object, *kinds: type) -> None:
    """Refuse a verdict whose statistic was not computed from measured values."""
    if not isinstance(statistic, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise TypeError(f"a verdict needs a {names} of measured values, got {statistic!r}")
    values = (
        statistic.a_values + statistic.b_values
        if isinstance(statistic, Comparison)
        else statistic.values
    )
    # A diverged run's NaN is measured: its interval decides nothing ("not resolved").
    if not values or not all(isinstance(v, float) for v in values):
        raise ValueError(f"a verdict needs measured values, got {values!r}")


def expect_threshold(
    expectation: str,
    summary: Summary | Proportion,
    threshold: float,
    below: bool,
    what: str,
    reason: str = "",
    source: str = "the handout's",
) -> Verdict:
    """The handout expects the quantity `what` below (or above) `threshold`.

    `source` names where the threshold comes from, for the sentence ("the README's", "the
    mean-image baseline's").

    With several seeds the 95% interval must lie wholly on one side; a single run is compared
    as measured, and the verdict says it is one run. A `Proportion` (successes of trials) is
    judged by its Wilson interval.
    """
    _measured(summary, Summary, Proportion)
    if summary.ci is None:
        low = high = summary.mean
        note = "one run"
    else:
        low, high = summary.ci
        note = ""
    on_expected_side = high < threshold if below else low > threshold
    on_other_side = low >= threshold if below else high <= threshold
    outcome = AGREES if on_expected_side else DISAGREES if on_other_side else NOT_RESOLVED
    side = "below" if below else "above"
    key = f"{what} {summary.text()}; {source} line: {side} {fmt(threshold)}"
    return Verdict(expectation, outcome, key, "; ".join(x for x in (note, reason) if x))


def written(expectation: str, answer: str, demonstrated: bool = False) -> Verdict:
    """A written question: `answer` is the short result; `demonstrated` if code output shows it."""
    return Verdict(expectation, DEMONSTRATED if demonstrated else WRITTEN, answer)
