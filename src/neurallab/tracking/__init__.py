"""Run folders and experiment trackers (trackio by default, wandb, tensorboard, none)."""

from neurallab.tracking.base import TRACKERS, NullTracker, Tracker, make_tracker
from neurallab.tracking.run import Run, metric_series, read_metrics

__all__ = [
    "TRACKERS",
    "NullTracker",
    "Run",
    "Tracker",
    "make_tracker",
    "metric_series",
    "read_metrics",
]
