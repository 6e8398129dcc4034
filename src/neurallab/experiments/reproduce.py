"""Every handout question, then one report: what `neurallab reproduce` runs.

Each question's answer is cached in `<out>/<mode>/<handout>/<question>/answer.json`, keyed by
its full configuration: re-running reuses finished answers unless forced, so an interrupted
reproduce resumes where it stopped. The report goes to `<report>/` (`index.html` and
`report.md`), and also to `docs` as Markdown when given.

`<out>` holds the runs too (checkpoints included) and is not meant to be committed. A results
folder (`results=`, e.g. `results/full`) is: it receives a copy of every finished answer with
its plots (no checkpoints), and finished answers found there are reused. That is how the
handouts' full budgets, many hours on a CPU, are run piece by piece over several sessions and
published. The committed `results/quick` and `results/full` also give the estimate printed
before a reproduce starts (their measured wall times) and the quick-vs-full table.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib
import json
import os
import platform
import re
import shlex
import shutil
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

from neurallab.atomic import write_json_atomic
from neurallab.commands import suggest
from neurallab.errors import UserError
from neurallab.experiments.base import (
    Answer,
    Budget,
    Question,
    _answer_code,
    _source_hash,
)
from neurallab.experiments.budgets import budget_table

# Bump when what an answer records changes, so cached answers of the old shape are re-run.
ANSWER_VERSION = 3
HANDOUTS = ["hw0", "hw3", "hw4", "hw7", "cnn-rnn"]
# Question modules in report order (within a handout, module order then list order).
MODULES = [
    "hw0_primer",
    "hw0_images",
    "hw0_text",
    "hw3",
    "hw3_timeseries",
    "hw4",
    "hw7_internals",
    "hw7",
    "cnn_rnn_cifar",
    "cnn_rnn_parity",
]
# The committed answers of each budget (`results/quick`, `results/full`), relative to the
# repository root where reproduce is run.
PUBLISHED = Path("results")


@functools.cache
def source_version() -> str:
    """The git commit of the neurallab source that answered (with '+changes' if the tree
    differs from it), or 'unknown' outside a git checkout.

    Read once per process, when reproduce starts: the code that runs is the code imported
    then, even if the checkout moves on during a long run.
    """
    import subprocess

    root = Path(__file__).resolve().parents[3]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


def machine() -> str:
    """The machine an answer was measured on, e.g. 'x86_64, 2 cores, Intel(R) Xeon(R) ...'."""
    name = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores" + (f", {name}" if name else "")


def questions(target: str) -> list[Question]:
    found = []
    for name in MODULES:
        # A missing or broken question module is an error: a report silently missing a
        # handout's questions would look complete.
        found += list(importlib.import_module(f"neurallab.experiments.{name}").QUESTIONS)
    found.sort(key=lambda q: HANDOUTS.index(q.handout))  # stable: keeps module order within
    return [q for q in found if target in ("all", q.handout)]


def select(found: list[Question], only: str | None, target: str) -> list[Question]:
    """The questions whose id is `only` (all if None): exactly, else by a case-insensitive or
    slug match ('p1' for P1, '5 q1' for §5 Q1). Matching nothing is a one-line error listing
    the ids, raised before anything (a report, a results folder) is written."""
    if only is None:
        return found
    for same in (
        lambda q: q.qid == only,
        lambda q: q.qid.lower() == only.lower(),
        lambda q: slug(q.qid) == slug(only),
    ):
        chosen = [q for q in found if same(q)]
        if chosen:
            return chosen
    ids = list(dict.fromkeys(q.qid for q in found))
    raise UserError(
        f"--only {only!r} matches no question of {target}{suggest(only, ids)}; "
        f"its ids: {', '.join(ids)}"
    )


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def code_hash(q: Question) -> str:
    """A hash of the source that computes `q`'s answer: the module defining the question and
    every module of `ANSWER_CODE`. Changed code gives another key, so it can neither reuse nor
    publish an answer the code no longer gives.

    Read once per process (like `source_version`): the code that runs is the code imported.
    """
    own = Path(importlib.import_module(q.run.__module__).__file__).resolve()
    return _source_hash(tuple(sorted({*_answer_code(), own})))


def config_key(q: Question, budget: Budget) -> str:
    """The key of `q`'s answer: everything that decides it (the question, the budget, the
    seed, the device, a notebook's changes, and the code that computes it)."""
    config = {
        "handout": q.handout,
        "qid": q.qid,
        "quick": budget.quick,
        "seed": budget.seed,
        "device": budget.device,
        "version": ANSWER_VERSION,
        "code": code_hash(q),
    }
    if budget.overrides or budget.n_seeds:  # a notebook's changes make another answer
        config.update(overrides=budget.overrides, n_seeds=budget.n_seeds)
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def cached_answer(q: Question, budget: Budget, folder: Path, results: Path | None = None) -> dict:
    """The finished answer in `folder` (or the results folder `results`) for this
    configuration, or a 'not run yet' record."""
    record = finished_answer(config_key(q, budget), folder, results)
    if record is not None:
        return record
    return {
        "ok": False,
        "not_run": True,
        "handout": q.handout,
        "qid": q.qid,
        "title": q.title,
        "seeds": [],
        "device": budget.device,
        "seconds": 0.0,
        "text": f"**Not run yet** in this results folder: `{answer_command(q, budget, folder, results)}` "
        "answers it.",
        "commands": [],
        "tables": [],
        "images": [],
        "metrics": {},
        "verdicts": [],
        "key_result": "",
        "error": "not run yet",
    }


