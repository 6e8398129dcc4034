"""HW3 Problem 5 models for (B, T, F) series with lengths: MLP, 1-D CNN, LSTM, GRU."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

MODELS = ("mlp", "cnn", "lstm", "gru")


class SeriesMLP(nn.Module):
    """Flatten the whole (T, F) window: every time step gets its own weights (handout P5 A)."""

    def __init__(self, steps: int, features: int, classes: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(steps * features, hidden),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(hidden, classes),
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # padding is zeros = the channel mean after normalisation


class SeriesCNN(nn.Module):
    """Two Conv1d layers over time, then max over the real time steps: local, shift-invariant
    patterns (handout P5 B)."""

    def __init__(self, features: int, classes: int, channels: int = 64, kernel: int = 5) -> None:
        super().__init__()
        pad = kernel // 2
        self.convs = nn.Sequential(
            nn.Conv1d(features, channels, kernel, padding=pad),
            nn.ReLU(),
            nn.Conv1d(channels, channels, kernel, padding=pad),
            nn.ReLU(),
        )
        self.head = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        features = self.convs(x.transpose(1, 2))  # (B, C, T)
        steps = torch.arange(x.shape[1], device=x.device)
        padded = steps[None, :] >= lengths[:, None]
        features = features.masked_fill(padded[:, None, :], float("-inf"))
        return self.head(features.max(dim=2).values)


class SeriesRNN(nn.Module):
    """LSTM or GRU over the packed series; the last real hidden state classifies (P5 C)."""

    def __init__(self, features: int, classes: int, hidden: int = 64, cell: str = "lstm") -> None:
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, state = self.rnn(packed)
        h_n = state[0] if isinstance(state, tuple) else state
        return self.head(h_n[-1])


def build_series_model(kind: str, steps: int, features: int, classes: int) -> nn.Module:
    """One of MODELS for series of up to `steps` steps of `features` channels (a checkpoint's
    model_args are exactly these four arguments)."""
    if kind not in MODELS:
        raise ValueError(f"unknown series model {kind!r}; choose from {', '.join(MODELS)}")
    if kind == "mlp":
        return SeriesMLP(steps, features, classes)
    if kind == "cnn":
        return SeriesCNN(features, classes)
    return SeriesRNN(features, classes, cell=kind)
