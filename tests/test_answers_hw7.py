"""HW7 answers: the readings follow their numbers (signed differences, verdicts that flip with
made-up measures, intervals of fractions in [0, 1]), the demonstrations show what they claim,
rnn-lm honours the flags it shows, Q3's one-run-per-seed shortcut gives exactly the losses of
separate runs; rnn-lm and generate from Python (records equal to files, the model rebuilt from
the checkpoint alone), resume exact after SIGKILL, and one line for each mistake."""

from __future__ import annotations

import json
import math

import pytest
import torch

from kill_resume import kill_and_resume, logged, run_whole
from neurallab.cli import main
from neurallab.data import stories
from neurallab.experiments import hw7
from neurallab.experiments.base import Budget
from neurallab.experiments.stats import compare
from neurallab.internals import autodiff, conv, language_model
from neurallab.programs import rnn_lm
from neurallab.programs.run import RunRecord

QUIET = ["--tracker", "none", "--no_progress"]
SMALL = ["--embed_dim", "16", "--hidden_dim", "16", "--dk", "8", "--dv", "8"]


def _course_files(tmp_path, n_train=64, n_val=16):
    train = json.loads(stories.default_paths()["train"].read_text())
    (tmp_path / "train.json").write_text(json.dumps([s[:24] for s in train[:n_train]]))
    (tmp_path / "valid.json").write_text(json.dumps([s[:24] for s in train[-n_val:]]))
    return [
        "--train_data", str(tmp_path / "train.json"), "--val_data", str(tmp_path / "valid.json"),
        "--tokenizer", str(stories.default_paths()["tokenizer"]),
    ]  # fmt: skip


