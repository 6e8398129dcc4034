"""Command discovery (neurallab.commands): one package, read without importing, loud when a
command module is missing or broken; help text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import neurallab
from neurallab import cli, commands
from neurallab.errors import UserError
from neurallab.flags import Parser


def _modules_after(argv: list[str]) -> set[str]:
    """The modules a fresh interpreter has imported after `neurallab <argv>`."""
    code = (
        "import sys\n"
        "from neurallab.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sys.modules), file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    return set(out.stderr.split())


def test_top_level_help_imports_no_command_and_no_torch():
    modules = _modules_after(["--help"])
    assert "torch" not in modules
    assert not any(m.startswith("neurallab.tasks.") for m in modules)


def test_command_help_imports_only_that_command():
    modules = _modules_after(["parity-manual", "--help"])
    tasks = {m for m in modules if m.startswith("neurallab.tasks.")}
    # tasks.common is the shell every program's command shares, not another command
    assert tasks - {"neurallab.tasks.common"} == {"neurallab.tasks.parity_manual"}
    assert "neurallab.experiments.reproduce" not in modules


def test_every_command_is_found_with_its_help():
    table = commands.table()
    assert {"toy", "mnist", "rnn-lm", "data", "dashboard", "reproduce", "internals"} <= set(table)
    for name, info in table.items():
        assert info.help and name == info.name


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("COMMAND = 'x'\nHELP = 'h'\ndef add_arguments(p):\n    pass\n", "run()"),
        ("COMMAND = 'x'\ndef add_arguments(p):\n    pass\ndef run(a):\n    pass\n", "HELP"),
        ("COMMAND = name()\nHELP = 'h'\n", "COMMAND"),
        ("COMMAND = 'x'\nHELP = 'h'\ndef run(:\n", "cannot be read"),
    ],
)
def test_a_malformed_command_module_is_an_error(tmp_path, source, problem):
    path = tmp_path / "broken.py"
    path.write_text(source)
    with pytest.raises(
        commands.CommandModuleError, match=problem.replace("(", r"\(").replace(")", r"\)")
    ):
        commands._read_command("neurallab.tasks.broken", path)


def test_a_module_without_command_is_a_helper(tmp_path):
    path = tmp_path / "helpers.py"
    path.write_text("def add_engine_args(parser):\n    pass\n")
    assert commands._read_command("neurallab.tasks.helpers", path) is None


def _fake_package(monkeypatch, tmp_path, files: dict[str, str]) -> None:
    """Make `neurallab.tasks` look like a folder holding `files` (the modules are not importable)."""
    package = tmp_path / "tasks"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, source in files.items():
        (package / name).write_text(source)
    monkeypatch.setattr(commands, "package_dir", lambda: package)


GHOST = "COMMAND = 'ghost'\nHELP = 'h'\ndef add_arguments(p):\n    pass\ndef run(a):\n    pass\n"


def test_a_command_whose_module_is_missing_is_an_error(monkeypatch, tmp_path):
    _fake_package(monkeypatch, tmp_path, {"ghost.py": GHOST})
    assert set(commands.table()) == {"ghost"}  # listed from its source ...
    with pytest.raises(commands.CommandModuleError, match="neurallab.tasks.ghost not found"):
        commands.run(["ghost"])  # ... but there is no such module to run
    with pytest.raises(commands.CommandModuleError, match="ghost"):
        commands.options("ghost")


def test_a_broken_module_fails_help_too(monkeypatch, tmp_path):
    _fake_package(monkeypatch, tmp_path, {"ghost.py": GHOST, "broken.py": "COMMAND = 'b'\n"})
    with pytest.raises(commands.CommandModuleError, match="broken"):
        commands.run(["--help"])


def test_two_modules_with_one_command_name_is_an_error(monkeypatch, tmp_path):
    _fake_package(monkeypatch, tmp_path, {"a.py": GHOST, "b.py": GHOST})
    with pytest.raises(commands.CommandModuleError, match="both"):
        commands.table()


def test_a_missing_command_package_is_an_error(monkeypatch):
    monkeypatch.setattr(commands, "COMMAND_PACKAGE", "neurallab.no_such_package")
    with pytest.raises(commands.CommandModuleError, match="no_such_package"):
        commands.table()


def test_every_command_module_lives_in_the_commands_package():
    """No module outside neurallab/tasks declares a sub-command (no second home)."""
    root = Path(neurallab.__file__).parent
    outside = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.parent.name != "tasks" and commands._COMMAND_LINE.search(path.read_text())
    ]
    assert outside == []


def test_options_are_the_flags_a_command_accepts():
    offered = commands.options("toy")
    assert {"--seed", "--run_dir", "-h", "--help"} <= offered
    assert "--resume" not in commands.options("parity-manual")
    assert {"--quick", "--only", "--device"} <= commands.options("reproduce")  # groups too
    with pytest.raises(UserError, match="no-such-command"):
        commands.options("no-such-command")


def test_help_states_each_default_once_and_prints_percent_signs():
    parser = Parser(prog="x")
    parser.add_argument("--eval_every", default=None, help="steps (default: every epoch)")
    parser.add_argument("--share", type=float, default=0.1, help="validate every 10% of it")
    parser.add_argument("--tag", default=None, help="a name")
    text = " ".join(parser.format_help().split())
    assert "steps (default: every epoch) --share" in text
    assert "validate every 10% of it (default: 0.1)" in text
    assert "None" not in text


def test_no_command_help_shows_none_defaults_or_doubled_percent():
    for name in commands.table():
        text = " ".join(commands.parser(name).format_help().split())
        assert "(default: None)" not in text and "%%" not in text, name


def test_a_command_is_found_by_its_own_module_only(capsys):
    assert commands.find("rnn-lm") == commands.table()["rnn-lm"]
    assert commands.find("no-such-command") is None
    with pytest.raises(SystemExit) as exc:
        cli.main(["no-such-command"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "no command 'no-such-command'" in err[0]
    assert "'rnn-lm'" in err[0]  # what exists is listed


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["mnsit", "--epochs", "1"], "no command 'mnsit' (did you mean mnist?)"),
        (["reproduce", "hw3", "--olny", "P1"], "--olny P1 (did you mean --only?)"),
        (["mnist", "--epcohs", "1"], "(did you mean --epochs?)"),
    ],
)
def test_a_mistyped_command_or_flag_is_one_line_with_the_closest_match(argv, line, capsys):
    # Through Python (commands.run) an exit code comes back, never argparse's SystemExit.
    assert commands.run(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and line in err[0], err
    with pytest.raises(SystemExit) as exc:  # the console script exits, as programs do
        cli.main(argv)
    assert exc.value.code == 2


def test_help_returns_zero_and_a_command_in_capitals_is_the_command(capsys):
    assert commands.run(["--help"]) == 0
    assert commands.run(["DATA", "--help"]) == 0
    assert "prepare" in capsys.readouterr().out


def _every_parser(parser: Parser, name: str):
    yield name, parser
    for action in parser._actions:
        choices = getattr(action, "choices", None)
        for sub_name, sub in choices.items() if isinstance(choices, dict) else ():
            if isinstance(sub, Parser):
                yield from _every_parser(sub, f"{name} {sub_name}")


def test_every_flag_a_command_shows_says_what_it_does():
    """`--help` of every command (and sub-command) gives each flag a help text."""
    silent = []
    for command in commands.table():
        for name, parser in _every_parser(commands.parser(command), command):
            for action in parser._actions:
                if action.option_strings and action.help is None:
                    silent.append(f"neurallab {name} {action.option_strings[0]}")
    assert not silent, f"flags without help: {', '.join(silent)}"
