"""Drop-in for the course's `test.py` (CNN/RNN handout Q3): test accuracy of saved weights.

python -m neurallab.compat.cifar_test --weights runs/cifar/<run>/best.pt
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from neurallab.cli import main as neurallab_main

    return neurallab_main(["cifar-test", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
