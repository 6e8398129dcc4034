"""Parity models: the hand-set univariate LSTM (Q4) and the trained ParityLSTM (Q5)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

# Q4: twelve hand-chosen scalars for equations (1)-(6). The cell keeps c_t = XOR(x_t, odd_{t-1})
# in {-1, 0, 1} and h_t = tanh(c_t) ~ 0.76 exactly when the prefix is odd (derivation in
# docs/parity.md). "odd_{t-1}" is read from h_{t-1}: 0.76 means odd, 0 or -0.76 means even.
HAND_WEIGHTS: dict[str, float] = {
    # input gate (1): i = OR(x, odd) -- 50x - 10 alone already saturates for x = 1, even when
    # h_{t-1} = -0.76; h_{t-1} = 0.76 alone gives 26 * 0.76 - 10 = 9.8 > 0.
    "w_ix": 50.0,
    "w_ih": 26.0,
    "b_i": -10.0,
    # forget gate (2): always ~0, the new cell value replaces the old one.
    "w_fx": 0.0,
    "w_fh": 0.0,
    "b_f": -20.0,
    # output gate (3): always ~1, so h = tanh(c).
    "w_ox": 0.0,
    "w_oh": 0.0,
    "b_o": 20.0,
    # candidate (4): g = NAND(x, odd) as +1 / -1: -1 only for x = 1 and h_{t-1} = 0.76.
    "w_gx": -20.0,
    "w_gh": -26.0,
    "b_g": 30.0,
}
GATES = ("i", "f", "g", "o")  # PyTorch's order of the four gates in nn.LSTM's weights


def univariate_lstm_states(bits: torch.Tensor, w: Mapping[str, float]) -> torch.Tensor:
    """Run equations (1)-(6) from c = h = 0 over a batch of strings (B, T) -> h_t (B, T).

    Vectorised over the batch; float64 so the check is about the weights, not rounding.
    """
    x = bits.double()
    h = torch.zeros(x.shape[0], dtype=torch.float64)
    c = torch.zeros_like(h)
    states = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        i = torch.sigmoid(w["w_ix"] * xt + w["w_ih"] * h + w["b_i"])  # (1)
        f = torch.sigmoid(w["w_fx"] * xt + w["w_fh"] * h + w["b_f"])  # (2)
        o = torch.sigmoid(w["w_ox"] * xt + w["w_oh"] * h + w["b_o"])  # (3)
        g = torch.tanh(w["w_gx"] * xt + w["w_gh"] * h + w["b_g"])  # (4)
        c = f * c + i * g  # (5)
        h = o * torch.tanh(c)  # (6)
        states.append(h)
    return torch.stack(states, dim=1)


def lstm_from_hand_weights(w: Mapping[str, float]) -> nn.LSTM:
    """An nn.LSTM(1, 1) carrying the twelve scalars (hidden-to-hidden biases zero)."""
    lstm = nn.LSTM(1, 1, batch_first=True)
    with torch.no_grad():
        for k, gate in enumerate(GATES):
            lstm.weight_ih_l0[k, 0] = w[f"w_{gate}x"]
            lstm.weight_hh_l0[k, 0] = w[f"w_{gate}h"]
            lstm.bias_ih_l0[k] = w[f"b_{gate}"]
            lstm.bias_hh_l0[k] = 0.0
    return lstm


class ParityLSTM(nn.Module):
    """Q5: LSTM over the bits -> last real hidden state -> Linear -> (even, odd) scores.

    Batches are right-padded with zeros, which are valid bits: without packing the LSTM would
    read the padding as data. The batch is packed so each string's final state is taken after
    its own last bit.
    """

    def __init__(self, hidden_dim: int = 64) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.lstm = nn.LSTM(1, hidden_dim, batch_first=True)
        self.classifier = nn.Linear(hidden_dim, 2)

    def forward(self, x: torch.Tensor, s) -> torch.Tensor:
        """x (B, T_max) zero-padded bits, s the lengths -> (B, 2) scores (even, odd)."""
        lengths = torch.as_tensor(s, dtype=torch.int64, device="cpu")
        packed = pack_padded_sequence(
            x.unsqueeze(-1), lengths, batch_first=True, enforce_sorted=False
        )
        _, (h_n, _) = self.lstm(packed)
        return self.classifier(h_n[-1])

    def __str__(self) -> str:
        return f"LSTM-{self.hidden_dim}"
