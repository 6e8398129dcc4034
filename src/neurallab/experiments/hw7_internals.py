"""HW7 §2-§4: convolution, backprop through time and the tape autodiff, computed.

Every written item is answered; where running code shows the answer (what a convolutional
layer learns, what sharing a filter buys, what a language model adds to an RNN, what the tape
records, the attention shapes), the code's own output is printed beside the answer.
"""

from __future__ import annotations

import json
from pathlib import Path

from neurallab.experiments.base import Answer, Budget, Question, markdown_table
from neurallab.experiments.verdict import written
from neurallab.internals import autodiff, bptt, conv, language_model


def _output(title: str, value: dict) -> str:
    """A demonstration's real output (its returned dict, a key per line) beside the answer."""
    lines = "\n".join(f"{key}: {json.dumps(item)}" for key, item in value.items())
    return f"\n\n{title}\n\n```text\n{lines}\n```"


def _q2_text(r: dict, layer: dict, shift: dict) -> str:
    """§2's answer: each item, with the code output that shows it."""
    settings_kept = layer["settings_before"] == layer["settings_after"]
    equivariant = shift["shared_filter_max_difference"] < 1e-9
    unshared_differs = shift["separate_filters_max_difference"] > 1e-6
    return (
        f"**1a** Y = X * F (cross-correlation, no padding, stride 1) is computed by the "
        f"handout's loops, checked against `torch.nn.functional.conv2d`: **j = {r['j']}** "
        f"(row 3, column 2). **1b** 6x4 input, 2x2 filter, stride 2: "
        f"**{r['size_6x4_k2_s2'][0]}x{r['size_6x4_k2_s2'][1]}** (floor((n - k)/s) + 1 per "
        f"axis).\n\n"
        "**2a** Parameters (learned): **the weights in the filter** only. **2b** "
        "Hyperparameters (chosen before training): **stride, padding and filter size**. The "
        "input size is neither: it belongs to the data, and one layer with the same weights "
        "accepts any input size. Shown by code: the layer's only parameter is "
        f"`weight` {layer['parameters'].get('weight')} ({layer['parameter_count']} numbers); "
        "a gradient step "
        + ("changed the weights" if layer["weights_changed_by_a_step"] else "did not change")
        + " and "
        + ("left stride, padding and filter size as they were" if settings_kept else "changed")
        + f"; the same 16 weights map a 22x22 input to {layer['output_shape_22x22']} and a "
        f"40x40 input to {layer['output_shape_40x40']}."
        + _output("`conv.what_a_layer_learns()`:", layer)
        + f"\n\n**2c** one shared 4x4 filter: **{r['params_shared_22']}** parameters. **2d** "
        f"one 4x4 filter per output pixel of the 10x10 output: **{r['params_unshared_22']:,}**. "
        f"**2e** 40x40x3 input, one 4x4x3 filter per pixel of the 19x19 output: "
        f"**{r['params_unshared_40x40x3']:,}** (the handout copy's 17,323 is an arithmetic "
        "slip: 19 x 19 x 16 x 3 = 17,328).\n\n"
        "**2f** A shared filter detects a pattern the same way wherever it appears, so what "
        "it learns at one place works at every place (translation equivariance: shifting the "
        "image shifts the feature map), and every position's gradient trains the same weights. "
        f"Shown by code: moving a pattern by {shift['shift']} pixels moves the shared filter's "
        f"output by the same amount with a largest difference of "
        f"{shift['shared_filter_max_difference']:.1e}"
        + (" (exactly equivariant)" if equivariant else "")
        + "; with a separate filter per position the difference is "
        f"{shift['separate_filters_max_difference']:.2f}"
        + (" (not equivariant)" if unshared_differs else "")
        + ". (The handout copy says 'translation invariance'; a convolution is equivariant, "
        "and invariance needs pooling on top.)"
        + _output("`conv.shift_test()`:", shift)
        + "\n\n**3a** the blank is `r + i, c + j`. **3b/c** the 1-D convolution is y = A x "
        "with A banded (row r holds w in columns r..r+k-1), so dy/dx = A; "
        "`tests/test_internals.py` checks both against torch, and that a flipped kernel (true "
        "convolution) does not match."
    )


