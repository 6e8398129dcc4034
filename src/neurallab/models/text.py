"""HW0 §4 text classifiers: the course's EmbeddingBag baseline, a pad-aware one, and LSTMs."""

from __future__ import annotations

import torch
from torch import nn


class TextClassificationModel(nn.Module):
    """The starter's baseline: mean of word embeddings (EmbeddingBag) -> Linear.

    As in the course, the bag has no padding index: pad ids are embedded and averaged in like
    any token, so padding an article to max_len pulls its mean toward the pad vector.
    """

    def __init__(self, vocab_size: int, embed_dim: int, num_class: int) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean")
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self) -> None:
        # The starter's initialisation: uniform(-0.5, 0.5) weights, zero bias.
        self.embedding.weight.data.uniform_(-0.5, 0.5)
        self.fc.weight.data.uniform_(-0.5, 0.5)
        self.fc.bias.data.zero_()

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        """text (B, T) -> logits (B, num_class)."""
        return self.fc(self.embedding(text))


class PadAwareTextClassificationModel(TextClassificationModel):
    """neurallab's variant (`--model simple_pad_aware`): the bag skips `pad_idx`.

    The mean runs over real tokens only, so a padded article gets the same logits as the
    unpadded one. Same parameters and initialisation as the course's model; the pad row is
    zero and never trained.
    """

    def __init__(self, vocab_size: int, embed_dim: int, num_class: int, pad_idx: int = 1) -> None:
        super().__init__(vocab_size, embed_dim, num_class)
        self.embedding.padding_idx = pad_idx  # EmbeddingBag leaves this index out of the mean
        with torch.no_grad():
            self.embedding.weight[pad_idx].zero_()


def reverse_within_length(lengths: torch.Tensor, total: int) -> torch.Tensor:
    """(B, total) indices that reverse each row's first `length` positions, padding kept in place.

    Applying the same gather twice restores the original order.
    """
    positions = torch.arange(total, device=lengths.device).expand(len(lengths), total)
    last = lengths[:, None] - 1
    return torch.where(positions <= last, last - positions, positions)


class BiLSTM(nn.Module):
    """A bidirectional LSTM (batch_first) over right-padded batches.

    Given `lengths`, the backward direction starts at each sequence's last real token, so the
    outputs at real positions are exactly those of `nn.LSTM(bidirectional=True)` on a packed
    batch. Packing sends PyTorch's CPU LSTM down a slow per-step path (about 4x slower than a
    padded batch at this size); here each direction is a one-layer LSTM over a padded batch
    instead, the backward one over every row reversed within its length, which leaves the
    padding at the end where it cannot reach a real position. Without `lengths` the backward
    direction reads whole padded rows from their end, as an unpacked `nn.LSTM` does.
    """

    def __init__(self, input_dim: int, hidden_dim: int, num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        sizes = [input_dim] + [2 * hidden_dim] * (num_layers - 1)
        self.forward_layers = nn.ModuleList(nn.LSTM(n, hidden_dim, batch_first=True) for n in sizes)
        self.backward_layers = nn.ModuleList(
            nn.LSTM(n, hidden_dim, batch_first=True) for n in sizes
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, input_dim) -> outputs (B, T, 2 * hidden_dim), forward then backward."""
        batch, total = x.shape[:2]
        if lengths is None:
            lengths = torch.full((batch,), total, device=x.device)
        order = reverse_within_length(lengths, total)[..., None]
        for i, (ahead, back) in enumerate(
            zip(self.forward_layers, self.backward_layers, strict=True)
        ):
            if i > 0:
                x = self.dropout(x)  # between layers, as nn.LSTM's `dropout`
            reversed_x = x.gather(1, order.expand(-1, -1, x.shape[2]))
            backward_out = back(reversed_x)[0]
            x = torch.cat([ahead(x)[0], backward_out.gather(1, order.expand_as(backward_out))], 2)
        return x


POOLINGS = ("masked", "padded", "last")


class LSTMClassifier(nn.Module):
    """Embedding -> LSTM (batch_first) -> one vector per article -> Linear.

    How the outputs over time become one vector (`pooling`):
    - "masked" (default): max over real positions only; padding never reaches the features
      (a bidirectional LSTM's backward direction starts at each article's last real token,
      as packing would do).
    - "padded": max over every position, pad tokens included (the backward direction of a
      bidirectional LSTM starts in the padding): pooling that ignores the padding.
    - "last": the output at the final position, after any padding: the last-step readout the
      handout warns about.
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
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.pad_idx, self.pooling = pad_idx, pooling
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        dropout = dropout if num_layers > 1 else 0.0
        if bidirectional:
            self.lstm = BiLSTM(embed_dim, hidden_dim, num_layers, dropout)
        else:
            self.lstm = nn.LSTM(
                embed_dim, hidden_dim, num_layers=num_layers, batch_first=True, dropout=dropout
            )
        self.fc = nn.Linear(hidden_dim * (2 if bidirectional else 1), num_class)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T), right-padded with pad_idx -> logits (B, num_class)."""
        embedded = self.embedding(tokens)
        mask = tokens != self.pad_idx  # (B, T): True at real tokens
        masked = self.pooling == "masked"
        if isinstance(self.lstm, BiLSTM):
            lengths = mask.sum(dim=1).clamp(min=1) if masked else None
            outputs = self.lstm(embedded, lengths)
        else:
            # Forward only, right padding: outputs at real tokens never see the padding that
            # follows them, so masking the pool is all "masked" needs.
            outputs = self.lstm(embedded)[0]
        if self.pooling == "last":
            return self.fc(outputs[:, -1])
        if masked:
            outputs = outputs.masked_fill(~mask[..., None], float("-inf"))
        return self.fc(outputs.max(dim=1).values)
