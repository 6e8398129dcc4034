"""What every program shares: where its run goes (`RunOptions`), opening that run folder, and
the record a finished run returns (`RunRecord`), read back from the folder's own files.

    options = RunOptions(run_dir="runs/mnist/try", tracker="none")
    run = open_run(settings, options, config, model)     # config.json, summary.json, tracker
    ...fit(...)...
    return finish(run, started, settings, answers=...)   # -> RunRecord, equal to the files

The options say where and how a run is kept, not what is trained: they are not settings, do
not enter the command's reuse key, and a run folder records them under "run" in config.json.
"""

from __future__ import annotations

import csv
import json
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from neurallab.engine import StepOutput, TrainingConfig
from neurallab.errors import UserError
from neurallab.settings import Settings
from neurallab.tracking import TRACKERS, Run, make_tracker
from neurallab.tracking.run import is_main_process

# Files that mark a folder as holding a run (written by open_run and the engine).
RUN_FILES = ("config.json", "summary.json", "metrics.csv", "last.pt", "last.prev.pt", "best.pt")


@dataclass(frozen=True)
class RunOptions:
    """Where a run is kept and how it is watched; the same for every program."""

    run_dir: Path | str | None = None  # default: runs/<program>/<run_name>
    run_name: str | None = None  # default: <program>-<time>, or run_dir's name
    tracker: str = "trackio"  # one of neurallab.tracking.TRACKERS
    project: str = "neurallab"  # tracker project
    resume: bool = False  # continue the run in run_dir from its last.pt
    overwrite: bool = False  # replace the run already in run_dir
    progress: bool = True  # the progress bar
    wandb_online: bool = False  # sync wandb (needs an account)

    def __post_init__(self) -> None:
        if self.tracker not in TRACKERS:
            raise UserError(f"tracker: {self.tracker!r} is not one of {', '.join(TRACKERS)}")
        if self.resume and self.overwrite:
            raise UserError(
                "--resume and --overwrite: choose one (continue the run, or replace it)"
            )
        if self.run_name is not None and not re.fullmatch(r"[\w.\-]+", self.run_name):
            raise UserError(
                f"--run_name: {self.run_name!r} may only hold letters, digits, '.', '-', '_'"
            )

    def folder(self, program: str, name: str | None = None) -> Path:
        if self.run_dir is not None:
            return Path(self.run_dir)
        return Path("runs") / program / (name or self.name(program))

    def name(self, program: str) -> str:
        """run_name, else run_dir's name, else `<program>-<time>` (with `-2`, `-3`, ... when
        a run of the same second already has that folder: two quick runs never collide)."""
        if self.run_name:
            return self.run_name
        if self.run_dir is not None:
            return Path(self.run_dir).name
        stamp = f"{program}-{time.strftime('%Y%m%d-%H%M%S')}"
        name, k = stamp, 2
        while (Path("runs") / program / name).exists():
            name, k = f"{stamp}-{k}", k + 1
        return name

    def argv(self) -> list[str]:
        """The flags that ask for these options (what a command line adds to the settings)."""
        out: list[str] = []
        if self.run_dir is not None:
            out += ["--run_dir", str(self.run_dir)]
        if self.run_name:
            out += ["--run_name", self.run_name]
        if self.tracker != "trackio":
            out += ["--tracker", self.tracker]
        if self.project != "neurallab":
            out += ["--project", self.project]
        if not self.progress:
            out.append("--no_progress")
        return out


def command_line(settings: Settings, options: RunOptions) -> str:
    """The shell command that runs these settings: `neurallab <program> <flags>`. Derived from
    the settings, so a run made from Python and the same run typed on the command line record
    the same command (the report shows it, and reproduce's reuse compares it)."""
    return shlex.join(["neurallab", settings.PROGRAM, *settings.to_argv(), *options.argv()])


