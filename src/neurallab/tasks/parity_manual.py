"""CNN/RNN handout Q4: the hand-set univariate LSTM, checked on every string up to a length."""

from __future__ import annotations

import argparse

from neurallab.flags import positive_int
from neurallab.internals.parity import verify_hand_weights
from neurallab.models.parity import HAND_WEIGHTS

COMMAND = "parity-manual"
HELP = "CNN/RNN Q4: hand-chosen LSTM weights that compute parity, checked exhaustively"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max_length",
        type=positive_int,
        default=20,
        help="check every string of length 1..max_length (2**max_length prefixes)",
    )


def run(args: argparse.Namespace) -> int:
    print("hand-set weights:", ", ".join(f"{k}={v:g}" for k, v in HAND_WEIGHTS.items()))
    r = verify_hand_weights(args.max_length)
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
