"""HW7 data (tokenizer, BBC corpus, course JSON, raw stories), the rnn-lm/generate commands,
and their one-line errors."""

from __future__ import annotations

import json

import pytest
import torch

from neurallab.cli import main
from neurallab.data import stories
from neurallab.errors import DataError

QUIET = ["--tracker", "none", "--no_progress"]
SMALL = ["--embed_dim", "32", "--hidden_dim", "32", "--dk", "16", "--dv", "16"]


def test_prepared_corpus_is_the_course_format_and_autotokenizer_loads_it():
    from transformers import AutoTokenizer

    paths = stories.default_paths()
    train = json.loads(paths["train"].read_text())
    valid = json.loads(paths["valid"].read_text())
    assert len(train) > 10_000 and len(valid) > 1_000
    assert {len(s) for s in train} == {len(s) for s in valid} == {128}
    assert max(max(s) for s in train) < 1024 and min(min(s) for s in train) >= 0
    tok = AutoTokenizer.from_pretrained(str(paths["tokenizer"]))
    assert tok.vocab_size == 1024
    assert tok.convert_tokens_to_ids(["<pad>", "</s>", "<unk>"]) == [0, 1, 2]
    ids = tok.encode("The government said on Tuesday.")
    assert ids[-1] == 1  # </s> appended, as the course's tokenizer does
    assert tok.decode(ids) == "The government said on Tuesday.</s>"
    # The sequences decode to English text from the articles.
    text = tok.decode(train[0])
    assert sum(w in text.split() for w in ("the", "of", "to", "and", "a", "in")) >= 3


def test_sequences_join_articles_with_eos_and_cut_full_blocks():
    tok = stories.load_tokenizer(stories.default_paths()["tokenizer"])
    texts = ["The market rose.", "Shares fell sharply on Monday."]
    ids = [tok.encode(t, add_special_tokens=False).ids for t in texts]
    stream = ids[0] + [1] + ids[1] + [1]
    seqs = stories.to_sequences(texts, tok, seq_len=4)
    assert seqs == [stream[i : i + 4] for i in range(0, len(stream) - 3, 4)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([[1, 2, 3], [1, 2]], "row 2: sequence has 2 tokens, the first has 3"),
        (
            [[1, 2, 3], [4, 5, 2000]],
            "row 2: token id 2000 is out of range for vocabulary size 1024",
        ),
        ([[1, 2], []], "row 2: expected a non-empty list of integer token ids"),
        ([[1, 2], [1, "x"]], "row 2: expected a non-empty list of integer token ids"),
        ([], "non-empty JSON list"),
        ({"a": 1}, "non-empty JSON list"),
    ],
)
def test_bad_sequence_files_name_file_and_row(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(DataError, match=message) as info:
        stories.read_sequences(path, vocab_size=1024)
    assert "bad.json" in str(info.value) and "\n" not in str(info.value)


def test_raw_stories_are_tokenised_into_sequences(tmp_path):
    tokenizer = stories.default_paths()["tokenizer"]
    story = "The bank raised interest rates again on Thursday, the third rise this year. " * 6
    (tmp_path / "s.json").write_text(json.dumps([story, story]))
    (tmp_path / "s.txt").write_text(story + "\n\n" + story)
    from_json = stories.load_sequences(tmp_path / "s.json", tokenizer, seq_len=32)
    from_txt = stories.load_sequences(tmp_path / "s.txt", tokenizer, seq_len=32)
    assert len(from_json) >= 2 and all(len(s) == 32 for s in from_json)
    assert all(torch.equal(a, b) for a, b in zip(from_json, from_txt, strict=True))
    (tmp_path / "short.txt").write_text("Hi.")
    with pytest.raises(DataError, match="shorter than one 32-token sequence"):
        stories.load_sequences(tmp_path / "short.txt", tokenizer, seq_len=32)


def _course_files(tmp_path, n_train=96, n_val=32):
    train = json.loads(stories.default_paths()["train"].read_text())
    (tmp_path / "train.json").write_text(json.dumps([s[:32] for s in train[:n_train]]))
    (tmp_path / "valid.json").write_text(json.dumps([s[:32] for s in train[-n_val:]]))
    return [
        "--train_data", str(tmp_path / "train.json"), "--val_data", str(tmp_path / "valid.json"),
        "--tokenizer", str(stories.default_paths()["tokenizer"]),
    ]  # fmt: skip


def test_rnn_lm_trains_writes_course_files_resumes_and_generates(tmp_path, capsys):
    data = _course_files(tmp_path)
    run_dir = tmp_path / "run"
    argv = ["rnn-lm", *data, *SMALL, *QUIET, "--batch_size", "8", "--lr", "0.01"]
    assert main([*argv, "--num_sequences", "160", "--run_dir", str(run_dir)]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    train_losses = [float(x) for x in (run_dir / "train_losses.txt").read_text().split()]
    val_losses = [float(x) for x in (run_dir / "val_losses.txt").read_text().split()]
    # Validation every 10%: 16 sequences = 2 batches of 8 -> 10 evaluations.
    assert len(train_losses) == len(val_losses) == 10
    assert summary["curve"]["sequences"] == list(range(16, 161, 16))
    assert (run_dir / "metrics.txt").read_text() == (
        f"Final Train Loss: {train_losses[-1]}\nFinal Valid Loss: {val_losses[-1]}\n"
    )
    assert summary["samples"] == 160 and val_losses[-1] < val_losses[0] - 0.3  # it learns
    assert (run_dir / "losses.png").stat().st_size > 10_000

    # --resume from the finished 160-sequence run continues to 240 like a straight run does.
    straight = tmp_path / "straight"
    assert main([*argv, "--num_sequences", "240", "--run_dir", str(straight)]) == 0
    assert main([*argv, "--num_sequences", "240", "--run_dir", str(run_dir), "--resume"]) == 0
    resumed = json.loads((run_dir / "summary.json").read_text())
    assert resumed["final_val_loss"] == pytest.approx(
        json.loads((straight / "summary.json").read_text())["final_val_loss"], abs=1e-5
    )

    capsys.readouterr()
    gen = ["generate", "--checkpoint", str(run_dir / "best.pt"), "--prompt", "The bank said"]
    assert main([*gen, "--temperature", "0", "0.8", "--samples", "2", "--num_tokens", "8"]) == 0
    out = capsys.readouterr().out
    assert out.count("--- temperature") == 3 and out.count("The bank said") == 3
    assert (
        main([*gen, "--temperature", "0.5", "--top_k", "5", "--out", str(tmp_path / "s.json")]) == 0
    )
    assert list(json.loads((tmp_path / "s.json").read_text())) == ["0.5"]

    # Bad input: one line naming the problem.
    assert main([*gen, "--prompt", "   "]) == 1
    assert "tokenises to nothing" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*gen, "--temperature", "-0.5"])
    assert "--temperature" in capsys.readouterr().err


def test_rnn_lm_rejects_bad_budgets_and_out_of_vocabulary_ids(tmp_path, capsys):
    data = _course_files(tmp_path)
    assert main(["rnn-lm", *data, *QUIET, "--num_sequences", "8", "--batch_size", "32"]) == 1
    assert "--num_sequences 8 is smaller than --batch_size 32" in capsys.readouterr().err
    (tmp_path / "valid.json").write_text(json.dumps([[5] * 32, [1024] * 32]))
    argv = ["rnn-lm", *data, *QUIET, "--num_sequences", "128", "--run_dir", str(tmp_path / "r")]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert "valid.json" in err and "row 2" in err and "token id 1024" in err
    assert len(err.splitlines()) == 1
