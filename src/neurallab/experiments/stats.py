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

A quantity with a range (`bounds`: `PROPORTION` = (0, 1) for accuracies, `NON_NEGATIVE` for
times, losses and counts) keeps its intervals inside it: a t-interval that crosses a bound is
clipped there, and the text says so ("clipped at 1"). A success count over trials gets the
Wilson score interval (`proportion`), which never leaves [0, 1]. A difference is read with the
sign of its interval: "a is lower than b by 0.520 (95% CI 0.262 to 0.777, ...)".
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
Bounds = tuple[float | None, float | None]
UNBOUNDED: Bounds = (None, None)
PROPORTION: Bounds = (0.0, 1.0)  # accuracies, rates, fractions
NON_NEGATIVE: Bounds = (0.0, None)  # times, losses, counts
# Words that make a metric a difference (which may be negative), not the quantity itself.
_DIFFERENCE_WORDS = ("minus", "gap", "difference", "change", "delta", "gain", "drop", "slope")


def bounds_of(metric: str, values: Sequence[float] = ()) -> Bounds:
    """The range a metric named like `metric` ("final.test/acc", "test accuracy", "seconds per
    epoch", "validation loss") lies in; `UNBOUNDED` when the name does not say, or when one of
    `values` lies outside the range the name suggests (the name was misleading)."""
    name = metric.lower()
    words = set(re.split(r"[^a-z0-9]+", name))
    if any(word in name for word in _DIFFERENCE_WORDS):
        return UNBOUNDED
    if words & {"acc", "accuracy", "rate", "fraction"}:
        bounds = PROPORTION
    elif words & {"seconds", "time", "loss", "mse", "count", "epochs", "steps"}:
        bounds = NON_NEGATIVE
    else:
        return UNBOUNDED
    try:
        _check_bounds(values, bounds, metric)
    except ValueError:
        return UNBOUNDED
    return bounds


def _check_bounds(values: Sequence[float], bounds: Bounds, where: str) -> None:
    low, high = bounds
    if low is not None and high is not None and low >= high:
        raise ValueError(f"{where}: bounds {bounds} are empty")
    # NaN (a diverged run) is neither inside nor outside: it shows as nan in the text.
    outside = [
        v for v in values if (low is not None and v < low) or (high is not None and v > high)
    ]
    if outside:
        raise ValueError(f"{where}: {fmt(outside[0])} lies outside the bounds {bounds}")


def _clip(interval: tuple[float, float], bounds: Bounds) -> tuple[tuple[float, float], str]:
    """The interval cut to `bounds`, and '' or 'clipped at X' saying where it was cut."""
    low, high = interval
    lo, hi = bounds
    cut = []
    if lo is not None and low < lo:
        low, cut = lo, [*cut, f"{lo:g}"]
    if hi is not None and high > hi:
        high, cut = hi, [*cut, f"{hi:g}"]
    return (low, high), (f"clipped at {' and '.join(cut)}" if cut else "")


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
    """One arm's values over seeds: mean and 95% t-interval (None with a single value),
    kept inside `bounds` (clipped there, and `text` says so)."""

    values: tuple[float, ...]
    bounds: Bounds = UNBOUNDED

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("a summary needs measured values, got none")
        _check_bounds(self.values, self.bounds, "summarize")

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
    def raw_ci(self) -> tuple[float, float] | None:
        """The t-interval before it is kept inside the bounds."""
        if self.n < 2:
            return None
        half = t_quantile(self.n - 1) * self.std / math.sqrt(self.n)
        return self.mean - half, self.mean + half

    @property
    def ci(self) -> tuple[float, float] | None:
        raw = self.raw_ci
        return None if raw is None else _clip(raw, self.bounds)[0]

    @property
    def clipped(self) -> str:
        """'' or 'clipped at 1': where the t-interval crossed the quantity's range."""
        raw = self.raw_ci
        return "" if raw is None else _clip(raw, self.bounds)[1]

    def text(self, digits: int = 3) -> str:
        """'0.812 (95% CI 0.781 to 0.843, n=3)' or '0.812 (one run, no interval)'."""
        if self.ci is None:
            return f"{fmt(self.mean, digits)} (one run, no interval)"
        low, high = self.ci
        note = f", t-interval {self.clipped}" if self.clipped else ""
        return (
            f"{fmt(self.mean, digits)} (95% CI {fmt(low, digits)} to {fmt(high, digits)}, "
            f"n={self.n}{note})"
        )

    def per_seed(self, digits: int = 3) -> str:
        return ", ".join(fmt(v, digits) for v in self.values)


def summarize(values: Sequence[float], bounds: Bounds | None = None) -> Summary:
    """Mean and 95% interval of `values`; `bounds` (e.g. `PROPORTION`) keeps the interval in range."""
    if not values:
        raise ValueError("summarize: no values")
    return Summary(tuple(float(v) for v in values), bounds or UNBOUNDED)


