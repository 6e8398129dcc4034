"""What a notebook cell calls: one handout question answered, shown inline.

`ask("hw3", "P1")` finds the question in `reproduce.questions`, reuses its finished answer
exactly as `neurallab reproduce` does (the same cache key, the same folders), answers it with
`reproduce.answer_question` if there is none, and returns an `AnswerView` that Jupyter shows
as HTML: the question, the runs' commands, the reading, the verdicts, the tables and the
plots (embedded, so a saved notebook carries them).

Where a finished answer is looked for, in order:

1. `runs/reproduce/<quick|full>/<handout>/<question>/answer.json`: what `neurallab reproduce`
   (and so the README's set-up) wrote;
2. `results/<quick|full>/...`: the answers published in the repository (read only: a notebook
   never writes there).

A cell that changes settings (`ask("hw3", "P1", lr=3e-3, n_seeds=1)`) makes another answer
(the changes are part of its key), kept apart under `runs/reproduce-changed/<changes>/` so it never
replaces what reproduce made. With `NEURALLAB_NOTEBOOK_REUSE_ONLY=1` nothing is trained: a
missing answer is shown as not run yet (the tests and `neurallab notebooks --reuse_only` use
it to bound their time).
"""

from __future__ import annotations

import base64
import contextlib
import html
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurallab.errors import UserError
from neurallab.experiments import reproduce
from neurallab.experiments.base import Budget, Question

REUSE_ONLY = "NEURALLAB_NOTEBOOK_REUSE_ONLY"  # "1": show finished answers only, train nothing
# Jupyter's and nbconvert's styles reset <pre> inside outputs: commands keep their own look.
PRE = '<pre style="white-space:pre-wrap;font-family:monospace;font-size:85%;padding:6px;background:#f5f5f5">'
HANDOUT_NOTEBOOKS = {  # handout -> notebook file stem under notebooks/
    "hw0": "hw0",
    "hw3": "hw3",
    "hw4": "hw4",
    "hw7": "hw7",
    "cnn-rnn": "cnn_rnn",
}


def project_root(start: Path | None = None) -> Path:
    """The neurallab checkout holding `start` (default: the working directory), found by
    walking up to its pyproject.toml; the working directory itself outside a checkout.

    A notebook opened in Jupyter runs in `notebooks/`, reproduce runs at the root: both must
    find the same `runs/` and `results/`.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        toml = folder / "pyproject.toml"
        if toml.exists() and 'name = "neurallab"' in toml.read_text():
            return folder
    return here


def question(handout: str, qid: str) -> Question:
    """The question `qid` of `handout`, exactly as reproduce declares it."""
    if handout not in reproduce.HANDOUTS:
        raise UserError(f"handout {handout!r}: choose one of {', '.join(reproduce.HANDOUTS)}")
    found = reproduce.questions(handout)
    for q in found:
        if q.qid == qid:
            return q
    raise UserError(f"{handout} has no question {qid!r}; its questions: " + _qids(found))


def _qids(found: list[Question]) -> str:
    return ", ".join(q.qid for q in found)


def changes_tag(overrides: dict[str, Any], n_seeds: int | None) -> str:
    """A folder name for a notebook's changes, e.g. 'lr-0p003-seeds-1'."""
    parts = [f"{k}-{v}" for k, v in sorted(overrides.items())]
    parts += [f"seeds-{n_seeds}"] if n_seeds else []
    return reproduce.slug("_".join(parts).replace(".", "p")) or "defaults"


@dataclass
class Place:
    """Where one configuration of a question keeps its answer."""

    folder: Path  # the question's run folder (answer.json and its runs beside it)
    published: Path | None  # the committed answer's folder, for unchanged settings only
    lock: Path  # the folder reproduce locks while writing


def place(q: Question, budget: Budget, root: Path) -> Place:
    mode = "quick" if budget.quick else "full"
    changed = bool(budget.overrides or budget.n_seeds)
    out = root / "runs" / "reproduce-changed" / changes_tag(budget.overrides, budget.n_seeds)
    out = out if changed else root / "runs" / "reproduce"
    where = Path(mode) / q.handout / reproduce.slug(q.qid)
    published = None if changed else root / reproduce.PUBLISHED / where
    return Place(out / where, published, out / mode)


