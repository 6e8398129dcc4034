"""Typed settings: the dataclass is the one source of a program's flags, defaults and checks.

Every program of `neurallab.programs` is walked, so a new program is covered: each setting has
a flag with the same default, each flag changes the settings, each engine setting changes the
configuration `train` hands the engine, and impossible values are refused on one line naming
the setting, from Python and from the command line alike. Nothing here trains.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from neurallab import commands, programs
from neurallab.engine.options import TrainSettings
from neurallab.errors import UserError
from neurallab.flags import Parser, positive_int
from neurallab.programs.run import RunOptions
from neurallab.settings import Settings, setting


def _program(name: str):
    try:
        return programs.module(name)
    except ModuleNotFoundError:
        return None


PROGRAMS = [name for name in programs.PROGRAMS if _program(name) is not None]


def parse(name: str, argv: list[str]):
    return commands.parser(name).parse_args(argv)


def another_value(field: dataclasses.Field, hint_type: type | None) -> object:
    """A valid value other than the field's default."""
    meta = field.metadata["neurallab"]
    default = field.default
    if meta.choices:
        return next(c for c in meta.choices if c != default)
    if isinstance(default, bool):
        return not default
    if isinstance(default, tuple):
        return (*default, default[-1]) if default else (1,)
    if isinstance(default, int):
        return default + 1
    if isinstance(default, float):
        return default * 2 if default else 0.5
    if default is None:
        return 3
    return default


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_setting_has_its_flag_with_the_same_default(name):
    module = programs.module(name)
    args = parse(name, [])
    settings = module.Settings.from_args(args)
    assert settings == module.Settings(), "the flags' defaults are the dataclass's"
    for field in dataclasses.fields(module.Settings):
        if field.metadata["neurallab"].cli and field.name not in module.Settings.REFUSED:
            assert hasattr(args, field.name), f"{name}: setting {field.name} has no flag"


@pytest.mark.parametrize("name", PROGRAMS)
def test_to_argv_round_trips_every_setting(name):
    """A setting changed from Python gives the command line that asks for it, and back."""
    module = programs.module(name)
    for field in dataclasses.fields(module.Settings):
        meta = field.metadata["neurallab"]
        if not meta.cli or field.name in module.Settings.REFUSED:
            continue
        value = another_value(field, None)
        if field.name == "momentum":
            changed = module.Settings(optimizer="sgd", momentum=0.5)
        else:
            try:
                changed = module.Settings(**{field.name: value})
            except UserError:
                continue  # a value only valid with another setting (checked elsewhere)
        again = module.Settings.from_args(parse(name, changed.to_argv()))
        assert again == changed, f"{name}: {field.name}: {changed.to_argv()}"


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_engine_setting_changes_what_the_engine_gets(name):
    module = programs.module(name)
    if not issubclass(module.Settings, TrainSettings):
        pytest.skip(f"{name} does not train through the engine")
    base = module.effective_config(module.Settings()).record()
    for field in dataclasses.fields(TrainSettings):
        if field.name in module.Settings.REFUSED or field.name == "device":
            continue
        if field.name == "momentum":
            changed = module.Settings(optimizer="sgd", momentum=0.5)
            compare = module.effective_config(module.Settings(optimizer="sgd")).record()
        else:
            own = next(f for f in dataclasses.fields(module.Settings) if f.name == field.name)
            changed = module.Settings(**{field.name: another_value(own, None)})
            compare = base
        assert module.effective_config(changed).record() != compare, (
            f"{name}: setting {field.name} does not change the configuration train uses"
        )


@pytest.mark.parametrize("name", PROGRAMS)
def test_a_refused_setting_is_refused_from_python_and_the_command_line(name, capsys):
    module = programs.module(name)
    for field_name in module.Settings.REFUSED:
        with pytest.raises(UserError, match=field_name):
            module.Settings(**{field_name: 7})
        with pytest.raises(SystemExit):
            parse(name, [f"--{field_name}", "7"])
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "not used by this command" in err[0]


