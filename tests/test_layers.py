"""The layers import downwards only: read from every module's source (ast), nothing is imported.

Commands (`neurallab.tasks`) sit on top: nothing imports them or `neurallab.cli`. Below them
every package may import only packages of a lower layer (two packages on one layer, such as
data and models, do not import each other). The experiments call the programs with settings
objects: an argv list or a run by name (`neurallab.commands`) there is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import neurallab

ROOT = Path(neurallab.__file__).parent
# Lower number = lower layer. A module of the package root (errors.py, flags.py, atomic.py,
# commands.py) is its own entry; a sub-package is one entry.
LAYERS = {
    "errors": 0,
    "flags": 0,
    "atomic": 0,
    "settings": 1,  # typed settings; imports only errors
    "commands": 1,  # imports only errors and flags; finds the commands by name, at run time
    "data": 1,
    "models": 1,
    "tracking": 2,
    "internals": 2,
    "engine": 3,
    "report": 4,
    "programs": 5,  # every program as a function over typed settings
    "compat": 6,
    "experiments": 7,
    "tasks": 8,
    "cli": 9,
}
TOP = {"tasks", "cli"}  # imported by nothing outside themselves


def _part(module: str) -> str | None:
    """The layer entry of a dotted neurallab module name, e.g. 'neurallab.data.images' -> 'data'."""
    parts = module.split(".")
    return parts[1] if parts[0] == "neurallab" and len(parts) > 1 else None


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported entry) for every neurallab import in a file, function-level ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "neurallab":  # from neurallab import commands
                names = [f"neurallab.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(node.lineno, part) for part in map(_part, names) if part is not None]
    return found


def violations(root: Path = ROOT) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.name == "__init__.py" and len(relative.parts) == 1:
            continue  # neurallab/__init__.py: the version only
        own = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        if own not in LAYERS:
            problems.append(f"{relative}: {own!r} has no layer in tests/test_layers.py")
            continue
        for line, target in imports_of(path):
            if target == own:
                continue
            if target not in LAYERS:
                problems.append(f"{relative}:{line} imports unknown neurallab.{target}")
            elif target in TOP or LAYERS[target] >= LAYERS[own]:
                problems.append(f"{relative}:{line}: {own} imports neurallab.{target}")
            elif target == "commands" and asks_questions(path):
                problems.append(f"{relative}:{line}: experiments run programs by name (commands)")
        if asks_questions(path):
            problems += [f"{relative}:{line}: argv list {text}" for line, text in argv_lists(path)]
    return problems


def asks_questions(path: Path) -> bool:
    """A question module: an experiments module that defines QUESTIONS (the machinery beside
    them, reproduce's git calls and base's launcher, builds command lines for other reasons)."""
    if path.parent.name != "experiments":
        return False
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(getattr(t, "id", None) == "QUESTIONS" for t in targets):
            return True
    return False


def argv_lists(path: Path) -> list[tuple[int, str]]:
    """Lists or tuples holding a flag (a string starting with '--') in a module: how a question
    ran a program before it built settings; the experiments build settings objects instead."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.List | ast.Tuple):
            flags = [
                e.value
                for e in node.elts
                if isinstance(e, ast.Constant)
                and isinstance(e.value, str)
                and e.value.startswith("--")
            ]
            if flags:
                found.append((node.lineno, flags[0]))
    return found


def test_every_import_points_down_the_layers():
    assert violations() == []


@pytest.mark.parametrize(
    ("file", "source", "problem"),
    [
        ("experiments/hw7.py", "from neurallab.tasks.generate import load_model\n", "tasks"),
        ("compat/rnn.py", "def f():\n    from neurallab.cli import main\n", "cli"),
        ("engine/loop.py", "import neurallab.experiments.stats\n", "experiments"),
        ("models/mlp.py", "from neurallab.data import registry\n", "data"),
        ("data/images.py", "from neurallab import report\n", "report"),
        ("programs/mnist.py", "from neurallab import experiments\n", "experiments"),
    ],
)
def test_an_upward_import_is_caught(tmp_path, file, source, problem):
    path = tmp_path / file
    path.parent.mkdir(parents=True)
    path.write_text(source)
    (found,) = violations(tmp_path)
    assert found.endswith(f"imports neurallab.{problem}"), found


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ('arms = {"a": ["mnist", "--epochs", "1"]}\n', "argv list --epochs"),
        ("def q(budget):\n    return budget.train(x, ('--lr', '1'))\n", "argv list --lr"),
        ("from neurallab import commands\n", "experiments run programs by name"),
        ("from neurallab.commands import run\n", "experiments run programs by name"),
    ],
)
def test_an_argv_list_or_a_run_by_name_in_experiments_is_caught(tmp_path, source, problem):
    path = tmp_path / "experiments" / "hw9.py"
    path.parent.mkdir(parents=True)
    path.write_text(source + "QUESTIONS = []\n")
    (found,) = violations(tmp_path)
    assert problem in found, found
