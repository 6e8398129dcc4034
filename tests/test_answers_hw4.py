"""HW4 answers: the readings and verdicts follow their numbers, and the batched training of many
initialisations is the handout's training loop for each of them."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn.functional import mse_loss

from neurallab.cli import main
from neurallab.data.toy import generate_data
from neurallab.experiments import hw4
from neurallab.experiments.verdict import AGREES, DEMONSTRATED, DISAGREES, NOT_RESOLVED
from neurallab.models.toy import ToyEnsemble, ToyModel, member_mse
from neurallab.programs import toy


def _answers(**overrides):
    """Made-up answers of a toy run (the shape `neurallab toy` writes)."""
    a = {
        "ex1_loss": 10.0,
        "ex1_loss_builtin": 10.0,
        "ex1_output_shape": [20, 2],
        "ex1_target_shape": [20, 2],
        "ex1_wrong_outputs": 20,
        "ex1_loss_of_constant_half": 10.0,
        "ex3_lr_scan": [[0.01, 9.9], [1.0, 9.0], [50.0, 18.0]],
        "ex3_repeated_cell_losses": [9.9, 9.8, 9.7],
        "ex4_max_output_difference": 0.0,
        "ex4_parameters": 26,
        "ex4_untrained_mse": 0.26,
    }
    for n in hw4.NAMES:
        a[f"ex2_{n}_grad_distance"] = 1e-16
        a[f"ex2_{n}_grad_distance_float32"] = 1e-8
    a.update(overrides)
    return a


def test_ex1_ex2_ex4_checks_flip_on_a_wrong_result():
    assert hw4.ex1_reading(_answers())[1][0].outcome == AGREES
    assert hw4.ex1_reading(_answers(ex1_output_shape=[20, 1]))[1][0].outcome == DISAGREES
    assert hw4.ex1_reading(_answers(ex1_loss_builtin=5.0))[1][0].outcome == DISAGREES
    text, _ = hw4.ex1_reading(_answers(ex1_wrong_outputs=17, ex1_loss_of_constant_half=9.0))
    assert "17 of the 40 outputs" in text and "no better than" in text

    text, verdicts, _ = hw4.ex2_reading(_answers())
    assert verdicts[0].outcome == AGREES and "agreement to float64 precision" in text
    text, verdicts, _ = hw4.ex2_reading(_answers(ex2_W1_grad_distance=0.3))
    assert verdicts[0].outcome == DISAGREES and "a derivative is wrong" in text

    assert hw4.ex4_reading(_answers())[1][0].outcome == AGREES
    assert hw4.ex4_reading(_answers(ex4_max_output_difference=0.1))[1][0].outcome == DISAGREES
    assert hw4.ex4_reading(_answers(ex4_parameters=30))[1][0].outcome == DISAGREES


def test_ex3_answer_follows_the_measured_losses():
    text, verdicts, rows = hw4.ex3_reading(_answers())
    assert text.startswith("**Yes.**") and "smallest rate that raises it is 50" in text
    assert [v.outcome for v in verdicts] == [DEMONSTRATED, AGREES, AGREES]
    assert [r[2] for r in rows] == ["lowered", "lowered", "raised"]
    assert "lower every time" in text

    never = _answers(ex3_lr_scan=[[0.01, 9.9], [1.0, 9.0], [50.0, 8.0]])
    text, verdicts, _ = hw4.ex3_reading(never)
    assert text.startswith("Not at any learning rate")
    assert verdicts[2].outcome == DISAGREES and verdicts[0].outcome != DEMONSTRATED
    bumpy = _answers(ex3_repeated_cell_losses=[9.9, 10.1, 9.7])
    text, verdicts, _ = hw4.ex3_reading(bumpy)
    assert verdicts[1].outcome == DISAGREES and "NOT lower every time" in text


def test_restarts_needed_counts_runs_to_the_next_success():
    assert hw4.restarts_needed([True, True]) == (1, 0)
    assert hw4.restarts_needed([False, False, True, False, True]) == (3, 0)
    assert hw4.restarts_needed([True, False, False]) == (1, 2)  # the last two find none
    assert hw4.restarts_needed([False, False]) == (None, 2)


def test_intervals_of_fractions_stay_inside_0_1():
    for k, n in ((0, 40), (40, 40), (1, 8), (20, 40)):
        low, high = hw4.wilson(k, n)
        assert 0 <= low <= k / n <= high <= 1
    assert hw4.wilson(0, 40)[0] == 0 and hw4.wilson(1, 40)[0] > 0
    d, low, high = hw4.newcombe(30, 40, 10, 40)
    assert d == 0.5 and 0 < low < d < high <= 1
    assert hw4.runs_for(0.5) == 5 and hw4.runs_for(1.0) == 1 and hw4.runs_for(0) == math.inf


def _run(lrs, own, search, fresh, first=None):
    """Made-up answers of one optimizer's grid run: per rate, the notebook's own final MSE, how
    many of the 3 other search initialisations and of the fresh ones end below 0.01."""
    a = {"ex5_lrs": list(lrs), **{f"ex5_{k}": [] for k in KEYS}}
    for o, s, (k, n) in zip(own, search, fresh, strict=True):
        mse = [o] + [0.001] * s + [0.05] * (3 - s) + [0.002] * k + [0.05] * (n - k)
        a["ex5_mse"].append(mse)
        a["ex5_first_below_step"].append([first] + [500] * (3 + n))
        a["ex5_dead_units"].append([0] + [1, 0] * (2 + n // 2))
        a["ex5_wrong_outputs"].append([1] * (4 + n))
        below = sum(v < 0.01 for v in mse)
        a["ex5_below_target_by_step"].append([[1500, below - 1], [3000, below]])
    return a


KEYS = ("mse", "first_below_step", "dead_units", "wrong_outputs", "below_target_by_step")


def test_ex5_verdict_flips_with_the_success_counts():
    """Doable when a setting gets the notebook's own model there or a fresh initialisation
    gets there with the chosen setting; not when none does. The choice never reads the fresh
    pool, and the SGD-vs-momentum/Adam claim follows the interval of the difference."""
    plan = hw4.Plan(steps=3000, search=4, fresh=40, fresh_steps=0)
    runs = {
        "SGD": _run((0.3, 1.0), own=(0.05, 0.05), search=(0, 1), fresh=((0, 40), (2, 40))),
        "Adam": _run((0.01, 0.03), own=(0.05, 0.05), search=(3, 2), fresh=((30, 40), (39, 40))),
    }
    cells = hw4.grid_cells(runs, plan.search)
    verdicts = hw4.ex5_verdicts(cells, plan.steps)
    assert verdicts[0].outcome == AGREES and "chosen Adam, lr 0.0100" in verdicts[0].key_result
    assert verdicts[1].outcome == AGREES  # 30/40 vs 2/40
    text, key = hw4.ex5_reading(cells, plan, 0)
    assert "None of them brings the notebook's own ToyModel() below 0.01" in text
    assert "**30 of 40**" in text and "re-running `model = ToyModel()`" in text
    assert "Of the 10 fresh ones that stay above 0.01, 5 have a dead hidden unit" in text
    assert "5 keep every unit but settle with 1-1 of the 40 outputs" in text
    assert "32 of all 44 initialisations are below 0.01 at step 1,500 and 33 at step 3,000" in text
    assert key.startswith("doable: Adam, lr 0.0100, 3,000 steps: 30/40")
    assert "30% of it" in text  # the step count against the handout's 10,000

    # The notebook's own model reaches it with SGD: chosen first, whatever the fresh pool says.
    runs["SGD"] = _run((0.3, 1.0), own=(0.05, 0.005), search=(0, 1), fresh=((0, 40), (0, 40)))
    cells = hw4.grid_cells(runs, plan.search)
    verdicts = hw4.ex5_verdicts(cells, plan.steps)
    assert verdicts[0].outcome == AGREES and "chosen SGD, lr 1.00" in verdicts[0].key_result
    assert "0/40 fresh" in verdicts[0].key_result

    # Nothing reaches 0.01: not doable at this budget; SGD as good as Adam: not resolved.
    runs = {
        "SGD": _run((0.3,), own=(0.05,), search=(0,), fresh=((0, 40),)),
        "Adam": _run((0.01,), own=(0.05,), search=(0,), fresh=((0, 40),)),
    }
    cells = hw4.grid_cells(runs, plan.search)
    verdicts = hw4.ex5_verdicts(cells, plan.steps)
    assert verdicts[0].outcome == DISAGREES and verdicts[1].outcome == NOT_RESOLVED
    text, _ = hw4.ex5_reading(cells, plan, 0)
    assert "no fresh initialisation succeeded" in text

    # Plain SGD better than the rest: the handout's "likely necessary" disagrees.
    runs = {
        "SGD": _run((3.0,), own=(0.05,), search=(3,), fresh=((38, 40),)),
        "Adam": _run((0.01,), own=(0.05,), search=(1,), fresh=((5, 40),)),
    }
    verdicts = hw4.ex5_verdicts(hw4.grid_cells(runs, plan.search), plan.steps)
    assert verdicts[1].outcome == DISAGREES
    full = hw4.ex5_reading(hw4.grid_cells(runs, plan.search), hw4.PLANS[False], 0)[0]
    assert "runs 10,000; this budget 100% of it" in full


def test_generalisation_reading_flips_with_the_numbers():
    base = {
        "ex5_lrs": [0.03],
        "ex5_mse": [[0.001, 0.002, 0.001]],
        "ex5_fresh_data_mse": [[0.30, 0.28, 0.33]],
        "baseline_fresh_data_mse": 0.25,
        "fresh_training_steps": 5000,
        "fresh_training_fixed_mse": [0.2, 0.21, 0.19],
        "fresh_training_fresh_data_mse": [0.18, 0.17, 0.19],
    }
    text, verdicts, _ = hw4.generalisation_reading(base)
    assert "Fresh data is worse (higher MSE) than the 20 training points on MSE" in text
    assert "3 of the 3 fitted networks do worse than that" in text
    assert [v.outcome for v in verdicts] == [AGREES, AGREES]
    # The difference is printed with the sign of its interval: the worse arm first.
    assert "Training on the 20 points only is worse (higher MSE) than training on a" in text
    assert "[-" not in text

    flipped = dict(base, ex5_mse=[[0.1, 0.12, 0.11]], ex5_fresh_data_mse=[[0.0005, 0.0004, 0.0006]])
    flipped["fresh_training_fresh_data_mse"] = [0.003, 0.002, 0.004]
    text, verdicts, _ = hw4.generalisation_reading(flipped)
    assert "The 20 training points is worse (higher MSE) than fresh data" in text
    assert [v.outcome for v in verdicts] == [DISAGREES, DISAGREES]


def test_ensemble_trains_each_member_as_the_handouts_loop_would():
    """Adam on the summed member losses = each ToyModel trained alone (up to float rounding)."""
    torch.manual_seed(0)
    X, Y = generate_data(20)
    members = [toy.notebook_fresh_model(s) for s in range(3)]
    ensemble = ToyEnsemble(members)
    alone = [ensemble.member(k) for k in range(3)]  # copies of the same starting weights
    opt = torch.optim.Adam(ensemble.parameters(), lr=0.03)
    opts = [torch.optim.Adam(m.parameters(), lr=0.03) for m in alone]
    for _ in range(200):
        opt.zero_grad()
        member_mse(ensemble(X), Y).sum().backward()
        opt.step()
        for m, o in zip(alone, opts, strict=True):  # the handout's Ex5 loop
            o.zero_grad()
            mse_loss(m(X), Y).backward()
            o.step()
    with torch.no_grad():
        batched = member_mse(ensemble(X), Y)
        single = torch.stack([mse_loss(m(X), Y) for m in alone])
    assert torch.allclose(batched, single, rtol=1e-3, atol=1e-6)
    assert single.min() < 0.5 * mse_loss(members[0](X), Y)  # it trained


def test_notebook_fresh_model_replays_the_notebooks_draws():
    torch.manual_seed(0)
    generate_data(20)
    torch.randn(3, 4), torch.randn(1, 4), torch.randn(4, 2), torch.randn(1, 2)
    # The ExampleNetwork cell: Flatten, Linear(784, 128), ReLU, Linear(128, 64), ReLU,
    # Linear(64, 10), then model(torch.randn(1, 28, 28)).
    torch.nn.Linear(784, 128), torch.nn.Linear(128, 64), torch.nn.Linear(64, 10)
    torch.randn(1, 28, 28)
    ToyModel()
    expected = ToyModel()
    got = toy.notebook_fresh_model(0)
    for p, q in zip(expected.parameters(), got.parameters(), strict=True):
        assert torch.equal(p, q)


def test_toy_offers_only_flags_it_honours(tmp_path, capsys):
    for flag in ("--max_samples", "--checkpoint_every", "--batch_size", "--resume"):
        with pytest.raises(SystemExit):
            main(["toy", flag, "10", "--run_dir", str(tmp_path / "x")])
    capsys.readouterr()
    argv = ["toy", "--steps", "60", "--inits", "3", "--fresh_steps", "0", "--tracker", "none"]
    assert main([*argv, "--eval_every", "20", "--run_dir", str(tmp_path / "a")]) == 0
    assert main([*argv, "--eval_every", "30", "--run_dir", str(tmp_path / "b")]) == 0
    import json

    a = json.loads((tmp_path / "a" / "summary.json").read_text())["answers"]
    b = json.loads((tmp_path / "b" / "summary.json").read_text())["answers"]
    assert [s for s, _ in a["ex5_below_target_by_step"][0]] == [20, 40, 60]
    assert [s for s, _ in b["ex5_below_target_by_step"][0]] == [30, 60]
    assert len(a["ex5_mse"][0]) == 3 and a["ex5_seeds"] == [0, 1, 2]
    assert "fresh_training_fixed_mse" not in a  # --fresh_steps 0 skips the variant


def test_toy_settings_keep_the_old_command_lines():
    """`--steps` also answers to `--epochs`; one `--lr` is a grid of one; Python and the command
    line give the same settings, and impossible combinations are refused on one line."""
    from neurallab import commands
    from neurallab.errors import UserError

    parser = commands.parser("toy")
    args = parser.parse_args(["--epochs", "300", "--lr", "0.1", "--inits", "4"])
    settings = toy.Settings.from_args(args)
    assert settings == toy.Settings(steps=300, lr=0.1, inits=4)
    assert settings.lr == (0.1,) and toy.Settings(lr=1).lr == (1.0,)
    assert settings.to_argv() == ["--steps", "300", "--lr", "0.1", "--inits", "4"]
    assert toy.effective_config(settings).fit.max_samples == 300 * toy.N_POINTS
    with pytest.raises(UserError, match="lr: each learning rate once"):
        toy.Settings(lr=(0.1, 0.1))
    with pytest.raises(UserError, match="momentum: optimizer adam has no momentum"):
        toy.Settings(momentum=0.9)


@pytest.mark.parametrize(
    ("optimizer", "momentum", "lrs"), [("adam", None, (0.03, 0.1)), ("sgd", 0.9, (0.1, 0.5))]
)
def test_a_grid_of_learning_rates_trains_each_as_if_alone(tmp_path, optimizer, momentum, lrs):
    """Block b of a grid run is the run at lrs[b] alone (its members step at lr_b / lr_0 times
    the optimizer's step); the trained models come back from the checkpoint alone."""
    common = dict(steps=200, inits=3, optimizer=optimizer, momentum=momentum, fresh_steps=0)
    options = dict(tracker="none", progress=False)
    grid = toy.train(toy.Settings(lr=lrs, **common), tmp_path / "grid", **options)
    alone = toy.train(toy.Settings(lr=lrs[1], **common), tmp_path / "alone", **options)
    got, want = grid.summary["answers"]["ex5_mse"], alone.summary["answers"]["ex5_mse"]
    assert len(got) == 2 and got[0] != got[1]
    assert got[1] == pytest.approx(want[0], rel=1e-4)
    X, Y = _points()
    trained = toy.load(grid.run_dir)
    assert len(trained) == 6
    with torch.no_grad():
        assert float(mse_loss(trained.member(3)(X), Y)) == pytest.approx(got[1][0], rel=1e-6)
    with pytest.raises(Exception, match="not a finished toy run"):
        toy.load(tmp_path)


def _points():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return generate_data(toy.N_POINTS)


def test_record_mse_state_round_trips(tmp_path):
    """What RecordMSE has recorded survives its state_dict (what last.pt keeps for a resume)."""
    from neurallab.engine import FitConfig
    from neurallab.tracking import Run

    X, Y = _points()
    ensemble = ToyEnsemble([toy.notebook_fresh_model(s) for s in range(2)])
    run = Run(tmp_path)
    first = toy.RecordMSE(ensemble, {"fixed": (X, Y)}, run, FitConfig(batch_size=20))
    first.on_evaluation(10, {})
    first.on_evaluation(20, {})
    state = first.state_dict()
    torch.save(state, tmp_path / "state.pt")
    again = toy.RecordMSE(ensemble, {"fixed": (X, Y)}, run, FitConfig(batch_size=20))
    again.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    assert again.history == first.history and again.history["steps"] == [10, 20]
    again.on_evaluation(30, {})
    assert len(again.history["fixed"]) == 3 and len(first.history["fixed"]) == 2
    run.finish()