def q2(budget: Budget, out: Path) -> Answer:
    r = conv.worked_examples()
    layer = conv.what_a_layer_learns()
    shift = conv.shift_test()
    rows = [[" ".join(f"{v:d}" for v in row)] for row in r["Y"]]
    only_weights = list(layer["parameters"]) == ["weight"]
    text = _q2_text(r, layer, shift)
    verdicts = [
        written(
            "1a, 1b: j in Y = X * F; output size of 6x4, 2x2 filter, stride 2",
            "j = {}; {}x{}".format(r["j"], *r["size_6x4_k2_s2"]),
            demonstrated=True,
        ),
        written(
            "2a, 2b: parameters and hyperparameters of a convolutional layer",
            ("weights in the filter" if only_weights else f"{list(layer['parameters'])}")
            + "; stride, padding, filter size (input size is neither)",
            demonstrated=True,
        ),
        written(
            "2c-2e: parameter counts",
            f"{r['params_shared_22']} / {r['params_unshared_22']:,} / "
            f"{r['params_unshared_40x40x3']:,}",
            demonstrated=True,
        ),
        written(
            "2f: why share parameters, besides fewer of them",
            "a feature learned at one place is detected at every place (equivariance); "
            f"shift test: shared {shift['shared_filter_max_difference']:.1e}, separate "
            f"{shift['separate_filters_max_difference']:.2f}",
            demonstrated=True,
        ),
        written("3a-3c: the index blank, the matrix A, dy/dx", "X[r + i, c + j]; banded A; A"),
    ]
    return Answer(
        text=text,
        commands=["neurallab internals conv"],
        tables=[markdown_table(["Y (rows)"], rows)],
        metrics={**r, "layer": layer, "shift_test": shift},
        verdicts=verdicts,
        key_result=(
            f"j = {r['j']}; 2a weights only; 2b stride, padding, filter size; "
            f"params {r['params_shared_22']} / {r['params_unshared_22']:,} / "
            f"{r['params_unshared_40x40x3']:,}"
        ),
    )


def q3(budget: Budget, out: Path) -> Answer:
    r = bptt.check()
    lm = language_model.take_apart()
    nodes = "; ".join(bptt.unrolled_graph()[:5]) + "; ..."
    same_loss = (
        abs(lm["mean_next_token_cross_entropy"] - lm["minus_log_p_sequence_over_steps"]) < 1e-5
    )
    text = (
        "**1a** The unrolled graph, per step: " + nodes + " **1b** g_J_t = 1; g_o_t = "
        "y_hat_t - y_t; **g_h_i = W_hy^T (y_hat_i - y_i) + W_hh^T g_h_(i+1)** (h_i reaches "
        "J through o_i and through h_(i+1); the handout copy's answer W_hy^T (y_hat - y) "
        "drops the second term); dJ/dW_hh = sum_i g_h_i h_(i-1)^T. Checked on random weights "
        f"of the handout's sizes: the closed form matches autograd to {r['closed_form_error']:.0e}; "
        f"without the later-step term it is off by {r['without_later_steps_error']:.3f}.\n\n"
        "**2** True: **the third and fourth statements** (an RNN-LM adds layers to predict "
        "the next token; it is trained to maximise the probability of the sequence). False: "
        "the first (a plain RNN processes sequences) and the second (an RNN-LM is not only an "
        "encoder: it generates). Shown by code on a tiny model of our course model's class: "
        f"the bare `rnn` maps a {lm['rnn_input_shape']} sequence of vectors to "
        f"{lm['rnn_hidden_states_shape']} hidden states; the language model adds "
        f"{lm['parameters']['added_by_the_language_model']} parameters around its "
        f"{lm['parameters']['rnn']} (embedding, attention, head) and outputs "
        f"{lm['lm_logits_shape']} next-token logits; its training loss, the mean next-token "
        f"cross-entropy {lm['mean_next_token_cross_entropy']:.6f}, "
        + ("equals" if same_loss else "differs from")
        + f" -log P(x_2..x_T | x_1) / (T - 1) = {lm['minus_log_p_sequence_over_steps']:.6f} "
        "computed token by token through the step functions generation uses; and `generate` "
        f"continues the prompt {lm['prompt']} with {lm['generated']}."
        + _output("`language_model.take_apart()`:", lm)
    )
    return Answer(
        text=text,
        commands=["neurallab internals bptt", "neurallab internals lm"],
        metrics={**r, "language_model": lm},
        verdicts=[
            written(
                "1a/1b: unrolled graph and dJ/dW_hh",
                "g_h_i = W_hy^T (y_hat_i - y_i) + W_hh^T g_h_(i+1); "
                f"matches autograd to {r['closed_form_error']:.0e}",
                demonstrated=True,
            ),
            written(
                "2: true statements about RNNs and RNN-LMs",
                "the third and fourth (next-token layers; sequence-probability objective)",
                demonstrated=True,
            ),
        ],
        key_result="g_h_i needs W_hh^T g_h_(i+1); Q2: third and fourth statements",
    )


