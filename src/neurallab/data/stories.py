"""HW7 language-model data: a trained tokenizer and fixed-length token sequences.

Default corpus (`prose-lm`): ~26 MB of real English prose from four registry packages (see
`neurallab.data.prose`): BBC News articles, Jane Austen's novels (by chapter), the Brown
corpus and the State of the Union addresses. Each source's documents are split 90/10 (by
characters, whole documents) into train/valid, so both splits hold the same mix. A Unigram
tokenizer (vocabulary 1024, as the course's; `<pad>` = 0, `</s>` = 1, `<unk>` = 2) is trained
on every 4th document of the training split with Hugging Face `tokenizers` and saved as a directory that
`transformers.AutoTokenizer.from_pretrained` loads, like the course's `my_tokenizer/`. Each
source's documents are encoded, joined with `</s>` and cut into 128-token sequences; the
sequences of all sources are shuffled together (seeded) and written in the course's JSON
format, a list of token-id lists. `sources.json` records each source's documents, characters,
tokens and sequences per split.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from neurallab.data import prose
from neurallab.data.registry import Progress, dataset, dataset_path
from neurallab.errors import DataError, UserError

SPECIALS = ["<pad>", "</s>", "<unk>"]
SEQ_LEN = 128
VOCAB_SIZE = 1024
# The dataset's name in the cache. It was "bbc-lm" (BBC News only, 12,850 training sequences)
# before the corpus became a mix: the new name makes a machine holding the old cache build
# this one rather than reuse it; bump `version` below whenever the builder's output changes.
CORPUS = "prose-lm"


def train_tokenizer(texts: list[str], vocab_size: int, out_dir: Path) -> None:
    """Train a Unigram tokenizer and save it where AutoTokenizer can load it."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, unk_token="<unk>", show_progress=False
    )
    tok.train_from_iterator(texts, trainer)
    # As the course's tokenizer: encode() appends </s> unless add_special_tokens=False.
    eos = tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos)]
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tokenizer.json").write_text(_canonical(tok.to_str()))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "pad_token": "<pad>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "model_max_length": SEQ_LEN,
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
    (out_dir / "special_tokens_map.json").write_text(
        json.dumps({"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>"})
    )


def _canonical(saved: str) -> str:
    """The trained tokenizer with its pieces in a fixed order, so two builds give the same ids.
    The parallel trainer's scores differ between runs in the 14th digit, reordering near-tied
    pieces (2,556 of 63,268 training sequences differed between two builds); and it appends the
    characters it must cover with scores ~0.0001 apart in hash-set order. Scores are rounded to 9
    decimals, the pieces after the specials are sorted by (score, piece), and those appended
    characters take their scores in character order (the trainer's order there is arbitrary)."""
    config = json.loads(saved)
    vocab = config["model"]["vocab"]
    rest = sorted(((piece, round(score, 9)) for piece, score in vocab[len(SPECIALS) :]),
                  key=lambda entry: (-entry[1], entry[0]))  # fmt: skip
    tail = len(rest) - 1  # the appended characters: single, scores at most ~0.0001 apart
    while tail > 0 and len(rest[tail - 1][0]) == 1 and rest[tail - 1][1] - rest[tail][1] < 2e-4:
        tail -= 1
    pieces, scores = sorted(p for p, _ in rest[tail:]), [s for _, s in rest[tail:]]
    rest[tail:] = list(zip(pieces, scores, strict=True))
    config["model"]["vocab"] = vocab[: len(SPECIALS)] + [list(entry) for entry in rest]
    return json.dumps(config, ensure_ascii=False, indent=1)


def load_tokenizer(folder: Path):
    """A tokenizer directory (ours or a user's) as a `tokenizers.Tokenizer`."""
    from tokenizers import Tokenizer

    path = Path(folder) / "tokenizer.json"
    if not path.exists():
        raise UserError(f"{folder}: no tokenizer.json in this tokenizer directory")
    return Tokenizer.from_file(str(path))


def token_stream(texts: list[str], tokenizer) -> list[int]:
    """Every text encoded and followed by </s>, as one stream of token ids."""
    eos = tokenizer.token_to_id("</s>")
    stream: list[int] = []
    for encoding in tokenizer.encode_batch(texts, add_special_tokens=False):
        stream += encoding.ids + [eos]
    return stream


def cut(stream: list[int], seq_len: int = SEQ_LEN) -> list[list[int]]:
    """Full sequences of `seq_len` tokens (the last partial one is dropped)."""
    return [stream[i : i + seq_len] for i in range(0, len(stream) - seq_len + 1, seq_len)]


def to_sequences(texts: list[str], tokenizer, seq_len: int = SEQ_LEN) -> list[list[int]]:
    """Encode, join with </s>, cut into full sequences of `seq_len` tokens."""
    return cut(token_stream(texts, tokenizer), seq_len)


SOURCES = ("bbc", "austen", "brown", "sotu")
VALID_FRACTION = 0.1
TOKENIZER_EVERY = 4  # the tokenizer trains on every 4th training document of each source


