"""Numbers over seeds, and comparisons whose readings are computed, never written by hand.

A handout question that compares arms (colour vs grayscale, MLP vs CNN, batch 32 vs 256) runs
each arm with several seeds. `summarize` turns one arm's per-seed values into a mean with a 95%
confidence interval; `compare` turns two arms into a difference with a 95% interval and says
whether this budget resolves it. Every sentence that states a direction comes from
`Comparison.reading()`, so it cannot disagree with its own numbers.

Intervals are Student t-intervals:
- one arm: mean ± t(0.975, n-1) · s / sqrt(n);
- two independent arms: Welch's interval, mean_a - mean_b ± t(0.975, df) · sqrt(s_a²/n_a + s_b²/n_b)
  with the Welch-Satterthwaite df;
- two arms run with the same seeds (`paired=True`): the t-interval of the per-seed differences.
  A seed fixes the initial weights and the data order, so pairing removes that shared noise.
With one value per arm there is no interval, and the reading says so.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95


def t_quantile(df: float) -> float:
    """The two-sided 95% Student t critical value for `df` degrees of freedom."""
    from scipy import stats as _scipy_stats  # imported here: keeps `neurallab --help` fast

    return float(_scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, df))


def fmt(value: float, digits: int = 3) -> str:
    """A number with `digits` significant digits (plain notation where it reads well)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if 1e-3 <= abs(value) < 1e5:
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
        return f"{value:.{decimals}f}"
    return f"{value:.{digits - 1}e}"


@dataclass(frozen=True)
class Summary:
    """One arm's values over seeds: mean and 95% t-interval (None with a single value)."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        return statistics.stdev(self.values) if self.n > 1 else 0.0

    @property
    def ci(self) -> tuple[float, float] | None:
        if self.n < 2:
            return None
        half = t_quantile(self.n - 1) * self.std / math.sqrt(self.n)
        return self.mean - half, self.mean + half

    def text(self, digits: int = 3) -> str:
        """'0.812 (95% CI 0.781 to 0.843, n=3)' or '0.812 (one run, no interval)'."""
        if self.ci is None:
            return f"{fmt(self.mean, digits)} (one run, no interval)"
        low, high = self.ci
        return f"{fmt(self.mean, digits)} (95% CI {fmt(low, digits)} to {fmt(high, digits)}, n={self.n})"

    def per_seed(self, digits: int = 3) -> str:
        return ", ".join(fmt(v, digits) for v in self.values)


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        raise ValueError("summarize: no values")
    return Summary(tuple(float(v) for v in values))


@dataclass(frozen=True)
class Comparison:
    """Arm `a` minus arm `b` on one metric, with a 95% interval of the difference."""

    a: str
    b: str
    metric: str
    a_values: tuple[float, ...]
    b_values: tuple[float, ...]
    paired: bool = False
    unit: str = "seeds"  # what the pairs are: seeds (the sweep's default), prompts, ...

    @property
    def diff(self) -> float:
        return statistics.fmean(self.a_values) - statistics.fmean(self.b_values)

    @property
    def method(self) -> str:
        return f"paired t-interval over {self.unit}" if self.paired else "Welch t-interval"

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% interval of mean(a) - mean(b); None when a single run per arm gives no spread."""
        if self.paired:
            diffs = [x - y for x, y in zip(self.a_values, self.b_values, strict=True)]
            return summarize(diffs).ci
        na, nb = len(self.a_values), len(self.b_values)
        if na < 2 or nb < 2:
            return None
        va, vb = statistics.variance(self.a_values) / na, statistics.variance(self.b_values) / nb
        se = math.sqrt(va + vb)
        if se == 0:  # no seed-to-seed spread at all: the difference is what was measured
            return self.diff, self.diff
        df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
        half = t_quantile(df) * se
        return self.diff - half, self.diff + half

    @property
    def direction(self) -> int:
        """+1: a is resolved higher; -1: resolved lower; 0: the interval contains 0 (or none)."""
        interval = self.interval
        if interval is None:
            return 0
        low, high = interval
        if low > 0:
            return 1
        if high < 0:
            return -1
        return 0

    @property
    def resolved(self) -> bool:
        return self.direction != 0

    def interval_text(self, digits: int = 3) -> str:
        interval = self.interval
        if interval is None:
            return "one run per arm, no interval"
        low, high = interval
        return f"95% CI [{fmt(low, digits)}, {fmt(high, digits)}], {self.method}"

    def reading(self, higher: str = "higher", lower: str = "lower", digits: int = 3) -> str:
        """The sentence: which arm is higher, by how much, with its interval, or 'not resolved'.

        `higher`/`lower` name the direction in the question's words (e.g. "faster"/"slower"
        when the metric is a speed, or "lower"/"higher" swapped by the caller for a loss).
        """
        size = fmt(abs(self.diff), digits)
        what = f"{self.metric} of {self.a} minus {self.b}: {fmt(self.diff, digits)}"
        if self.direction > 0:
            return f"{self.a} is {higher} than {self.b} on {self.metric} by {size} ({self.interval_text(digits)})."
        if self.direction < 0:
            return f"{self.a} is {lower} than {self.b} on {self.metric} by {size} ({self.interval_text(digits)})."
        if self.interval is None:
            return f"Not resolved at this budget ({what}; {self.interval_text(digits)})."
        return (
            f"Not resolved at this budget: {what}, and its {self.interval_text(digits)} contains 0."
        )


def compare(
    a: str,
    a_values: Sequence[float],
    b: str,
    b_values: Sequence[float],
    metric: str,
    paired: bool = False,
    unit: str = "seeds",
) -> Comparison:
    """Compare arm `a` with arm `b` (paired: the same `unit`s, e.g. seeds or prompts, in the
    same order, in both arms)."""
    if paired and len(a_values) != len(b_values):
        raise ValueError("compare: paired arms need the same number of seeds")
    if not a_values or not b_values:
        raise ValueError("compare: an arm has no values")
    return Comparison(
        a, b, metric, tuple(map(float, a_values)), tuple(map(float, b_values)), paired, unit
    )


def ordered_readings(
    arms: Sequence[tuple[str, Sequence[float]]],
    metric: str,
    paired: bool = False,
    higher: str = "higher",
    lower: str = "lower",
    unit: str = "seeds",
) -> tuple[list[Comparison], str]:
    """Adjacent comparisons along an ordered setting (sizes, lengths, budgets) and a summary.

    Returns the comparisons (each arm minus the one before it) and one sentence that counts how
    many steps are resolved up, resolved down, or not resolved, then the first-to-last reading.
    """
    steps = [
        compare(name, values, prev_name, prev_values, metric, paired, unit)
        for (prev_name, prev_values), (name, values) in zip(arms, arms[1:], strict=False)
    ]
    up = sum(c.direction > 0 for c in steps)
    down = sum(c.direction < 0 for c in steps)
    first, last = arms[0], arms[-1]
    overall = compare(last[0], last[1], first[0], first[1], metric, paired, unit)
    sentence = (
        f"Adjacent steps ({len(steps)}): {up} resolved {higher}, {down} resolved {lower}, "
        f"{len(steps) - up - down} not resolved. First to last: {overall.reading(higher, lower)}"
    )
    return [*steps, overall], sentence
