"""The sweep-and-compare layer: a grid of settings x seeds -> one table, and comparisons.

Every empirical question that compares arms goes through here:

    colour = images.Settings(image_size=64)
    arms = {"colour": colour, "grayscale": colour.replace(grayscale=True)}
    result = sweep(budget, arms, budget.seeds(3, default=10999), out.parent / "runs")
    result.table([("test acc", "final.test/acc")])           # mean, 95% CI, per-seed values
    result.compare("grayscale", "colour", "final.test/acc", "test accuracy").reading()

Each (arm, seed) is one real run of a program, its settings with that seed, in its own folder
(`<folder>/<arm>-s<seed>`), named `<program>-<arm>-s<seed>` in the tracker, so the dashboard
shows a question's runs by setting. Runs of the same command are reused across questions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurallab.experiments.base import Budget, markdown_table
from neurallab.experiments.stats import (
    Comparison,
    Summary,
    bounds_of,
    compare,
    fmt,
    summarize,
)
from neurallab.programs.run import RunRecord
from neurallab.settings import Settings

Key = str | Callable[[dict[str, Any]], float]


def run_slug(text: str) -> str:
    """A folder- and tracker-safe name for an arm: 'batch 32' -> 'batch-32'."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()


def read_key(summary: dict[str, Any] | RunRecord, key: Key) -> float:
    """A number from a run summary: a dotted path ('final.test/acc') or a function of it."""
    if isinstance(summary, RunRecord):
        summary = {**summary.summary, "run_dir": str(summary.run_dir)}
    if callable(key):
        return float(key(summary))
    value: Any = summary
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"{key!r}: {part!r} not in the run summary ({summary.get('command')})")
        value = value[part]
    return float(value)


@dataclass
class SweepResult:
    """The runs of a sweep: `runs[arm][seed]` is that run's RunRecord."""

    arms: list[str]
    seeds: list[int]
    runs: dict[str, dict[int, RunRecord]] = field(default_factory=dict)

    @property
    def commands(self) -> list[str]:
        return [self.runs[a][s].command for a in self.arms for s in self.seeds]

    def run_dirs(self, arm: str) -> list[Path]:
        return [self.runs[arm][s].run_dir for s in self.seeds]

    def records(self, arm: str) -> list[RunRecord]:
        return [self.runs[arm][s] for s in self.seeds]

    def values(self, arm: str, key: Key) -> list[float]:
        return [read_key(self.runs[arm][s], key) for s in self.seeds]

    def summary(self, arm: str, key: Key) -> Summary:
        """Mean and 95% interval over seeds, kept inside the range the metric's name implies
        (an accuracy's interval stops at 1, a time's at 0); a metric computed by a function is
        named by the function (`loss_jitter`, a standard deviation, stops at 0)."""
        values = self.values(arm, key)
        name = key if isinstance(key, str) else getattr(key, "__name__", "")
        return summarize(values, bounds_of(name, values))

    def compare(self, a: str, b: str, key: Key, metric: str, paired: bool = True) -> Comparison:
        """Arm a minus arm b. Arms of one sweep share seeds, so the comparison is paired."""
        return compare(a, self.values(a, key), b, self.values(b, key), metric, paired)

    def table(
        self, columns: Sequence[tuple[str, Key]], digits: int = 3, arm_header: str = "arm"
    ) -> str:
        """Markdown: one row per arm; per column the mean, its 95% CI and the per-seed values."""
        headers = [arm_header]
        for label, _ in columns:
            headers += [f"{label}: mean", "95% CI", "per seed"]
        rows = []
        for arm in self.arms:
            row: list[Any] = [arm]
            for _, key in columns:
                s = self.summary(arm, key)
                ci = "—" if s.ci is None else f"{fmt(s.ci[0], digits)} to {fmt(s.ci[1], digits)}"
                row += [fmt(s.mean, digits), ci, s.per_seed(digits)]
            rows.append(row)
        seeds = ", ".join(map(str, self.seeds))
        return markdown_table(headers, rows) + f"\n\nSeeds: {seeds} (95% CI: Student t over seeds)."


def sweep(
    budget: Budget,
    arms: Mapping[str, Settings],
    seeds: Sequence[int],
    folder: Path,
) -> SweepResult:
    """Train every arm's settings once per seed (each in `folder/<arm>-s<seed>`, named
    `<program>-<arm>-s<seed>` in the tracker) and collect their records."""
    result = SweepResult(arms=list(arms), seeds=list(seeds))
    for arm, settings in arms.items():
        result.runs[arm] = {}
        for seed in seeds:
            name = f"{run_slug(arm)}-s{seed}"
            result.runs[arm][seed] = budget.train(
                settings.replace(seed=seed), folder / name, run_name=f"{settings.PROGRAM}-{name}"
            )
    return result
