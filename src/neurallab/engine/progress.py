"""The training progress bar: samples done, loss and throughput (quiet when not a terminal)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class TrainProgress:
    def __init__(self, total: int, enabled: bool = True) -> None:
        console = Console(stderr=True)
        # Off a terminal, live redraws would flood the log: show nothing and let files speak.
        self.enabled = enabled and console.is_terminal
        self._bar = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[rate]} ex/s"),
            TimeRemainingColumn(),
            console=console,
            disable=not self.enabled,
        )
        self._task = self._bar.add_task("train", total=total, loss="-", rate="-")
        self._t0 = time.perf_counter()
        self._start_samples: int | None = None

    def __enter__(self) -> TrainProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.stop()

    def update(self, samples: int, loss: float | None = None) -> None:
        if self._start_samples is None:
            self._start_samples = samples
        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        rate = (samples - self._start_samples) / elapsed
        fields = {"rate": f"{rate:,.0f}"}
        if loss is not None:
            fields["loss"] = f"{loss:.4f}"
        self._bar.update(self._task, completed=samples, **fields)