def q4(budget: Budget, out: Path) -> Answer:
    r = autodiff.stack_vs_queue()
    tape = autodiff.tape_contents()
    shapes = autodiff.multi_head_shapes()
    rows = [[name] + [f"{v:+.4f}" for v in r[name]] for name in ("autograd", "stack", "queue")]
    no_gradient = all(v == 0 for v in tape["dJ_dw_without_tape"])
    text = (
        "**Q1** `tape.push(self)` records the module, with its input modules and its output "
        "tensor, so that the backward pass can visit it later and has the values its "
        "derivative needs (the first option). Shown by code: after the forward pass of "
        "J = sum(x*w + sigmoid(x*w)) the tape holds "
        + ", ".join(entry["module"] for entry in tape["recorded"])
        + " with their inputs and saved outputs (Sigmoid's backward reads its output s); "
        f"backward pops them in the order {', '.join(tape['backward_order'])}; with the tape "
        "emptied before backward, w receives "
        + ("no gradient" if no_gradient else "a gradient")
        + f" ({tape['dJ_dw_without_tape']} against {[round(v, 4) for v in tape['dJ_dw_with_tape']]})."
        + _output("`autodiff.tape_contents()`:", tape)
        + "\n\n**Q2 False.** The tape holds modules in a topological order; popping it as a "
        "stack visits each module only after every module that consumed its output has added "
        "(`+=`) its gradient, so one linear pass suffices. A queue visits modules in forward "
        "order, before their gradients are complete: in the example below w gets nothing. "
        "Making a queue correct needs repeated passes (one per level of the graph), i.e. "
        "quadratic time. The engine (`neurallab.internals.autodiff`) matches torch.autograd on "
        "hypothesis-generated graphs, finite differences, and trains the HW4 toy network and "
        "an RNN to the same losses as PyTorch (tests).\n\n"
        f"**Q3** (a) keys of one head: **T x d_k**; (b) multi-head output before the final "
        f"linear map: **T x H x d_v**. Shown by code with T, d_model, H, d_k, d_v = "
        f"{', '.join(str(v) for v in shapes['sizes'].values())}: one head's keys are "
        f"{shapes['key_one_head']}, the heads' outputs side by side "
        f"{shapes['output_before_final_linear']}."
        + _output("`autodiff.multi_head_shapes()`:", shapes)
    )
    return Answer(
        text=text,
        commands=["neurallab internals autodiff"],
        tables=[markdown_table(["dJ/dw by", "w1", "w2", "w3"], rows)],
        metrics={**r, "tape": tape, "shapes": shapes},
        verdicts=[
            written(
                "Q1: the role of tape.push(self)",
                "records the module with its inputs and output for the backward pass",
                demonstrated=True,
            ),
            written(
                "Q2: replace the stack with a queue at no cost?",
                f"False: the queue gives dJ/dw = {[round(v, 3) for v in r['queue']]}, "
                f"the stack {[round(v, 3) for v in r['stack']]} (= autograd)",
                demonstrated=True,
            ),
            written(
                "Q3: key and output shapes",
                f"T x d_k ({shapes['key_one_head']}); T x H x d_v "
                f"({shapes['output_before_final_linear']})",
                demonstrated=True,
            ),
        ],
        key_result="Q1 records module + tensors; Q2 False (queue gives wrong gradients); "
        "Q3 T x d_k, T x H x d_v",
    )


QUESTIONS = [
    Question("hw7", "§2", "Convolution: worked examples, parameters, parameter sharing", q2, 2, 2),
    Question("hw7", "§3", "Backprop through time; RNN vs RNN language model", q3, 1, 1),
    Question("hw7", "§4", "Tape autodiff: the tape, stack vs queue, attention shapes", q4, 1, 1),
]