def answer_command(q: Question, budget: Budget, folder: Path, results: Path | None) -> str:
    """The command that answers `q` into the folders this report reads, to print as a hint:
    it names --out (the folder three levels above the question's) unless it is the default,
    --results if given, and the seed and device if not the defaults."""
    out = folder.parents[2]
    words = ["neurallab reproduce", q.handout, "--quick" if budget.quick else "--full"]
    words.append(f"--only {shlex.quote(q.qid)}")
    if out != Path("runs/reproduce"):
        words.append(f"--out {shlex.quote(str(out))}")
    if results is not None:
        words.append(f"--results {shlex.quote(str(results.parents[1]))}")
    if budget.seed is not None:
        words.append(f"--seed {budget.seed}")
    if budget.device != "cpu":
        words.append(f"--device {budget.device}")
    return " ".join(words)


def read_answer(path: Path, key: str) -> dict | None:
    """The finished answer at `path` if it was made with configuration `key`, else None.

    Image paths are stored relative to the answer's folder in a results folder (so it can be
    committed and moved) and are returned absolute.
    """
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    if record.get("key") != key or not record.get("ok"):
        return None
    record["images"] = [str((path.parent / p).resolve()) for p in record["images"]]
    return record


def finished_answer(key: str, folder: Path, results: Path | None) -> dict | None:
    """The finished answer made with configuration `key`: from the question's run folder
    `folder`, else from its results folder `results` (if given), else None."""
    for path in (folder / "answer.json", results / "answer.json" if results else None):
        record = read_answer(path, key) if path else None
        if record is not None:
            return record
    return None


def export_answer(record: dict, folder: Path) -> None:
    """Copy a finished answer and its plots into a results folder, replacing what was there.

    The copy is made beside `folder` and renamed into place, so an interrupted export leaves
    the previous answer (or none), never half of one.
    """
    staging = folder.with_name(folder.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    names = []
    for src in map(Path, record["images"]):
        if src.exists():
            shutil.copyfile(src, staging / src.name)
            names.append(src.name)
    write_json_atomic(staging / "answer.json", {**record, "images": names})
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)


