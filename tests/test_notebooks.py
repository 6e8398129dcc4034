"""The handout notebooks: every question has a section, every notebook executes headless,
and the rendered pages load in a real headless Chromium with every image.

The notebooks are executed once per test session (`executed`), at the quick budget with
`--reuse_only` semantics: each question shows the answer `neurallab reproduce` finished (CI
runs the README's set-up, `reproduce all --quick`, first), else the one published in
`results/quick`, else "not run yet" — nothing is trained, so the default run stays at a couple
of minutes on any machine. The slow test executes them letting missing answers be made.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from neurallab.errors import UserError
from neurallab.experiments import notebook, reproduce
from neurallab.experiments.base import Answer, Budget, Question

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SOURCES = notebook.notebook_sources(ROOT)


def asked(source: Path) -> list[tuple[str, str]]:
    """The (handout, question) of every `ask(...)` call in a notebook's source."""
    return re.findall(r'^ask\("([^"]+)", "([^"]+)"', source.read_text(), re.M) + re.findall(
        r'^\w+ = ask\("([^"]+)", "([^"]+)"', source.read_text(), re.M
    )


@pytest.mark.parametrize("handout", list(SOURCES))
def test_every_question_has_its_section_in_order(handout):
    """Static: the notebook asks every question reproduce declares, once, in handout order."""
    expected = [(q.handout, q.qid) for q in reproduce.questions(handout)]
    found = asked(SOURCES[handout])
    assert sorted(found) == sorted(expected), f"{SOURCES[handout].name}: {found}"
    text = SOURCES[handout].read_text()
    positions = [
        re.search(rf'^(\w+ = )?ask\("{h}", "{re.escape(qid)}"', text, re.M).start()
        for h, qid in expected
    ]
    assert positions == sorted(positions), "sections out of the handout's order"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Every notebook executed (reuse only) into one folder, with its HTML."""
    out = tmp_path_factory.mktemp("notebooks")
    return {
        handout: notebook.execute(source, out, html=True, reuse_only=True, progress=lambda _: 0)
        for handout, source in SOURCES.items()
    }


def shown(ipynb: Path) -> dict[str, str]:
    """'hw3 P1' -> the status its answer was shown with, from the executed notebook's outputs."""
    found = {}
    for cell in json.loads(ipynb.read_text())["cells"]:
        for output in cell.get("outputs", []):
            page = "".join(output.get("data", {}).get("text/html", ""))
            for question, status in re.findall(
                r'class="neurallab-answer" data-question="([^"]+)" data-status="([^"]+)"', page
            ):
                found[question] = status
    return found


@pytest.mark.parametrize("handout", list(SOURCES))
def test_notebook_executes_and_shows_every_question(executed, handout):
    result = executed[handout]
    assert result["error"] is None, f"{handout}: {result['error']}"
    statuses = shown(result["ipynb"])
    root = notebook.project_root(ROOT)
    for q in reproduce.questions(handout):
        question = f"{q.handout} {q.qid}"
        assert question in statuses, f"{question}: no answer shown in {result['ipynb']}"
        spot = notebook.place(q, Budget(quick=True), root)
        # A finished answer that exists must be the one shown; none may show as failed.
        has = notebook.finished(q, Budget(quick=True), spot, root) is not None
        assert statuses[question] == ("ok" if has else "not run yet"), question


def test_hw4_notebook_replays_the_handouts_draws(executed):
    """The notebook's own Ex5 loop, from the handout's seed and draws in order, ends where
    reproduce's initialisation 0 ended (when that answer is there to compare with)."""
    cells = json.loads(executed["hw4"]["ipynb"].read_text())["cells"]
    text = "".join(
        "".join(o.get("text", "")) for c in cells for o in c.get("outputs", []) if "text" in o
    )
    line = re.search(r"this loop: ([0-9.]+); reproduce's initialisation 0: ([0-9.na]+)", text)
    assert line, "the Ex5 comparison line is missing"
    if line.group(2) != "nan":
        assert abs(float(line.group(1)) - float(line.group(2))) < 1e-4


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
@pytest.mark.parametrize("handout", list(SOURCES))
def test_rendered_notebook_loads_in_chromium_with_every_image(executed, handout, tmp_path):
    page = executed[handout]["html"]
    images = page.read_text().count("<img ")
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
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert f'data-images-ok="{images}"' in out.stdout, re.findall(
        r"data-images-\w+=\S+", out.stdout
    )
    assert 'data-images-broken="0"' in out.stdout


# -- ask(), without a kernel ----------------------------------------------------------------------


def test_unknown_question_names_the_handouts_questions():
    with pytest.raises(UserError, match="hw4 has no question 'Ex9'.*Ex1, Ex2"):
        notebook.question("hw4", "Ex9")
    with pytest.raises(UserError, match="choose one of"):
        notebook.question("hw9", "Ex1")


