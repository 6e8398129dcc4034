"""HW0 §4 answers: readings and verdicts follow the numbers they are given, in both directions."""

from __future__ import annotations

import torch

from neurallab.experiments import hw0_text as q
from neurallab.experiments.base import Budget
from neurallab.experiments.stats import compare
from neurallab.experiments.sweep import SweepResult
from neurallab.experiments.verdict import AGREES, DISAGREES, NOT_RESOLVED, expect_direction
from neurallab.models.text import TextClassificationModel

SEEDS = [10999, 11000, 11001]


def _sweep(values: dict[str, list[dict]]) -> SweepResult:
    """A made-up sweep: arm -> one summary dict per seed."""
    res = SweepResult(arms=list(values), seeds=SEEDS)
    res.runs = {arm: dict(zip(SEEDS, runs, strict=True)) for arm, runs in values.items()}
    return res


def _timing(unpadded, padded, batched):
    seconds = lambda xs: [{"train_step_seconds": x} for x in xs]  # noqa: E731
    return _sweep(
        {
            "batch 1, no max_len": seconds(unpadded),
            "batch 1, max_len 1024": seconds(padded),
            "batch 32, max_len 1024": seconds(batched),
        }
    )


def test_timing_readings_and_verdicts_flip_with_the_times():
    padding, batching = q.timing_readings(_timing([5.0, 5.1, 5.2], [6.0, 6.2, 6.1], [0.4] * 3))
    assert padding.direction == 1 and batching.direction == -1
    assert "is slower than" in padding.reading("slower", "faster")
    assert "is faster than" in batching.reading("slower", "faster")
    assert expect_direction("", padding, +1).outcome == AGREES
    assert expect_direction("", batching, -1).outcome == AGREES
    # Padding made faster, batch 32 slower: both verdicts flip.
    padding, batching = q.timing_readings(_timing([6.0, 6.2, 6.1], [5.0, 5.1, 5.2], [9.0] * 3))
    assert "is faster than" in padding.reading("slower", "faster")
    assert expect_direction("", padding, +1).outcome == DISAGREES
    assert expect_direction("", batching, -1).outcome == DISAGREES
    # Overlapping times: not resolved, and the sentence says so.
    padding, _ = q.timing_readings(_timing([5.0, 6.0, 5.5], [5.9, 5.0, 5.6], [0.4] * 3))
    assert padding.reading().startswith("Not resolved at this budget")
    assert expect_direction("", padding, +1).outcome == NOT_RESOLVED


def _cmp(a_values, b_values, metric="test accuracy"):
    return compare("a", a_values, "b", b_values, metric, paired=True)


UP, DOWN, FLAT = [0.8, 0.82, 0.81], [0.3, 0.32, 0.31], [0.5, 0.6, 0.55]
BASE = [0.5, 0.52, 0.51]


def test_q43_explanation_follows_the_resolved_direction():
    adam_wins = q.q43_readings(_cmp(UP, BASE), _cmp(UP, BASE), _cmp(UP, BASE), 0.63, 16036)
    assert "Adam scales each parameter's step" in adam_wins
    assert "Averaging the pad ids in is what holds" in adam_wins and "63% padding" in adam_wins
    sgd_wins = q.q43_readings(_cmp(DOWN, BASE), _cmp(DOWN, BASE), _cmp(DOWN, BASE), 0.63, 1)
    assert "SGD at lr 5 made more" in sgd_wins and "Adam scales" not in sgd_wins
    assert "did not help" in sgd_wins and "holds the course's model back" not in sgd_wins
    unresolved = q.q43_readings(_cmp(FLAT, BASE), _cmp(FLAT, BASE), _cmp(FLAT, BASE), 0.6, 1)
    assert unresolved.count("Not resolved at this budget") == 3
    assert "Adam scales" not in unresolved and "SGD at lr 5" not in unresolved


def _q44(lstm, gap, pool, masked, hurts=FLAT):
    return {
        "lstm_vs_baseline": _cmp(lstm, BASE),
        "gap": _cmp(gap, BASE, "train minus validation accuracy"),
        "pooling_vs_last": _cmp(pool, BASE),
        "masked_vs_padded": _cmp(masked, BASE),
        "padding_hurts_last": _cmp(hurts, BASE, "padding gap"),
    }


