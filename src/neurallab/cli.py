"""`neurallab <command> ...`: one entry point for every program of the handouts.

The commands are the modules of `neurallab.tasks`; `neurallab.commands` finds, parses and runs
them (see there). This module is only the console script and `python -m neurallab.cli`.
"""

from __future__ import annotations

import sys

from neurallab.commands import run


def main(argv: list[str] | None = None) -> int:
    """The console script: a bad flag exits through argparse (SystemExit 2) after one line,
    as command-line programs do; `neurallab.commands.run` returns 2 instead, for Python."""
    return run(sys.argv[1:] if argv is None else argv, exit_on_usage_error=True)


if __name__ == "__main__":
    raise SystemExit(main())
