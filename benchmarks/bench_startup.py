"""Start-up: `neurallab --help` and `neurallab <command> --help` against `import torch`.

Whole processes, started alternately (import torch, neurallab, import torch, ...) so that
machine noise hits both alike; medians of the repeats. The goal is that asking for help costs
at most 1.2x what importing torch costs, i.e. a ratio (import seconds / help seconds) of at
least 1 / 1.2 = 0.83. Python's bytecode caches are on, as in a normal installation (torch's
are written when it is installed; the warm-up run writes neurallab's): this sandbox sets
PYTHONDONTWRITEBYTECODE=1, which would have neurallab compile its sources on every start
while torch does not.

    python benchmarks/run.py startup
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness import Benchmark
from neurallab import commands

PYTHON = sys.executable
SCRIPT = Path(PYTHON).with_name("neurallab")
NEURALLAB = [str(SCRIPT)] if SCRIPT.exists() else [PYTHON, "-m", "neurallab.cli"]
GOAL = 1 / 1.2


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _process(argv: list[str]):
    def start() -> None:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=ENV)

    return start


def _pair(*help_argv: str):
    def setup():
        return _process([PYTHON, "-c", "import torch"]), _process([*NEURALLAB, *help_argv])

    return setup


BENCHMARKS = [
    Benchmark(
        "start-up: neurallab --help",
        "python -c 'import torch'",
        "neurallab --help",
        _pair("--help"),
        goal=GOAL,
        repeats=7,
    ),
    *(
        Benchmark(
            f"start-up: neurallab {name} --help",
            "python -c 'import torch'",
            f"neurallab {name} --help",
            _pair(name, "--help"),
            goal=GOAL,
            repeats=5,
        )
        for name in commands.table()
    ),
]

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from run import main

    raise SystemExit(main(["startup", *sys.argv[1:]]))
