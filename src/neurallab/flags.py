"""Argument parsing shared by every command.

* Flags keep the handouts' underscore spellings (`--batch_size`) and also accept the dashed
  form (`--batch-size`), for every flag of every command.
* Impossible values are rejected with one line naming the flag, e.g.
  `neurallab mnist: error: argument --batch_size: must be a positive integer, got 0`.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from typing import NoReturn


class HelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to a flag's help unless the help already says its default.

    argparse %-formats help text: a literal % (as in "every 10%") is escaped here, so help
    strings are written as they should read.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = re.sub(r"(?<!%)%(?![(%])", "%%", action.help or "")
        states_default = "(default" in text or action.default in (None, argparse.SUPPRESS)
        if states_default or not (action.option_strings or action.nargs in ("?", "*")):
            return text
        return text + " (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """ArgumentParser that adds dashed aliases and reports errors on one line."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    @property
    def option_strings(self) -> set[str]:
        """Every option string this parser accepts, its groups' included: {"--lr", "-h", ...}."""
        return set(self._option_string_actions)  # argparse's own table, shared with the groups

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        # Accept `--batch-size` for `--batch_size`: rewrite dashed spellings of known
        # underscore flags before argparse sees them (this covers argument groups too).
        if args is not None:
            args = [self._underscored(a) for a in args]
        return super().parse_known_args(args, namespace)

    def _underscored(self, arg: str) -> str:
        if not arg.startswith("--") or "-" not in arg[2:]:
            return arg
        name, eq, value = arg.partition("=")
        candidate = "--" + name[2:].replace("-", "_")
        known = self.option_strings
        return candidate + eq + value if candidate in known and name not in known else arg

    def error(self, message: str) -> NoReturn:
        message = " ".join(message.split())
        if message.startswith("unrecognized arguments:"):
            message += self._suggestion(message.split(":", 1)[1].split())
        self.exit(2, f"{self.prog}: error: {message}\n")

    def _suggestion(self, words: list[str]) -> str:
        """'(did you mean --epochs?)' for the first unknown flag close to one this parser has."""
        options = set(self.option_strings)
        for action in self._actions:  # the sub-commands' flags (those whose parser is built)
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    options |= set(sub._option_string_actions)
        known = sorted(s for s in options if s.startswith("--"))
        for word in words:
            if word.startswith("--"):
                close = difflib.get_close_matches(word.split("=")[0], known, n=1, cutoff=0.6)
                if close:
                    return f" (did you mean {close[0]}?)"
        return ""


def _number(kind: type, test, requirement: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text!r}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return value

    parse.__name__ = requirement  # argparse shows this name in some messages
    parse.test = test  # the same check on a Python value (neurallab.settings uses it)
    parse.requirement = requirement
    return parse


positive_int = _number(int, lambda v: v > 0, "a positive integer")
non_negative_int = _number(int, lambda v: v >= 0, "a non-negative integer")
positive_float = _number(float, lambda v: v > 0 and v != float("inf"), "a positive number")
non_negative_float = _number(float, lambda v: v >= 0 and v != float("inf"), "a non-negative number")
fraction = _number(float, lambda v: 0 < v <= 1, "a number in (0, 1]")
# What NumPy's and torch's generators accept as a seed.
seed_int = _number(int, lambda v: 0 <= v < 2**32, "an integer from 0 to 4294967295")


def fail(prog: str, message: str, code: int = 2) -> NoReturn:
    """Print one error line and exit, for errors found after parsing."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(code)
