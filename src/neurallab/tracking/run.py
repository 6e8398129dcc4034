"""A run folder: the ground truth of every run, mirrored to a tracker.

`runs/<task>/<run_name>/` holds `config.json`, `metrics.csv` (every scalar logged, with its
step), `summary.json` (final numbers, parameter count, wall time, command line), checkpoints
and PNG plots. The tracker (trackio by default) only mirrors these files.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from neurallab.atomic import write_json_atomic
from neurallab.data.transforms import to_uint8_image
from neurallab.tracking.base import NullTracker, Tracker, to_float

METRICS_HEADER = ["step", "key", "value"]


def is_main_process() -> bool:
    """Only rank 0 of a torchrun job writes files and tracker data."""
    return int(os.environ.get("RANK", "0")) == 0


class Run:
    def __init__(self, folder: Path, tracker: Tracker | None = None, writes: bool = True) -> None:
        self.dir = Path(folder)
        self.tracker = tracker or NullTracker()
        self.writes = writes
        if writes:
            self.dir.mkdir(parents=True, exist_ok=True)
        self._metrics_path = self.dir / "metrics.csv"
        self._metrics_file = None

    # -- scalars -------------------------------------------------------------------------
    def log(self, metrics: dict[str, Any], step: int) -> None:
        values = {k: to_float(v) for k, v in metrics.items()}
        if self.writes:
            if self._metrics_file is None:
                new = not self._metrics_path.exists()
                self._metrics_file = self._metrics_path.open("a", newline="")
                if new:
                    csv.writer(self._metrics_file).writerow(METRICS_HEADER)
            writer = csv.writer(self._metrics_file)
            writer.writerows([step, k, repr(v)] for k, v in values.items())
            self._metrics_file.flush()
        self.tracker.log(values, step)

    def truncate_metrics(self, after_step: int) -> None:
        """Drop rows logged after `after_step`: a resumed run logs them again."""
        if not self.writes or not self._metrics_path.exists():
            return
        rows = read_metrics(self._metrics_path)
        kept = [r for r in rows if r[0] <= after_step]
        with self._metrics_path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(METRICS_HEADER)
            writer.writerows([s, k, repr(v)] for s, k, v in kept)

    # -- media ---------------------------------------------------------------------------
    def log_images(
        self, key: str, images: list[Any], captions: list[str] | None = None, step: int = 0
    ) -> None:
        arrays = [to_uint8_image(img) for img in images]
        self.tracker.log_images(key, arrays, captions, step)

    def save_figure(self, fig, name: str, step: int = 0) -> Path:
        """Save a matplotlib figure as a PNG in the run folder and mirror it to the tracker."""
        import matplotlib.pyplot as plt

        path = self.dir / name
        if self.writes:
            fig.savefig(path, dpi=120, bbox_inches="tight")
            fig.canvas.draw()
            rgba = np.asarray(fig.canvas.buffer_rgba())
            self.tracker.log_images(Path(name).stem, [rgba[..., :3].copy()], [name], step)
        plt.close(fig)
        return path

    # -- config and summary --------------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> None:
        if self.writes:
            write_json_atomic(self.dir / "config.json", config)

    def update_summary(self, values: dict[str, Any]) -> dict[str, Any]:
        path = self.dir / "summary.json"
        summary = json.loads(path.read_text()) if path.exists() else {}
        summary.update(values)
        if self.writes:
            write_json_atomic(path, summary)
        return summary

    def finish(self) -> None:
        if self._metrics_file is not None:
            self._metrics_file.close()
            self._metrics_file = None
        self.tracker.finish()


def read_metrics(path: Path) -> list[tuple[int, str, float]]:
    """Rows of a metrics.csv as (step, key, value); a torn last line (after a crash) is skipped."""
    rows = []
    with Path(path).open(newline="") as f:
        reader = csv.reader(f)
        next(reader, None)
        for row in reader:
            try:
                rows.append((int(row[0]), row[1], float(row[2])))
            except (IndexError, ValueError):
                continue
    return rows


def metric_series(path: Path, key: str) -> tuple[list[int], list[float]]:
    """Steps and values of one metric from a metrics.csv."""
    pairs = [(s, v) for s, k, v in read_metrics(path) if k == key]
    return [s for s, _ in pairs], [v for _, v in pairs]
