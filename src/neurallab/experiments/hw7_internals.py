"""HW7 §2-§4: convolution, backprop through time and the tape autodiff, computed."""

from __future__ import annotations

from pathlib import Path

from neurallab.experiments.base import Answer, Budget, Question, markdown_table
from neurallab.internals import autodiff, bptt, conv


def q2(budget: Budget, out: Path) -> Answer:
    r = conv.worked_examples()
    rows = [[" ".join(f"{v:d}" for v in row)] for row in r["Y"]]
    return Answer(
        text=(
            f"**1a** Y = X * F (cross-correlation, no padding, stride 1) is computed by the "
            f"handout's loops, checked against `torch.nn.functional.conv2d`: **j = {r['j']}** "
            f"(row 3, column 2). **1b** 6x4 input, 2x2 filter, stride 2: "
            f"**{r['size_6x4_k2_s2'][0]}x{r['size_6x4_k2_s2'][1]}** (floor((n - k)/s) + 1 per "
            f"axis). **2c** one shared 4x4 filter: **{r['params_shared_22']}** parameters. **2d** "
            f"one 4x4 filter per output pixel of the 10x10 output: **{r['params_unshared_22']:,}**. "
            f"**2e** 40x40x3 input, one 4x4x3 filter per pixel of the 19x19 output: "
            f"**{r['params_unshared_40x40x3']:,}** (the handout copy's 17,323 is an arithmetic "
            "slip: 19 x 19 x 16 x 3 = 17,328). **3a** the blank is `r + i, c + j`. **3b/c** the "
            "1-D convolution is y = A x with A banded (row r holds w in columns r..r+k-1), so "
            "dy/dx = A; `tests/test_internals.py` checks both against torch, and that a flipped "
            "kernel (true convolution) does not match."
        ),
        commands=["neurallab internals conv"],
        tables=[markdown_table(["Y (rows)"], rows)],
        metrics=r,
    )


def q3(budget: Budget, out: Path) -> Answer:
    r = bptt.check()
    nodes = "; ".join(bptt.unrolled_graph()[:5]) + "; ..."
    return Answer(
        text=(
            "**1a** The unrolled graph, per step: " + nodes + " **1b** g_J_t = 1; g_o_t = "
            "y_hat_t - y_t; **g_h_i = W_hy^T (y_hat_i - y_i) + W_hh^T g_h_(i+1)** (h_i reaches "
            "J through o_i and through h_(i+1); the handout copy's answer W_hy^T (y_hat - y) "
            "drops the second term); dJ/dW_hh = sum_i g_h_i h_(i-1)^T. Checked on random weights "
            f"of the handout's sizes: the closed form matches autograd to {r['closed_form_error']:.0e}; "
            f"without the later-step term it is off by {r['without_later_steps_error']:.3f}."
        ),
        commands=["neurallab internals bptt"],
        metrics=r,
    )


def q4(budget: Budget, out: Path) -> Answer:
    r = autodiff.stack_vs_queue()
    rows = [[name] + [f"{v:+.4f}" for v in r[name]] for name in ("autograd", "stack", "queue")]
    return Answer(
        text=(
            "**Q1** `tape.push(self)` records the module, with its inputs and output tensor, so "
            "that the backward pass can visit it later (the first option). **Q2 False.** The tape "
            "holds modules in a topological order; popping it as a stack visits each module only "
            "after every module that consumed its output has added (`+=`) its gradient, so one "
            "linear pass suffices. A queue visits modules in forward order, before their "
            "gradients are complete: in the example below w gets nothing. Making a queue "
            "correct needs repeated passes (one per level of the graph), i.e. quadratic time. "
            "The engine (`neurallab.internals.autodiff`) matches torch.autograd on "
            "hypothesis-generated graphs, finite differences, and trains the HW4 toy network and "
            "an RNN to the same losses as PyTorch (tests). **Q3** keys of one head: T x d_k; "
            "multi-head output before the final projection: T x H x d_v."
        ),
        commands=["neurallab internals autodiff"],
        tables=[markdown_table(["dJ/dw by", "w1", "w2", "w3"], rows)],
        metrics=r,
    )


QUESTIONS = [
    Question(
        "hw7",
        "§2",
        "Convolution: worked examples and parameter sharing",
        q2,
        seconds_quick=2,
        seconds_full=2,
    ),
    Question(
        "hw7", "§3", "Backprop through time for the 3-step RNN", q3, seconds_quick=1, seconds_full=1
    ),
    Question(
        "hw7", "§4", "Tape autodiff: the tape, stack vs queue", q4, seconds_quick=1, seconds_full=1
    ),
]
