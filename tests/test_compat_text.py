"""`neurallab.compat.txt_classifier` used the way the course's HW0 text code uses it.

Each fact comes from shared/spec/course-interfaces.md (HW0 text classifier); the expected
values are computed by small re-implementations written here from that spec, not by the
library's own code.
"""

from __future__ import annotations

import csv
import sys

import pytest
import torch

from neurallab.compat import txt_classifier
from neurallab.compat.txt_classifier import (
    CorpusInfo,
    CsvTextDataset,
    PadToMaxLen,
    SimpleTokenizer,
    TextClassificationModel,
    TextTransform,
    ToIntTensor,
    TruncateToMaxLen,
    Vocab,
    evaluate,
    get_data,
    main,
    parse_args,
    train_one_epoch,
)

SPLIT_OFF = ".,:;!?()"


def spec_tokenize(text: str) -> list[str]:
    """The spec's rule, character by character: a space on both sides of `. , : ; ! ? ( )`,
    every whitespace run to one space, strip, split on spaces."""
    padded = "".join(f" {ch} " if ch in SPLIT_OFF else ch for ch in text)
    return " ".join(padded.split()).split(" ")


def spec_vocab(texts: list[str]) -> list[str]:
    """Tokens in first-seen order after <OOV> (0) and <PAD> (1)."""
    order = ["<OOV>", "<PAD>"]
    for text in texts:
        for token in spec_tokenize(text):
            if token not in order:
                order.append(token)
    return order


TRICKY = [
    "New York (AP) -- it's 3.5%! Really?",
    'He said: "No way; not today." Then (quietly) left...',
    "U.S.-based e-mail, 1,000,000 users: ‘smart’ quotes — and naïve café.",
    "Tabs\tand\nnew\r\nlines,  double  spaces and\u00a0no-break\u2009thin space",
    "THE The the; COVID-19 (Covid-19) 9/11 #hashtag @user http://x.co/a?b=1",
    "Ünïcödé: 東京 (Tokyo) 😀! end.",
]


def test_tokenizer_matches_the_spec_on_tricky_text():
    tokenizer = SimpleTokenizer()
    assert tokenizer("New York (AP) -- it's 3.5%!") == [
        "New",
        "York",
        "(",
        "AP",
        ")",
        "--",
        "it's",
        "3",
        ".",
        "5%",
        "!",
    ]
    for text in TRICKY:
        assert tokenizer(text) == spec_tokenize(text), text
    # Case is kept; quotes, hyphens and apostrophes stay on their word.
    tokens = tokenizer(TRICKY[4])
    assert {"THE", "The", "the"} <= set(tokens) and "COVID-19" in tokens
    assert "‘smart’" in tokenizer(TRICKY[2]) and "U" in tokenizer(TRICKY[2])
    assert "no-break" in tokenizer(TRICKY[3])  # \u00a0 is whitespace: "and" + "no-break"


def test_vocab_first_seen_ids_oov_and_pad():
    vocab = Vocab("<OOV>", "<PAD>")
    assert (vocab.oov_idx, vocab.oov_index, vocab.pad_idx, len(vocab)) == (0, 0, 1, 2)
    vocab.add_tokens(["zebra", "apple", "zebra", "mango"])
    vocab.add_tokens(["apple", "kiwi"])
    assert vocab.idx2str == ["<OOV>", "<PAD>", "zebra", "apple", "mango", "kiwi"]
    assert vocab.str2idx == {t: i for i, t in enumerate(vocab.idx2str)}
    assert [vocab[t] for t in ("zebra", "kiwi", "<PAD>", "never-seen")] == [2, 5, 1, 0]
    assert len(vocab) == 6


def _write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["article", "source", "label", "label_idx"])
        writer.writerows(rows)
    return path


def _articles(n: int, offset: int = 0) -> list[list]:
    """Two labels with their own words; lengths differ so that padding matters."""
    rows = []
    for i in range(offset, offset + n):
        if i % 2 == 0:
            text = f"Title {i}\n" + "The market rose; shares (and bonds) gained. " * (1 + i % 3)
            rows.append([text, f"https://example.com/{i}", "real", 0])
        else:
            text = f"Title {i}\n" + "Would you like me to help? Here is a summary! " * (1 + i % 4)
            rows.append([text, "prompt", "fake", 1])
    return rows


