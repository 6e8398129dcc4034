"""HW7 §2-§4 internals: each check would fail on a wrong implementation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from neurallab.internals import autodiff as ad
from neurallab.internals import bptt, conv


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(0, 2),
    st.integers(0, 10_000),
)
def test_conv_loops_and_im2col_equal_torch(c_in, c_out, k, stride, padding, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(c_in, 7, 6, generator=g, dtype=torch.float64)
    w = torch.randn(c_out, c_in, k, k, generator=g, dtype=torch.float64)
    expected = F.conv2d(x[None], w, stride=stride, padding=padding)[0]
    torch.testing.assert_close(conv.conv2d_loops(x, w, stride, padding), expected)
    torch.testing.assert_close(conv.conv2d_im2col(x, w, stride, padding), expected)
    assert expected.shape[1] == conv.output_size(7, k, stride, padding)


def test_a_flipped_kernel_is_caught():
    x, w = torch.randn(1, 5, 5, dtype=torch.float64), torch.randn(1, 1, 3, 3, dtype=torch.float64)
    flipped = conv.conv2d_loops(x, w.flip(-1, -2))  # true convolution, not cross-correlation
    assert not torch.allclose(flipped, F.conv2d(x[None], w)[0])


def test_banded_matrix_is_the_convolution_and_its_jacobian():
    w, x = torch.randn(3, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    a = conv.conv1d_matrix(w, 5)
    torch.testing.assert_close(a @ x, F.conv1d(x[None, None], w[None, None])[0, 0])
    jac = torch.autograd.functional.jacobian(
        lambda v: F.conv1d(v[None, None], w[None, None])[0, 0], x
    )
    torch.testing.assert_close(jac, a)  # dy/dx = A


def test_worked_examples_are_computed():
    r = conv.worked_examples()
    assert r["j"] == 8 and r["Y"][0][0] == 68  # 8*9 - (1 + 0 - 2 + 2 + 5 + 0 - 3 + 1) = 68
    assert r["size_6x4_k2_s2"] == (3, 2)
    assert (r["params_shared_22"], r["params_unshared_22"]) == (16, 1600)
    assert r["params_unshared_40x40x3"] == 19 * 19 * 16 * 3 == 17328  # not 17323


OPS = ["add", "mul", "relu", "sigmoid", "tanh", "matmul"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(OPS), min_size=1, max_size=6),
    st.integers(1, 4),
    st.integers(0, 10_000),
)
def test_tape_matches_autograd_on_random_graphs(ops, n, seed):
    """A chain where every op also reuses the first value (a value used twice)."""
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(n, n, generator=g, dtype=torch.float64)
    w0 = torch.randn(n, n, generator=g, dtype=torch.float64)
    ad.TAPE.clear()
    x, w = ad.Leaf(x0), ad.Leaf(w0)
    tx, tw = x0.clone().requires_grad_(True), w0.clone().requires_grad_(True)
    node, t = x, tx
    for name in ops:
        if name in ("add", "mul", "matmul"):
            module = {"add": ad.Add(), "mul": ad.Mul(), "matmul": ad.MatMul()}[name]
            node = ad.op(module, node, w)
            t = {"add": t + tw, "mul": t * tw, "matmul": t @ tw}[name]
        else:
            node = ad.op(
                {"relu": ad.ReLU(), "sigmoid": ad.Sigmoid(), "tanh": ad.Tanh()}[name], node
            )
            t = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[name](t)
    loss = ad.op(ad.Sum(), ad.op(ad.Add(), node, x))  # x used again at the end
    ad.tape_bwd(loss)
    (t + tx).sum().backward()
    torch.testing.assert_close(x.out_gradient, tx.grad)
    expected_w = tw.grad if tw.grad is not None else torch.zeros_like(w0)  # w unused: zero
    torch.testing.assert_close(w.out_gradient, expected_w)


def test_gradients_accumulate_and_backward_twice_is_idempotent():
    ad.TAPE.clear()
    x = ad.Leaf(torch.tensor([3.0]))
    loss = ad.op(ad.Sum(), ad.op(ad.Add(), x, x))  # x used twice: d/dx = 2
    ad.tape_bwd(loss)
    assert x.out_gradient.tolist() == [2.0]
    ad.tape_bwd(loss)  # the tape is empty now: nothing changes
    assert x.out_gradient.tolist() == [2.0]


def test_overwriting_instead_of_accumulating_would_be_caught(monkeypatch):
    def overwrite(self):
        grads = self.backward(
            [m.out_tensor for m in self.in_modules], self.out_tensor, self.out_gradient
        )
        for module, grad in zip(self.in_modules, grads, strict=True):
            module.out_gradient = grad  # the bug: = instead of +=
        return self

    monkeypatch.setattr(ad.Module, "apply_bwd", overwrite)
    ad.TAPE.clear()
    x = ad.Leaf(torch.tensor([3.0]))
    ad.tape_bwd(ad.op(ad.Sum(), ad.op(ad.Add(), x, ad.op(ad.Mul(), x, x))))
    assert x.out_gradient.tolist() != [1.0 + 2 * 3.0]


def test_central_finite_differences_agree():
    g = torch.Generator().manual_seed(1)
    x0, w0, b0 = (
        torch.randn(*s, generator=g, dtype=torch.float64) for s in ((4, 3), (3, 2), (1, 2))
    )
    onehot = F.one_hot(torch.tensor([0, 1, 1, 0]), 2).double()

    def loss_value(w):
        ad.TAPE.clear()
        out = ad.op(
            ad.SoftmaxCrossEntropy(),
            ad.linear(ad.Leaf(x0), ad.Leaf(w), ad.Leaf(b0)),
            ad.Leaf(onehot),
        )
        return out

    ad.TAPE.clear()
    w = ad.Leaf(w0)
    loss = ad.op(ad.SoftmaxCrossEntropy(), ad.linear(ad.Leaf(x0), w, ad.Leaf(b0)), ad.Leaf(onehot))
    ad.tape_bwd(loss)
    eps = 1e-6
    for i in range(3):
        for j in range(2):
            plus, minus = w0.clone(), w0.clone()
            plus[i, j] += eps
            minus[i, j] -= eps
            numeric = (loss_value(plus).out_tensor - loss_value(minus).out_tensor) / (2 * eps)
            assert abs(float(numeric) - float(w.out_gradient[i, j])) < 1e-8


def _train_toy(use_tape: bool) -> list[float]:
    """HW4's 3-4-2 network, MSE, plain gradient descent, 30 steps."""
    from neurallab.data.toy import generate_data

    torch.manual_seed(0)
    X, Y = (t.double() for t in generate_data(20))
    params = [
        torch.randn(3, 4, dtype=torch.float64) * 0.5,
        torch.zeros(1, 4, dtype=torch.float64),
        torch.randn(4, 2, dtype=torch.float64) * 0.5,
        torch.zeros(1, 2, dtype=torch.float64),
    ]
    losses = []
    for _ in range(30):
        if use_tape:
            ad.TAPE.clear()
            leaves = [ad.Leaf(p) for p in params]
            h = ad.op(ad.ReLU(), ad.linear(ad.Leaf(X), leaves[0], leaves[1]))
            out = ad.op(ad.Sigmoid(), ad.linear(h, leaves[2], leaves[3]))
            loss = ad.op(ad.MSE(), out, ad.Leaf(Y))
            ad.tape_bwd(loss)
            grads, value = [leaf.out_gradient for leaf in leaves], float(loss.out_tensor)
        else:
            ps = [p.clone().requires_grad_(True) for p in params]
            out = torch.sigmoid(torch.relu(X @ ps[0] + ps[1]) @ ps[2] + ps[3])
            loss = F.mse_loss(out, Y)
            grads, value = torch.autograd.grad(loss, ps), loss.item()
        params = [p - 0.5 * g for p, g in zip(params, grads, strict=True)]
        losses.append(value)
    return losses


