"""Drop-in for the course's `univariate_tester.py` (CNN/RNN handout Q4).

The twelve scalars are module-level names, as the tester expects. Running the module checks
every binary string of length 14 from c = h = 0 and requires `h > 0.5` exactly for odd parity.
"""

from __future__ import annotations

import sys

from neurallab.data.parity import all_strings
from neurallab.models.parity import HAND_WEIGHTS, univariate_lstm_states

w_ix, w_ih, b_i = HAND_WEIGHTS["w_ix"], HAND_WEIGHTS["w_ih"], HAND_WEIGHTS["b_i"]
w_fx, w_fh, b_f = HAND_WEIGHTS["w_fx"], HAND_WEIGHTS["w_fh"], HAND_WEIGHTS["b_f"]
w_ox, w_oh, b_o = HAND_WEIGHTS["w_ox"], HAND_WEIGHTS["w_oh"], HAND_WEIGHTS["b_o"]
w_gx, w_gh, b_g = HAND_WEIGHTS["w_gx"], HAND_WEIGHTS["w_gh"], HAND_WEIGHTS["b_g"]

LENGTH = 14


def check(length: int = LENGTH) -> tuple[int, int]:
    """(correct, total) over every string of `length`, final hidden state > 0.5 meaning odd."""
    weights = {k: globals()[k] for k in HAND_WEIGHTS}
    bits = all_strings(length)
    h_final = univariate_lstm_states(bits, weights)[:, -1]
    odd = bits.sum(1) % 2 == 1
    return int(((h_final > 0.5) == odd).sum()), len(bits)


def main() -> int:
    correct, total = check()
    print(f"{correct}/{total} strings of length {LENGTH} classified correctly")
    if correct == total:
        print("success: h > 0.5 exactly for the odd-parity strings")
        return 0
    print("failure")
    return 1


if __name__ == "__main__":
    sys.exit(main())