def prepare_run_folder(folder: Path, resume: bool, overwrite: bool) -> None:
    """Make sure a new run never mixes with an old one in `folder`.

    A folder that already holds a run is refused unless `resume` (continue it: the engine drops
    whatever was logged after the checkpoint it resumes from) or `overwrite` (delete that run's
    files first).
    """
    if resume:
        if not (folder / "last.pt").exists() and not (folder / "last.prev.pt").exists():
            raise UserError(f"--resume: no checkpoint to resume in {folder}")
        return
    existing = [name for name in RUN_FILES if (folder / name).exists()]
    if not existing:
        return
    if not overwrite:
        raise UserError(
            f"{folder} already holds a run ({', '.join(existing)}): pass --resume to continue "
            "it, --overwrite to replace it, or choose another --run_name/--run_dir"
        )
    for name in existing:
        (folder / name).unlink()
    for png in folder.glob("*.png"):
        png.unlink()


def open_run(
    settings: Settings,
    options: RunOptions,
    config: TrainingConfig | None = None,
    model: nn.Module | None = None,
) -> Run:
    """Create (or, with `resume`, reopen) the run folder and its tracker. config.json holds the
    settings (the dataclass, as JSON), the seed, the configuration the engine runs with under
    "effective", and the run options under "run"."""
    program = settings.PROGRAM
    run_name = options.name(program)
    folder = options.folder(program, run_name)
    if is_main_process():  # under torchrun only rank 0 owns (and checks) the run folder
        prepare_run_folder(folder, resume=options.resume, overwrite=options.overwrite)
    record: dict[str, Any] = {"program": program, **settings.record()}
    if config is not None:
        record.update(seed=config.seed, effective=config.record())
    record["run"] = {
        "run_name": run_name,
        "tracker": options.tracker,
        "project": options.project,
        "resume": options.resume,
    }
    writes = is_main_process()
    tracker = make_tracker(
        options.tracker if writes else "none",
        options.project,
        run_name,
        record,
        folder,
        resume=options.resume,
        online=options.wandb_online,
    )
    run = Run(folder, tracker, writes=writes)
    run.write_config(record)
    summary: dict[str, Any] = {
        "task": program,
        "run_name": run_name,
        "command": command_line(settings, options),
    }
    if model is not None:
        summary["parameters"] = count_parameters(model)
    run.update_summary(summary)
    return run


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def classification_step(model: nn.Module, batch) -> StepOutput:
    """Cross-entropy step for (inputs, integer labels) batches, with accuracy."""
    inputs, labels = batch
    logits = model(inputs)
    loss = nn.functional.cross_entropy(logits.float(), labels)
    correct = (logits.argmax(dim=-1) == labels).sum()
    return StepOutput(loss=loss, size=len(labels), correct=correct)


def finish(run: Run, started: float, settings: Settings, **extra: Any) -> RunRecord:
    """Record wall time and extra numbers in summary.json, close the tracker, and return the
    run's record, read back from the folder's files."""
    run.update_summary({"wall_seconds": round(time.perf_counter() - started, 3), **extra})
    run.finish()
    if run.writes:
        print(f"results: {run.dir}")
    return RunRecord.read(run.dir, type(settings))


class History:
    """Every logged scalar of a run, one row per step: what metrics.csv holds, as a table.

    `rows` are dicts {"step": examples seen, key: value, ...}; `column("val/acc")` gives the
    (step, value) pairs of one metric; `tail(n)` the last rows; `to_pandas()` a DataFrame.
    """

    def __init__(self, rows: list[dict[str, float]]) -> None:
        self.rows = rows

    @classmethod
    def read(cls, path: Path) -> History:
        by_step: dict[int, dict[str, float]] = {}
        if path.exists():
            with path.open(newline="") as f:
                for row in csv.DictReader(f):
                    step = int(row["step"])
                    by_step.setdefault(step, {"step": step})[row["key"]] = float(row["value"])
        return cls([by_step[s] for s in sorted(by_step)])

    @property
    def keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for row in self.rows:
            seen.update(dict.fromkeys(k for k in row if k != "step"))
        return list(seen)

    def column(self, key: str) -> list[tuple[int, float]]:
        if key not in self.keys:
            raise KeyError(f"{key!r} was never logged; logged: {', '.join(self.keys)}")
        return [(int(r["step"]), r[key]) for r in self.rows if key in r]

    def tail(self, n: int = 5) -> History:
        return History(self.rows[-n:])

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows).set_index("step")

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        keys = self.keys
        lines = ["step  " + "  ".join(keys)]
        for row in self.rows[-10:]:
            cells = [f"{row[k]:.4g}" if k in row else "-" for k in keys]
            lines.append(f"{int(row['step'])}  " + "  ".join(cells))
        more = f"({len(self.rows)} rows; last 10)\n" if len(self.rows) > 10 else ""
        return more + "\n".join(lines)


