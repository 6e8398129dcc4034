"""HW0 §4 text classifiers: the EmbeddingBag baseline and an LSTM with pooling over time."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class TextClassificationModel(nn.Module):
    """The starter's baseline: mean of word embeddings (EmbeddingBag) -> Linear.

    `padding_idx` makes the bag skip padding, so a padded article has the same mean embedding
    as the unpadded one (without it, padding would dilute the mean toward the pad vector).
    """

    def __init__(self, vocab_size: int, embed_dim: int, num_class: int, pad_idx: int = 1) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean", padding_idx=pad_idx)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self) -> None:
        # The starter's initialisation: uniform(-0.5, 0.5) weights, zero bias.
        self.embedding.weight.data.uniform_(-0.5, 0.5)
        self.fc.weight.data.uniform_(-0.5, 0.5)
        self.fc.bias.data.zero_()
        with torch.no_grad():
            self.embedding.weight[self.embedding.padding_idx].zero_()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) -> logits (B, num_class)."""
        return self.fc(self.embedding(tokens))


class LSTMClassifier(nn.Module):
    """Embedding -> LSTM (batch_first) -> max over time -> Linear.

    With `pooling="masked"` (default) padding never reaches the pooled features: the max runs
    over real positions only, and a bidirectional LSTM runs on the packed batch so its backward
    direction starts at each article's last real token. `pooling="padded"` is the naive version
    the handout warns about: the LSTM runs over the pad tokens too and the max includes those
    outputs (for a bidirectional LSTM the backward direction even starts in the padding).
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_dim: int,
        num_class: int,
        pad_idx: int = 1,
        num_layers: int = 1,
        bidirectional: bool = False,
        pooling: str = "masked",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if pooling not in ("masked", "padded"):
            raise ValueError(f"pooling must be 'masked' or 'padded', got {pooling!r}")
        self.pad_idx, self.pooling = pad_idx, pooling
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        self.lstm = nn.LSTM(
            embed_dim,
            hidden_dim,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.fc = nn.Linear(hidden_dim * (2 if bidirectional else 1), num_class)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T), right-padded with pad_idx -> logits (B, num_class)."""
        embedded = self.embedding(tokens)
        mask = tokens != self.pad_idx  # (B, T): True at real tokens
        if self.pooling == "padded":
            outputs, _ = self.lstm(embedded)
            return self.fc(outputs.max(dim=1).values)
        if self.lstm.bidirectional:
            # The backward direction would start in the padding: pack so it starts at the
            # last real token. Lengths must be int64 on the CPU.
            lengths = mask.sum(dim=1).clamp(min=1).cpu()
            packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
            outputs, _ = pad_packed_sequence(
                self.lstm(packed)[0], batch_first=True, total_length=tokens.shape[1]
            )
        else:
            # Forward only, right padding: outputs at real tokens never see the padding that
            # follows them, so masking the pool is exact and skips packing's overhead.
            outputs, _ = self.lstm(embedded)
        outputs = outputs.masked_fill(~mask[..., None], float("-inf"))
        return self.fc(outputs.max(dim=1).values)
