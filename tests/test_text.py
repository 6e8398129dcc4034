"""HW0 §4 text pipeline: CSV loading and errors, tokenizer, vocab, transforms, batching, models."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from kill_resume import kill_and_resume, logged, run_whole
from neurallab.cli import main
from neurallab.data import text as data
from neurallab.engine.seed import epoch_generator
from neurallab.errors import DataError, UserError
from neurallab.models.text import (
    BiLSTM,
    LSTMClassifier,
    PadAwareTextClassificationModel,
    TextClassificationModel,
)
from neurallab.programs import txt
from neurallab.programs.run import RunRecord


def _write_csv(path, rows, header=data.COLUMNS):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_prepared_bbc_news_is_the_course_layout():
    train = data.read_text_csv(data.default_csv("train"))
    val, test = (data.read_text_csv(data.default_csv(s)) for s in ("val", "test"))
    assert len(train) + len(val) + len(test) == 2225
    assert data.label_names(train, "train") == [
        "business",
        "entertainment",
        "politics",
        "sports",
        "tech",
    ]
    # Stratified 70/15/15: each topic's share of the training set matches the corpus.
    assert sum(a.label == "business" for a in train) == round(0.7 * 510)
    first = train[0].text.splitlines()
    assert first[0].strip() and first[1] == ""  # title line, then the body
    assert any("£" in a.text for a in train)  # Windows-1252 files were decoded, not mangled


def test_word_tokenizer_vocab_and_transforms():
    tok = data.WordTokenizer()  # neurallab's alternative: lower case, punctuation split off
    assert tok("Hello, World! It's 5pm.") == [
        "hello",
        ",",
        "world",
        "!",
        "it",
        "'",
        "s",
        "5pm",
        ".",
    ]
    articles = [data.Article("b a b c", "x", 0), data.Article("c b", "y", 1)]
    info = data.CorpusInfo(articles, tok)
    assert (info.oov_idx, info.pad_idx, info.num_labels) == (0, 1, 2)
    assert info.vocab.idx2str == ["<OOV>", "<PAD>", "b", "a", "c"]  # first seen, not by count
    assert info.vocab(["b", "zebra"]) == [2, 0]
    assert data.TruncateToMaxLen(2)([5, 6, 7]) == [5, 6]
    assert data.TruncateToMaxLen(0)([5, 6, 7]) == [5, 6, 7]  # < 1 disables
    assert data.PadToMaxLen(5, 1)([5, 6]) == [5, 6, 1, 1, 1]
    assert data.PadToMaxLen(-1, 1)([5, 6]) == [5, 6]


def test_dynamic_padding_and_the_stack_error():
    batch = [(torch.tensor([4, 5, 6]), 0), (torch.tensor([7]), 1)]
    tokens, labels = data.pad_collate(pad_idx=1)(batch)
    assert tokens.tolist() == [[4, 5, 6], [7, 1, 1]] and labels.tolist() == [0, 1]
    with pytest.raises(UserError, match=r"stack expects each tensor to be equal size.*--max_len"):
        data.stack_collate(batch)


def test_bucketed_batches_cover_every_example_once_and_cut_padding():
    lengths = [(i * 37) % 500 + 1 for i in range(1000)]
    batches = data.bucketed_batches(lengths, 16, epoch_generator(0, 0))
    assert sorted(i for b in batches for i in b) == list(range(1000))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    random_order = torch.randperm(1000, generator=torch.Generator().manual_seed(0)).tolist()
    naive = sum(16 * max(lengths[i] for i in random_order[k : k + 16]) for k in range(0, 1000, 16))
    assert padded < 0.6 * naive
    assert batches == data.bucketed_batches(lengths, 16, epoch_generator(0, 0))
    assert batches != data.bucketed_batches(lengths, 16, epoch_generator(0, 1))


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([["a", "s", "x", "0"], ["", "s", "x", "0"]], data.COLUMNS, "row 2: empty article"),
        ([["a", "s", "x", "0"]], ("article", "source", "label"), "missing column.*label_idx"),
        ([["a", "s", "x", "zero"]], data.COLUMNS, "row 1: label_idx 'zero' is not an integer"),
        ([["a", "s", "x", "-1"]], data.COLUMNS, "row 1: label_idx -1 is negative"),
        ([], data.COLUMNS, "the split is empty"),
    ],
)
def test_bad_csv_rows_are_named(tmp_path, rows, header, message):
    path = _write_csv(tmp_path / "txt_train.csv", rows, header)
    with pytest.raises(DataError, match=message):
        data.read_text_csv(path)


def test_non_utf8_and_inconsistent_labels(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"article,source,label,label_idx\nok,s,x,0\ncaf\xe9,s,x,0\n")
    with pytest.raises(DataError, match="line 3 is not valid UTF-8"):
        data.read_text_csv(path)
    with pytest.raises(DataError, match="a folder, not a CSV"):
        data.read_text_csv(tmp_path)
    arts = [data.Article("a", "x", 0), data.Article("b", "y", 0)]
    with pytest.raises(DataError, match="row 2: label_idx 0 is 'y' here but 'x' earlier"):
        data.label_names(arts, path)
    info = data.CorpusInfo(arts[:1], data.SimpleTokenizer())
    with pytest.raises(DataError, match="row 1: label_idx 3 is out of range"):
        data.TextDataset(
            [data.Article("a", "x", 3)], data.SimpleTokenizer(), info.vocab, num_labels=1, path=path
        )


def test_pad_aware_bag_ignores_padding_and_the_course_bag_does_not():
    torch.manual_seed(0)
    ours = PadAwareTextClassificationModel(vocab_size=20, embed_dim=8, num_class=3, pad_idx=1)
    course = TextClassificationModel(vocab_size=20, embed_dim=8, num_class=3)
    course.load_state_dict(ours.state_dict())
    plain, padded = torch.tensor([[4, 5, 6]]), torch.tensor([[4, 5, 6, 1, 1, 1, 1]])
    torch.testing.assert_close(ours(plain), ours(padded))
    torch.testing.assert_close(course(plain), ours(plain))  # no padding: the same function
    assert not torch.allclose(course(plain), course(padded))  # the course averages pads in


def test_masked_lstm_is_blind_to_padding_and_padded_pooling_is_not():
    torch.manual_seed(0)
    for bidirectional in (False, True):
        masked = LSTMClassifier(30, 8, 6, 3, pad_idx=1, bidirectional=bidirectional)
        naive = LSTMClassifier(
            30, 8, 6, 3, pad_idx=1, bidirectional=bidirectional, pooling="padded"
        )
        naive.load_state_dict(masked.state_dict())
        short, long_ = torch.tensor([[4, 5, 6]]), torch.tensor([[4, 5, 6] + [1] * 20])
        torch.testing.assert_close(masked(short), masked(long_))
        assert not torch.allclose(naive(short), naive(long_))


def test_last_step_readout_reads_the_final_position_padding_included():
    torch.manual_seed(0)
    last = LSTMClassifier(30, 8, 6, 3, pad_idx=1, pooling="last")
    tokens = torch.tensor([[4, 5, 6] + [1] * 20])
    outputs = last.lstm(last.embedding(tokens))[0]
    torch.testing.assert_close(last(tokens), last.fc(outputs[:, -1]))
    assert not torch.allclose(last(tokens), last(tokens[:, :3]))  # the padding changes it


def _bilstm_with_weights_of(reference: torch.nn.LSTM) -> BiLSTM:
    """A BiLSTM holding `reference`'s weights: layer k forward <- _lk, backward <- _lk_reverse."""
    ours = BiLSTM(reference.input_size, reference.hidden_size, reference.num_layers)
    for k in range(reference.num_layers):
        for direction, suffix in ((ours.forward_layers, ""), (ours.backward_layers, "_reverse")):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(direction[k], f"{name}_l0").data.copy_(
                    getattr(reference, f"{name}_l{k}{suffix}")
                )
    return ours