def test_toy_network_trained_with_the_tape_matches_pytorch():
    tape, torch_losses = _train_toy(True), _train_toy(False)
    assert max(abs(a - b) for a, b in zip(tape, torch_losses, strict=True)) < 1e-12
    assert tape[-1] < tape[0]


def test_rnn_steps_with_the_tape_match_autograd():
    g = torch.Generator().manual_seed(3)
    xs = torch.randn(4, 2, 3, generator=g, dtype=torch.float64)
    wx0, wh0, b0 = (
        torch.randn(*s, generator=g, dtype=torch.float64) for s in ((3, 5), (5, 5), (1, 5))
    )
    ad.TAPE.clear()
    wx, wh, b = ad.Leaf(wx0), ad.Leaf(wh0), ad.Leaf(b0)
    h = ad.Leaf(torch.zeros(2, 5))
    for x in xs:
        h = ad.rnn_step(ad.Leaf(x), h, wx, wh, b)
    ad.tape_bwd(ad.op(ad.Mean(), h))
    twx, twh, tb = (t.clone().requires_grad_(True) for t in (wx0, wh0, b0))
    th = torch.zeros(2, 5, dtype=torch.float64)
    for x in xs:
        th = torch.tanh(x @ twx + th @ twh + tb)
    th.mean().backward()
    for ours, theirs in ((wx, twx), (wh, twh), (b, tb)):
        torch.testing.assert_close(ours.out_gradient, theirs.grad)


def test_stack_is_right_and_queue_is_wrong():
    r = ad.stack_vs_queue()
    torch.testing.assert_close(torch.tensor(r["stack"]), torch.tensor(r["autograd"]))
    assert r["queue"] != r["autograd"]


def test_bptt_closed_form_needs_the_later_step_term():
    for seed in (1, 2, 3):  # (with seed 0 both forms happen to agree: no discrimination)
        r = bptt.check(seed)
        assert r["closed_form_error"] < 1e-12
        assert r["without_later_steps_error"] > 1e-3
    assert len(bptt.unrolled_graph()) == 16
