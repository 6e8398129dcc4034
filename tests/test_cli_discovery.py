"""Command discovery: read without importing, loud when a command module is broken; help text."""

from __future__ import annotations

import subprocess
import sys

import pytest

from neurallab import cli
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
    assert tasks == {"neurallab.tasks.parity_manual"}
    assert "neurallab.experiments.reproduce" not in modules


def test_every_command_is_found_with_its_help():
    table = cli.command_table()
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
        cli.CommandModuleError, match=problem.replace("(", r"\(").replace(")", r"\)")
    ):
        cli._read_command("neurallab.tasks.broken", path)


def test_a_module_without_command_is_a_helper(tmp_path):
    path = tmp_path / "helpers.py"
    path.write_text("def add_engine_args(parser):\n    pass\n")
    assert cli._read_command("neurallab.tasks.helpers", path) is None


def test_a_missing_command_module_is_an_error(monkeypatch):
    monkeypatch.setattr(cli, "TOOL_MODULES", [*cli.TOOL_MODULES, "neurallab.data.no_such_cli"])
    with pytest.raises(cli.CommandModuleError, match="no_such_cli"):
        cli.command_table()
    with pytest.raises(cli.CommandModuleError):
        cli.main(["--help"])


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
    for name in cli.command_table():
        text = " ".join(cli.command_parser(name).format_help().split())
        assert "(default: None)" not in text and "%%" not in text, name


def test_a_command_is_found_by_its_own_module_only(capsys):
    assert cli.find_command("rnn-lm") == cli.command_table()["rnn-lm"]
    assert cli.find_command("no-such-command") is None
    with pytest.raises(SystemExit) as exc:
        cli.main(["no-such-command"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err
