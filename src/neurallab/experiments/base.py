"""What a handout question is, and what answering it produces.

Each handout part has one module here (`hw0_images`, `hw3`, `hw7`, ...) with a list
`QUESTIONS`. `neurallab reproduce` runs them in order and renders every `Answer` into the
report. Questions build the programs' settings and train them through `Budget.train` (which
calls `neurallab.programs` in this process, or under a launcher such as torchrun), so the
command printed in the report, derived from the settings, is exactly the run that produced the
numbers.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import shlex
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurallab.atomic import write_json_atomic
from neurallab.experiments.verdict import Verdict
from neurallab.programs.run import RunRecord
from neurallab.settings import Settings

PACKAGE = Path(__file__).resolve().parents[1]  # src/neurallab

# What computes every answer besides the question's own module: the programs and everything
# they run, the statistics and verdicts, and how runs are made and read. The commands that
# only drive or show answers (reproduce, notebooks, dashboard) are left out, so their help
# and printing can change without re-running a budget.
ANSWER_CODE = (
    "programs/*.py",
    "engine/*.py",
    "models/*.py",
    "data/*.py",
    "internals/*.py",
    "compat/*.py",
    "tasks/*.py",
    "experiments/base.py",
    "experiments/sweep.py",
    "experiments/stats.py",
    "experiments/verdict.py",
    "settings.py",
    "flags.py",
    "commands.py",
)
NOT_ANSWER_CODE = ("tasks/reproduce.py", "tasks/notebooks.py", "tasks/dashboard.py")


@functools.cache
def _source_hash(paths: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        name = path.relative_to(PACKAGE) if path.is_relative_to(PACKAGE) else path.name
        digest.update(str(name).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def _answer_code() -> frozenset[Path]:
    skipped = {(PACKAGE / name).resolve() for name in NOT_ANSWER_CODE}
    found = {p.resolve() for pattern in ANSWER_CODE for p in PACKAGE.glob(pattern)}
    return frozenset(found - skipped)


def run_code_hash() -> str:
    """A hash of the code a run is made with (`ANSWER_CODE`): a finished run is reused, and an
    unfinished one resumed, only by the same code, so a program changed between two sessions
    of a long reproduce re-trains its runs instead of publishing the old code's numbers."""
    return _source_hash(tuple(sorted(_answer_code())))


@dataclass
class Budget:
    """How much compute a question may spend, and where its runs go.

    `quick` selects CPU-minute budgets, otherwise the handout's own settings. `seed` (from
    `reproduce --seed`) replaces each question's default seeds; `device` and `force` reach every
    run a question makes through `run`. `runs` records each run's summary so the report states
    the seeds and commands that were actually used.
    """

    quick: bool = True
    seed: int | None = None  # None: each question's handout seed (e.g. HW0's 10999)
    device: str = "cpu"
    # `reproduce --force`: runs finished before this time are re-run, not reused (a run shared
    # by several questions is then re-run once per reproduce, not once per question).
    rerun_before: float | None = None
    project: str = "neurallab"  # tracker project; reproduce uses one per handout
    # `reproduce --launcher`, e.g. "torchrun --nproc_per_node 4": training commands run as
    # `<launcher> -m neurallab.cli ...` in their own processes (several GPUs) instead of here.
    launcher: str | None = None
    # The question being answered ("hw0 Q3.6"): its runs record it, so a later attempt at the
    # same question can tell its own interrupted work from runs another question made.
    question: str = ""
    # A notebook's (or script's) changes to every run of a question: each setting named here
    # replaces that setting in every program that has it (e.g. {"lr": 3e-3}); `n_seeds`
    # replaces each question's number of seeds. Both enter the answer's cache key.
    overrides: dict[str, Any] = field(default_factory=dict)
    n_seeds: int | None = None
    runs: list[dict[str, Any]] = field(default_factory=list, compare=False, repr=False)

    def seeds(self, n: int, default: int = 0) -> list[int]:
        """`n` consecutive seeds (or `n_seeds`) starting at `--seed` if given, else at the
        question's default."""
        first = default if self.seed is None else self.seed
        return [first + i for i in range(self.n_seeds or n)]

    def with_overrides(self, settings: Settings) -> Settings:
        """`settings` with this budget's overrides of the settings it has."""
        own = {k: v for k, v in self.overrides.items() if k in settings.__dataclass_fields__}
        return settings.replace(**own) if own else settings

    def train(self, settings: Settings, run_dir: Path, run_name: str | None = None) -> RunRecord:
        """Run one program's settings for this question; see `run_program`."""
        record, accounting = run_program(
            self.with_overrides(settings),
            run_dir,
            run_name=run_name,
            device=self.device,
            rerun_before=self.rerun_before,
            project=self.project,
            launcher=self.launcher,
            question=self.question,
        )
        self.runs.append(accounting)
        return record

    @property
    def earlier_seconds(self) -> float:
        """Time this question's runs spent in its own earlier, interrupted attempts (a long
        question resumed in a later session): part of what answering it cost."""
        return sum(r.get("earlier_seconds", 0.0) for r in self.runs)

    @property
    def seeds_used(self) -> list[int]:
        return sorted({int(r["seed"]) for r in self.runs if r.get("seed") is not None})


@dataclass
class Answer:
    """The measured answer to one handout question."""

    text: str  # a short, honest reading of the result (Markdown)
    commands: list[str] = field(default_factory=list)  # exact commands that produced it
    tables: list[str] = field(default_factory=list)  # Markdown tables
    images: list[Path] = field(default_factory=list)  # PNGs (absolute, or relative to out_dir)
    metrics: dict[str, Any] = field(default_factory=dict)  # headline numbers, JSON-serialisable
    # What the handout expects and whether the measurement agrees; written questions too.
    verdicts: list[Verdict] = field(default_factory=list)
    key_result: str = ""  # one line for the report's summary table


