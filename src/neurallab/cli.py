"""`neurallab <command> ...`: one entry point for every program of the handouts.

Commands are discovered, not listed by hand: every module in `neurallab.tasks` that defines
`COMMAND`, `HELP`, `add_arguments(parser)` and `run(args)` becomes a sub-command, and so do
the few tool modules named in `TOOL_MODULES`. Adding a task therefore touches one file.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from types import ModuleType

from neurallab.errors import UserError
from neurallab.flags import Parser

# Commands that are tools rather than handout programs.
TOOL_MODULES = [
    "neurallab.data.cli",
    "neurallab.tracking.dashboard",
    "neurallab.experiments.reproduce",
    "neurallab.internals.cli",
]


def command_modules() -> list[ModuleType]:
    import neurallab.tasks as tasks

    names = [f"neurallab.tasks.{m.name}" for m in pkgutil.iter_modules(tasks.__path__)]
    names += [n for n in TOOL_MODULES if importlib.util.find_spec(n) is not None]
    modules = [importlib.import_module(n) for n in names]
    return sorted((m for m in modules if hasattr(m, "COMMAND")), key=lambda m: m.COMMAND)


def build_parser() -> Parser:
    parser = Parser(prog="neurallab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(
        dest="command", metavar="<command>", required=True, parser_class=Parser
    )
    for module in command_modules():
        # argparse %-formats help strings: a literal % (as in "every 10%") must be doubled.
        p = sub.add_parser(
            module.COMMAND,
            help=module.HELP.replace("%", "%%"),
            description=module.HELP.replace("%", "%%"),
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args._argv = argv  # for summary.json: the exact command that made the run
    try:
        code = args._run(args)
    except UserError as exc:
        print(f"neurallab {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"neurallab {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
