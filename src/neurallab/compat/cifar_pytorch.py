"""Drop-in for the course's `cifar_pytorch.py` (CNN/RNN handout Q1-Q3).

    python -m neurallab.compat.cifar_pytorch [--batchnorm]

`Net(batchnorm=False)` is the handout's network; training uses the course's settings through
`neurallab cifar` and saves the weights whenever validation accuracy improves.
"""

from __future__ import annotations

import sys

from neurallab.models.cifar import Net

__all__ = ["Net", "main"]


def main(argv: list[str] | None = None) -> int:
    from neurallab.cli import main as neurallab_main

    return neurallab_main(["cifar", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
