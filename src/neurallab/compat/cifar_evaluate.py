"""Drop-in for the student's `test.py` (CNN/RNN handout Q3): test accuracy of the best weights.

    python -m neurallab.compat.cifar_evaluate                  # ./best.pt on ./cifar10_hst_test
    python -m neurallab.compat.cifar_evaluate --weights runs/cifar/<run>/best.pt

Defaults to `best.pt` in the working directory (what `neurallab.compat.cifar_pytorch` saves: a
plain state_dict); a `neurallab cifar` run's richer `best.pt` works too. The test split is the
course's `cifar10_hst_test` in the working directory when present, and one line names the data
evaluated. Other flags are `neurallab cifar-test`'s (`--data_dir`, `--cifar10_dir`, ...).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def to_neurallab_argv(argv: Sequence[str]) -> list[str]:
    """This program's arguments -> `neurallab cifar-test`, with `--weights best.pt` by default."""
    argv = list(argv)
    named = any(a == "--weights" or a.startswith("--weights=") for a in argv)
    return ["cifar-test", *argv, *([] if named else ["--weights", "best.pt"])]


def main(argv: Sequence[str] | None = None) -> int:
    from neurallab.commands import run

    argv = sys.argv[1:] if argv is None else list(argv)
    if "-h" in argv or "--help" in argv:
        print(__doc__)  # this program's defaults, then the flags of neurallab cifar-test
    return run(to_neurallab_argv(argv))


if __name__ == "__main__":
    raise SystemExit(main())