@pytest.mark.parametrize("num_layers", [1, 2])
def test_bilstm_equals_packed_nn_lstm_at_real_tokens_and_unpacked_without_lengths(num_layers):
    torch.manual_seed(0)
    reference = torch.nn.LSTM(5, 7, num_layers=num_layers, batch_first=True, bidirectional=True)
    ours = _bilstm_with_weights_of(reference)
    x, lengths = torch.randn(4, 9, 5), torch.tensor([9, 3, 6, 1])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    expected, _ = pad_packed_sequence(reference(packed)[0], batch_first=True, total_length=9)
    got = ours(x, lengths)
    real = torch.arange(9)[None, :] < lengths[:, None]
    torch.testing.assert_close(got[real], expected[real], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(ours(x), reference(x)[0], atol=1e-6, rtol=1e-5)
    # The padded run differs from the packed one at real tokens: the test can tell them apart.
    assert not torch.allclose(ours(x)[real], expected[real], atol=1e-3)


def test_txt_course_pipeline_learns_and_records_what_it_used(tmp_path):
    argv = ["txt", "--train_articles", "350", "--max_len", "256", "--optimizer", "adam"]
    argv += ["--lr", "0.001", "--tracker", "none", "--no_progress", "--run_dir"]
    assert main([*argv, str(tmp_path / "r")]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    # Five topics, the largest 23% of the test split: well above it after 5 epochs.
    assert summary["final"]["test/acc"] > 0.5
    assert summary["train_articles"] == 350 and summary["epochs"] == 5
    assert summary["pipeline"]["tokenizer"].startswith("course:")
    assert summary["pipeline"]["padding"].startswith("max_len:")
    assert summary["pipeline"]["model"].startswith("simple:")
    assert 0 < summary["train_step_seconds"] <= summary["train_seconds"]


def test_txt_course_padding_fails_like_the_starter_and_batch_padding_trains(tmp_path, capsys):
    argv = ["txt", "--train_articles", "40", "--epochs", "1", "--batch_size", "32"]
    argv += ["--max_len", "-1", "--tracker", "none", "--no_progress", "--run_dir"]
    # The starter stops at its first batch (torch's "stack expects each tensor to be equal
    # size", HW0 Q4.2.b, shown with compat.txt_classifier); neurallab refuses up front, on one
    # line, before a run folder exists.
    assert main([*argv, str(tmp_path / "stack")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot stack articles of unequal length" in err[0]
    assert "padding batch" in err[0] and not (tmp_path / "stack").exists()
    assert main([*argv, str(tmp_path / "dynamic"), "--padding", "batch"]) == 0


# A tiny txt run whose validation accuracy falls below its best several times, so the course's
# learning-rate rule fires during the run (checked below): 100 articles, 64 tokens, SGD lr 5.
DROPPING = ["--train_articles", "100", "--max_len", "64", "--epochs", "2", "--eval_every", "4"]
DROPPING += ["--checkpoint_every", "4"]  # last.pt right after each evaluation


def test_txt_resumed_after_sigkill_logs_what_an_uninterrupted_run_logs(tmp_path):
    """The learning-rate rule's state (its best accuracy so far, the scheduler) is in last.pt:
    killed mid-way and resumed, the run logs the same metrics, bit for bit, as one run."""
    whole = run_whole("txt", DROPPING, tmp_path / "whole")
    lrs = [float(v) for _, key, v in logged(whole) if key == "lr"]
    # The first drop follows the 4th evaluation, and each one after it: killed once it logged
    # the 4th (last.pt then holds at least the 3rd), the resumed run drops as the whole run
    # does only if it got back the best accuracy so far (tried: without it, the test fails).
    assert lrs[:4] == [5.0] * 4 and min(lrs) <= 0.05, f"the rule must fire twice here: {lrs}"
    killed = kill_and_resume("txt", DROPPING, tmp_path / "killed", kill_after_evaluations=4)
    assert logged(killed) == logged(whole)


def test_txt_from_python_returns_its_record_and_reloads_from_the_checkpoint(tmp_path):
    settings = txt.Settings(train_articles=60, max_len=64, epochs=1, optimizer="adam", lr=1e-2)
    rec = txt.train(settings, tmp_path / "r", tracker="none", progress=False)
    again = RunRecord.read(tmp_path / "r", txt.Settings)
    assert rec.settings == again.settings == settings and rec.summary == again.summary
    assert rec.history.rows == again.history.rows and rec.final["test/acc"] > 0
    model, vocab = txt.load(rec.checkpoint), txt.vocabulary(rec.run_dir)
    corpus = txt.load_corpus(settings)
    assert vocab.idx2str == corpus.info.vocab.idx2str
    tokens, labels = data.stack_collate(
        [corpus.sets["test"][i] for i in range(len(corpus.sets["test"]))]
    )
    with torch.no_grad():
        acc = (model(tokens).argmax(1) == labels).float().mean().item()
    assert abs(acc - rec.final["test/acc"]) < 1e-6, "the final model, rebuilt from last.pt alone"


def test_txt_epochs_zero_is_refused_unless_only_the_histogram_is_asked(tmp_path):
    with pytest.raises(UserError, match="txt setting epochs: 0 trains nothing"):
        txt.Settings(epochs=0)
    rec = txt.train(
        txt.Settings(epochs=0, length_histogram=True, max_len=-1, train_articles=30),
        tmp_path / "h",
        tracker="none",
        progress=False,
    )
    assert (
        rec.summary["length_stats"]["n"] == 30 and (rec.run_dir / "length_histogram.png").exists()
    )
    assert not rec.final and rec.checkpoint is None


def test_labels_that_contradict_their_indices_or_the_training_split_are_refused(tmp_path, capsys):
    rows = [["a b", "s", "sport", "0"], ["c d", "s", "tech", "1"]]
    train = _write_csv(tmp_path / "txt_train.csv", [*rows, ["e f", "s", "sport", "2"]])
    with pytest.raises(DataError, match="row 3: label 'sport' has label_idx 2 here but 0 earlier"):
        data.label_names(data.read_text_csv(train), train)
    _write_csv(train, rows)
    _write_csv(tmp_path / "txt_val.csv", rows)
    _write_csv(tmp_path / "txt_test.csv", [["a b", "s", "tech", "0"]])
    argv = ["txt", "--data_dir", str(tmp_path), "--epochs", "1", "--tracker", "none"]
    assert main([*argv, "--run_dir", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "txt_test.csv, row 1: label 'tech' has label_idx 0, which is" in err[0]
    assert not (tmp_path / "run").exists()
