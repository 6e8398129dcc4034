"""`neurallab <command> ...`: one entry point for every program of the handouts.

Commands are discovered, not listed by hand: every module in `neurallab.tasks` that defines
`COMMAND`, `HELP`, `add_arguments(parser)` and `run(args)` becomes a sub-command, and so do
the few tool modules named in `TOOL_MODULES`. Adding a task therefore touches one file.

Start-up is kept to the cost of importing torch: `COMMAND` and `HELP` are read from each
module's source without importing it, and only the module of the command being run is
imported (`neurallab <command>` finds that module by its `COMMAND = "..."` line and checks
only it; `neurallab --help` checks them all). A command module that is missing, does not
parse, or lacks one of the four names is an error, never silently skipped.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import neurallab
from neurallab.errors import UserError
from neurallab.flags import Parser

COMMAND_PACKAGE = "neurallab.tasks"
# Commands that are tools rather than handout programs.
TOOL_MODULES = [
    "neurallab.data.cli",
    "neurallab.tracking.dashboard",
    "neurallab.experiments.reproduce",
    "neurallab.internals.cli",
]
REQUIRED_FUNCTIONS = ("add_arguments", "run")


class CommandModuleError(RuntimeError):
    """A command module is missing or malformed: a bug in neurallab, not a user error."""


@dataclass(frozen=True)
class CommandInfo:
    name: str  # the sub-command, e.g. "rnn-lm"
    help: str
    module: str  # the module to import to run it


def _module_file(module: str) -> Path:
    # Found by path: importlib.util.find_spec would import the parent packages (and torch).
    parts = module.split(".")
    if parts[0] != "neurallab":
        raise CommandModuleError(f"command module {module} is outside neurallab")
    base = Path(neurallab.__file__).parent.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    raise CommandModuleError(f"command module {module} not found (no {base}.py)")


def _read_command(module: str, path: Path) -> CommandInfo | None:
    """COMMAND and HELP of a module, read from its source; None if it defines no COMMAND."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError) as exc:
        raise CommandModuleError(f"command module {module} ({path}) cannot be read: {exc}") from exc
    constants: dict[str, object] = {}
    functions = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("COMMAND", "HELP"):
                try:
                    constants[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    constants[target.id] = None  # not a literal: reported below
        elif isinstance(node, ast.FunctionDef):
            functions.add(node.name)
    if "COMMAND" not in constants:
        return None
    problems = [n for n in ("COMMAND", "HELP") if not isinstance(constants.get(n), str)]
    problems += [f"{n}()" for n in REQUIRED_FUNCTIONS if n not in functions]
    if problems:
        raise CommandModuleError(
            f"command module {module} ({path}) lacks a literal {', '.join(problems)}"
        )
    return CommandInfo(str(constants["COMMAND"]), str(constants["HELP"]), module)


def _command_files() -> list[tuple[str, Path]]:
    package_dir = _module_file(COMMAND_PACKAGE).parent
    modules = [
        (f"{COMMAND_PACKAGE}.{path.stem}", path)
        for path in sorted(package_dir.glob("*.py"))
        if path.stem != "__init__"
    ]
    return modules + [(name, _module_file(name)) for name in TOOL_MODULES]


_COMMAND_LINE = re.compile(r"""^COMMAND\s*=\s*(['"])([^'"]+)\1\s*$""", re.MULTILINE)


def find_command(name: str) -> CommandInfo | None:
    """The command `name`, checking only its own module in full; None if no line names it."""
    for module, path in _command_files():
        found = _COMMAND_LINE.search(path.read_text(encoding="utf-8"))
        if found and found.group(2) == name:
            return _read_command(module, path)
    return None


def command_table() -> dict[str, CommandInfo]:
    """Every sub-command by name, without importing any command module."""
    table: dict[str, CommandInfo] = {}
    for module, path in _command_files():
        info = _read_command(module, path)
        if info is None:
            continue  # a helper module of the package, such as tasks/common.py
        if info.name in table:
            raise CommandModuleError(
                f"command {info.name!r} is defined by both {table[info.name].module} and {module}"
            )
        table[info.name] = info
    return dict(sorted(table.items()))


def load_command(info: CommandInfo) -> ModuleType:
    """Import a command's module; it must define what its source promised."""
    module = importlib.import_module(info.module)
    missing = [n for n in ("COMMAND", "HELP", *REQUIRED_FUNCTIONS) if not hasattr(module, n)]
    if missing or module.COMMAND != info.name:
        raise CommandModuleError(f"command module {info.module} is malformed ({missing})")
    return module


def build_parser(
    load: set[str] | None = None, table: dict[str, CommandInfo] | None = None
) -> Parser:
    """The `neurallab` parser; the commands in `load` (default: all) get their full flags.

    A command not loaded still appears, with its help, in `neurallab --help`. `table`
    (default: every command) chooses which commands the parser knows.
    """
    table = command_table() if table is None else table
    parser = Parser(prog="neurallab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(
        dest="command", metavar="<command>", required=True, parser_class=Parser
    )
    for name, info in table.items():
        p = sub.add_parser(name, help=info.help, description=info.help)
        if load is None or name in load:
            module = load_command(info)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser


def command_parser(name: str) -> Parser:
    """The parser of one sub-command, with all its flags (e.g. to see which flags it offers)."""
    table = command_table()
    if name not in table:
        raise UserError(f"unknown command {name!r}; choose from {', '.join(table)}")
    module = load_command(table[name])
    parser = Parser(prog=f"neurallab {name}", description=table[name].help)
    module.add_arguments(parser)
    return parser


def _command_in(argv: list[str]) -> str | None:
    # The top-level parser has no options besides --help, so the first word is the command.
    return next((a for a in argv if not a.startswith("-")), None)


@contextlib.contextmanager
def _quiet_unless_rank_zero() -> Iterator[None]:
    """Under torchrun only rank 0 prints results; the others' stdout goes nowhere.

    Errors still reach stderr from every rank: a failure on rank 1 must be seen.
    """
    if int(os.environ.get("RANK", "0")) == 0:
        yield
        return
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        yield


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    name = _command_in(argv)
    info = find_command(name) if name else None
    if info is not None:  # only this command's module is read, checked and imported
        parser = build_parser(load={name}, table={name: info})
    else:  # help, or an unknown command: every command is listed
        parser = build_parser(load=set())
    args = parser.parse_args(argv)
    args._argv = argv  # for summary.json: the exact command that made the run
    try:
        with _quiet_unless_rank_zero():
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
