"""`neurallab internals conv|autodiff|bptt|all`: the worked results of HW7 §2-§4, computed."""

from __future__ import annotations

import argparse

COMMAND = "internals"
HELP = "HW7 §2-§4: convolution by loops and as a matrix, tape autodiff, BPTT, checked vs PyTorch"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "topic", choices=("conv", "autodiff", "bptt", "all"), nargs="?", default="all"
    )


def show_conv() -> None:
    from neurallab.internals.conv import worked_examples

    r = worked_examples()
    print("§2 Q1a: the 6x6 image convolved with the 3x3 filter (no padding, stride 1):")
    for row in r["Y"]:
        print("   " + " ".join(f"{v:4d}" for v in row))
    print(f"   j (row 3, column 2 of Y) = {r['j']}")
    print(
        f"§2 Q1b: 6x4 input, 2x2 filter, stride 2 -> {r['size_6x4_k2_s2'][0]}x{r['size_6x4_k2_s2'][1]}"
    )
    print(f"§2 Q2c: one shared 4x4 filter on 22x22: {r['params_shared_22']} parameters")
    print(
        f"§2 Q2d: a separate 4x4 filter per output pixel (10x10 outputs): {r['params_unshared_22']}"
    )
    print(
        f"§2 Q2e: 40x40x3 input, separate 4x4x3 filter per output pixel (19x19): "
        f"{r['params_unshared_40x40x3']}"
    )


def show_autodiff() -> None:
    from neurallab.internals.autodiff import stack_vs_queue

    r = stack_vs_queue()
    print("§4 Q2: dJ/dw for J = sum(x*w + sigmoid(x*w)), popping the tape as a stack vs a queue:")
    for name in ("autograd", "stack", "queue"):
        print(f"   {name:8s} " + " ".join(f"{v:+.6f}" for v in r[name]))


def show_bptt() -> None:
    from neurallab.internals import bptt

    print("§3: the unrolled graph of the 3-step RNN:")
    for node in bptt.unrolled_graph():
        print("   " + node)
    r = bptt.check()
    print(
        f"   dJ/dW_hh = sum_t g_h_t h_(t-1)^T with g_h_t = W_hy^T (y_hat_t - y_t) + W_hh^T g_h_(t+1):"
        f" max |closed form - autograd| = {r['closed_form_error']:.1e}"
    )
    print(f"   without the W_hh^T g_h_(t+1) term: max error {r['without_later_steps_error']:.3f}")


def run(args: argparse.Namespace) -> int:
    for topic, show in (("conv", show_conv), ("bptt", show_bptt), ("autodiff", show_autodiff)):
        if args.topic in (topic, "all"):
            show()
    return 0