@dataclass(frozen=True)
class RunRecord:
    """A finished run, as its folder records it: what a caller needs without opening a file.

    `settings` are the program's settings the run used; `summary` is summary.json (final and
    best metrics, steps, times, the command, and whatever the program added); `history` is
    metrics.csv as a table.
    """

    program: str
    settings: Settings
    run_dir: Path
    summary: dict[str, Any] = field(repr=False)
    history: History = field(repr=False)

    @classmethod
    def read(cls, run_dir: Path | str, settings_type: type[Settings]) -> RunRecord:
        """The record of the run in `run_dir` (its config.json, summary.json and metrics.csv)."""
        run_dir = Path(run_dir)
        config_path, summary_path = run_dir / "config.json", run_dir / "summary.json"
        for path in (config_path, summary_path):
            if not path.exists():
                raise UserError(f"{run_dir}: not a finished neurallab run (no {path.name})")
        config = json.loads(config_path.read_text())
        names = settings_type.__dataclass_fields__
        settings = settings_type(**{k: v for k, v in config.items() if k in names})
        return cls(
            program=config.get("program", settings_type.PROGRAM),
            settings=settings,
            run_dir=run_dir,
            summary=json.loads(summary_path.read_text()),
            history=History.read(run_dir / "metrics.csv"),
        )

    @property
    def seed(self) -> int | None:
        return getattr(self.settings, "seed", None)

    @property
    def final(self) -> dict[str, float]:
        """The last evaluation's metrics ("test/acc", "val/loss", ...)."""
        return self.summary.get("final", {})

    @property
    def best(self) -> dict[str, float]:
        """The evaluation at which the program's best metric was best."""
        return self.summary.get("best", {})

    @property
    def wall_seconds(self) -> float:
        return float(self.summary.get("wall_seconds", 0.0))

    @property
    def train_seconds(self) -> float:
        return float(self.summary.get("train_seconds", 0.0))

    @property
    def parameters(self) -> int | None:
        return self.summary.get("parameters")

    @property
    def command(self) -> str:
        return self.summary.get("command", "")

    @property
    def checkpoint(self) -> Path | None:
        """last.pt: the full state `resume` continues from (None if the program writes none)."""
        path = self.run_dir / "last.pt"
        return path if path.exists() else None

    @property
    def best_checkpoint(self) -> Path | None:
        path = self.run_dir / "best.pt"
        return path if path.exists() else None


def read_checkpoint(path: Path | str, program: str) -> dict[str, Any]:
    """The checkpoint a program's `load` rebuilds its model from: a run folder (its best.pt)
    or a .pt file that program wrote. Anything else is refused on one line saying what it is."""
    from neurallab.engine import checkpoint

    path = Path(path)
    if path.is_dir():
        if not (path / "best.pt").exists():
            raise UserError(f"{path}: no best.pt in this folder (not a finished {program} run)")
        path = path / "best.pt"
    if not path.exists():
        raise UserError(f"{path}: checkpoint not found")
    state = checkpoint.load(path)
    if not isinstance(state, dict) or "model" not in state:
        raise UserError(f"{path}: not a neurallab checkpoint (expected one written by {program})")
    made_by = state.get("program")
    if made_by is None:
        raise UserError(
            f"{path}: this checkpoint does not say which program made it or how to build its "
            f"model (written by an older neurallab); expected one written by {program}"
        )
    if made_by != program:
        raise UserError(f"{path}: a checkpoint of `neurallab {made_by}`, not of `{program}`")
    return state


def load_model(path: Path | str, program: str, build: Any) -> nn.Module:
    """The model a `program` run trained, from its run folder (best.pt) or a checkpoint:
    `build(**model_args)` as stored beside the weights, the weights loaded, in eval mode."""
    state = read_checkpoint(path, program)
    model = build(**state["model_args"])
    model.load_state_dict(state["model"])
    return model.eval()