def answer(
    handout: str,
    qid: str,
    *,
    quick: bool = True,
    n_seeds: int | None = None,
    seed: int | None = None,
    device: str = "cpu",
    force: bool = False,
    root: Path | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The answer record of one question (reproduce's answer.json), reused or made now.

    `overrides` replace a setting in every run of the question (`lr=3e-3`); `n_seeds` the
    number of seeds; `force` answers again even if a finished answer exists. The record gets
    `shown_from` (where it came from) and `unapplied` (overrides no run's command shows).
    """
    q = question(handout, qid)
    root = root or project_root()
    budget = Budget(quick=quick, seed=seed, device=device, overrides=overrides, n_seeds=n_seeds)
    spot = place(q, budget, root)
    if not force:
        found = finished(q, budget, spot, root)
        if found is not None:
            return {**found, "unapplied": unapplied(overrides, found.get("commands", []))}
    if os.environ.get(REUSE_ONLY) == "1":
        missing = reproduce.cached_answer(q, budget, root / "nowhere")
        return {**missing, "shown_from": f"not run ({REUSE_ONLY}=1)"}
    mode = "quick" if quick else "full"
    guess = q.seconds_quick if quick else q.seconds_full
    print(
        f"answering {handout} {qid} at the {mode} budget (about {guess:.0f} s on a 2-core CPU); "
        f"runs go to {_relative(spot.folder, root)}",
        flush=True,
    )
    started = time.perf_counter()
    # From the root, with relative folders, as reproduce runs: a run's command (its reuse key)
    # names its folder, so a run another question of reproduce made is reused, not replaced.
    with working_directory(root), kept_random_state():
        with reproduce.only_writer(spot.lock.relative_to(root)):
            folder = spot.folder.relative_to(root)
            record = reproduce.answer_question(q, budget, folder, force)
    took = time.perf_counter() - started
    record = {**record, "shown_from": f"answered now in {took:.1f} s"}
    return {**record, "unapplied": unapplied(overrides, record.get("commands", []))}


@contextlib.contextmanager
def working_directory(folder: Path) -> Iterator[None]:
    """Run in `folder`, then go back (a notebook's kernel keeps its own directory)."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def kept_random_state() -> Iterator[None]:
    """Leave the notebook's random streams where they were: the runs seed Python, NumPy and
    torch for themselves, and the HW4 notebook's own draws must go on in the handout's order."""
    import random

    import numpy as np
    import torch

    python_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


def finished(q: Question, budget: Budget, spot: Place, root: Path) -> dict[str, Any] | None:
    """The finished answer of this configuration: reproduce's own, else the published one."""
    key = reproduce.config_key(q, budget)
    for label, folder in (("reused", spot.folder), ("published", spot.published)):
        record = reproduce.read_answer(folder / "answer.json", key) if folder else None
        if record is not None:
            return {**record, "shown_from": f"{label}: {_relative(folder, root)}"}
    return None


def unapplied(overrides: dict[str, Any], commands: list[str]) -> list[str]:
    """The overrides that no command of the answer shows (the question's programs lack them,
    or its runs are not yet built from settings): the reader must not believe they applied."""
    return [
        name
        for name in overrides
        if not any(re.search(rf"--({name}|{name.replace('_', '-')})(\s|=|$)", c) for c in commands)
    ]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def ask(handout: str, qid: str, **options: Any) -> AnswerView:
    """Answer one question (see `answer` for the options) and show it in the notebook."""
    return AnswerView(answer(handout, qid, **options))


class AnswerView:
    """One answer as a notebook shows it: HTML in Jupyter, plain text elsewhere.

    `.record` is reproduce's answer record; `.metrics` its headline numbers.
    """

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record

    @property
    def metrics(self) -> dict[str, Any]:
        return self.record.get("metrics", {})

    def status(self) -> str:
        r = self.record
        return "ok" if r.get("ok") else "not run yet" if r.get("not_run") else "failed"

    def _repr_html_(self) -> str:
        from neurallab.report.render import _meta, markdown_to_html, verdict_lines

        r = self.record
        title = f"{r['handout']} {r['qid']}: {r['title']}"
        parts = [
            f'<div class="neurallab-answer" data-question="{html.escape(title.split(":")[0])}"'
            f' data-status="{self.status()}">',
            f"<p><strong>{html.escape(title)}</strong> · {html.escape(r.get('shown_from', ''))}</p>",
        ]
        if r.get("ok"):
            parts.append(f"<p><small>{html.escape(_meta(r))}</small></p>")
        if r.get("unapplied"):
            parts.append(f"<p><strong>Not applied:</strong> {self._unapplied_text()}</p>")
        if r.get("commands"):
            parts.append(PRE + html.escape("\n".join(r["commands"])) + "</pre>")
        parts.append(markdown_to_html(r["text"]))
        parts += [markdown_to_html(v) for v in verdict_lines(r)]
        parts += [markdown_to_html(t) for t in r.get("tables", [])]
        parts += [_img_tag(Path(p), r["qid"]) for p in r.get("images", [])]
        if r.get("error") and not r.get("not_run"):
            last = r["error"].strip().splitlines()[-1]
            parts.append(f"{PRE}{html.escape(last)}</pre>")
        return "\n".join([*parts, "</div>"])

    def _unapplied_text(self) -> str:
        names = ", ".join(self.record["unapplied"])
        return (
            f"{names}: no run of this question shows it in its command (its programs do not "
            "have that setting, or the question does not yet build its runs from settings)"
        )

    def __repr__(self) -> str:
        from neurallab.report.render import verdict_lines

        r = self.record
        lines = [f"{r['handout']} {r['qid']}: {r['title']} [{r.get('shown_from', '')}]"]
        if r.get("unapplied"):
            lines.append("Not applied: " + self._unapplied_text())
        lines += [*r.get("commands", []), "", r["text"], *verdict_lines(r)]
        lines += [*r.get("tables", []), *(f"[image] {p}" for p in r.get("images", []))]
        return "\n".join(lines)


def _img_tag(path: Path, qid: str) -> str:
    """An embedded PNG: the saved notebook and its HTML carry the plot, not a path to it."""
    if not path.exists():
        return f"<p>(missing plot: {html.escape(str(path))})</p>"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(f"{qid} {path.stem}")
    return f'<img alt="{alt}" style="max-width:100%" src="data:image/png;base64,{data}">'


def overview(handout: str, quick: bool = True, root: Path | None = None) -> Summary:
    """The handout's summary table (key result, expectation, verdict per question) from the
    finished answers, as the report opens with it; nothing is run."""
    root = root or project_root()
    budget = Budget(quick=quick)
    records = []
    for q in reproduce.questions(handout):
        spot = place(q, budget, root)
        records.append(reproduce.cached_answer(q, budget, spot.folder, spot.published))
    return Summary(records)


@dataclass
class Summary:
    records: list[dict[str, Any]]

    def _repr_html_(self) -> str:
        from neurallab.report.render import markdown_to_html, summary_table

        # The report's links point at its own sections; here each question is a heading.
        return markdown_to_html(
            re.sub(r"\[([^\]]*)\]\(#[^)]*\)", r"\1", summary_table(self.records))
        )

    def __repr__(self) -> str:
        from neurallab.report.render import summary_table

        return summary_table(self.records)


# -- executing the notebooks (`neurallab notebooks`, the tests) ----------------------------------


def notebook_sources(root: Path | None = None) -> dict[str, Path]:
    """handout -> its notebook's source (`notebooks/<name>.py`, jupytext percent format)."""
    folder = (root or project_root()) / "notebooks"
    if not folder.is_dir():
        raise UserError(f"{folder}: not found; run this from a neurallab checkout")
    return {h: folder / f"{stem}.py" for h, stem in HANDOUT_NOTEBOOKS.items()}


def execute(
    source: Path,
    out_dir: Path,
    *,
    html: bool = False,
    reuse_only: bool = False,
    timeout: int = 1800,
    progress: Any = print,
) -> dict[str, Any]:
    """Run every cell of `source` in a fresh kernel, in its own folder as Jupyter would, and
    write `<out_dir>/<stem>.ipynb` with the outputs (and `<stem>.html` if `html`).

    Returns the paths, the wall time and the errors (a failing cell stops the notebook and
    is returned, not raised, so every notebook gets its turn).
    """
    try:
        import jupytext
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError as exc:
        raise UserError(
            f"the notebook tools are not installed ({exc.name}): pip install -e '.[notebooks]'"
        ) from None

    nb = jupytext.read(source)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]

    def on_complete(cell: Any, cell_index: int, **_: Any) -> None:
        if cell.cell_type == "code":
            progress(f"{source.stem}: cell {code.index(cell_index) + 1}/{len(code)} done")

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(source.parent)}},
        on_cell_complete=on_complete,
    )
    # The kernel inherits this process's environment: it imports the neurallab imported
    # here (a source checkout on PYTHONPATH included), and reuses answers only if asked to.
    package_parent = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
    started, error = time.perf_counter(), None
    with environment(PYTHONPATH=path, **({REUSE_ONLY: "1"} if reuse_only else {})):
        try:
            client.execute()
        except CellExecutionError as exc:
            lines = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
            error = lines[-1] if lines else repr(exc)
    seconds = time.perf_counter() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    ipynb = out_dir / f"{source.stem}.ipynb"
    import nbformat

    nbformat.write(nb, ipynb)
    page = write_html(nb, out_dir / f"{source.stem}.html") if html else None
    return {"ipynb": ipynb, "html": page, "seconds": seconds, "error": error}


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the duration (a kernel started inside inherits them)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


IMAGE_CHECK = """<script>
// Self-check for tests and readers: after loading, record how many figures rendered.
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.imagesOk = ok;
  document.body.dataset.imagesBroken = imgs.length - ok;
});
</script>"""


def write_html(nb: Any, path: Path) -> Path:
    """An executed notebook as one HTML page (nbconvert's lab template, images embedded),
    with the report's image self-check, so a browser test can count the plots that load."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    path.write_text(body.replace("</head>", IMAGE_CHECK + "\n</head>", 1))
    return path