@pytest.fixture
def course_folder(tmp_path, monkeypatch):
    """A working directory holding ./data/txt_{train,val,test}.csv, as the course's."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    _write(data_dir / "txt_train.csv", _articles(40))
    _write(data_dir / "txt_val.csv", _articles(10, offset=40))
    _write(data_dir / "txt_test.csv", _articles(10, offset=50))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_corpus_info_over_an_untransformed_dataset(course_folder):
    dataset = CsvTextDataset("./data/txt_train.csv", transform=None)
    text, label = dataset[3]
    assert isinstance(text, str) and label == 1
    with pytest.raises(IndexError):
        dataset[len(dataset)]
    info = CorpusInfo(dataset, SimpleTokenizer())
    assert info.dataset is dataset and isinstance(info.tokenizer, SimpleTokenizer)
    assert (info.oov_token, info.pad_token, info.oov_idx, info.pad_idx) == (
        "<OOV>",
        "<PAD>",
        0,
        1,
    )
    expected = spec_vocab([row[0] for row in _articles(40)])
    assert info.vocab.idx2str == expected
    assert info.vocab_size == len(expected) and info.num_labels == 2


def test_transforms_give_the_ids_the_spec_gives(course_folder):
    info = CorpusInfo(CsvTextDataset("./data/txt_train.csv"), SimpleTokenizer())
    transform = TextTransform(SimpleTokenizer(), info.vocab)
    text = "The market rose; unseen-word (again)!"
    ids = [info.vocab.str2idx.get(t, 0) for t in spec_tokenize(text)]
    assert transform(text) == transform.tokenize_and_numericalize(text) == ids
    assert 0 in ids  # the unseen word is OOV
    truncated = TruncateToMaxLen(3)(ids)
    padded = PadToMaxLen(10, info.pad_idx)(truncated)
    assert truncated == ids[:3] and padded == ids[:3] + [1] * 7
    tensor = ToIntTensor()(padded)
    assert tensor.dtype == torch.int64 and tensor.tolist() == padded


def test_course_embedding_bag_averages_pad_ids_in():
    torch.manual_seed(0)
    model = TextClassificationModel(vocab_size=30, embed_dim=6, num_class=2)
    assert isinstance(model.embedding, torch.nn.EmbeddingBag)
    assert model.embedding.mode == "mean" and model.embedding.padding_idx is None
    assert isinstance(model.fc, torch.nn.Linear) and model.fc.out_features == 2
    batch = torch.tensor([[4, 5, 6, 1, 1, 1], [7, 8, 1, 1, 1, 1]])  # 1 is <PAD>
    # The spec's function: the plain mean over every id, pads included, then the linear layer.
    mean = model.embedding.weight[batch].mean(dim=1)
    expected = mean @ model.fc.weight.T + model.fc.bias
    torch.testing.assert_close(model(batch), expected)
    unpadded = model(torch.tensor([[4, 5, 6]]))
    assert (model(batch[:1]) - unpadded).abs().max() > 1e-3  # padding changes the output


def test_get_data_train_evaluate_save_and_reload_as_the_course_does(course_folder, capsys):
    args = parse_args(["--batch_size", "4", "--max_len", "24", "--optimizer", "adam"])
    assert args.lr == 0.001 and parse_args([]).lr == 5.0  # Adam's default; the starter's SGD
    train_dl, val_dl, test_dl, info = get_data(args)
    text, label = next(iter(train_dl))
    assert text.shape == (4, 24) and text.dtype == torch.int64 and label.shape == (4,)
    assert len(train_dl.dataset) == 40 and len(test_dl.dataset) == 10
    torch.manual_seed(0)
    model = TextClassificationModel(info.vocab_size, 16, info.num_labels)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for epoch in range(1, 16):
        train_one_epoch(train_dl, model, criterion, optimizer, epoch)
    assert evaluate(val_dl, model, criterion) == 1.0  # the two labels have their own words
    torch.save(model.state_dict(), course_folder / "model.pth")
    reloaded = TextClassificationModel(info.vocab_size, 16, info.num_labels)
    reloaded.load_state_dict(torch.load(course_folder / "model.pth", weights_only=True))
    batch = next(iter(test_dl))[0]
    torch.testing.assert_close(reloaded(batch), model(batch))


def test_main_prints_the_epochs_and_the_test_accuracy(course_folder, capsys):
    main(parse_args(["--epochs", "2", "--batch_size", "8", "--max_len", "32"]))
    out = capsys.readouterr().out
    assert out.count("| end of epoch") == 2 and "valid accuracy" in out
    assert "test accuracy" in out.splitlines()[-1]


def test_q4_2_b_batch_32_without_max_len_fails_with_the_stack_error(course_folder, capsys):
    args = parse_args(["--batch_size", "32", "--max_len", "-1", "--epochs", "1"])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        main(args)
    assert "No padding or truncation will be applied." in capsys.readouterr().out
    # Run as a script: one line naming the error and the flags that avoid it, exit code 1.
    sys_argv = ["txt_classifier.py", "--batch_size", "32", "--max_len", "-1"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", sys_argv)
        assert txt_classifier._run_as_script() == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stack expects each tensor" in err[0] and "--max_len" in err[0]
    # Batch size 1 has nothing to stack: the same setting trains.
    main(parse_args(["--batch_size", "1", "--max_len", "-1", "--epochs", "1"]))
    assert "test accuracy" in capsys.readouterr().out


def test_without_course_files_it_says_which_data_it_uses(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    folder = txt_classifier._data_dir(parse_args([]))
    assert (folder / "txt_train.csv").exists()
    out = capsys.readouterr().out
    assert "No ./data/txt_train.csv here: using the prepared BBC News" in out
    assert "5-class topic task standing in for the course's 2-class real/fake news" in out