def answer_question(
    q: Question, budget: Budget, folder: Path, force: bool, results: Path | None = None
) -> dict:
    """Run one question (or reuse its finished answer); never raises for a failing question.

    A finished answer is reused from `folder` or, failing that, from the results folder
    `results` (if given); a new finished answer is also copied there.
    """
    cache = folder / "answer.json"
    key = config_key(q, budget)
    question = f"{q.handout} {q.qid}"
    budget = dataclasses.replace(
        budget, project=f"neurallab-{q.handout}", question=question, runs=[]
    )
    if not force:
        record = finished_answer(key, folder, results)
        if record is not None:
            if results and not (results / "answer.json").exists():
                export_answer(record, results)  # finished before --results was given
            return record
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        answer = q.run(budget, folder)
        ok, error = True, None
    except Exception as exc:  # a failed question is reported, and the others still run
        answer = Answer(text=f"**This question failed:** `{type(exc).__name__}: {exc}`")
        ok, error = False, traceback.format_exc()
    earlier = budget.earlier_seconds
    record = {
        "key": key,
        "ok": ok,
        "handout": q.handout,
        "qid": q.qid,
        "title": q.title,
        "seeds": budget.seeds_used,
        "device": budget.device,
        "quick": budget.quick,
        # What answering cost: this process, plus the question's own runs (or parts of runs)
        # done in earlier, interrupted attempts that it resumed or reused.
        "seconds": round(time.perf_counter() - started + earlier, 2),
        "earlier_seconds": round(earlier, 2),
        "text": answer.text,
        "commands": answer.commands,
        "tables": answer.tables,
        "images": [str(_image_path(p, folder)) for p in answer.images],
        "metrics": answer.metrics,
        "verdicts": [v.as_dict() for v in answer.verdicts],
        "key_result": answer.key_result,
        "error": error,
        "finished": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "source": source_version(),
    }
    write_json_atomic(cache, record)
    if ok and results is not None:
        export_answer(record, results)
    return record


def _image_path(path: Path | str, folder: Path) -> Path:
    """An answer's image path: as given if it exists (absolute or from the cwd), else in folder."""
    path = Path(path)
    return (path if path.exists() else folder / path).resolve()


@contextlib.contextmanager
def only_writer(folder: Path) -> Iterator[None]:
    """Hold `folder`'s lock while writing into it; another holder means a one-line error.

    The lock (`fcntl.flock` on `folder/.reproduce.lock`) is released by the system when the
    process ends, however it ends, so a killed reproduce never leaves a stale lock behind.
    """
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".reproduce.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"{folder}: another neurallab reproduce is writing here; wait for it to end "
                "or give this one another --out/--results"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def published(q: Question, mode: str, budget: Budget) -> dict | None:
    """The committed answer of `q` at `mode` ("quick"/"full") in `results/<mode>`, if any."""
    other = dataclasses.replace(budget, quick=mode == "quick")
    return read_answer(
        PUBLISHED / mode / q.handout / slug(q.qid) / "answer.json", config_key(q, other)
    )


def published_timing(q: Question, mode: str) -> dict | None:
    """The committed answer of `q` at `mode`, whatever code made it: for its wall time only (a
    time measured by older code is still the best guess of how long the question takes)."""
    path = PUBLISHED / mode / q.handout / slug(q.qid) / "answer.json"
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    same = (record.get("handout"), record.get("qid"), record.get("quick"))
    return record if record.get("ok") and same == (q.handout, q.qid, mode == "quick") else None


def estimate(todo: list[Question], mode: str, budget: Budget) -> str:
    """How long `todo` should take: measured wall times where published, else each question's
    own guess; the sentence says which, and on what machine they were measured."""
    measured, guessed, machines = 0.0, 0.0, set()
    n_measured = 0
    for q in todo:
        record = published_timing(q, mode)
        if record is not None and record.get("machine"):
            measured += record["seconds"]
            machines.add(record["machine"])
            n_measured += 1
        else:
            guessed += q.seconds_quick if mode == "quick" else q.seconds_full
    total = measured + guessed
    amount = f"{total / 60:.1f} min" if total < 5400 else f"{total / 3600:.1f} h"
    if n_measured == 0:
        return f"estimated {amount} on a 2-core CPU (each question's own guess)"
    where = "; ".join(sorted(machines))
    source = f"{n_measured} of {len(todo)} questions timed in {PUBLISHED / mode} on {where}"
    if guessed:
        source += f", the other {len(todo) - n_measured} guessed"
    return f"estimated {amount} ({source})"