@dataclass(frozen=True)
class Proportion:
    """`successes` out of `trials`, with the Wilson score 95% interval (always inside [0, 1],
    also at 0 or `trials` successes, where a t-interval collapses to a point)."""

    successes: int
    trials: int

    def __post_init__(self) -> None:
        if self.trials < 1 or not 0 <= self.successes <= self.trials:
            raise ValueError(f"proportion: {self.successes} successes of {self.trials} trials")

    @property
    def n(self) -> int:
        return self.trials

    @property
    def values(self) -> tuple[float, ...]:
        """One 0/1 outcome per trial (what the rate is the mean of)."""
        return (1.0,) * self.successes + (0.0,) * (self.trials - self.successes)

    @property
    def mean(self) -> float:
        return self.successes / self.trials

    @property
    def ci(self) -> tuple[float, float]:
        from scipy import stats as _scipy_stats

        z = float(_scipy_stats.norm.ppf(0.5 + CONFIDENCE / 2))
        n, p = self.trials, self.mean
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return max(0.0, centre - half), min(1.0, centre + half)

    def text(self, digits: int = 3) -> str:
        """'7 of 10 (0.700, 95% Wilson CI 0.397 to 0.892)'."""
        low, high = self.ci
        return (
            f"{self.successes} of {self.trials} ({fmt(self.mean, digits)}, 95% Wilson CI "
            f"{fmt(low, digits)} to {fmt(high, digits)})"
        )


def proportion(successes: int, trials: int) -> Proportion:
    """A success count with its Wilson interval, e.g. runs that reached MSE < 0.01."""
    return Proportion(int(successes), int(trials))


@dataclass(frozen=True)
class Comparison:
    """Arm `a` minus arm `b` on one metric, with a 95% interval of the difference.

    `bounds` is the range of each arm's values (e.g. `PROPORTION`): the difference then lies in
    [low - high, high - low], and its interval is kept there (and says so when clipped).
    """

    a: str
    b: str
    metric: str
    a_values: tuple[float, ...]
    b_values: tuple[float, ...]
    paired: bool = False
    unit: str = "seeds"  # what the pairs are: seeds (the sweep's default), prompts, ...
    bounds: Bounds = UNBOUNDED

    def __post_init__(self) -> None:
        if not self.a_values or not self.b_values:
            raise ValueError("compare: an arm has no values")
        _check_bounds(self.a_values + self.b_values, self.bounds, f"compare {self.metric}")

    @property
    def diff(self) -> float:
        return statistics.fmean(self.a_values) - statistics.fmean(self.b_values)

    @property
    def method(self) -> str:
        return f"paired t-interval over {self.unit}" if self.paired else "Welch t-interval"

    @property
    def _diff_bounds(self) -> Bounds:
        low, high = self.bounds
        if low is None or high is None:
            return UNBOUNDED
        return low - high, high - low

    @property
    def raw_interval(self) -> tuple[float, float] | None:
        """The t-interval of mean(a) - mean(b) before it is kept inside the possible range."""
        if self.paired:
            diffs = [x - y for x, y in zip(self.a_values, self.b_values, strict=True)]
            return summarize(diffs).raw_ci
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
    def interval(self) -> tuple[float, float] | None:
        """The 95% interval of mean(a) - mean(b); None when a single run per arm gives no spread."""
        raw = self.raw_interval
        return None if raw is None else _clip(raw, self._diff_bounds)[0]

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

    def interval_text(self, digits: int = 3, signed: bool = True) -> str:
        """'95% CI [-0.777, -0.262], paired t-interval over seeds': the interval of a minus b.

        `signed=False` gives the interval of the resolved gap, in the reading's direction
        ('95% CI 0.262 to 0.777, ...'), for a sentence that says which arm is higher.
        """
        interval = self.interval
        if interval is None:
            return "one run per arm, no interval"
        low, high = interval
        clipped = _clip(self.raw_interval, self._diff_bounds)[1]
        method = self.method + (f", {clipped}" if clipped else "")
        if signed:
            return f"95% CI [{fmt(low, digits)}, {fmt(high, digits)}], {method}"
        if self.direction < 0:
            low, high = -high, -low
        return f"95% CI {fmt(low, digits)} to {fmt(high, digits)}, {method}"

    def reading(self, higher: str = "higher", lower: str = "lower", digits: int = 3) -> str:
        """The sentence: which arm is higher, by how much, with its interval, or 'not resolved'.

        `higher`/`lower` name the direction in the question's words (e.g. "faster"/"slower"
        when the metric is a speed, or "lower"/"higher" swapped by the caller for a loss). A
        resolved difference is stated as a positive size with the interval of that size.
        """
        size = fmt(abs(self.diff), digits)
        what = f"{self.metric} of {self.a} minus {self.b}: {fmt(self.diff, digits)}"
        if self.direction != 0:
            word = higher if self.direction > 0 else lower
            return (
                f"{self.a} is {word} than {self.b} on {self.metric} by {size} "
                f"({self.interval_text(digits, signed=False)})."
            )
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
    bounds: Bounds | None = None,
) -> Comparison:
    """Compare arm `a` with arm `b` (paired: the same `unit`s, e.g. seeds or prompts, in the
    same order, in both arms); `bounds` is the range of the values (e.g. `PROPORTION`), by
    default the one the metric's name implies (`bounds_of`), `UNBOUNDED` for none."""
    if paired and len(a_values) != len(b_values):
        raise ValueError("compare: paired arms need the same number of seeds")
    if not a_values or not b_values:
        raise ValueError("compare: an arm has no values")
    return Comparison(
        a,
        b,
        metric,
        tuple(map(float, a_values)),
        tuple(map(float, b_values)),
        paired,
        unit,
        bounds_of(metric, [*a_values, *b_values]) if bounds is None else bounds,
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
