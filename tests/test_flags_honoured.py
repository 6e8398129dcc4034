"""Every engine flag a command shows does what it says: it changes the configuration the
command runs with. Commands are found by neurallab's own discovery, so a new command is
covered; nothing here trains."""

from __future__ import annotations

import argparse
import copy
import json
import types

import pytest
import torch

from neurallab import cli, commands
from neurallab.engine.options import ENGINE_FLAGS, TrainingConfig, as_record
from neurallab.errors import UserError

# The option strings of the engine flags (a command may spell one as an alias of its own flag,
# e.g. toy's `--steps` also answers to `--epochs`).
ENGINE_OPTIONS = {f"--{dest}" for dest in ENGINE_FLAGS}


def shown_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The flags `--help` shows (argparse keeps them in a private list; this is a test)."""
    return [a for a in parser._actions if a.help is not argparse.SUPPRESS]


def required_argv(parser: argparse.ArgumentParser) -> list[str]:
    """The least a command needs to parse: its positionals and required options."""
    argv = []
    for a in parser._actions:
        if not a.option_strings and a.nargs != 0 and a.dest != "help":
            argv.append(str(a.choices[0]) if a.choices else "x")
        elif a.required:
            argv += [a.option_strings[0], str(a.choices[0]) if a.choices else "x"]
    return argv


def another_value(action: argparse.Action) -> list[str]:
    """Command-line words that set `action` to a valid value other than its default."""
    if action.nargs == 0:  # store_true
        return [action.option_strings[0]]
    default = action.default
    if action.choices:
        other = next(c for c in action.choices if c != default)
        return [action.option_strings[0], str(other)]
    if default is None:
        value = "3"
    elif isinstance(default, bool):
        raise AssertionError(f"{action.option_strings}: a boolean that is not a switch")
    elif isinstance(default, int):
        value = str(default + 1)
    else:
        value = str(default * 2 if default else 0.5)
    return [action.option_strings[0], value]


def unhonoured_flags(module: types.ModuleType, parser: argparse.ArgumentParser) -> list[str]:
    """The engine flags `parser` shows whose change leaves `module.effective_config` as it was.

    A flag refused with an error naming it (e.g. `--momentum` with Adam) is honest too.
    """
    base = required_argv(parser)
    args = parser.parse_args(base)
    before = copy.deepcopy(vars(args))
    default = as_record(module.effective_config(args))
    assert vars(args) == before, "effective_config changed args"
    ignored = []
    for action in shown_actions(parser):
        option = next((o for o in action.option_strings if o in ENGINE_OPTIONS), None)
        if option is None:
            continue
        changed = parser.parse_args([*base, *another_value(action)])
        try:
            config = module.effective_config(changed)
        except UserError as exc:
            if not any(o in str(exc) for o in action.option_strings):
                raise
            continue
        if as_record(config) == default:
            ignored.append(option)
    return ignored


@pytest.fixture
def cuda_visible(monkeypatch):
    """Pretend one GPU is visible, so `--device` has a value to change to on this machine.
    Nothing runs on it: the configuration only records `cuda:0`."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


def _converted(name: str) -> bool:
    """Commands that are shells over `neurallab.programs`: tests/test_settings.py covers them."""
    from neurallab import programs

    if name not in programs.PROGRAMS:
        return False
    try:
        return hasattr(programs.module(name), "Settings")
    except ModuleNotFoundError:
        return False


COMMANDS = sorted(n for n in commands.table() if not _converted(n))


@pytest.mark.parametrize("name", COMMANDS)
def test_every_engine_flag_shown_changes_the_effective_config(name, cuda_visible):
    info = commands.table()[name]
    parser = commands.parser(name)
    shown = {o for a in shown_actions(parser) for o in a.option_strings} & ENGINE_OPTIONS
    if not shown:
        return  # e.g. `data`, `internals`: no engine flag to honour
    module = commands.load(info)
    assert hasattr(module, "effective_config"), f"{name} shows {sorted(shown)}"
    assert unhonoured_flags(module, parser) == []


def test_the_check_catches_a_command_that_ignores_a_flag(cuda_visible):
    """The old toy: offered --eval_every and evaluated every 250 steps whatever it said; the
    old rnn-lm: offered --epochs and trained its own budget."""
    from neurallab.engine.options import (
        TrainingConfig,
        add_engine_args,
        fit_config,
        optimizer_config,
    )
    from neurallab.flags import Parser

    def effective_config(args):
        return TrainingConfig(fit_config(args, eval_every=250, epochs=1000), optimizer_config(args))

    parser = Parser(prog="old")
    add_engine_args(parser)
    module = types.SimpleNamespace(effective_config=effective_config)
    assert unhonoured_flags(module, parser) == ["--epochs", "--eval_every"]


def test_a_refused_flag_is_one_line_naming_it(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["rnn-lm", "--epochs", "3"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1
    assert "--epochs" in err[0] and "--num_sequences" in err[0]
    assert "--epochs" not in commands.parser("rnn-lm").format_help()


class _FitCalled(Exception):
    """Raised by the stand-in for `fit`: the command got as far as training."""


@pytest.mark.parametrize("name", COMMANDS)
def test_run_trains_with_its_effective_config_and_records_it(name, tmp_path, monkeypatch):
    """`run` hands `fit` what `effective_config` says, and config.json records it and the
    seed (stopped before the first step: nothing trains). Every training command: one whose
    effective_config is a TrainingConfig."""
    module = commands.load(commands.table()[name])
    parser = commands.parser(name)
    config_of = getattr(module, "effective_config", None)
    default = config_of(parser.parse_args(required_argv(parser))) if config_of else None
    if not isinstance(default, TrainingConfig):
        pytest.skip(f"{name} does not train")
    argv = ["--seed", "5", "--eval_every", "7", "--tracker", "none", "--run_dir", str(tmp_path)]
    args = parser.parse_args(argv)
    expected = module.effective_config(args)
    handed = []

    def fake_fit(model, optimizer, train_set, step, run, cfg, **kwargs):
        handed.append(cfg)
        raise _FitCalled

    monkeypatch.setattr(module, "fit", fake_fit)
    with pytest.raises(_FitCalled):
        module.run(args)
    assert handed == [expected.fit]
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["effective"] == expected.record()
    assert config["seed"] == config["effective"]["fit"]["seed"] == 5