def read_sources(workdir: Path, progress: Progress) -> dict[str, list[str]]:
    """Every source's documents, in a fixed order (see `neurallab.data.prose`)."""
    readers = {
        "bbc": lambda: prose.bbc_articles(),
        "austen": lambda: prose.austen_chapters(workdir),
        "brown": lambda: prose.brown_documents(workdir),
        "sotu": lambda: prose.sotu_addresses(workdir),
    }
    progress.stage("fetching and reading the sources", total=len(readers))
    documents = {}
    for name in SOURCES:
        documents[name] = readers[name]()
        progress.advance()
    return documents


def split_documents(
    documents: list[str], fraction: float = VALID_FRACTION, seed: int = 0
) -> tuple[list[str], list[str]]:
    """(train, valid): whole documents, shuffled; valid takes documents until it holds
    `fraction` of the source's characters, so every source is split in the same proportion
    (a document never straddles the split)."""
    order = np.random.default_rng(seed).permutation(len(documents))
    goal, held, cut = fraction * sum(map(len, documents)), 0, 0
    while cut < len(order) - 1 and held + len(documents[order[cut]]) / 2 < goal:
        held += len(documents[order[cut]])
        cut += 1
    return [documents[i] for i in order[cut:]], [documents[i] for i in order[:cut]]


def _mixed(parts: dict[str, list[list[int]]], seed: int) -> list[list[int]]:
    """All sources' sequences in one seeded order, so any prefix (the course reads the file in
    order, and validates on its first batch) is the same mix as the whole."""
    rows = [seq for name in SOURCES for seq in parts[name]]
    return [rows[i] for i in np.random.default_rng(seed).permutation(len(rows))]


@dataset(
    CORPUS,
    "English prose (BBC News, Jane Austen, the Brown corpus, State of the Union addresses) as "
    "128-token sequences (course JSON) + a 1024-piece Unigram tokenizer",
    version=1,
)
def build_prose_lm(out: Path, progress: Progress) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        documents = read_sources(Path(tmp), progress)
    splits = {name: split_documents(docs) for name, docs in documents.items()}
    progress.stage("training the tokenizer")
    # Unigram training costs ~7 CPU-seconds per MB: a tokenizer trained on every 4th training
    # document of each source (~6 MB, the same mix) encodes the corpus in as many tokens per
    # character as one trained on all 23 MB (0.3509 vs 0.3505), in a quarter of the time.
    sample = [text for name in SOURCES for text in splits[name][0][::TOKENIZER_EVERY]]
    train_tokenizer(sample, VOCAB_SIZE, out / "tokenizer")
    tok = load_tokenizer(out / "tokenizer")
    progress.stage("writing sequences", total=2 * len(SOURCES))
    sequences: dict[str, dict[str, list[list[int]]]] = {"train": {}, "valid": {}}
    stats = {}
    for name in SOURCES:
        row = {"documents": len(documents[name])}
        for split, texts in zip(("train", "valid"), splits[name], strict=True):
            stream = token_stream(texts, tok)
            sequences[split][name] = cut(stream)
            row[split] = {
                "documents": len(texts),
                "characters": sum(map(len, texts)),
                "tokens": len(stream),
                "sequences": len(sequences[split][name]),
            }
            progress.advance()
        stats[name] = row
    for seed, split in enumerate(("train", "valid")):
        (out / f"{split}.json").write_text(json.dumps(_mixed(sequences[split], seed)))
    (out / "sources.json").write_text(json.dumps(stats, indent=1))


def default_paths() -> dict[str, Path]:
    root = dataset_path(CORPUS)
    return {
        "train": root / "train.json",
        "valid": root / "valid.json",
        "tokenizer": root / "tokenizer",
    }


EXPECTED = "expected the course's JSON list of token-id lists"
_KINDS = {dict: "an object", str: "a string", bool: "true/false", type(None): "null"}


def _kind(value) -> str:
    return _KINDS.get(type(value), "a number" if isinstance(value, int | float) else "a list")