@dataclass(frozen=True)
class Example(Settings):
    PROGRAM = "example"
    size: int = setting(4, "a size", check=positive_int)
    mode: str = setting("a", "a mode", choices=("a", "b"))
    names: tuple[str, ...] = setting(("x",), "names", nargs="+")
    verbose: bool = setting(False, "talk")
    quiet_bar: bool = setting(True, "show the bar", negate=True)
    rate: float = setting(0.5, "a rate")


def test_impossible_values_name_the_setting():
    with pytest.raises(UserError, match=r"example setting size: must be a positive integer, got 0"):
        Example(size=0)
    with pytest.raises(UserError, match=r"size: must be int, got '4'"):
        Example(size="4")
    with pytest.raises(UserError, match=r"mode: 'c' is not one of a, b"):
        Example(mode="c")
    with pytest.raises(UserError, match=r"sise: no such setting \(did you mean size\?\)"):
        Example().replace(sise=3)
    assert Example(rate=1).rate == 1  # an int where a float is asked is fine


def test_flags_come_from_the_fields():
    parser = Parser(prog="example")
    Example.add_arguments(parser)
    args = parser.parse_args(["--size", "9", "--names", "p", "q", "--verbose", "--no_quiet_bar"])
    s = Example.from_args(args)
    assert s == Example(size=9, names=("p", "q"), verbose=True, quiet_bar=False)
    assert s.to_argv() == ["--size", "9", "--names", "p", "q", "--verbose", "--no_quiet_bar"]
    assert Example().to_argv() == []
    assert "(default: 4)" in parser.format_help()
    with pytest.raises(SystemExit):
        parser.parse_args(["--size", "0"])


def test_a_changed_default_shows_in_help_and_in_config(tmp_path):
    """The dataclass is the one place a default lives: change it there and --help and
    config.json follow."""
    import json

    from neurallab.programs import mnist
    from neurallab.programs.run import RunOptions, open_run
    from neurallab.settings import with_default

    @dataclass(frozen=True)
    class Changed(mnist.Settings):
        hidden: int = with_default(mnist.Settings, "hidden", 17)

    parser = Parser(prog="mnist")
    Changed.add_arguments(parser)
    assert "hidden units (default: 17)" in " ".join(parser.format_help().split())
    assert Changed.from_args(parser.parse_args([])).hidden == 17
    run = open_run(Changed(), RunOptions(run_dir=tmp_path / "run", tracker="none"))
    run.finish()
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["hidden"] == 17 and config["program"] == "mnist"


class _FitCalled(Exception):
    """Raised by the stand-in for `fit`: the program got as far as training."""


@pytest.mark.parametrize("name", PROGRAMS)
def test_train_hands_fit_its_effective_config_and_records_it(name, tmp_path, monkeypatch):
    """`train` hands `fit` what `effective_config` says, and config.json records the settings,
    that configuration and the seed (stopped before the first step: nothing trains)."""
    import json

    module = programs.module(name)
    if not issubclass(module.Settings, TrainSettings):
        pytest.skip(f"{name} does not train through the engine")
    changes = {"seed": 5}
    if "eval_every" not in module.Settings.REFUSED:
        changes["eval_every"] = 7
    settings = module.Settings(**changes)
    handed = []

    def fake_fit(model, optimizer, train_set, step, run, cfg, **kwargs):
        handed.append((cfg, kwargs.get("checkpoint_extra")))
        raise _FitCalled

    monkeypatch.setattr(module, "fit", fake_fit)
    with pytest.raises(_FitCalled):
        module.train(settings, tmp_path, tracker="none", progress=False)
    expected = module.effective_config(settings, RunOptions(progress=False))
    assert handed[0][0] == expected.fit
    extra = handed[0][1]
    assert extra["program"] == name and "model_args" in extra, "load() needs these"
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["effective"] == expected.record()
    assert config["seed"] == config["effective"]["fit"]["seed"] == 5
    assert {k: config[k] for k in settings.record()} == settings.record()