def test_q44_readings_flip_and_the_identical_note_needs_identical_runs():
    text = q.q44_text(_q44(UP, UP, UP, FLAT, hurts=UP), pooling_identical=False)
    assert "a is higher than b on test accuracy" in text
    assert "fits its training articles more closely" in text
    assert "Padding does hurt the last-step readout" in text
    assert "cannot be pinned on padding" not in text and "identical accuracies" not in text
    text = q.q44_text(_q44(UP, UP, UP, FLAT, hurts=FLAT), pooling_identical=False)
    assert "cannot be pinned on padding" in text and "Padding does hurt" not in text
    text = q.q44_text(_q44(DOWN, DOWN, DOWN, FLAT), pooling_identical=True)
    assert "a is lower than b on test accuracy" in text
    assert "baseline's training accuracy runs further ahead" in text
    assert "Padding does hurt" not in text and "cannot be pinned on padding" not in text
    assert "identical accuracies" in text
    verdict = expect_direction("", _q44(UP, UP, DOWN, FLAT)["pooling_vs_last"], +1)
    assert verdict.outcome == DISAGREES
    hurts = _q44(UP, UP, UP, FLAT, hurts=UP)["padding_hurts_last"]
    assert expect_direction("", hurts, +1).outcome == AGREES


def test_padding_gap_reads_the_split_accuracies():
    assert q.padding_gap({"test_by_padding": {"unpadded": 0.7, "padded": 0.4}}) == 0.7 - 0.4


def test_token_class_scores_are_the_exact_shares_of_the_bag_logits():
    torch.manual_seed(0)
    model = TextClassificationModel(vocab_size=40, embed_dim=8, num_class=3)
    article = torch.tensor([[5, 9, 9, 17, 1, 1]])  # pads count, as in the course's bag
    logits = model(article)[0]
    scores = q.token_class_scores(model)
    # Logits minus their mean over classes = mean over the article's tokens of the scores.
    torch.testing.assert_close(logits - logits.mean(), scores[article[0]].mean(dim=0))
    assert scores.shape == (40, 3)


def test_top_tokens_skip_rare_tokens_oov_and_pad():
    from neurallab.data.text import Vocab

    vocab = Vocab()
    vocab.add_tokens(["rare", "common", "other"])
    scores = torch.tensor([[9.0], [9.0], [8.0], [1.0], [0.5]])  # <OOV>, <PAD>, rare, ...
    counts = {"<OOV>": 100, "<PAD>": 100, "rare": 1, "common": 10, "other": 10}
    assert q.top_tokens(scores, vocab, counts, min_count=5, n=2) == [["common", "other"]]


def test_timing_sweep_runs_every_arm_of_a_seed_before_the_next_seed(tmp_path):
    from neurallab.experiments.base import Budget
    from neurallab.programs import txt

    class Recording(Budget):
        def train(self, settings, run_dir, run_name=None):
            self.runs.append({"settings": settings})
            return {"command": run_name, "train_step_seconds": 1.0}

    budget = Recording()
    arms = {"a": txt.Settings(max_len=10), "b": txt.Settings(max_len=20)}
    res = q.interleaved_sweep(budget, arms, [1, 2], tmp_path)
    order = [(r["settings"].max_len, r["settings"].seed) for r in budget.runs]
    assert order == [(10, 1), (20, 1), (10, 2), (20, 2)]
    assert res.values("b", "train_step_seconds") == [1.0, 1.0]


def test_q44_runs_the_lstm_at_the_handouts_adam_rate():
    from neurallab.experiments.base import Budget

    arms = q.q44_arms(Budget(quick=False))
    assert {(s.optimizer, s.lr) for s in arms.values()} == {("adam", 0.001)}
    assert [s.pooling for a, s in arms.items() if a != q.BASELINE] == ["masked", "padded", "last"]


def test_pipeline_sentence_lists_what_the_runs_recorded():
    from types import SimpleNamespace

    course = {"tokenizer": "course: ...", "padding": "max_len: ...", "model": "simple: ..."}
    lstm = {**course, "model": "lstm: ..."}
    record = lambda p: SimpleNamespace(summary={"pipeline": p})  # noqa: E731
    res = _sweep({"a": [record(course)] * 3, "b": [record(lstm)] * 3})
    text = q.pipeline_used(res)
    assert "tokenizer course: ...;" in text and "model simple: ... / lstm: ..." in text
    assert "words" not in q.pipeline_used([record(course)])


def test_stand_in_sentence_names_the_measured_task():
    assert q.stand_in().startswith("BBC News is a 5-class topic task")
    assert "scores 0.231" in q.stand_in() and "2-class real/fake news" in q.stand_in()