def _read_text(path: Path) -> str:
    """The file as text; a binary file (a NumPy array, a checkpoint) is refused, never decoded."""
    path = Path(path)
    if path.is_dir():
        raise DataError(path, f"is a folder, {EXPECTED}")
    if not path.exists():
        raise DataError(path, "file not found")
    data = path.read_bytes()
    if data.startswith(b"\x93NUMPY"):
        raise DataError(path, f"is a binary NumPy array file, {EXPECTED}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:  # NUL bytes: a binary file even where it happens to decode
        raise DataError(path, f"is a binary file (not UTF-8 text), {EXPECTED}")
    return text


def read_stories(path: Path) -> list[str]:
    """Raw stories: a JSON list of strings (as the course's untokenized_*_stories.json), or a
    UTF-8 .txt file with one story per blank-line-separated block."""
    path = Path(path)
    text = _read_text(path)
    if path.suffix == ".txt":
        stories = text.split("\n\n")
    else:
        stories = _parse_json(path, text)
        bad = next((i for i, s in enumerate(stories, 1) if not isinstance(s, str)), None)
        if not isinstance(stories, list) or bad is not None:
            raise DataError(path, "expected a JSON list of story strings", row=bad)
    stories = [s.strip() for s in stories if s.strip()]
    if not stories:
        raise DataError(path, "no text in this file")
    return stories


def load_sequences(path: Path, tokenizer_dir: Path, seq_len: int = SEQ_LEN) -> list[torch.Tensor]:
    """Token sequences from the course's JSON (a list of token-id lists, checked against the
    tokenizer's vocabulary), or raw stories tokenised here: the course's untokenized JSON (a
    list of strings) or a UTF-8 .txt file. Anything else is refused in one line."""
    tokenizer = load_tokenizer(tokenizer_dir)
    path = Path(path)
    text = _read_text(path)
    if path.suffix == ".txt":
        raw = None
    else:
        raw = _parse_json(path, text)
        if isinstance(raw, list) and raw and all(isinstance(s, str) for s in raw):
            raw = None  # the course's untokenized stories: a list of strings
    if raw is None:
        seqs = to_sequences(read_stories(path), tokenizer, seq_len)
        if not seqs:
            raise DataError(path, f"the text is shorter than one {seq_len}-token sequence")
        return [torch.tensor(s, dtype=torch.long) for s in seqs]
    return check_sequences(path, raw, tokenizer.get_vocab_size(), text)


def _parse_json(path: Path, text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (raw text must be a .txt file)" if path.suffix != ".json" else ""
        raise DataError(path, f"is not JSON ({exc}), {EXPECTED}{hint}") from None


def read_sequences(path: Path, vocab_size: int | None = None) -> list[torch.Tensor]:
    """The course's JSON (a list of token-id lists) as 1-D LongTensors, validated."""
    path = Path(path)
    text = _read_text(path)
    return check_sequences(path, _parse_json(path, text), vocab_size, text)


def check_sequences(
    path: Path, raw, vocab_size: int | None = None, text: str | None = None
) -> list[torch.Tensor]:
    """Validate parsed JSON as equal-length lists of in-vocabulary integer ids (one line
    naming the file and row on the first problem) and return them as LongTensors. With the
    file's `text`, a file of nothing but digits, commas and brackets is checked as one array
    (one NumPy conversion instead of a tensor per row: several times faster)."""
    if not isinstance(raw, list) or not raw:
        found = "an empty list" if raw == [] else _kind(raw)
        raise DataError(path, f"holds {found}, {EXPECTED}")
    matrix = _int_matrix(raw, text)
    length = len(raw[0]) if isinstance(raw[0], list) else None
    if matrix is None:  # row by row: the first bad row raises
        for row, seq in enumerate(raw, start=1):
            _check_row(path, row, seq, length, vocab_size)
        return [torch.tensor(seq, dtype=torch.long) for seq in raw]
    out = (matrix < 0) | (matrix >= (vocab_size if vocab_size is not None else np.inf))
    if out.any():
        row = int(np.flatnonzero(out.any(axis=1))[0])
        _check_row(path, row + 1, raw[row], length, vocab_size)
    return list(torch.from_numpy(matrix).unbind(0))


def _int_matrix(raw: list, text: str | None) -> np.ndarray | None:
    """The rows as one (N, T) int64 array when the text can hold only integers (no '.', 'e',
    quotes, true/false/null) and the rows are lists of one non-zero length; else None."""
    if text is None or re.search(r"[^\d\s,\[\]-]", text):
        return None
    if not all(isinstance(seq, list) for seq in raw) or len({len(seq) for seq in raw}) != 1:
        return None
    try:
        matrix = np.array(raw, dtype=np.int64)
    except (ValueError, TypeError, OverflowError):  # nested deeper, or ids past int64
        return None
    return matrix if matrix.ndim == 2 and matrix.shape[1] > 0 else None


def _check_row(path: Path, row: int, seq, length: int | None, vocab_size: int | None) -> None:
    if not isinstance(seq, list):
        raise DataError(path, f"is {_kind(seq)}, expected a list of token ids ({EXPECTED})", row)
    if not seq:
        raise DataError(path, "is an empty list, expected a non-empty list of token ids", row)
    if {type(t) for t in seq} != {int}:
        bad = next(t for t in seq if type(t) is not int)
        found = "a nested list" if isinstance(bad, list) else f"{_kind(bad)} ({bad!r})"
        raise DataError(path, f"holds {found}, expected integer token ids", row)
    if len(seq) != length:
        raise DataError(
            path,
            f"sequence has {len(seq)} tokens, the first has {length} "
            "(sequences must have equal length)",
            row,
        )
    low, high = min(seq), max(seq)
    if low < 0 or (vocab_size is not None and high >= vocab_size):
        bad = low if low < 0 else high
        raise DataError(
            path, f"token id {bad} is out of range for vocabulary size {vocab_size}", row
        )


class SentenceDataset(Dataset):
    """The course's dataset: a JSON list of token-id lists -> list of 1-D LongTensors."""

    def __init__(self, path: str | Path, vocab_size: int | None = None) -> None:
        self.sequences = read_sequences(Path(path), vocab_size)

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, idx: int) -> torch.Tensor:
        return self.sequences[idx]
