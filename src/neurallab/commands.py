"""Every `neurallab` sub-command: found in one package, parsed and run by one function.

A sub-command is a module of `neurallab.tasks` that defines `COMMAND`, `HELP`,
`add_arguments(parser)` and `run(args)`; the handout programs and the tools (`data`,
`dashboard`, `internals`, `reproduce`) alike. Adding a command therefore touches one file.

    run(["mnist", "--epochs", "1"]) -> exit code   # what `neurallab mnist --epochs 1` does
    options("mnist") -> {"--epochs", "--lr", ...}  # the option strings a command accepts
    parser("mnist")                                # its full parser, e.g. for its --help

Start-up is kept to the cost of importing torch: `COMMAND` and `HELP` are read from each
module's source without importing it, and only the module of the command being run is
imported (`run` finds that module by its `COMMAND = "..."` line and checks only it; `--help`
checks them all). A command module that is missing, does not parse, cannot be imported or lacks
one of the four names is an error, never silently skipped.

This module imports no command at import time, so any layer may use it (experiments run their
programs through `run`) without importing `neurallab.tasks`.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import importlib
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import neurallab
from neurallab.errors import UserError
from neurallab.flags import Parser

COMMAND_PACKAGE = "neurallab.tasks"
REQUIRED_FUNCTIONS = ("add_arguments", "run")
DESCRIPTION = "`neurallab <command> ...`: one entry point for every program of the handouts."


class CommandModuleError(RuntimeError):
    """A command module is missing or malformed: a bug in neurallab, not a user error."""


@dataclass(frozen=True)
class CommandInfo:
    name: str  # the sub-command, e.g. "rnn-lm"
    help: str
    module: str  # the module to import to run it


def package_dir() -> Path:
    """The folder of the commands package, found by path: importing it would import torch."""
    path = Path(neurallab.__file__).parent.joinpath(*COMMAND_PACKAGE.split(".")[1:])
    if not (path / "__init__.py").is_file():
        raise CommandModuleError(f"command package {COMMAND_PACKAGE} not found (no {path})")
    return path


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
    return [
        (f"{COMMAND_PACKAGE}.{path.stem}", path)
        for path in sorted(package_dir().glob("*.py"))
        if path.stem != "__init__"
    ]


_COMMAND_LINE = re.compile(r"""^COMMAND\s*=\s*(['"])([^'"]+)\1\s*$""", re.MULTILINE)


def find(name: str) -> CommandInfo | None:
    """The command `name`, checking only its own module in full; None if no line names it."""
    for module, path in _command_files():
        found = _COMMAND_LINE.search(path.read_text(encoding="utf-8"))
        if found and found.group(2) == name:
            return _read_command(module, path)
    return None


def table() -> dict[str, CommandInfo]:
    """Every sub-command by name, without importing any command module."""
    commands: dict[str, CommandInfo] = {}
    for module, path in _command_files():
        info = _read_command(module, path)
        if info is None:
            continue  # a helper module of the package, such as tasks/common.py
        if info.name in commands:
            raise CommandModuleError(
                f"command {info.name!r} is defined by both {commands[info.name].module} and {module}"
            )
        commands[info.name] = info
    return dict(sorted(commands.items()))


def load(info: CommandInfo) -> ModuleType:
    """Import a command's module; it must exist and define what its source promised."""
    try:
        module = importlib.import_module(info.module)
    except ModuleNotFoundError as exc:
        if exc.name != info.module:
            raise  # the command imports something missing: its own error says what
        raise CommandModuleError(f"command module {info.module} not found") from exc
    missing = [n for n in ("COMMAND", "HELP", *REQUIRED_FUNCTIONS) if not hasattr(module, n)]
    if missing or module.COMMAND != info.name:
        raise CommandModuleError(f"command module {info.module} is malformed ({missing})")
    return module


def build_parser(
    load_commands: set[str] | None = None, commands: dict[str, CommandInfo] | None = None
) -> Parser:
    """The `neurallab` parser; the commands in `load_commands` (default: all) get their flags.

    A command not loaded still appears, with its help, in `neurallab --help`. `commands`
    (default: every command) chooses which commands the parser knows.
    """
    commands = table() if commands is None else commands
    top = Parser(prog="neurallab", description=DESCRIPTION)
    sub = top.add_subparsers(
        dest="command", metavar="<command>", required=True, parser_class=Parser
    )
    for name, info in commands.items():
        p = sub.add_parser(name, help=info.help, description=info.help)
        if load_commands is None or name in load_commands:
            module = load(info)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return top


def parser(name: str) -> Parser:
    """The parser of one sub-command, with all its flags; imports only that command."""
    info = find(name)
    if info is None:
        raise UserError(f"unknown command {name!r}; choose from {', '.join(table())}")
    command_parser = Parser(prog=f"neurallab {name}", description=info.help)
    load(info).add_arguments(command_parser)
    return command_parser


def options(name: str) -> set[str]:
    """The option strings sub-command `name` accepts, e.g. {"--lr", "--resume", "-h", ...}."""
    return parser(name).option_strings


def suggest(word: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' for the choice closest to `word`, or '' when none is close."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[close[0]]}?)" if close else ""


def choose(word: str, choices: Iterable[str], what: str, where: str = "") -> str:
    """The choice that `word` names: itself, else its only case-insensitive match.

    Anything else is a one-line `UserError` listing what exists (with the closest match), so a
    selector that matches nothing stops a command before it writes anything.
    """
    choices = list(choices)
    if word in choices:
        return word
    same = [c for c in choices if c.lower() == word.lower()]
    if len(same) == 1:
        return same[0]
    if not choices:
        raise UserError(f"no {what} {word!r}{where}: there is none yet")
    listed = ", ".join(map(repr, choices)) if len(choices) <= 40 else f"{len(choices)} of them"
    raise UserError(f"no {what} {word!r}{where}{suggest(word, choices)}; {what}s: {listed}")


def _command_in(argv: Sequence[str]) -> str | None:
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


def run(argv: Sequence[str], exit_on_usage_error: bool = False) -> int:
    """Run `neurallab <argv>` in this process and return its exit code.

    A user error (bad file, impossible setting) prints one line and returns 1; a bad flag or
    an unknown command prints one line (with the closest match) and returns 2, and `--help`
    prints the help and returns 0: a Python caller never sees argparse's `SystemExit`, unless
    it asks for the command line's behaviour (`exit_on_usage_error`, the console script's).
    """
    try:
        args = _parse(list(argv))
    except SystemExit as exc:
        if exit_on_usage_error:
            raise
        return exc.code if isinstance(exc.code, int) else 2
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


def _parse(argv: list[str]):
    """The parsed arguments of `neurallab <argv>`; SystemExit (as argparse) after one line."""
    name = _command_in(argv)
    info = find(name) if name else None
    if info is None and name is not None:  # `neurallab MNIST` is mnist; else one line
        try:
            info = table()[choose(name, table(), "command")]
        except UserError as exc:
            print(f"neurallab: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        argv[argv.index(name)] = name = info.name
    if info is not None:  # only this command's module is read, checked and imported
        top = build_parser(load_commands={name}, commands={name: info})
    else:  # help: every command is listed
        top = build_parser(load_commands=set())
    args = top.parse_args(argv)
    args._argv = argv  # for summary.json: the exact command that made the run
    return args
