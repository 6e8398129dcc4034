"""Issue 9's fault campaign: broken inputs for every loader, fuzzed loaders, concurrent tracking.

Every broken input must end in one line naming the file (and row) or the flag, with a non-zero
exit and no traceback. docs/reliability.md lists each fault and its measured outcome.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurallab.cli import main
from neurallab.errors import DataError, UserError

TEXT_HEADER = "article,source,label,label_idx\n"


def _text_dir(tmp_path, train: bytes) -> str:
    good = TEXT_HEADER + "a fine article,s,x,0\nanother one,s,y,1\n"
    (tmp_path / "txt_train.csv").write_bytes(train)
    (tmp_path / "txt_val.csv").write_text(good)
    (tmp_path / "txt_test.csv").write_text(good)
    return str(tmp_path)


TEXT_CASES = {
    "unclosed quote": (TEXT_HEADER + '"never closed,s,x,0\n').encode(),
    "missing column": b"article,source,label\nhello,s,x\n",
    "non-utf8 bytes": TEXT_HEADER.encode() + b"caf\xe9,s,x,0\n",
    "empty file": b"",
    "empty article": (TEXT_HEADER + ",s,x,0\nok,s,y,1\n").encode(),
    "label out of range": (TEXT_HEADER + "ok,s,x,0\nok too,s,y,-3\n").encode(),
}


@pytest.mark.parametrize("case", list(TEXT_CASES))
def test_broken_text_csv_gives_one_line_naming_the_file(tmp_path, capsys, case):
    data_dir = _text_dir(tmp_path, TEXT_CASES[case])
    code = main(
        [
            "txt",
            "--data_dir",
            data_dir,
            "--epochs",
            "1",
            "--tracker",
            "none",
            "--no_progress",
            "--run_dir",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "txt_train.csv" in err[0], err


JSON_CASES = {
    "ragged": [[1, 2, 3], [4, 5]],
    "token id out of range": [[1, 2, 99999], [1, 2, 3]],
    "not a list": {"tokens": [1, 2]},
    "strings": [["a", "b"]],
}


@pytest.mark.parametrize("case", list(JSON_CASES))
def test_broken_token_json_gives_one_line_naming_the_file(tmp_path, capsys, case):
    from neurallab.data.stories import default_paths

    bad = tmp_path / "train.json"
    bad.write_text(json.dumps(JSON_CASES[case]))
    paths = default_paths()
    code = main(
        [
            "rnn-lm",
            "--train_data",
            str(bad),
            "--val_data",
            str(paths["valid"]),
            "--tokenizer",
            str(paths["tokenizer"]),
            "--num_sequences",
            "128",
            "--tracker",
            "none",
            "--no_progress",
            "--run_dir",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "train.json" in err[0], err


def test_nan_in_series_and_missing_files(tmp_path, capsys):
    import numpy as np

    x = np.zeros((20, 10, 2), np.float32)
    x[3, 4, 1] = np.nan
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(20) % 2)
    for argv, name in [
        (["timeseries", "--npy", str(tmp_path / "x.npy"), str(tmp_path / "y.npy")], "x.npy"),
        (["timeseries", "--npy", str(tmp_path / "nope.npy"), str(tmp_path / "y.npy")], "nope.npy"),
        (["img", "--data_dir", str(tmp_path / "no-such-dir")], "img_train.csv"),
        (["cifar-test", "--weights", str(tmp_path / "none.pt")], "none.pt"),
    ]:
        code = main(
            [*argv, "--tracker", "none", "--no_progress", "--run_dir", str(tmp_path / "r")]
            if argv[0] != "cifar-test"
            else argv
        )
        err = capsys.readouterr().err.strip().splitlines()
        assert code != 0 and len(err) == 1 and name in err[0], (argv, err)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["txt", "--batch_size", "0"], "--batch_size"),
        (["rnn-lm", "--num_sequences", "-5"], "--num_sequences"),
        (["parity", "--hidden_dim", "0"], "--hidden_dim"),
        (["timeseries", "--model", "transformer"], "--model"),
        (["cifar", "--precision", "fp8"], "--precision"),
        (["generate", "--checkpoint", "x.pt", "--temperature", "-1"], "--temperature"),
    ],
)
def test_impossible_flags_are_one_line(argv, flag, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and flag in err[0]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_fuzzed_text_csv_either_loads_or_is_a_data_error(tmp_path, blob):
    from neurallab.data.text import read_text_csv

    path = tmp_path / "fuzz.csv"
    path.write_bytes(TEXT_HEADER.encode() + blob)
    try:
        read_text_csv(path)
    except DataError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.recursive(
        st.integers(-3, 2000) | st.text(max_size=3) | st.none(),
        lambda inner: st.lists(inner, max_size=4),
        max_leaves=20,
    )
)
def test_fuzzed_token_json_either_loads_or_is_a_data_error(tmp_path, value):
    from neurallab.data.stories import read_sequences

    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(value))
    try:
        seqs = read_sequences(path, vocab_size=1024)
    except (DataError, UserError) as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
    else:
        assert all(0 <= int(t) < 1024 for s in seqs for t in s)


def test_two_runs_logging_to_one_trackio_project_lose_no_points(tmp_path):
    script = textwrap.dedent("""
        import sys
        from neurallab.tracking.trackio_ import TrackioTracker
        from neurallab.tracking import Run
        name = sys.argv[1]
        run = Run(sys.argv[2], TrackioTracker("shared", name, {}, False))
        for step in range(300):
            run.log({"x": step}, step=step)
        run.finish()
    """)
    env = {**os.environ, "TRACKIO_DIR": str(tmp_path / "trackio")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, f"run{i}", str(tmp_path / f"r{i}")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(2)
    ]
    for p in procs:
        assert p.wait(timeout=180) == 0, p.stderr.read()[-1500:]
    count = textwrap.dedent("""
        from trackio.sqlite_storage import SQLiteStorage
        print(sum(len([r for r in SQLiteStorage.get_logs("shared", n) if "x" in r]) for n in ("run0", "run1")))
    """)
    out = subprocess.run(
        [sys.executable, "-c", count], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "600"