@dataclass(frozen=True)
class Question:
    handout: str  # "hw0", "hw3", "hw4", "hw7", "cnn-rnn"
    qid: str  # the handout's own numbering: "Q3.4", "P1", "Ex2", "§5 Q1"
    title: str
    run: Callable[[Budget, Path], Answer]  # (budget, folder to write into) -> answer
    seconds_quick: float = 60.0  # expected wall time at the quick budget, for planning
    seconds_full: float = 600.0  # expected wall time at the handout's budget


def run_program(
    settings: Settings,
    run_dir: Path,
    *,
    run_name: str | None = None,
    device: str | None = None,
    rerun_before: float | None = None,
    project: str = "neurallab",
    launcher: str | None = None,
    question: str = "",
) -> tuple[RunRecord, dict[str, Any]]:
    """Train `settings` (any program's) in `run_dir` and return the run's record, with what the
    question's accounting needs (`command`, `seed`, `seconds`, `earlier_seconds`).

    `device` replaces the settings' device where the program has one. The run's command,
    derived from the settings (`neurallab <program> <flags>`), and the code it runs
    (`run_code_hash`) are its reuse key: a finished run of the same command by the same code
    in `run_dir` is read, not repeated (several questions share runs, and an interrupted
    reproduce resumes), unless it finished before `rerun_before`; an unfinished one with a
    checkpoint continues with resume; anything else in the folder is replaced, so runs never
    mix. The program's own output goes to `run_dir/output.log`.

    With a `launcher` (e.g. "torchrun --nproc_per_node 4") a program that trains through the
    engine runs as `<launcher> -m neurallab.cli <program> <flags>` in its own processes.

    `run_dir/question.txt` names the `question` that started the run; `earlier_seconds` is the
    run's time in earlier processes of that same question (a finished run it reuses, or the
    part before a resume), 0 for another question's runs.
    """
    from neurallab import programs
    from neurallab.engine.options import TrainSettings
    from neurallab.programs.run import RunOptions, command_line

    if device is not None and "device" in settings.__dataclass_fields__:
        settings = settings.replace(device=device)
    options = RunOptions(run_dir=run_dir, run_name=run_name, project=project, progress=False)
    trains = isinstance(settings, TrainSettings)
    command = command_line(settings, options)
    if launcher and trains:
        command = f"{launcher} -m neurallab.cli {command.removeprefix('neurallab ')}"
    settings_type = type(settings)
    summary_path = run_dir / "summary.json"
    previous = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    # An interrupted resume leaves its summary with the command it ran, `--resume` included.
    same_command = previous.get("command", "").removesuffix(" --resume") == command
    same_command = same_command and previous.get("code") == run_code_hash()
    asked_by = run_dir / "question.txt"
    own_work = bool(question) and asked_by.exists() and asked_by.read_text() == question
    force = rerun_before is not None and (
        not summary_path.exists() or summary_path.stat().st_mtime < rerun_before
    )
    seed = getattr(settings, "seed", None)
    if same_command and "wall_seconds" in previous and not force:
        earlier = total_seconds(previous) if own_work else 0.0
        record = RunRecord.read(run_dir, settings_type)
        return record, _accounting(command, seed, previous["wall_seconds"], earlier)
    resume = same_command and trains and (run_dir / "last.pt").exists() and not force
    if not resume and run_dir.exists():
        shutil.rmtree(run_dir)  # a different or forced command: replace, never append
    started = time.perf_counter()
    run_dir.mkdir(parents=True, exist_ok=True)
    if question and not resume:
        asked_by.write_text(question)
    log_path = run_dir / "output.log"
    if launcher and trains:
        _launch(command, launcher, resume, log_path)
    else:
        with (
            log_path.open("a") as log,
            contextlib.redirect_stdout(log),
            contextlib.redirect_stderr(log),
        ):
            programs.train(settings, **{**vars(options), "resume": resume})
    seconds = round(time.perf_counter() - started, 2)
    summary = json.loads(summary_path.read_text())
    summary["command"] = command  # without --resume, so the next reproduce can reuse it
    summary["code"] = run_code_hash()
    write_json_atomic(summary_path, summary)
    # A resumed run's time in its earlier processes, as its checkpoint carried it.
    earlier = summary.get("resumed_after_seconds", 0.0) if resume and own_work else 0.0
    return RunRecord.read(run_dir, settings_type), _accounting(command, seed, seconds, earlier)


def _launch(command: str, launcher: str, resume: bool, log_path: Path) -> None:
    """Run `command` (`<launcher> -m neurallab.cli <program> <flags>`) in its own processes,
    its output into `log_path`; a failure is one line naming the command and the log."""
    argv = shlex.split(command)
    with log_path.open("a") as log:
        code = subprocess.run(
            [*argv, *(["--resume"] if resume else [])], stdout=log, stderr=subprocess.STDOUT
        ).returncode
    if code:
        tail = log_path.read_text().strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"`{command}` exited with {code}: {tail[0]} (log: {log_path})")


def _accounting(command: str, seed: Any, seconds: float, earlier: float) -> dict[str, Any]:
    return {"command": command, "seed": seed, "seconds": seconds, "earlier_seconds": earlier}


def total_seconds(summary: dict[str, Any]) -> float:
    """A finished run's time over all its processes: the training time its checkpoints carry
    across resumes (`train_seconds`), or its last process's wall time if that is longer."""
    return max(summary.get("wall_seconds", 0.0), summary.get("train_seconds", 0.0))


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured Markdown table; floats are shown with 4 significant digits."""

    def cell(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def mean_std(values: list[float], digits: int = 3) -> str:
    """'mean ± sample standard deviation' of several seeds' results."""
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f}"
