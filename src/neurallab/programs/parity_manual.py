"""CNN/RNN handout Q4: the hand-set univariate LSTM computes parity, checked on every string.

Nothing is trained: `run` checks the twelve hand-chosen weights of `neurallab.models.parity`
on every binary string of length 1..max_length and returns the record of a small run folder
whose summary holds the check (`wrong` strings, the margins, the nn.LSTM agreement).

    from neurallab.programs import parity_manual
    rec = parity_manual.run(parity_manual.Settings(max_length=14), tracker="none")
    rec.summary["wrong"]    # 0
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurallab.flags import positive_int
from neurallab.internals.parity import verify_hand_weights
from neurallab.models.parity import HAND_WEIGHTS
from neurallab.programs.run import RunOptions, RunRecord, finish, open_run
from neurallab.settings import Settings as BaseSettings
from neurallab.settings import setting

PROGRAM = "parity-manual"
HELP = "CNN/RNN Q4: hand-chosen LSTM weights that compute parity, checked exhaustively"


@dataclass(frozen=True)
class Settings(BaseSettings):
    PROGRAM = PROGRAM
    max_length: int = setting(
        20,
        "check every string of length 1..max_length (2**max_length prefixes)",
        check=positive_int,
    )


def run(settings: Settings, run_dir: Path | str | None = None, **options: Any) -> RunRecord:
    """Check the hand-set weights; print and record the result."""
    started = time.perf_counter()
    print("hand-set weights:", ", ".join(f"{k}={v:g}" for k, v in HAND_WEIGHTS.items()))
    r = verify_hand_weights(settings.max_length)
    print(
        f"checked all {r['strings_checked']:,} strings of length 1..{r['max_length']}: "
        f"{r['wrong']} wrong; odd strings give h >= {r['min_h_odd']:.4f}, even ones "
        f"h <= {r['max_h_even']:.2e}"
    )
    print(
        f"the same weights in torch.nn.LSTM(1, 1): max |h_torch - h_equations| = "
        f"{r['nn_lstm_max_abs_diff']:.1e}"
    )
    run_ = open_run(settings, RunOptions(run_dir=run_dir, **options))
    return finish(run_, started, settings, hand_weights=HAND_WEIGHTS, **r)
