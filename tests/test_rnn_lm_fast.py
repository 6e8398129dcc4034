"""The fast path computes the reference's function: outputs, gradients, generations."""

from __future__ import annotations

import pytest
import torch

from neurallab.models.rnn_lm import RNNLanguageModel
from neurallab.models.rnn_lm_fast import FastRNNLanguageModel, ReluRecurrence

SHAPES = [  # embed, hidden, vocab, dk, dv, batch, length
    (8, 12, 30, 5, 7, 3, 11),
    (16, 16, 64, 16, 16, 1, 1),
    (5, 32, 50, 3, 9, 4, 40),
    (32, 24, 100, 8, 8, 2, 64),
]


def _pair(embed, hidden, vocab, dk, dv, seed=0):
    torch.manual_seed(seed)
    ref = RNNLanguageModel(embed, hidden, vocab, dk, dv)
    fast = FastRNNLanguageModel(embed, hidden, vocab, dk, dv)
    fast.load_state_dict(ref.state_dict())
    with torch.no_grad():  # random biases too, so no term is trivially zero
        for p in list(ref.parameters()):
            p.add_(0.1 * torch.randn_like(p))
    fast.load_state_dict(ref.state_dict())
    return ref, fast


@pytest.mark.parametrize("shape", SHAPES)
def test_outputs_and_gradients_match_the_reference(shape):
    *dims, batch, length = shape
    ref, fast = _pair(*dims)
    tokens = torch.randint(0, dims[2], (batch, length))
    outs_ref, outs_fast = ref(tokens), fast(tokens)
    for a, b in zip(outs_ref, outs_fast, strict=True):
        assert (a - b).abs().max() < 1e-5
    # Hidden states are not all zero (the ReLU mask matters in the backward pass).
    assert (outs_ref[1] > 0).any() and (outs_ref[1] == 0).any()
    target = torch.randn_like(outs_ref[0])
    for outs in (outs_ref, outs_fast):
        ((outs[0] * target).mean() + outs[1].square().mean()).backward()
    for (name, p), q in zip(ref.named_parameters(), fast.parameters(), strict=True):
        assert (p.grad - q.grad).abs().max() < 1e-5, name


@pytest.mark.parametrize("shape", SHAPES[:3])
def test_greedy_generation_is_identical(shape):
    *dims, _, length = shape
    ref, fast = _pair(*dims, seed=1)
    prompt = torch.randint(0, dims[2], (1, length))
    assert torch.equal(ref.generate(prompt, max_tokens=25), fast.generate(prompt, max_tokens=25))


def test_sampled_generation_matches_under_the_same_seed():
    ref, fast = _pair(8, 12, 30, 5, 7, seed=2)
    prompt = torch.randint(0, 30, (1, 5))
    torch.manual_seed(9)
    a = ref.generate(prompt, max_tokens=20, temperature=0.8)
    torch.manual_seed(9)
    b = fast.generate(prompt, max_tokens=20, temperature=0.8)
    assert torch.equal(a, b)


def test_top_k_only_samples_the_k_best_tokens():
    _, fast = _pair(8, 12, 30, 5, 7, seed=3)
    prompt = torch.randint(0, 30, (1, 4))
    torch.manual_seed(0)
    out = fast.generate(prompt, max_tokens=1, temperature=5.0, top_k=2)
    logits = fast(prompt)[0][0, -1]
    assert out.item() in logits.topk(2).indices.tolist()
    torch.manual_seed(0)
    many = {fast.generate(prompt, max_tokens=1, temperature=50.0).item() for _ in range(40)}
    assert len(many) > 2  # without top-k a high temperature reaches more tokens


def test_recurrence_gradient_against_finite_differences():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 4, dtype=torch.float64, requires_grad=True)
    w = (0.5 * torch.randn(4, 4, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(ReluRecurrence.apply, (x, w))


def test_bf16_autocast_stays_close_to_fp32():
    ref, fast = _pair(32, 32, 100, 16, 16, seed=4)
    tokens = torch.randint(0, 100, (4, 32))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = fast(tokens)[0]
    assert logits.dtype == torch.bfloat16
    exact = ref(tokens)[0]
    assert (logits.float() - exact).abs().max() < 0.1 * exact.abs().max()
