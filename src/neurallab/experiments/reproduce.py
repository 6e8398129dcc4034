"""Every handout question, then one report: what `neurallab reproduce` runs.

Each question's answer is cached in `<out>/<mode>/<handout>/<question>/answer.json`, keyed by
its full configuration: re-running reuses finished answers unless forced, so an interrupted
reproduce resumes where it stopped. The report goes to `<report>/` (`index.html` and
`report.md`), and also to `docs` as Markdown when given.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import re
import time
import traceback
from pathlib import Path

from neurallab.experiments.base import Answer, Budget, Question

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


def questions(target: str) -> list[Question]:
    found = []
    for name in MODULES:
        # A missing or broken question module is an error: a report silently missing a
        # handout's questions would look complete.
        found += list(importlib.import_module(f"neurallab.experiments.{name}").QUESTIONS)
    found.sort(key=lambda q: HANDOUTS.index(q.handout))  # stable: keeps module order within
    return [q for q in found if target in ("all", q.handout)]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def config_key(q: Question, budget: Budget) -> str:
    config = {
        "handout": q.handout,
        "qid": q.qid,
        "quick": budget.quick,
        "seed": budget.seed,
        "device": budget.device,
        "version": ANSWER_VERSION,
    }
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def cached_answer(q: Question, budget: Budget, folder: Path) -> dict:
    """The finished answer in `folder` for this configuration, or a 'not run yet' record."""
    cache = folder / "answer.json"
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("key") == config_key(q, budget) and cached.get("ok"):
            return cached
    return {
        "ok": False,
        "not_run": True,
        "handout": q.handout,
        "qid": q.qid,
        "title": q.title,
        "seeds": [],
        "device": budget.device,
        "seconds": 0.0,
        "text": "**Not run yet** in this results folder: `neurallab reproduce "
        f"{q.handout} --{'quick' if budget.quick else 'full'} --only '{q.qid}'` answers it.",
        "commands": [],
        "tables": [],
        "images": [],
        "metrics": {},
        "verdicts": [],
        "key_result": "",
        "error": "not run yet",
    }


def answer_question(q: Question, budget: Budget, folder: Path, force: bool) -> dict:
    """Run one question (or reuse its cached answer); never raises for a failing question."""
    cache = folder / "answer.json"
    key = config_key(q, budget)
    budget = dataclasses.replace(budget, project=f"neurallab-{q.handout}", runs=[])
    if cache.exists() and not force:
        cached = json.loads(cache.read_text())
        if cached.get("key") == key and cached.get("ok"):
            return cached
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        answer = q.run(budget, folder)
        ok, error = True, None
    except Exception as exc:  # a failed question is reported, and the others still run
        answer = Answer(text=f"**This question failed:** `{type(exc).__name__}: {exc}`")
        ok, error = False, traceback.format_exc()
    record = {
        "key": key,
        "ok": ok,
        "handout": q.handout,
        "qid": q.qid,
        "title": q.title,
        "seeds": budget.seeds_used,
        "device": budget.device,
        "quick": budget.quick,
        "seconds": round(time.perf_counter() - started, 2),
        "text": answer.text,
        "commands": answer.commands,
        "tables": answer.tables,
        "images": [str(_image_path(p, folder)) for p in answer.images],
        "metrics": answer.metrics,
        "verdicts": [v.as_dict() for v in answer.verdicts],
        "key_result": answer.key_result,
        "error": error,
    }
    cache.write_text(json.dumps(record, indent=1, default=str))
    return record


def _image_path(path: Path | str, folder: Path) -> Path:
    """An answer's image path: as given if it exists (absolute or from the cwd), else in folder."""
    path = Path(path)
    return (path if path.exists() else folder / path).resolve()


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
) -> int:
    """Answer the questions of handout `target` (or "all") and write the report; 1 if any failed.

    `only` keeps the questions with that id; `report_only` runs nothing and reports the answers
    already finished in `out`; `force` re-runs finished answers.
    """
    from neurallab.report.render import write_html, write_markdown

    todo = [q for q in questions(target) if only is None or only == q.qid]
    mode = "quick" if budget.quick else "full"
    planned = sum(q.seconds_quick if budget.quick else q.seconds_full for q in todo)
    print(
        f"reproduce {target} --{mode}: {len(todo)} questions, "
        f"estimated {planned / 60:.1f} min on a 2-core CPU"
    )
    records, started = [], time.perf_counter()
    for i, q in enumerate(todo, 1):
        folder = out / mode / q.handout / slug(q.qid)
        if report_only:
            record = cached_answer(q, budget, folder)
        else:
            record = answer_question(q, budget, folder, force)
        status = "ok" if record["ok"] else "not run yet" if record.get("not_run") else "FAILED"
        print(
            f"[{i}/{len(todo)}] {q.handout} {q.qid}: {status} ({record['seconds']:.1f} s) {q.title}",
            flush=True,
        )
        if not record["ok"] and not record.get("not_run"):
            print(record["error"].strip().splitlines()[-1], flush=True)
        records.append(record)
    wall = None if report_only else time.perf_counter() - started
    html = write_html(records, report, mode, wall)
    write_markdown(records, report / "report.md", report / "img", mode, wall)
    if docs:
        write_markdown(records, docs, docs.parent / "results", mode, wall)
    failed = [r for r in records if not r["ok"] and not r.get("not_run")]
    took = "" if wall is None else f" in {wall / 60:.1f} min"
    answered = sum(bool(r["ok"]) for r in records)
    print(f"{answered}/{len(records)} questions answered{took}")
    print(f"report: {html.resolve()}")
    return 1 if failed else 0