def test_timing_conditions_count_the_process_own_threads_as_load(tmp_path, monkeypatch):
    """The load average includes this process: a load at its own thread count is a quiet
    machine; only more than that says that other processes ran."""
    import time
    from types import SimpleNamespace

    (tmp_path / "summary.json").write_text("{}")
    run = SimpleNamespace(run_dir=tmp_path)
    res = SweepResult(arms=["a"], seeds=[0], runs={"a": {0: run}})
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    started = time.time() - 60
    quiet = q.timing_conditions(res, started, 1.6, 1.9)
    busy = q.timing_conditions(res, started, 1.6, 3.1)
    assert "nothing else of note ran" in quiet and "other processes" not in quiet
    assert "other processes were running" in busy
    assert "reused" not in quiet  # the run finished after the question started
    # Reused runs: the load now says nothing about when they were timed...
    unknown = q.timing_conditions(res, time.time() + 60, 1.6, 1.9)
    assert "1 of 1 runs were reused" in unknown and "not recorded" in unknown
    assert "load average was" not in unknown
    # ...unless the note was kept when they were timed, for the same measured times.
    saved = tmp_path / "conditions.json"
    q.timing_conditions(res, started, 1.6, 3.1, saved)
    again = q.timing_conditions(res, time.time() + 60, 0.1, 0.1, saved)
    assert "other processes were running" in again and "Recorded when these runs" in again
    run.summary = {"train_step_seconds": 9.9}  # a different run than the one recorded
    assert "not recorded" in q.timing_conditions(res, time.time() + 60, 0.1, 0.1, saved)


def test_padding_effect_counts_articles_not_seeds():
    # Last-step readout right on every unpadded article, pooling wrong there; both alike on the
    # padded ones: with many unpadded articles the effect is resolved...
    seeds = 3
    padded = torch.tensor([False] * 40 + [True] * 200)
    last = torch.cat([torch.ones(seeds, 40), torch.zeros(seeds, 200)], dim=1)
    pooled = torch.cat([torch.zeros(seeds, 40), (torch.arange(200) % 2).repeat(seeds, 1)], dim=1)
    assert expect_direction("", q.padding_effect(last, pooled, padded), +1).outcome == AGREES
    # ...and reversed, it disagrees.
    assert expect_direction("", q.padding_effect(pooled, last, padded), +1).outcome == DISAGREES
    # With only two unpadded articles, the same per-seed agreement decides nothing: which two
    # articles they are is the uncertainty.
    few = torch.tensor([False, False] + [True] * 200)
    last2 = torch.cat([torch.tensor([[1.0, 0.0]] * seeds), torch.zeros(seeds, 200)], dim=1)
    pooled2 = torch.cat([torch.zeros(seeds, 2), (torch.arange(200) % 2).repeat(seeds, 1)], dim=1)
    verdict = expect_direction("", q.padding_effect(last2, pooled2, few), +1)
    assert verdict.outcome == NOT_RESOLVED


def test_a_last_step_readout_that_never_learned_decides_no_padding_verdict():
    """Comparisons with an arm at the majority-class rate say so instead of naming a winner."""
    c = _q44(UP, UP, UP, FLAT, hurts=UP)
    learned = q.q44_verdicts(c, Budget(quick=True), 66, 333)
    assert [v.outcome for v in learned[2:]] == [AGREES, AGREES]
    assert "Padding does hurt" in q.q44_text(c, False)
    never = "LSTM, last-step readout 0.232 is not distinct from the majority-class rate 0.231"
    unlearned = q.q44_verdicts(c, Budget(quick=True), 66, 333, never)
    assert (
        unlearned[2].outcome == NOT_RESOLVED and "did not measurably learn" in unlearned[2].reason
    )
    assert unlearned[3].outcome == AGREES and "did not measurably learn" in unlearned[3].reason
    text = q.q44_text(c, False, last_unlearned=never)
    assert "did not measurably learn" in text and "Padding does hurt" not in text


def test_last_step_unlearned_reads_the_interval_against_the_majority_rate():
    def res(accs):
        runs = {seed: {"final": {"test/acc": a}} for seed, a in enumerate(accs)}
        return SweepResult(arms=[q.LAST], seeds=list(runs), runs={q.LAST: runs})

    assert q.last_step_unlearned(res([0.80, 0.82, 0.81]), 0.231) == ""
    assert "not distinct from" in q.last_step_unlearned(res([0.22, 0.24, 0.23]), 0.231)
