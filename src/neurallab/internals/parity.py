"""CNN/RNN Q4: the hand-set univariate LSTM computes parity, checked on every string.

The weights and the equations are in `neurallab.models.parity`; the derivation in
docs/parity.md. Used by `neurallab parity-manual` and the Q4 answer of `reproduce`.
"""

from __future__ import annotations

import torch

from neurallab.data.parity import all_strings
from neurallab.models.parity import HAND_WEIGHTS, lstm_from_hand_weights, univariate_lstm_states


def verify_hand_weights(max_length: int) -> dict:
    """Correctness of h_t > 0.5 <=> odd prefix, for every string of every length <= max_length.

    The prefixes of all 2**max_length strings are exactly all shorter strings, so one
    vectorised pass over the longest strings checks every length at once.
    """
    bits = all_strings(max_length)
    h = univariate_lstm_states(bits, HAND_WEIGHTS)
    odd = (bits.cumsum(dim=1) % 2) == 1
    wrong_per_length = ((h > 0.5) != odd).sum(dim=0)
    lstm = lstm_from_hand_weights(HAND_WEIGHTS).double()
    with torch.no_grad():
        torch_h, _ = lstm(bits.double().unsqueeze(-1))
    return {
        "max_length": max_length,
        "strings_checked": int(sum(2**n for n in range(1, max_length + 1))),
        "wrong": int(wrong_per_length.sum()),
        "min_h_odd": float(h[odd].min()),
        "max_h_even": float(h[~odd].max()),
        "nn_lstm_max_abs_diff": float((torch_h.squeeze(-1) - h).abs().max()),
    }
