"""`neurallab internals conv|bptt|lm|autodiff|all`: the worked results of HW7 §2-§4, computed."""

from __future__ import annotations

import argparse

COMMAND = "internals"
HELP = "HW7 §2-§4: convolution, BPTT, RNN vs RNN-LM, tape autodiff, each checked against PyTorch"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "topic", choices=("conv", "bptt", "lm", "autodiff", "all"), nargs="?", default="all"
    )


def show_conv() -> None:
    from neurallab.internals.conv import shift_test, what_a_layer_learns, worked_examples

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
    layer = what_a_layer_learns()
    print("§2 Q2a/b: Conv2d(1, 1, kernel_size=4, stride=2, bias=False)")
    print(f"   learned parameters: {layer['parameters']} ({layer['parameter_count']} numbers)")
    print(f"   a gradient step changed the weights: {layer['weights_changed_by_a_step']}")
    print(f"   stride/padding/filter size before and after: {layer['settings_before']}")
    print(f"                                               {layer['settings_after']}")
    print(
        f"   the same weights on 22x22 -> {layer['output_shape_22x22']}, "
        f"on 40x40 -> {layer['output_shape_40x40']}"
    )
    shift = shift_test()
    print(f"§2 Q2f: a pattern moved by {shift['shift']}: |output(moved) - moved output| max")
    print(f"   one shared 3x3 filter:        {shift['shared_filter_max_difference']:.2e}")
    print(f"   a separate filter per pixel:  {shift['separate_filters_max_difference']:.2e}")


def show_autodiff() -> None:
    from neurallab.internals.autodiff import multi_head_shapes, stack_vs_queue, tape_contents

    tape = tape_contents()
    print("§4 Q1: the tape after the forward pass of J = sum(x*w + sigmoid(x*w)):")
    for entry in tape["recorded"]:
        print(f"   {entry['module']:14s} inputs {entry['inputs']}, saved {entry['saved_output']}")
    print(f"   backward pops: {', '.join(tape['backward_order'])}")
    print(f"   dJ/dw with the tape {tape['dJ_dw_with_tape']}")
    print(f"   dJ/dw, tape emptied before backward {tape['dJ_dw_without_tape']}")

    r = stack_vs_queue()
    print("§4 Q2: dJ/dw for J = sum(x*w + sigmoid(x*w)), popping the tape as a stack vs a queue:")
    for name in ("autograd", "stack", "queue"):
        print(f"   {name:8s} " + " ".join(f"{v:+.6f}" for v in r[name]))
    shapes = multi_head_shapes()
    print(f"§4 Q3: multi-head attention with {shapes['sizes']}:")
    print(f"   keys of one head: {shapes['key_one_head']} (T x d_k)")
    print(
        f"   output before the final linear map: {shapes['output_before_final_linear']} (T x H x d_v)"
    )


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


def show_lm() -> None:
    from neurallab.internals.language_model import take_apart

    r = take_apart()
    print("§3 Q2: a tiny RNNLanguageModel taken apart:")
    print(f"   parts: {r['parts']}")
    print(
        f"   the bare rnn: {r['rnn_input_shape']} vectors -> {r['rnn_hidden_states_shape']} states"
    )
    print(f"   the language model: token ids -> {r['lm_logits_shape']} next-token logits")
    print(f"   parameters: {r['parameters']}")
    print(f"   mean next-token cross-entropy   {r['mean_next_token_cross_entropy']:.6f}")
    print(f"   -log P(x_2..x_T | x_1) / (T-1)  {r['minus_log_p_sequence_over_steps']:.6f}")
    print(f"   generate: prompt {r['prompt']} -> {r['generated']}")


def run(args: argparse.Namespace) -> int:
    topics = (
        ("conv", show_conv),
        ("bptt", show_bptt),
        ("lm", show_lm),
        ("autodiff", show_autodiff),
    )
    for topic, show in topics:
        if args.topic in (topic, "all"):
            show()
    return 0
