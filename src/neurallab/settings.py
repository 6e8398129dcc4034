"""Typed settings: one frozen dataclass per program, the only place its defaults live.

A program declares what it can be asked to do as fields made with `setting(...)`:

    @dataclass(frozen=True)
    class Settings(neurallab.settings.Settings):
        hidden: int = setting(64, "hidden units", check=positive_int)
        loss: str = setting("cross_entropy", "training loss", choices=("cross_entropy", "mse"))

and everything else is derived from those fields, so a flag and its setting cannot drift:

    Settings(hidden=0)                  -> UserError: hidden: must be a positive integer, got 0
    Settings.add_arguments(parser)      -> --hidden (default: 64), --loss {cross_entropy,mse}
    Settings.from_args(args)            -> the settings a parsed command line asks for
    settings.to_argv()                  -> ["--hidden", "128"]: only what differs from the defaults
    settings.record()                   -> JSON values, for config.json
    settings.replace(seed=1)            -> a copy with one setting changed (validated again)

Validation runs in `__post_init__`, so an impossible value is refused on one line naming the
setting whether it came from Python, a notebook or the command line, before anything is written.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import re
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, NoReturn

from neurallab.errors import UserError

# Metadata keys of a setting's dataclass field.
_META = "neurallab"


@dataclasses.dataclass(frozen=True)
class _Meta:
    help: str
    flags: tuple[str, ...] = ()  # option strings; default: ("--<name>",)
    choices: tuple[Any, ...] | None = None
    check: Callable[[str], Any] | None = None  # a neurallab.flags validator, e.g. positive_int
    nargs: str | None = None  # "+" or "*" for a list of values
    negate: bool = False  # a bool defaulting to True, turned off by --no_<name>
    cli: bool = True  # False: a Python-only setting (no flag)
    group: str = ""  # the --help section


def setting(
    default: Any,
    help: str,
    *,
    flags: Sequence[str] = (),
    choices: Sequence[Any] | None = None,
    check: Callable[[str], Any] | None = None,
    nargs: str | None = None,
    negate: bool = False,
    cli: bool = True,
    group: str = "",
) -> Any:
    """A settings field: its default, its help line, and how its flag is spelled and checked."""
    meta = _Meta(
        help,
        tuple(flags),
        None if choices is None else tuple(choices),
        check,
        nargs,
        negate,
        cli,
        group,
    )
    if isinstance(default, list):
        default = tuple(default)  # frozen settings hold tuples, never a shared mutable list
    return dataclasses.field(default=default, metadata={_META: meta})


def with_default(base: type[Settings], name: str, default: Any, help: str | None = None) -> Any:
    """Re-declare field `name` of `base` with another default (and help), keeping its flags and
    checks: how a program states its own defaults for the engine's settings."""
    field = next(f for f in dataclasses.fields(base) if f.name == name)
    meta = field.metadata[_META]
    if help is not None:
        meta = dataclasses.replace(meta, help=help)
    return dataclasses.field(default=default, metadata={_META: meta})


def _meta(field: dataclasses.Field) -> _Meta:
    return field.metadata.get(_META) or _Meta(help="")


