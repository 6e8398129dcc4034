"""A question's runs across interruptions: an interrupted resume resumes again (it is not
restarted from scratch), and a question's wall time counts the work its own earlier attempts
did on the runs it resumes or reuses, but not runs another question made."""

import json

import pytest

from neurallab.experiments.base import run_program, total_seconds
from neurallab.programs import mnist

MNIST = mnist.Settings(epochs=1, train_limit=4000)


def run_command(settings, run_dir, question):
    """The run's summary.json with the accounting of one attempt at `question`."""
    record, accounting = run_program(settings, run_dir, question=question)
    return {**record.summary, **accounting}


def leave_interrupted(run_dir, drop=(), command=None):
    """Turn a finished run's folder into what a process killed part-way leaves: summary.json
    without its wall time and final metrics (and the keys in `drop`), `command` as the command
    it ran if given; plus keep.txt, which is gone if reproduce replaces the folder."""
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text())
    gone = {"wall_seconds", "final", *drop}
    interrupted = {k: v for k, v in summary.items() if k not in gone}
    if command is not None:
        interrupted["command"] = command
    summary_path.write_text(json.dumps(interrupted))
    (run_dir / "keep.txt").write_text("the run folder must not be replaced")


def test_interrupted_resume_resumes_again_and_counts_earlier_work(tmp_path):
    run_dir = tmp_path / "run"
    first = run_command(MNIST, run_dir, question="hw3 P1")
    assert first["earlier_seconds"] == 0.0
    assert (run_dir / "question.txt").read_text() == "hw3 P1"

    # What a resume killed part-way leaves behind: its checkpoint, and a summary that has the
    # `--resume` command it ran and no wall time yet.
    leave_interrupted(run_dir, command=first["command"] + " --resume")

    again = run_command(MNIST, run_dir, question="hw3 P1")
    assert (run_dir / "keep.txt").exists(), "the checkpoint was thrown away, not resumed"
    assert again["command"] == first["command"] and "wall_seconds" in again
    # The checkpoint carried the first process's training time (as of its last save, just
    # before that process finished); this process trained nothing more.
    assert 0 < again["earlier_seconds"] <= first["train_seconds"]
    assert again["earlier_seconds"] == again["resumed_after_seconds"]

    # Reused finished: the same question counts the run's whole time, another question none.
    mine = run_command(MNIST, run_dir, question="hw3 P1")
    theirs = run_command(MNIST, run_dir, question="hw3 P2")
    assert mine["earlier_seconds"] == total_seconds(mine) > 0
    assert theirs["earlier_seconds"] == 0.0


def test_a_run_made_by_other_code_is_trained_again_not_reused(tmp_path, monkeypatch):
    """A finished run records the hash of the code that made it; the same command under
    changed code (a later session of a long reproduce) trains anew instead of reading it."""
    from neurallab.experiments import base

    run_dir = tmp_path / "run"
    first = run_command(MNIST, run_dir, question="hw3 P1")
    assert first["code"] == base.run_code_hash()
    (run_dir / "mark.txt").write_text("made by the first run")
    assert run_command(MNIST, run_dir, question="hw3 P1")["wall_seconds"] == first["wall_seconds"]
    assert (run_dir / "mark.txt").exists(), "the same code's finished run was not reused"

    monkeypatch.setattr(base, "run_code_hash", lambda: "other-code")
    again = run_command(MNIST, run_dir, question="hw3 P1")
    assert again["code"] == "other-code"
    assert not (run_dir / "mark.txt").exists(), "a run of other code was reused"


@pytest.mark.xfail(
    strict=True,
    reason="known defect (docs/architecture.md, Run folders): the code hash reaches "
    "summary.json only when a run finishes, so a run killed in its first process is "
    "trained again; fixing it changes answer code, so it waits for the next full re-run",
)
def test_a_run_killed_in_its_first_process_resumes(tmp_path):
    run_dir = tmp_path / "run"
    run_command(MNIST, run_dir, question="hw3 P1")
    # What the first process leaves when killed after a checkpoint: last.pt, and a summary
    # with the command but no code hash (run_program adds it at the end) and no wall time.
    leave_interrupted(run_dir, drop=("code",))
    assert (run_dir / "last.pt").exists()

    run_command(MNIST, run_dir, question="hw3 P1")
    assert (run_dir / "keep.txt").exists(), "the checkpoint was thrown away, not resumed"
