"""HW7 data (tokenizer, the prose-lm corpus, course JSON, raw stories), the rnn-lm/generate commands,
and their one-line errors."""

from __future__ import annotations

import gzip
import json
import struct
import zlib

import pytest
import torch

from neurallab.cli import main
from neurallab.data import prose, stories
from neurallab.errors import DataError

QUIET = ["--tracker", "none", "--no_progress"]
SMALL = ["--embed_dim", "32", "--hidden_dim", "32", "--dk", "16", "--dv", "16"]


def test_prepared_corpus_is_the_course_format_and_autotokenizer_loads_it():
    from transformers import AutoTokenizer

    paths = stories.default_paths()
    train = json.loads(paths["train"].read_text())
    valid = json.loads(paths["valid"].read_text())
    assert len(train) > 30_000 and len(valid) > 3_000
    assert {len(s) for s in train} == {len(s) for s in valid} == {128}
    assert max(max(s) for s in train) < 1024 and min(min(s) for s in train) >= 0
    tok = AutoTokenizer.from_pretrained(str(paths["tokenizer"]))
    assert tok.vocab_size == 1024
    assert tok.convert_tokens_to_ids(["<pad>", "</s>", "<unk>"]) == [0, 1, 2]
    ids = tok.encode("The government said on Tuesday.")
    assert ids[-1] == 1  # </s> appended, as the course's tokenizer does
    assert tok.decode(ids) == "The government said on Tuesday.</s>"
    # The sequences decode to English text.
    text = tok.decode(train[0])
    assert sum(w in text.split() for w in ("the", "of", "to", "and", "a", "in")) >= 3


def test_corpus_mixes_four_sources_in_the_same_proportions_in_both_splits():
    stats = json.loads((stories.default_paths()["train"].parent / "sources.json").read_text())
    assert set(stats) == {"bbc", "austen", "brown", "sotu"}
    totals = {s: sum(row[s]["sequences"] for row in stats.values()) for s in ("train", "valid")}
    for name, row in stats.items():
        assert row["train"]["sequences"] > 5_000, name
        assert row["train"]["documents"] + row["valid"]["documents"] == row["documents"]
        share = {s: row[s]["sequences"] / totals[s] for s in totals}
        assert share["valid"] == pytest.approx(share["train"], abs=0.02), name
    assert totals["train"] == len(json.loads(stories.default_paths()["train"].read_text()))


