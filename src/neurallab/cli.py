"""`neurallab <command> ...`: one entry point for every program of the handouts.

The commands are the modules of `neurallab.tasks`; `neurallab.commands` finds, parses and runs
them (see there). This module is only the console script and `python -m neurallab.cli`.
"""

from __future__ import annotations

import sys

from neurallab.commands import run


def main(argv: list[str] | None = None) -> int:
    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
