"""The HTML report, loaded from disk in a real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from neurallab.report.render import markdown_to_html, write_html, write_markdown  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _record(tmp_path, handout, qid, n_images):
    images = []
    for i in range(n_images):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [i, 1 - i])
        path = tmp_path / f"{handout}-{qid}-{i}.png"
        fig.savefig(path)
        plt.close(fig)
        images.append(str(path))
    return {
        "handout": handout,
        "qid": qid,
        "title": f"title of {qid}",
        "seed": 0,
        "device": "cpu",
        "seconds": 1.5,
        "ok": True,
        "commands": ["neurallab toy"],
        "text": "**bold** and `code`",
        "tables": ["| a | b |\n|---|---|\n| 1 | 2 |"],
        "images": images,
    }


def _load_in_chromium(page, tmp_path) -> str:
    out = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_report_loads_in_chromium_with_every_image_and_section(tmp_path):
    records = [_record(tmp_path, "hw3", "P1", 2), _record(tmp_path, "hw4", "Ex5", 1)]
    page = write_html(records, tmp_path / "report", "quick", 12.0)
    dom = _load_in_chromium(page, tmp_path)
    assert 'data-images-ok="3"' in dom and 'data-images-broken="0"' in dom
    assert len(re.findall(r'<section id="[^"]+" class="question">', dom)) == 2
    assert 'id="hw3-p1"' in dom and 'id="hw4-ex5"' in dom

    # The check can fail: a figure missing from the report folder is counted as broken.
    next((tmp_path / "report" / "img").glob("hw4-ex5-*.png")).unlink()
    dom = _load_in_chromium(page, tmp_path)
    assert 'data-images-ok="2"' in dom and 'data-images-broken="1"' in dom


def test_markdown_report_links_copied_images(tmp_path):
    records = [_record(tmp_path, "hw3", "P1", 1)]
    md = write_markdown(
        records, tmp_path / "docs" / "results.md", tmp_path / "docs" / "results", "quick", 3.0
    )
    text = md.read_text()
    link = re.search(r"!\[[^\]]*\]\(([^)]+)\)", text).group(1)
    assert (md.parent / link).exists()
    assert "```sh\nneurallab toy\n```" in text


def test_markdown_subset_to_html():
    html = markdown_to_html("a **b** `c<d>`\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n- one\n- two")
    assert "<strong>b</strong>" in html and "<code>c&lt;d&gt;</code>" in html
    assert "<th>x</th>" in html and "<td>2</td>" in html and "<li>two</li>" in html


def test_reproduce_hw4_end_to_end_then_reuses_answers(tmp_path, monkeypatch):
    """The real main job on one handout: every question answered, report written, and a
    second call reuses the cached answers instead of training again."""
    import json

    from neurallab.cli import main

    monkeypatch.chdir(tmp_path)
    argv = ["reproduce", "hw4", "--quick", "--out", "out", "--report", "report"]
    assert main(argv) == 0
    answers = sorted((tmp_path / "out" / "quick" / "hw4").glob("*/answer.json"))
    records = [json.loads(p.read_text()) for p in answers]
    assert [r["qid"] for r in records] == ["Ex1", "Ex2", "Ex3", "Ex4", "Ex5", "Ungraded"]
    assert all(r["ok"] and r["verdicts"] and r["key_result"] for r in records)
    ex5 = records[4]
    assert (
        ex5["metrics"]["fresh_inits"] >= 3
        and 0 <= ex5["metrics"]["fresh_below_target"] <= ex5["metrics"]["fresh_inits"]
    )
    # Reuse, not retraining: the second call leaves every answer and every run untouched.
    touched = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*.json")}
    assert main(argv) == 0
    assert {p: p.stat().st_mtime_ns for p in touched} == touched, (
        "finished questions must be reused"
    )
    page = tmp_path / "report" / "index.html"
    if CHROMIUM is not None:
        dom = _load_in_chromium(page, tmp_path)
        images = sum(len(r["images"]) for r in records)
        assert 'data-images-broken="0"' in dom and f'data-images-ok="{images}"' in dom
        assert len(re.findall(r'class="question"', dom)) == 6


def test_results_folder_keeps_answers_for_later_sessions_and_feeds_quick_vs_full(
    tmp_path, monkeypatch, capsys
):
    """A results folder (committable: answers and plots, no checkpoints) receives every finished
    answer; a later reproduce with an empty run folder reuses it instead of running, its
    measured wall time becomes the estimate, and the other budget's published verdicts fill
    the quick-vs-full table."""
    import json

    from neurallab.cli import main
    from neurallab.experiments.base import Budget
    from neurallab.experiments.reproduce import config_key, questions

    monkeypatch.chdir(tmp_path)
    common = ["reproduce", "hw4", "--quick", "--only", "Ex2", "--report", "report"]
    assert main([*common, "--out", "first", "--results", "results/quick"]) == 0
    kept = tmp_path / "results" / "quick" / "hw4" / "ex2" / "answer.json"
    record = json.loads(kept.read_text())
    assert record["ok"] and record["machine"] and record["finished"]
    assert not list((tmp_path / "results").rglob("*.pt"))

    # Publish a made-up full answer whose verdict is the opposite of the quick one.
    ex2 = next(q for q in questions("hw4") if q.qid == "Ex2")
    flipped = {"agrees": "disagrees", "disagrees": "agrees"}
    full = {
        **record,
        "key": config_key(ex2, Budget(quick=False)),
        "verdicts": [
            {**v, "outcome": flipped.get(v["outcome"], v["outcome"])} for v in record["verdicts"]
        ],
    }
    published_full = tmp_path / "results" / "full" / "hw4" / "ex2" / "answer.json"
    published_full.parent.mkdir(parents=True)
    published_full.write_text(json.dumps(full))

    capsys.readouterr()
    before = kept.stat().st_mtime_ns
    assert main([*common, "--out", "second", "--results", "results/quick"]) == 0
    printed = capsys.readouterr().out
    assert "1 of 1 questions timed in results/quick" in printed
    assert kept.stat().st_mtime_ns == before
    assert not list((tmp_path / "second").rglob("answer.json")), "reused, not run again"
    report = (tmp_path / "report" / "report.md").read_text()
    assert "Quick vs full" in report and "| no |" in report
    assert "0 of 1 verdicts the same at both budgets" in report


def test_a_second_reproduce_on_the_same_folders_refuses_on_one_line(tmp_path, monkeypatch, capsys):
    """Two reproduces writing one results folder would interleave their runs: the second one
    stops with a one-line error naming the folder, and writes nothing."""
    from neurallab.cli import main
    from neurallab.experiments.reproduce import only_writer

    monkeypatch.chdir(tmp_path)
    argv = ["reproduce", "hw4", "--quick", "--only", "Ex4", "--out", "out", "--report", "r"]
    with only_writer(tmp_path / "results" / "quick"):
        code = main([*argv, "--results", "results/quick"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "results/quick" in err[0] and "another" in err[0]
    assert not (tmp_path / "out" / "quick" / "hw4").exists()
    assert not (tmp_path / "results" / "quick" / "hw4").exists()
    assert main([*argv, "--results", "results/quick"]) == 0  # once the lock is released


# -- an answer's reuse key: what decides the answer, the code that computes it included ----

QUESTION_MODULE = """
from neurallab.experiments.base import Answer