def test_split_keeps_whole_documents_and_a_tenth_of_the_characters():
    docs = [f"document {i} " * (5 + i % 17) for i in range(300)]
    train, valid = stories.split_documents(docs)
    assert sorted(train + valid) == sorted(docs) and not set(train) & set(valid)
    share = sum(map(len, valid)) / sum(map(len, docs))
    assert 0.09 < share < 0.11
    assert stories.split_documents(docs) == (train, valid)  # seeded


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
        ([[1, 2], [-1, 3]], "row 2: token id -1 is out of range"),
        ([[1, 2], []], "row 2: is an empty list"),
        ([[1, 2], [1, "x"]], r"row 2: holds a string \('x'\), expected integer token ids"),
        ([[1, 2], [1, 2.5]], r"row 2: holds a number \(2.5\), expected integer token ids"),
        ([[1, 2], [1, True]], r"row 2: holds true/false \(True\)"),
        ([[[1, 2]], [[3, 4]]], "row 1: holds a nested list, expected integer token ids"),
        ([1, 2, 3], "row 1: is a number, expected a list of token ids"),
        ([], "holds an empty list, expected the course's JSON list of token-id lists"),
        ({"a": 1}, "holds an object, expected the course's JSON list of token-id lists"),
    ],
)
def test_bad_sequence_files_name_file_and_row(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(DataError, match=message) as info:
        stories.read_sequences(path, vocab_size=1024)
    assert "bad.json" in str(info.value) and "\n" not in str(info.value)


def _write_npy(path):
    import numpy as np

    np.save(path, np.arange(256).reshape(2, 128))


@pytest.mark.parametrize(
    ("name", "write", "message"),
    [
        ("X.npy", _write_npy, "is a binary NumPy array file, expected the course's JSON"),
        ("X.json", lambda p: p.write_bytes(bytes(range(256))), "is a binary file"),
        ("X.bin", lambda p: p.write_bytes(b"[[1, 2]]\x00\x00"), "is a binary file"),
        ("X.json", lambda p: p.write_text("[[1, 2], [3"), "is not JSON"),
        ("X.csv", lambda p: p.write_text("a,b\n1,2\n"), r"is not JSON .* \.txt file"),
        ("X.json", lambda p: p.write_text("[[1, 2], [3, 4096]]"), "row 2: token id 4096"),
        ("X.json", lambda p: p.write_text("[[1, 2], [3, 4.0]]"), "row 2: holds a number"),
        ("X.json", lambda p: p.write_text("[[[1, 2]]]"), "row 1: holds a nested list"),
        ("X.json", lambda p: p.mkdir(), "is a folder"),
        ("missing.json", lambda p: None, "file not found"),
    ],
)
def test_load_sequences_refuses_what_is_not_course_data(tmp_path, name, write, message):
    path = tmp_path / name
    write(path)
    with pytest.raises(DataError, match=message) as info:
        stories.load_sequences(path, stories.default_paths()["tokenizer"])
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_rnn_lm_refuses_a_numpy_file_in_one_line(tmp_path, capsys):
    data = _course_files(tmp_path)
    _write_npy(tmp_path / "X.npy")
    data[1] = str(tmp_path / "X.npy")
    assert main(["rnn-lm", *data, *QUIET, "--num_sequences", "16", "--batch_size", "8"]) == 1
    err = capsys.readouterr().err.strip()
    assert "X.npy" in err and "NumPy array" in err and len(err.splitlines()) == 1


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


# -- the sources' readers, on small inputs made here (the real packages are read by the
# corpus tests above) -----------------------------------------------------------------------
def _xdr_strings(values: list[str]) -> bytes:
    out = struct.pack(">ii", 16, len(values))
    for v in values:
        out += struct.pack(">ii", 9, len(v.encode())) + v.encode()
    return out


def _xdr_named_list(items: dict[str, bytes]) -> bytes:
    """R's list(name = value, ...) in XDR: a vector with a `names` attribute pairlist."""
    out = struct.pack(">ii", 19 | 512, len(items)) + b"".join(items.values())
    names_tag = struct.pack(">ii", 1, 9) + struct.pack(">i", 5) + b"names"
    return out + struct.pack(">i", 2 | 1024) + names_tag + _xdr_strings(list(items)) + b"\0\0\0\xfe"


def _xdr(body: bytes) -> bytes:
    return b"X\n" + struct.pack(">iiii", 3, 0x40201, 0x30500, 5) + b"UTF-8" + body


def test_r_lazyload_database_is_read_back(tmp_path):
    novels = {"emma": ["EMMA", "", "CHAPTER I", "Emma Woodhouse, handsome,"], "p": ["x", "y"]}
    blob, offsets = b"", {}
    for name, lines in novels.items():
        packed = _xdr(_xdr_strings(lines))
        entry = struct.pack(">i", len(packed)) + zlib.compress(packed)
        offsets[name] = struct.pack(">ii", 13, 2) + struct.pack(">ii", len(blob), len(entry))
        blob += entry
    index = _xdr(_xdr_named_list({"variables": _xdr_named_list(offsets)}))
    (tmp_path / "Rdata.rdx").write_bytes(gzip.compress(index))
    (tmp_path / "Rdata.rdb").write_bytes(blob)
    assert prose.read_r_lazyload(tmp_path) == novels


def test_austen_chapters_join_paragraph_lines_and_keep_front_matter_with_chapter_one():
    lines = ["EMMA", "", "VOLUME I", "", "CHAPTER I", "", "Emma Woodhouse,", "handsome,", "",
             "clever.", "", "CHAPTER II", "", "Mr. Weston", "was born."]  # fmt: skip
    assert prose.austen_chapters_of(lines) == [
        "EMMA\nVOLUME I\nCHAPTER I\nEmma Woodhouse, handsome,\nclever.",
        "CHAPTER II\nMr. Weston was born.",
    ]


def test_brown_tags_are_stripped_and_punctuation_rejoined():
    tagged = (
        "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, Mr./np-tl "
        "Allen/np Jr./np ./.\n\n\n\tIt/pps ended/vbd (/( quietly/rb )/) ./.\n"
    )
    assert prose.brown_detokenize(tagged) == (
        'The jury said "no evidence", Mr. Allen Jr.\nIt ended (quietly).'
    )


def test_tokenizer_pieces_get_the_same_ids_whatever_order_the_trainer_left():
    """Two trainings differ in the 14th digit of scores and in the order of the characters
    appended at the end: both canonicalise to one file (so one build's ids are every build's)."""
    specials = [[t, 0.0] for t in stories.SPECIALS]
    pieces = [["▁the", -3.0], ["▁of", -4.0], ["▁and", -4.0], ["(", -9.0]]
    appended = [["#", -11.0], ["Q", -11.0001], ["£", -11.0002], ["$", -11.0002]]
    one = {"model": {"type": "Unigram", "unk_id": 2, "vocab": specials + pieces + appended}}
    noisy = [[p, s + 1e-14] for p, s in reversed(pieces)]
    shuffled = [[p, s] for (p, _), (_, s) in zip(appended[::-1], appended, strict=True)]
    two = {"model": {"type": "Unigram", "unk_id": 2, "vocab": specials + noisy + shuffled}}
    canonical = json.loads(stories._canonical(json.dumps(one)))["model"]["vocab"]
    assert stories._canonical(json.dumps(two)) == stories._canonical(json.dumps(one))
    assert [p for p, _ in canonical] == [
        "<pad>", "</s>", "<unk>", "▁the", "▁and", "▁of", "(", "#", "$", "Q", "£"
    ]  # fmt: skip
    assert canonical[6] == ["(", -9.0]  # a trained piece keeps its score