class _Refused(argparse.Action):
    """A flag the program does not honour: given on the command line, it stops parsing with one
    line saying why."""

    def __init__(self, option_strings, dest, reason: str, **kwargs) -> None:
        super().__init__(option_strings, dest, default=None, help=argparse.SUPPRESS, **kwargs)
        self.reason = reason

    def __call__(self, parser, namespace, values, option_string=None) -> NoReturn:
        parser.error(f"argument {option_string}: not used by this command: {self.reason}")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Base of every program's settings. Subclasses are frozen dataclasses of `setting` fields.

    `REFUSED` maps a field inherited from a shared base to why this program does not honour it:
    it keeps its default, is left out of `--help`, and is refused on one line if asked for.
    """

    PROGRAM: ClassVar[str] = ""  # the command that runs these settings, e.g. "mnist"
    REFUSED: ClassVar[dict[str, str]] = {}

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, list):  # keep the frozen settings hashable and unshared
                object.__setattr__(self, field.name, tuple(value))
                value = tuple(value)
            if isinstance(value, str) and _scalar_type(hints.get(field.name)) is Path:
                value = Path(value)  # a path given as text: the same settings either way
                object.__setattr__(self, field.name, value)
            if field.name in self.REFUSED:
                if value != field.default:
                    raise UserError(
                        f"{self._where()}{field.name}: not used by this program: "
                        f"{self.REFUSED[field.name]}"
                    )
                continue
            _check_value(self._where(), field, hints.get(field.name), value)

    def _where(self) -> str:
        return f"{self.PROGRAM} setting " if self.PROGRAM else "setting "

    # -- Python use ---------------------------------------------------------------------
    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes`; an unknown name is refused with the closest match."""
        names = {f.name for f in dataclasses.fields(self)}
        for name in changes:
            if name not in names:
                raise UserError(f"{self._where()}{name}: no such setting{_suggest(name, names)}")
        return dataclasses.replace(self, **changes)

    def record(self) -> dict[str, Any]:
        """The settings as JSON values (paths as strings, tuples as lists)."""
        return {f.name: _json(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def changed(self) -> dict[str, Any]:
        """The settings that differ from this program's defaults, by name."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != f.default
        }

    # -- the command line ---------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """One flag per setting, with the dataclass's default and help."""
        hints = _hints(cls)
        groups: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            meta = _meta(field)
            if not meta.cli:
                continue
            target = parser
            if meta.group:
                if meta.group not in groups:
                    groups[meta.group] = parser.add_argument_group(meta.group)
                target = groups[meta.group]
            names = meta.flags or (_flag(field.name, meta),)
            if field.name in cls.REFUSED:
                target.add_argument(
                    *names,
                    dest=field.name,
                    action=_Refused,
                    reason=cls.REFUSED[field.name],
                    nargs="?",
                )
                continue
            target.add_argument(*names, dest=field.name, **_argparse_kwargs(field, meta, hints))

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        """The settings a parsed command line asks for (refused flags keep their defaults)."""
        values = {}
        for field in dataclasses.fields(cls):
            if not _meta(field).cli or field.name in cls.REFUSED:
                continue
            if hasattr(args, field.name):
                values[field.name] = getattr(args, field.name)
        try:
            return cls(**values)
        except UserError as exc:
            raise UserError(_as_flags(str(exc), cls)) from None

    def to_argv(self) -> list[str]:
        """The flags that ask for these settings: only those that differ from the defaults, in
        field order, so the same settings always give the same command line."""
        argv: list[str] = []
        for field in dataclasses.fields(self):
            meta = _meta(field)
            value = getattr(self, field.name)
            if value == field.default or field.name in self.REFUSED:
                continue
            if not meta.cli:
                raise UserError(f"{self._where()}{field.name} has no command-line flag")
            flag = meta.flags[0] if meta.flags else _flag(field.name, meta)
            if isinstance(value, bool):
                argv.append(flag)  # store_true, or --no_<name> for a negated default
            elif isinstance(value, tuple):
                argv += [flag, *map(_text, value)]
            else:
                argv += [flag, _text(value)]
        return argv


def _as_flags(message: str, cls: type[Settings]) -> str:
    """A settings error as the command line says it: 'mnist setting epochs: ...' becomes
    'argument --epochs: ...', naming the flag the user typed."""
    for field in dataclasses.fields(cls):
        meta = _meta(field)
        flag = meta.flags[0] if meta.flags else _flag(field.name, meta)
        message = re.sub(rf"^(\w[\w-]* )?setting {field.name}:", f"argument {flag}:", message)
    return message


def _flag(name: str, meta: _Meta) -> str:
    return f"--no_{name}" if meta.negate else f"--{name}"


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _json(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    return value


def _suggest(name: str, names: Sequence[str] | set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(names), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _scalar_type(hint: Any) -> Any:
    """int for `int`, `int | None`, `tuple[int, ...]`; str for `str`; Path for `Path | None`."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin in (tuple, list) and args:
        return args[0]
    if args and origin is not None:
        return _scalar_type(args[0])
    return hint


def _argparse_kwargs(field: dataclasses.Field, meta: _Meta, hints: dict[str, Any]) -> dict:
    kind = _scalar_type(hints[field.name])
    default = field.default
    kwargs: dict[str, Any] = {"help": meta.help, "default": default}
    if kind is bool:
        kwargs["action"] = "store_false" if meta.negate else "store_true"
        if meta.negate:
            kwargs["default"] = True
        return kwargs
    if meta.choices is not None:
        kwargs["choices"] = meta.choices
    if meta.check is not None:
        kwargs["type"] = meta.check
    elif kind in (int, float, str, Path):
        kwargs["type"] = kind
    if meta.nargs:
        kwargs["nargs"] = meta.nargs
        kwargs["default"] = default if default is None else list(default)
    return kwargs


def _check_value(where: str, field: dataclasses.Field, hint: Any, value: Any) -> None:
    """Refuse a value of the wrong type, outside its choices, or one its flag's check refuses."""
    meta = _meta(field)
    if value is None:
        if field.default is None:
            return
        raise UserError(f"{where}{field.name}: must be given (got None)")
    values = value if isinstance(value, tuple) and meta.nargs else (value,)
    kind = _scalar_type(hint) if hint is not None else None
    for item in values:
        if kind is float and isinstance(item, int) and not isinstance(item, bool):
            item = float(item)
        elif kind is Path and isinstance(item, str):
            item = Path(item)
        if kind in (int, float, str, bool, Path) and not isinstance(item, kind):
            raise UserError(
                f"{where}{field.name}: must be {kind.__name__}, got {item!r} "
                f"({type(item).__name__})"
            )
        if kind is int and isinstance(item, bool):
            raise UserError(f"{where}{field.name}: must be int, got {item!r}")
        if meta.choices is not None and item not in meta.choices:
            raise UserError(
                f"{where}{field.name}: {item!r} is not one of {', '.join(map(str, meta.choices))}"
                f"{_suggest(str(item), list(map(str, meta.choices)))}"
            )
        if meta.check is not None and hasattr(meta.check, "test") and not meta.check.test(item):
            raise UserError(f"{where}{field.name}: must be {meta.check.requirement}, got {item!r}")