def reproduce(
    target: str,
    budget: Budget,
    *,
    out: Path,
    report: Path,
    only: str | None = None,
    docs: Path | None = None,
    report_only: bool = False,
    force: bool = False,
    results: Path | None = None,
) -> int:
    """Answer the questions of handout `target` (or "all") and write the report; 1 if any failed.

    `only` keeps the questions with that id; `report_only` runs nothing and reports the answers
    already finished in `out` (or `results`); `force` re-runs finished answers; `results` is a
    folder to copy finished answers into and reuse them from (see the module docstring).
    """
    from neurallab.report.render import write_html, write_markdown

    todo = select(questions(target), only, target)
    _check_places(out=out, report=report, results=results, docs=docs)
    source_version()  # the commit this process runs, before any checkout can move on
    mode = "quick" if budget.quick else "full"
    count = f"{len(todo)} question{'s' * (len(todo) != 1)}"
    print(f"reproduce {target} --{mode}: {count}, {estimate(todo, mode, budget)}")
    records, started = [], time.perf_counter()
    # Two reproduces writing the same runs or results would interleave their runs: one at a time.
    folders = [] if report_only else [out / mode, *([results] if results else [])]
    with contextlib.ExitStack() as locks:
        for folder in folders:
            locks.enter_context(only_writer(folder))
        for i, q in enumerate(todo, 1):
            folder = out / mode / q.handout / slug(q.qid)
            kept = results / q.handout / slug(q.qid) if results else None
            if report_only:
                record = cached_answer(q, budget, folder, kept)
            else:
                record = answer_question(q, budget, folder, force, kept)
            status = "ok" if record["ok"] else "not run yet" if record.get("not_run") else "FAILED"
            print(
                f"[{i}/{len(todo)}] {q.handout} {q.qid}: {status} "
                f"({record['seconds']:.1f} s) {q.title}",
                flush=True,
            )
            if not record["ok"] and not record.get("not_run"):
                print(record["error"].strip().splitlines()[-1], flush=True)
            records.append(record)
    if report_only and not any(r["ok"] for r in records):  # an empty report replaces nothing
        where = f"{out / mode}" + (f" or {results}" if results else "")
        raise UserError(f"no finished answer of {target} in {where}: no report written")
    wall = None if report_only else time.perf_counter() - started
    versus = versus_table(todo, records, mode, budget)
    command = shlex.join(
        ["neurallab", "reproduce", target, f"--{mode}"]
        + (["--only", only] if only else [])
        + (["--report_only"] if report_only else [])
    )
    html = write_html(records, report, mode, wall, versus, command)
    write_markdown(records, report / "report.md", report / "img", mode, wall, versus, command)
    if docs:
        write_markdown(records, docs, docs.with_suffix(""), mode, wall, versus, command)
    failed = [r for r in records if not r["ok"] and not r.get("not_run")]
    took = "" if wall is None else f" in {wall / 60:.1f} min"
    answered = sum(bool(r["ok"]) for r in records)
    print(f"{answered}/{len(records)} questions answered{took}")
    print(f"report: {html.resolve()}")
    return 1 if failed else 0


def _check_places(*, out: Path, report: Path, results: Path | None, docs: Path | None) -> None:
    """Refuse, before any work, a folder argument that names a file or a Markdown file that
    names a folder: found only when the report is written, it would cost the whole run."""
    for flag, folder in (("--out", out), ("--report", report), ("--results", results)):
        if folder is not None and folder.exists() and not folder.is_dir():
            raise UserError(f"{flag} {folder}: is a file, not a folder")
    if docs is not None and docs.is_dir():
        raise UserError(f"--docs {docs}: is a folder, not a Markdown file to write")


def versus_table(todo: list[Question], records: list[dict], mode: str, budget: Budget) -> str:
    """The quick-vs-full table: this run's verdicts against the other budget's published ones."""
    other = "full" if mode == "quick" else "quick"
    mine = {(r["handout"], r["qid"]): r for r in records}
    theirs, answered = [], 0
    for q in todo:
        record = published(q, other, budget)
        answered += record is not None
        theirs.append(record or {"handout": q.handout, "qid": q.qid, "ok": False})
    ours = [mine[(q.handout, q.qid)] for q in todo]
    quick, full = (ours, theirs) if mode == "quick" else (theirs, ours)
    note = (
        f"The {other} verdicts are the answers published in `{PUBLISHED / other}` "
        f"({answered} of {len(todo)} questions answered there so far)."
    )
    return note + "\n\n" + budget_table(quick, full)
