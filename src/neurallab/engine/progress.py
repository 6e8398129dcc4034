"""The training progress bar: samples done, loss and throughput (quiet when not a terminal).

The loop updates it only when it reads its buffered losses (every few dozen steps), and rich
is imported only when a bar is actually shown: neither costs anything on the hot path or at
start-up.
"""

from __future__ import annotations

import sys
import time


class TrainProgress:
    def __init__(self, total: int, enabled: bool = True) -> None:
        # Off a terminal, live redraws would flood the log: show nothing and let files speak.
        self.enabled = enabled and sys.stderr.isatty()
        self.total = total
        self._bar = None
        self._task = None
        self._t0 = time.perf_counter()
        self._start_samples: int | None = None

    def __enter__(self) -> TrainProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TextColumn("{task.fields[rate]} ex/s"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._task = self._bar.add_task("train", total=self.total, loss="-", rate="-")
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def update(self, samples: int, loss: float | None = None) -> None:
        if self._bar is None:
            return
        if self._start_samples is None:
            self._start_samples, self._t0 = samples, time.perf_counter()
        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        fields = {"rate": f"{(samples - self._start_samples) / elapsed:,.0f}"}
        if loss is not None:
            fields["loss"] = f"{loss:.4f}"
        self._bar.update(self._task, completed=samples, **fields)
