"""`neurallab notebooks [HANDOUT ...] [--html] [--reuse_only]`: the handout notebooks, executed.

The notebooks' source of truth is `notebooks/<handout>.py` (jupytext percent format, no
outputs). This runs every cell of each in a fresh kernel and writes `<out>/<handout>.ipynb`
with its outputs (and `<out>/<handout>.html` with `--html`), printing each cell as it
finishes. Questions reuse the answers `neurallab reproduce` finished, so after the README's
set-up the notebooks take a minute or two; a question without one is answered first (quick
budget), unless `--reuse_only`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neurallab.errors import UserError
from neurallab.experiments.notebook import HANDOUT_NOTEBOOKS, execute, notebook_sources
from neurallab.flags import positive_int

COMMAND = "notebooks"
HELP = "execute the handout notebooks (notebooks/*.py) and write them with their outputs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "handouts",
        nargs="*",
        metavar="HANDOUT",
        help=f"which notebooks ({', '.join(HANDOUT_NOTEBOOKS)}; default: all)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("runs/notebooks"), help="where the executed ones go"
    )
    parser.add_argument("--html", action="store_true", help="also render each to HTML")
    parser.add_argument(
        "--reuse_only",
        action="store_true",
        help="train nothing: a question without a finished answer is shown as not run yet",
    )
    parser.add_argument(
        "--timeout", type=positive_int, default=3600, help="seconds one cell may take"
    )


def run(args: argparse.Namespace) -> int:
    sources = notebook_sources()
    chosen = args.handouts or list(HANDOUT_NOTEBOOKS)
    for handout in chosen:
        if handout not in HANDOUT_NOTEBOOKS:
            raise UserError(f"no notebook {handout!r}; choose from {', '.join(HANDOUT_NOTEBOOKS)}")
    failed = []
    for i, handout in enumerate(chosen, 1):
        print(f"[{i}/{len(chosen)}] {sources[handout].name}: executing", flush=True)
        result = execute(
            sources[handout],
            args.out,
            html=args.html,
            reuse_only=args.reuse_only,
            timeout=args.timeout,
            progress=lambda line: print("  " + line, flush=True),
        )
        written = ", ".join(str(p) for p in (result["ipynb"], result["html"]) if p)
        status = f"FAILED: {result['error']}" if result["error"] else "ok"
        print(f"[{i}/{len(chosen)}] {handout}: {status} ({result['seconds']:.1f} s) -> {written}")
        if result["error"]:
            failed.append(handout)
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}")
    return 1 if failed else 0
