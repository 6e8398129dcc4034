"""One training engine for every task: fit, evaluate, checkpoints, resume, devices."""

from neurallab.engine.checkpoint import CheckpointError, load_model_weights
from neurallab.engine.device import autocast, move_to, resolve_device
from neurallab.engine.loop import (
    FitConfig,
    FitResult,
    StepOutput,
    TrainingDiverged,
    evaluate,
    fit,
)
from neurallab.engine.seed import seed_everything

__all__ = [
    "CheckpointError",
    "FitConfig",
    "FitResult",
    "StepOutput",
    "TrainingDiverged",
    "autocast",
    "evaluate",
    "fit",
    "load_model_weights",
    "move_to",
    "resolve_device",
    "seed_everything",
]
