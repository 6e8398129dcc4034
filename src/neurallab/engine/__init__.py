"""One training engine for every task: fit, evaluate, checkpoints, resume, devices, flags."""

from neurallab.engine.checkpoint import CheckpointError, load_model_weights
from neurallab.engine.device import autocast, move_to, resolve_device
from neurallab.engine.loop import (
    Callback,
    FitConfig,
    FitResult,
    StepOutput,
    TrainingDiverged,
    evaluate,
    fit,
)
from neurallab.engine.options import OptimizerConfig, TrainingConfig, TrainSettings
from neurallab.engine.seed import epoch_generator, seed_everything

__all__ = [
    "Callback",
    "CheckpointError",
    "FitConfig",
    "FitResult",
    "OptimizerConfig",
    "StepOutput",
    "TrainingConfig",
    "TrainSettings",
    "TrainingDiverged",
    "autocast",
    "epoch_generator",
    "evaluate",
    "fit",
    "load_model_weights",
    "move_to",
    "resolve_device",
    "seed_everything",
]
