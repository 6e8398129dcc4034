"""What a benchmark is, and how pairs are timed side by side.

A `Benchmark` compares a baseline with our implementation of the same work. Both are timed in
the same process, interleaved (baseline, ours, baseline, ours, ...) so that machine noise hits
both alike, after warm-up; the reported numbers are medians and the ratio is baseline / ours.
The spread is shown as the lowest and highest ratio of one baseline run to the ours run
right after it, and how many of those pairs reach the goal.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Benchmark:
    name: str
    baseline_label: str
    ours_label: str
    setup: Callable[[], tuple[Callable[[], object], Callable[[], object]]]  # -> (baseline, ours)
    unit: str = "s"  # what one call measures
    goal: float | None = None  # the ratio the issue asks for, if any
    repeats: int = 5
    warmup: int = 1


@dataclass
class Result:
    name: str
    baseline_label: str
    ours_label: str
    baseline_s: float
    ours_s: float
    goal: float | None
    pair_ratios: list[float] = field(default_factory=list)  # baseline_i / ours_i per repeat

    @property
    def ratio(self) -> float:
        return self.baseline_s / self.ours_s


def time_pair(
    baseline: Callable[[], object], ours: Callable[[], object], repeats: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Seconds per call of each, timed alternately (one list per side, in order)."""
    for _ in range(warmup):
        baseline()
        ours()
    base_times, our_times = [], []
    for _ in range(repeats):
        for fn, times in ((baseline, base_times), (ours, our_times)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return base_times, our_times


def run_benchmark(bench: Benchmark, repeats: int | None = None) -> Result:
    baseline, ours = bench.setup()
    b, o = time_pair(baseline, ours, repeats or bench.repeats, bench.warmup)
    return Result(
        bench.name,
        bench.baseline_label,
        bench.ours_label,
        statistics.median(b),
        statistics.median(o),
        bench.goal,
        [x / y for x, y in zip(b, o, strict=True)],
    )


def format_table(results: list[Result]) -> str:
    lines = [
        "| benchmark | baseline | median s | ours | median s | ratio | pairs: range | goal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        goal = ""
        if r.goal is not None:
            reached = sum(x >= r.goal for x in r.pair_ratios)
            goal = (
                f">= {r.goal:.3g}x "
                + ("met" if r.ratio >= r.goal else "NOT met")
                + f" (by the median; {reached} of {len(r.pair_ratios)} pairs reach it)"
            )
        spread = f"{min(r.pair_ratios):.2f}-{max(r.pair_ratios):.2f}x" if r.pair_ratios else ""
        lines.append(
            f"| {r.name} | {r.baseline_label} | {r.baseline_s:.4g} | {r.ours_label} | "
            f"{r.ours_s:.4g} | {r.ratio:.2f}x | {spread} | {goal} |"
        )
    return "\n".join(lines)