CALLS = []


def answer(budget, folder):
    CALLS.append((budget.seed, budget.quick, budget.device))
    return Answer(text="measured {VERSION}", metrics={"calls": len(CALLS)})
"""


def _question_module(tmp_path, monkeypatch, version: int):
    import importlib
    import sys

    (tmp_path / "fake_question.py").write_text(QUESTION_MODULE.replace("{VERSION}", str(version)))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("fake_question", None)
    importlib.invalidate_caches()
    return importlib.import_module("fake_question")


def test_the_answer_key_changes_with_seed_budget_device_and_code_and_forces_a_rerun(
    tmp_path, monkeypatch
):
    from neurallab.experiments import reproduce as rp
    from neurallab.experiments.base import Budget, Question

    module = _question_module(tmp_path, monkeypatch, version=1)
    q = Question("hw4", "Fake", "a made-up question", module.answer)
    folder, base = tmp_path / "answer", Budget(quick=True, seed=5, device="cpu")

    def answered(budget) -> int:
        record = rp.answer_question(q, budget, folder, force=False)
        assert record["ok"] and record["key"] == rp.config_key(q, budget)
        return len(module.CALLS)

    assert answered(base) == 1
    assert answered(base) == 1, "the same configuration is reused, not re-run"
    keys = {rp.config_key(q, base)}
    for changed in (
        Budget(quick=True, seed=6, device="cpu"),
        Budget(quick=False, seed=5, device="cpu"),
        Budget(quick=True, seed=5, device="cuda"),
        Budget(quick=True, seed=5, device="cpu", overrides={"lr": 0.1}),
        Budget(quick=True, seed=5, device="cpu", n_seeds=2),
    ):
        before = len(module.CALLS)
        keys.add(rp.config_key(q, changed))
        assert answered(changed) == before + 1, f"{changed} reused another configuration"
    assert len(keys) == 6

    # Changed code that computes the answer: a new key, and the old answer is not reused
    # (a new process reads the code anew; here the cache of the hash is cleared instead).
    old_key = rp.config_key(q, base)
    module = _question_module(tmp_path, monkeypatch, version=2)
    q = Question("hw4", "Fake", "a made-up question", module.answer)
    rp._source_hash.cache_clear()
    assert rp.config_key(q, base) != old_key
    assert rp.finished_answer(rp.config_key(q, base), folder, None) is None
    record = rp.answer_question(q, base, folder, force=False)
    assert record["text"] == "measured 2" and module.CALLS == [(5, True, "cpu")]


def test_the_key_covers_the_programs_and_the_statistics(monkeypatch):
    from neurallab.experiments import base

    covered = {str(p.relative_to(base.PACKAGE)) for p in base._answer_code()}
    for name in ("programs/mnist.py", "engine/loop.py", "models/cifar.py", "data/images.py"):
        assert name in covered
    assert {"experiments/stats.py", "experiments/verdict.py", "tasks/txt.py"} <= covered
    # the commands that only drive or show answers are not part of any answer's key
    assert not {"tasks/reproduce.py", "tasks/notebooks.py"} & covered


def test_a_stale_answer_is_neither_reused_nor_published(tmp_path):
    """An answer.json made under another key (older code, another seed) is not read back,
    from the run folder or from a results folder."""
    import json

    from neurallab.experiments import reproduce as rp

    for where in ("runs", "results"):
        path = tmp_path / where / "answer.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"key": "old-key", "ok": True, "images": []}))
    assert rp.read_answer(tmp_path / "runs" / "answer.json", "old-key") is not None
    assert rp.read_answer(tmp_path / "runs" / "answer.json", "new-key") is None
    assert rp.finished_answer("new-key", tmp_path / "runs", tmp_path / "results") is None


def test_the_not_run_yet_hint_answers_the_question_where_the_report_reads_it(tmp_path, monkeypatch):
    """`--report_only` lists an unanswered question with the command that answers it; run as
    printed, from where the user is, it fills the folders the report reads."""
    import shlex

    from neurallab import commands
    from neurallab.experiments import reproduce as rp
    from neurallab.experiments.base import Question

    module = _question_module(tmp_path, monkeypatch, version=1)
    fake = [Question("hw4", qid, "made up", module.answer) for qid in ("Done", "§9 Later")]
    monkeypatch.setattr(rp, "questions", lambda target: fake)
    monkeypatch.chdir(tmp_path)
    common = ["reproduce", "hw4", "--quick", "--seed", "3", "--out", "my runs", "--report", "r"]
    # Nothing finished: no report is written over an existing one.
    assert commands.run([*common, "--report_only"]) == 1 and not (tmp_path / "r").exists()
    assert commands.run([*common, "--only", "done", "--results", "pub"]) == 0
    assert commands.run([*common, "--report_only", "--results", "pub"]) == 0
    report = (tmp_path / "r" / "report.md").read_text()
    hint = next(line for line in report.splitlines() if "Not run yet" in line)
    command = hint.split("`")[1]
    assert command.startswith("neurallab reproduce hw4 --quick --only ")
    assert commands.run(shlex.split(command)[1:]) == 0
    assert len(module.CALLS) == 2
    assert commands.run([*common, "--report_only", "--results", "pub"]) == 0
    assert "Not run yet" not in (tmp_path / "r" / "report.md").read_text()
    assert (tmp_path / "pub" / "hw4" / "9-later" / "answer.json").exists()