def _summary(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    return {**summary, "run_dir": str(run_dir)}


# --- Q3: one long run read at several budgets equals separate shorter runs -----------------


def test_a_long_run_validated_at_n_equals_a_run_of_n_sequences(tmp_path):
    # 60 training sequences in batches of 8: each pass ends with a partial batch of 4, so the
    # check covers budgets before (48) and after (76) the end of a pass.
    data = _course_files(tmp_path, n_train=60)
    argv = ["rnn-lm", *data, *SMALL, *QUIET, "--batch_size", "8", "--lr", "0.01"]
    long = tmp_path / "long"
    assert main([*argv, "--num_sequences", "96", "--eval_every", "2", "--run_dir", str(long)]) == 0
    long_r = RunRecord.read(long, rnn_lm.Settings)
    assert 48 in long_r.summary["curve"]["sequences"] and 76 in long_r.summary["curve"]["sequences"]
    for n in (48, 76):
        short = tmp_path / f"short{n}"
        assert main([*argv, "--num_sequences", str(n), "--run_dir", str(short)]) == 0
        short_s = _summary(short)
        train, val = hw7.losses_at(long_r, n)
        assert val == short_s["final_val_loss"]  # the same state: exactly the same loss
        assert train == pytest.approx(short_s["final_train_loss"], abs=1e-6)
    # ... and the comparison can fail: a later point of the run has another loss.
    assert hw7.losses_at(long_r, 92)[1] != short_s["final_val_loss"]
    with pytest.raises(ValueError, match="not validated at 40"):
        hw7.losses_at(long_r, 40)


# --- rnn-lm: every flag it shows does what it says ------------------------------------------


def test_rnn_lm_refuses_budget_flags_it_does_not_use_and_hides_them(tmp_path, capsys):
    data = _course_files(tmp_path)
    base = ["rnn-lm", *data, *QUIET, "--num_sequences", "16", "--batch_size", "8"]
    for flag, value in (("--epochs", "3"), ("--max_samples", "32")):
        with pytest.raises(SystemExit) as exc:  # refused while parsing, like a bad value
            main([*base, flag, value, "--run_dir", str(tmp_path / flag.strip("-"))])
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert flag in err and "--num_sequences" in err and len(err.splitlines()) == 1
    with pytest.raises(SystemExit):
        main(["rnn-lm", "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # help lines wrap anywhere
    assert "--epochs" not in shown and "--max_samples" not in shown
    assert "every tenth of --num_sequences" in shown


def test_rnn_lm_honours_eval_every_times_steps_and_keeps_args(tmp_path):
    data = _course_files(tmp_path)
    argv = ["rnn-lm", *data, *SMALL, *QUIET, "--batch_size", "8", "--num_sequences", "64"]
    default, every3 = tmp_path / "default", tmp_path / "every3"
    assert main([*argv, "--run_dir", str(default)]) == 0
    assert main([*argv, "--eval_every", "3", "--run_dir", str(every3)]) == 0
    # 8 steps: every tenth (0.8 steps -> every step) gives 8 validations; every 3 steps gives
    # validations after steps 3, 6 and the last one.
    assert _summary(default)["curve"]["sequences"] == list(range(8, 65, 8))
    assert _summary(every3)["curve"]["sequences"] == [24, 48, 64]
    s = _summary(every3)
    assert s["eval_every_steps"] == 3 and s["steps_timed"] == s["steps"] == 8
    assert len(s["step_seconds"]) == 8 and sum(s["step_seconds"]) <= s["train_seconds"]
    assert s["train_step_seconds"] == pytest.approx(sum(s["step_seconds"]), abs=1e-3)
    config = json.loads((every3 / "config.json").read_text())
    assert config["tokenizer"] == data[-1]  # as given, not rewritten by the task
    assert config["eval_every"] == 3 and config["program"] == "rnn-lm"
    assert s["train_sequences"] == 64 and s["passes"] == 1.0  # read from the data, not assumed
    assert s["tokenizer"] == str(stories.default_paths()["tokenizer"].resolve())


# --- Q2: the fill-in follows the measured directions -----------------------------------------


def test_q2_fill_in_flips_with_each_measured_direction():
    assert hw7.fill_in(-1, 1, -1) == ("faster", "a decrease", "more")
    assert hw7.fill_in(1, -1, 1) == ("slower", "an increase", "less")
    unresolved = hw7.fill_in(0, 0, 0)
    assert all(blank.endswith("(not resolved at this budget)") for blank in unresolved)
    # each reads right in the handout's sentence: "leads to ___ training, ___ in performance"
    assert unresolved[0].startswith("neither faster nor slower")
    assert unresolved[1].startswith("no change") and unresolved[2].startswith("neither more")
    assert "save no time" in hw7.why_speed(1, 9.1, 8, 2)
    assert "share them among more sequences" in hw7.why_speed(-1, 3.0, 8, 2)
    assert "does not differ resolvably" in hw7.why_speed(0, 8.0, 8, 1)


def test_q2_time_per_sequence_and_jitter_come_from_the_run(tmp_path):
    rows = ["step,key,value"] + [
        f"{32 * i},train/batch_loss,{v}" for i, v in enumerate([5, 4, 3.5, 3.4], 1)
    ]
    (tmp_path / "metrics.csv").write_text("\n".join(rows) + "\n")
    summary = {"run_dir": str(tmp_path), "train_step_seconds": 0.64, "samples": 128}
    assert hw7.time_per_sequence(summary) == pytest.approx(1000 * 0.64 / 128)
    # changes -1, -0.5, -0.1: their standard deviation, not their mean (the trend)
    assert hw7.loss_jitter(summary) == pytest.approx(torch.tensor([-1, -0.5, -0.1]).std().item())


def test_readings_print_differences_with_the_sign_of_their_interval():
    lower = compare("size 512", [5.0, 5.1, 5.05], "size 64", [6.0, 6.1, 6.2], "val loss", True)
    text = hw7.signed(lower)
    assert "size 512 minus size 64 on val loss: -1.05" in text and text.endswith("lower")
    low, high = lower.interval
    assert f"{hw7.fmt(low)} to {hw7.fmt(high)}" in text and high < 0
    same = compare("a", [1.0, 2.0, 3.0], "b", [2.0, 1.0, 3.1], "x", True)
    assert hw7.signed(same).endswith("not resolved")


def test_passes_and_new_data_come_from_the_data_size():
    assert (
        hw7.new_and_repeated(20_000, 30_000) == "20,000 read: 20,000 new, 0 repeats (0.67 passes)"
    )
    assert hw7.new_and_repeated(102_400, 30_000).startswith("102,400 read: 30,000 new, 72,400")
    text = hw7.passes(Budget(quick=False), 40_000, "Per run", 768, 50_000)
    assert "50,000 sequences = 1.25 passes over the 40,000" in text and "768 = 0.02" in text


# --- Q4: the sample measures and the choice of the best temperature --------------------------


def test_sample_measures():
    assert hw7.unigram_entropy(torch.tensor([[9, 0, 1, 2, 3]]), vocab=10) == pytest.approx(
        math.log(4)
    )  # the first token of a sequence is never predicted: it does not count
    loop = [5, 6, 7] * 10
    assert hw7.distinct_fraction(loop) == pytest.approx(0.1)
    assert hw7.distinct_fraction(loop, 2) == pytest.approx(3 / 29)
    assert hw7.repeated_ngrams(loop) > 0.8 and hw7.repeated_ngrams(list(range(30))) == 0


def test_best_temperature_is_the_closest_to_real_text_and_flips_with_the_numbers():
    real = [4.0, 4.2, 3.9, 4.1, 4.0]
    stats = {
        "validation text": {"loss": real},
        "T = 0": {"loss": [1.0, 1.1, 0.9, 1.2, 1.0]},
        "T = 0.3": {"loss": [2.0, 2.1, 1.9, 2.2, 2.0]},
        "T = 0.8": {"loss": [3.7, 3.9, 3.5, 3.8, 3.6]},
    }
    best, comparison = hw7.best_temperature(stats, "loss")
    assert best == "T = 0.8" and comparison.direction == -1  # resolved closer than T = 0.3
    stats["T = 0.3"]["loss"] = [4.1, 4.1, 4.0, 4.0, 4.1]
    best, comparison = hw7.best_temperature(stats, "loss")
    assert best == "T = 0.3" and "closer" in comparison.reading("further", "closer")


def test_verdict_sentence_of_q1_follows_a_comparison_in_both_directions():
    from neurallab.experiments.verdict import AGREES, DISAGREES, expect_direction

    lower = compare("size 512", [5.0, 5.1, 5.05], "size 64", [6.0, 6.1, 6.2], "val loss", True)
    higher = compare("size 512", [7.0, 7.1, 7.05], "size 64", [6.0, 6.1, 6.2], "val loss", True)
    assert expect_direction("larger is lower", lower, expected=-1).outcome == AGREES
    assert expect_direction("larger is lower", higher, expected=-1).outcome == DISAGREES


# --- §2-§4 demonstrations would catch a wrong answer -----------------------------------------


def test_a_convolutional_layer_learns_only_its_filter():
    r = conv.what_a_layer_learns()
    assert r["parameters"] == {"weight": [1, 1, 4, 4]} and r["parameter_count"] == 16
    assert r["weights_changed_by_a_step"] and r["settings_before"] == r["settings_after"]
    assert r["output_shape_22x22"] == [10, 10] and r["output_shape_40x40"] == [19, 19]


def test_shared_filters_are_shift_equivariant_and_separate_filters_are_not():
    r = conv.shift_test()
    assert r["shared_filter_max_difference"] < 1e-12
    assert r["separate_filters_max_difference"] > 0.1
    # the test itself can fail: per-position filters that happen to be equal are equivariant
    x = torch.zeros(1, 8, 8, dtype=torch.float64)
    x[0, 3:5, 3:5] = 1.0
    same = torch.ones(36, 9, dtype=torch.float64)
    shared = torch.nn.functional.conv2d(x[None], torch.ones(1, 1, 3, 3, dtype=torch.float64))
    assert torch.equal(conv.locally_connected(x, same, 3), shared[0, 0])


def test_the_tape_records_modules_and_backward_needs_it():
    r = autodiff.tape_contents()
    recorded = [entry["module"].split(" = ")[0] for entry in r["recorded"]]
    assert r["backward_order"] == recorded[::-1]
    assert r["dJ_dw_without_tape"] == [0.0, 0.0, 0.0]
    torch.testing.assert_close(
        torch.tensor(r["dJ_dw_with_tape"]), torch.tensor(autodiff.stack_vs_queue()["autograd"])
    )


def test_multi_head_shapes_are_t_by_dk_and_t_by_h_by_dv():
    r = autodiff.multi_head_shapes(tokens=7, d_model=10, heads=3, d_k=5, d_v=2)
    assert r["key_one_head"] == [7, 5] and r["output_before_final_linear"] == [7, 3, 2]


def test_the_language_model_loss_is_the_chain_rule_probability():
    r = language_model.take_apart()
    assert r["mean_next_token_cross_entropy"] == pytest.approx(
        r["minus_log_p_sequence_over_steps"], abs=1e-5
    )
    assert r["rnn_hidden_states_shape"] == [1, 6, 8] and r["lm_logits_shape"] == [1, 6, 12]
    assert set(r["parts"]) == {"embeddings", "rnn", "attention", "lm_head"}
    assert len(r["generated"]) == 5


def test_cosine_schedule_warms_up_to_the_peak_and_decays_to_zero():
    from neurallab.programs.rnn_lm import Settings, lr_schedule

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = lr_schedule(Settings(lr_schedule="cosine", num_sequences=40 * 128), optimizer)
    lrs = []
    for _ in range(40):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == pytest.approx(3e-3 / 2) and lrs[1] == pytest.approx(3e-3)  # 2 warm-up steps
    assert all(a >= b for a, b in zip(lrs[1:], lrs[2:], strict=False))  # then only down
    assert lrs[-1] < 3e-5
    assert lr_schedule(Settings(), optimizer) is None


def test_q3_check_against_separate_runs_reports_the_gap_and_skips_other_settings(tmp_path):
    q3 = hw7.q3_runs(Budget(quick=True))
    (settings,) = q3.values()
    per_budget = {768: [(6.7, 6.56), (6.7, 6.64)], 3840: [(5.9, 5.92), (5.9, 5.92)]}
    for seed, loss in ((1, 6.56), (2, 6.61)):
        run = tmp_path / f"size-128-batch-128-s{seed}"
        run.mkdir()
        separate = settings.replace(num_sequences=768, eval_every=None, seed=seed)
        config = {"program": "rnn-lm", **separate.record()}
        (run / "config.json").write_text(json.dumps(config))
        (run / "summary.json").write_text(json.dumps({"samples": 768, "final_val_loss": loss}))
    text = hw7.separate_run_check(tmp_path, settings, [1, 2], per_budget)
    assert "6.56, 6.61" in text and "largest difference 3.0e-02" in text
    other = json.loads((tmp_path / "size-128-batch-128-s2" / "config.json").read_text())
    other["lr"] = 0.003
    (tmp_path / "size-128-batch-128-s2" / "config.json").write_text(json.dumps(other))
    assert hw7.separate_run_check(tmp_path, settings, [1, 2], per_budget) == ""


# --- rnn-lm and generate from Python; resume exact; one line for each mistake ----------------


def _tiny(tmp_path, **changes):
    from neurallab.programs import rnn_lm

    data = _course_files(tmp_path, n_train=60)
    values = dict(
        train_data=data[1], val_data=data[3], tokenizer=data[5], embed_dim=16, hidden_dim=16,
        dk=8, dv=8, batch_size=8, lr=0.01, num_sequences=64,
    )  # fmt: skip
    return rnn_lm.Settings(**{**values, **changes})


def test_rnn_lm_from_python_returns_its_files_and_loads_from_the_checkpoint_alone(tmp_path):
    from neurallab.programs import generate, rnn_lm

    rec = rnn_lm.train(_tiny(tmp_path), tmp_path / "run", tracker="none", progress=False)
    on_disk = _summary(tmp_path / "run")
    assert rec.summary["final_val_loss"] == on_disk["final_val_loss"]
    assert rec.final["val/loss"] == pytest.approx(on_disk["final_val_loss"], abs=1e-6)
    assert [round(v, 6) for _, v in rec.history.column("val/loss")] == on_disk["curve"]["val_loss"]
    # 64 sequences in batches of 8 over 60: the pass ends with a batch of 4, then one of 8
    assert rec.summary["sequences_read"] == 68 and rec.summary["passes"] == round(68 / 60, 4)
    assert rec.settings == _tiny(tmp_path) and rec.command.startswith("neurallab rnn-lm")
    (tmp_path / "run" / "config.json").unlink()  # the checkpoint alone rebuilds the model
    model, tokenizer = rnn_lm.load_with_tokenizer(rec.best_checkpoint)
    assert model.embeddings.weight.shape == (tokenizer.get_vocab_size(), 16)
    out = generate.run(generate.Settings(checkpoint=tmp_path / "run", num_tokens=5))
    assert list(out.samples) == [0.0] and out.samples[0.0][0].startswith("Once upon")


def test_rnn_lm_killed_and_resumed_logs_the_same_history_bit_for_bit(tmp_path):
    data = _course_files(tmp_path, n_train=60)
    argv = [*data, *SMALL, "--batch_size", "8", "--lr", "0.01", "--num_sequences", "960",
            "--eval_every", "16", "--checkpoint_every", "5", "--lr_schedule", "cosine"]  # fmt: skip
    killed = kill_and_resume("rnn-lm", argv, tmp_path / "killed", kill_after_evaluations=2)
    whole = run_whole("rnn-lm", argv, tmp_path / "whole")
    assert logged(killed) == logged(whole) and len(logged(whole)) > 30
    k, w = _summary(killed), _summary(whole)
    assert k["steps_timed"] == w["steps_timed"] == w["steps"] == 128  # step times survive too


def _one_error_line(capsys, argv: list[str]) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_generate_names_a_checkpoint_of_another_program_and_a_folder_without_one(tmp_path, capsys):
    mnist_pt = tmp_path / "best.pt"
    torch.save({"model": {}, "program": "mnist", "model_args": {"hidden": 64}}, mnist_pt)
    line = _one_error_line(capsys, ["generate", "--checkpoint", str(mnist_pt)])
    assert "neurallab mnist" in line and "rnn-lm" in line and "embed_dim" not in line
    empty = tmp_path / "empty-run"
    empty.mkdir()
    line = _one_error_line(capsys, ["generate", "--checkpoint", str(empty)])
    assert str(empty) in line and "best.pt" in line and "config.json" not in line
    assert "required" in _one_error_line(capsys, ["generate"])
    notes = tmp_path / "notes.pt"
    notes.write_text("not a checkpoint")
    line = _one_error_line(capsys, ["generate", "--checkpoint", str(notes)])
    assert str(notes) in line and "written by rnn-lm" in line


def test_rnn_lm_refuses_named_data_without_its_validation_binary_files_and_bad_ids(
    tmp_path, capsys
):
    import numpy as np

    data = _course_files(tmp_path)
    base = ["rnn-lm", *QUIET, *SMALL, "--num_sequences", "16", "--batch_size", "8"]
    line = _one_error_line(capsys, [*base, *data[:2], "--run_dir", str(tmp_path / "a")])
    assert "val_data" in line and "train_data" in line
    assert not (tmp_path / "a").exists()  # refused before anything was written
    line = _one_error_line(capsys, [*base, *data[2:4], "--run_dir", str(tmp_path / "a")])
    assert "train_data: must be given with val_data" in line
    np.save(tmp_path / "x.npy", np.arange(10))
    line = _one_error_line(
        capsys,
        [
            *base,
            "--train_data",
            str(tmp_path / "x.npy"),
            *data[2:],
            "--run_dir",
            str(tmp_path / "b"),
        ],
    )
    assert "x.npy" in line and "NumPy" in line
    bad = json.loads((tmp_path / "train.json").read_text())
    bad[3][5] = 5000  # the tokenizer has 1024 pieces
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    line = _one_error_line(
        capsys,
        [
            *base,
            "--train_data",
            str(tmp_path / "bad.json"),
            *data[2:],
            "--run_dir",
            str(tmp_path / "c"),
        ],
    )
    assert "bad.json, row 4" in line and "5000" in line and "1024" in line


# --- issue 22: Q4's claims are measured, its "compelling" a written judgment; conditions ----


def test_q4_claims_flip_with_made_up_measures_and_compelling_is_never_a_verdict():
    from neurallab.experiments.verdict import AGREES, DISAGREES, WRITTEN

    def stats(rep0, rep8, dist0, dist8, loss3, loss8):
        vary = [0.0, 0.01, -0.01, 0.02, -0.02]
        row = lambda rep, dist, loss: {  # noqa: E731
            "repeated 4-grams": [rep + v for v in vary],
            "distinct 2-grams": [dist + v for v in vary],
            "loss": [loss + v for v in vary],
        }
        return {"T = 0": row(rep0, dist0, 1.0), "T = 0.3": row(0.3, 0.5, loss3),
                "T = 0.8": row(rep8, dist8, loss8)}  # fmt: skip

    verdicts, _ = hw7.q4_claims(stats(0.8, 0.1, 0.2, 0.9, 2.0, 3.5), "T = 0.8")
    assert [v.outcome for v in verdicts[:3]] == [AGREES] * 3
    assert verdicts[0].key_result.endswith("more repetitive") and "0.7" in verdicts[0].key_result
    verdicts, _ = hw7.q4_claims(stats(0.1, 0.8, 0.9, 0.2, 3.5, 2.0), "T = 0")
    assert [v.outcome for v in verdicts[:3]] == [DISAGREES] * 3
    assert verdicts[3].outcome == WRITTEN and "compelling" in verdicts[3].expectation


def test_conditions_state_precision_threads_and_whether_others_ran():
    settings = rnn_lm.Settings()

    def rec(load, precision="fp32"):
        summary = {"threads": 1, "cpu_count": 2, "load_average_start": load,
                   "load_average_end": load}  # fmt: skip
        return RunRecord("rnn-lm", settings.replace(precision=precision), None, summary, None)

    quiet, busy = hw7.conditions([rec(0.9)]), hw7.conditions([rec(4.2)])
    assert "Precision fp32 (the course's)" in quiet and "1 PyTorch thread" in quiet
    assert "nothing else of note ran" in quiet and "other processes were running" in busy
    assert "bf16 (asked for)" in hw7.conditions([rec(0.9, "bf16")])


def test_fraction_intervals_stay_inside_zero_and_one():
    text = hw7._measure_text("repeated 4-grams", [0.0, 0.0, 0.0, 0.01, 0.0])
    assert "95% CI 0 to" in text and "-" not in text
    assert "-" in hw7._measure_text("loss", [-1.0, 0.0, 1.0])  # a loss is not a fraction


def test_every_section5_question_answers_from_records_at_a_tiny_plan(tmp_path, monkeypatch):
    """Q1-Q4 end to end on tiny data: each builds settings, reads records, states passes over
    the data's real size and the precision, and gives its verdicts."""
    data = _course_files(tmp_path, n_train=60)
    from neurallab.programs import run as program_run

    make_tracker = program_run.make_tracker
    monkeypatch.setattr(
        program_run, "make_tracker", lambda kind, *a, **k: make_tracker("none", *a, **k)
    )  # reproduce's runs keep their tracker; this test needs none
    from neurallab.tracking.run import Run

    monkeypatch.setattr(Run, "save_figure", lambda self, figure, name: self.dir / name)  # speed
    tiny = hw7.Plan(
        "--quick", 128, 1280, 64, q4_size=16, q4_keys=8, q4_lr=1e-2, q4_batch=16, seeds=2
    )
    monkeypatch.setattr(hw7, "QUICK", tiny)
    monkeypatch.setattr(hw7, "SIZES", (8, 16))
    monkeypatch.setattr(hw7, "BATCHES", (8, 16))
    files = {"train_data": data[1], "val_data": data[3], "tokenizer": data[5], "dk": 8, "dv": 8}
    budget = Budget(quick=True, overrides=files)
    answers = {q: getattr(hw7, q)(budget, tmp_path / q) for q in ("q1", "q2", "q3", "q4")}
    for q, answer in answers.items():
        assert "over the 60 training sequences" in answer.text, q
        assert "Precision fp32 (the course's)" in answer.text, q
        assert answer.verdicts and answer.key_result, q
    assert "128 sequences = 2.13 passes" in answers["q1"].text  # read from the data, not assumed
    assert "120 read: 60 new, 60 repeats" in answers["q3"].tables[0]
    assert "measures repetition, not new data" in answers["q3"].text
    assert [v.outcome for v in answers["q4"].verdicts][-1] == "written answer"


def test_against_unigram_flags_arms_that_have_not_passed_the_frequency_plateau():
    """A model whose validation loss is not below the unigram entropy has learned at most how
    common tokens are: the sentence and the flag say which arms, from their intervals."""
    entropy = 5.83
    learned = [("size 64", [4.1, 4.2, 4.15]), ("size 512", [3.9, 3.95, 3.92])]
    text, flag = hw7.against_unigram(learned, entropy)
    assert flag == "" and "every arm's validation loss is below the unigram entropy" in text
    plateau = [("size 64", [6.8, 6.81, 6.79]), ("size 512", [5.9, 5.95, 5.93])]
    text, flag = hw7.against_unigram(plateau, entropy)
    assert "no arm's validation loss is below the unigram entropy 5.83" in flag and flag in text
    mixed = [("size 64", [6.8, 6.81, 6.79]), ("size 512", [4.0, 5.0, 4.5])]
    _, flag = hw7.against_unigram(mixed, entropy)
    assert (
        flag.startswith("size 64 not below the unigram entropy 5.83")
        and "size 512 below it" in flag
    )
    # An interval that straddles the entropy is not "below".
    _, flag = hw7.against_unigram([("size 64", [5.0, 6.6, 5.8])], entropy)
    assert "no arm" in flag
