"""CNN/RNN handout Q4: the hand-set univariate LSTM, checked on every string up to a length."""

from __future__ import annotations

import argparse

import torch

from neurallab.data.parity import all_strings
from neurallab.flags import positive_int
from neurallab.models.parity import HAND_WEIGHTS, lstm_from_hand_weights, univariate_lstm_states

COMMAND = "parity-manual"
HELP = "CNN/RNN Q4: hand-chosen LSTM weights that compute parity, checked exhaustively"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max_length",
        type=positive_int,
        default=20,
        help="check every string of length 1..max_length (2**max_length prefixes)",
    )


def verify(max_length: int) -> dict:
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


def run(args: argparse.Namespace) -> int:
    print("hand-set weights:", ", ".join(f"{k}={v:g}" for k, v in HAND_WEIGHTS.items()))
    r = verify(args.max_length)
    print(
        f"checked all {r['strings_checked']:,} strings of length 1..{r['max_length']}: "
        f"{r['wrong']} wrong; odd strings give h >= {r['min_h_odd']:.4f}, even ones "
        f"h <= {r['max_h_even']:.2e}"
    )
    print(
        f"the same weights in torch.nn.LSTM(1, 1): max |h_torch - h_equations| = "
        f"{r['nn_lstm_max_abs_diff']:.1e}"
    )
    return 0 if r["wrong"] == 0 else 1