def test_answer_is_made_once_then_reused_and_changes_go_elsewhere(tmp_path, monkeypatch):
    """A missing answer is made (reproduce's answer_question) where reproduce keeps it, then
    reused untouched; a changed setting makes another answer, under runs/reproduce-changed/."""
    monkeypatch.delenv(notebook.REUSE_ONLY, raising=False)
    first = notebook.answer("hw0", "Q2.1", root=tmp_path)
    assert first["ok"] and first["shown_from"].startswith("answered now")
    made = tmp_path / "runs/reproduce/quick/hw0/q2-1/answer.json"
    stamp = made.stat().st_mtime_ns
    again = notebook.answer("hw0", "Q2.1", root=tmp_path)
    assert again["shown_from"] == "reused: runs/reproduce/quick/hw0/q2-1"
    assert made.stat().st_mtime_ns == stamp and again["text"] == first["text"]

    changed = notebook.answer("hw0", "Q2.1", root=tmp_path, n_seeds=1, lr=0.5)
    assert (tmp_path / "runs/reproduce-changed/lr-0p5-seeds-1/quick/hw0/q2-1/answer.json").exists()
    assert made.stat().st_mtime_ns == stamp
    assert changed["unapplied"] == ["lr"]  # Q2.1 trains nothing: the change is reported
    view = notebook.AnswerView(changed)._repr_html_()
    assert "Not applied:</strong> lr" in view and 'data-status="ok"' in view

    monkeypatch.setenv(notebook.REUSE_ONLY, "1")
    missing = notebook.answer("hw0", "Q2.2", root=tmp_path)
    assert missing["not_run"] and not (tmp_path / "runs/reproduce/quick/hw0/q2-2").exists()


def test_answers_from_the_root_with_reproduces_relative_folders(tmp_path, monkeypatch):
    """A notebook runs in notebooks/; its questions must run as reproduce runs them, from the
    root with relative folders, since a run's command (its reuse key) names its folder."""
    seen = {}

    def run(budget, folder):
        seen.update(cwd=Path.cwd(), folder=folder, overrides=budget.overrides)
        return Answer(text="done", commands=[f"neurallab toy --lr 0.5 --run_dir {folder}"])

    fake = Question("hw4", "Ex1", "fake", run)
    monkeypatch.setattr(notebook, "question", lambda handout, qid: fake)
    monkeypatch.delenv(notebook.REUSE_ONLY, raising=False)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    record = notebook.answer("hw4", "Ex1", root=tmp_path, lr=0.5, epochs=2)
    assert seen["cwd"] == tmp_path and Path.cwd() == tmp_path / "notebooks"
    assert seen["folder"] == Path("runs/reproduce-changed/epochs-2-lr-0p5/quick/hw4/ex1")
    assert seen["overrides"] == {"lr": 0.5, "epochs": 2}
    assert record["unapplied"] == ["epochs"]


def test_published_answer_is_shown_with_its_plots_embedded(tmp_path):
    """With no run folder, the answer published in results/quick is shown (read only), its
    plots embedded in the HTML so a saved notebook carries them."""
    q = notebook.question("hw4", "Ex5")
    published = ROOT / "results/quick/hw4/ex5/answer.json"
    record = reproduce.read_answer(published, reproduce.config_key(q, Budget(quick=True)))
    if record is None:
        pytest.skip("results/quick holds no answer of this answer version for hw4 Ex5")
    shutil.copytree(ROOT / "results/quick/hw4/ex5", tmp_path / "results/quick/hw4/ex5")
    view = notebook.ask("hw4", "Ex5", root=tmp_path)
    assert view.record["shown_from"] == "published: results/quick/hw4/ex5"
    page = view._repr_html_()
    assert page.count('src="data:image/png;base64,') == len(record["images"]) > 0
    assert "Verdict:" in page and "neurallab toy" in page


def test_answering_leaves_the_notebooks_random_streams_alone():
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    with notebook.kept_random_state():
        torch.manual_seed(123)
        random.seed(123)
        np.random.seed(123)
        torch.rand(3)
    after = (torch.rand(1).item(), random.random(), np.random.rand())
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    assert after == (torch.rand(1).item(), random.random(), np.random.rand())


@pytest.mark.slow
def test_notebooks_command_answers_what_is_missing(tmp_path):
    """The whole thing, as a student runs it: `neurallab notebooks --html`, answering every
    question that has no finished answer at the quick budget (13 min on a 2-core CPU if none)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop(notebook.REUSE_ONLY, None)
    out = subprocess.run(
        [sys.executable, "-m", "neurallab.cli", "notebooks", "--html", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for source in SOURCES.values():
        statuses = shown(tmp_path / f"{source.stem}.ipynb")
        assert statuses and set(statuses.values()) == {"ok"}, statuses
