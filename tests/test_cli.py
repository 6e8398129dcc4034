"""CLI behaviour: help everywhere, dashed aliases, one-line errors naming the flag."""

from __future__ import annotations

import subprocess
import sys

import pytest

from neurallab import commands
from neurallab.cli import main
from neurallab.commands import build_parser


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "neurallab.cli", *argv], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["mnist", "--batch_size", "0"], "--batch_size"),
        (["mnist", "--epochs", "-1"], "--epochs"),
        (["mnist", "--lr", "nan-ish"], "--lr"),
        (["mnist", "--device", "tpu"], "--device"),
        (["autoencoder", "--bottleneck", "0"], "--bottleneck"),
    ],
)
def test_impossible_values_get_one_line_naming_the_flag(argv, flag, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag in err, err


def test_dashed_and_underscore_spellings_are_the_same_flag():
    parser = build_parser()
    a = parser.parse_args(["mnist", "--batch_size", "7", "--max-samples", "70"])
    b = parser.parse_args(["mnist", "--batch-size", "7", "--max_samples", "70"])
    assert (a.batch_size, a.max_samples) == (b.batch_size, b.max_samples) == (7, 70)


def test_every_command_has_help(capsys):
    parser = build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--help"])  # formats every command's one-line help
    out = capsys.readouterr().out
    names = commands.table()
    assert {"mnist", "autoencoder", "toy", "data", "reproduce"} <= set(names)
    assert all(name in out for name in names)
    for name in names:
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([name, "--help"])
        assert exc.value.code == 0


def test_user_errors_are_one_line_without_traceback(tmp_path):
    out = _run("mnist", "--resume", "--run_dir", str(tmp_path / "none"), "--tracker", "none")
    assert out.returncode == 1
    assert (
        out.stderr.strip()
        == f"neurallab mnist: error: --resume: no checkpoint to resume in {tmp_path / 'none'}"
    )
    out = _run("data", "prepare", "no-such-data")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "unknown dataset 'no-such-data'" in out.stderr
