"""CLI behaviour: help everywhere, dashed aliases, one-line errors naming the flag."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

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
    assert "no dataset 'no-such-data'" in out.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["autoencoder", "--epochs", "0"],
        ["autoencoder", "--train_limit", "0"],
        ["autoencoder", "--max_samples", "-5"],
        ["timeseries", "--epochs", "0"],
        ["timeseries", "--batch_size", "0"],
        ["timeseries", "--model", "rnn"],
        ["timeseries", "--dataset", "basicmotions"],
        ["timeseries", "--npy", "x.npy"],
        ["mnist", "--hidden", "0"],
    ],
)
def test_impossible_settings_are_refused_before_a_run_folder_is_made(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--tracker", "none", "--run_dir", str(tmp_path / "run")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and argv[1] in err, err
    assert not (tmp_path / "run").exists()


def test_timeseries_seed_out_of_numpys_range_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:  # refused while parsing, as any bad flag
        main(["timeseries", "--seed", "-1", "--run_dir", str(tmp_path / "run")])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "seed: must be an integer from 0" in err, err
    assert not (tmp_path / "run").exists()


def test_load_refuses_another_programs_checkpoint_on_one_line(tmp_path):
    from neurallab.errors import UserError
    from neurallab.programs import autoencoder, mnist, timeseries

    run = tmp_path / "ae"
    autoencoder.train(
        autoencoder.Settings(epochs=1, train_limit=64, batch_size=64),
        run,
        tracker="none",
        progress=False,
    )
    assert isinstance(autoencoder.load(run), torch.nn.Module)
    for other in (mnist, timeseries):
        with pytest.raises(UserError, match="a checkpoint of `neurallab autoencoder`"):
            other.load(run / "best.pt")
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(UserError) as err:
        autoencoder.load(tmp_path / "junk.pt")
    assert "\n" not in str(err.value)
