"""HW7 §4: a tape-based reverse-mode autodiff in the shape of the handout's pseudo-code.

`Module.apply_fwd` computes its output and pushes itself on the global tape; `tape_bwd` pops
modules (last in, first out) and calls `apply_bwd`, which adds (`+=`) each input gradient into
the module that produced that input, so a value used twice receives both contributions.
Popping in reverse order is what makes one pass enough: a module is processed only after every
module that used its output has added its share. Tensors are float64 torch tensors with
autograd off.

Backward semantics: `tape_bwd` empties the tape, so a second call without a new forward pass
does nothing (idempotent); gradients are reset by `zero_grad` or a fresh forward.
"""

from __future__ import annotations

import torch

TAPE: list[Module] = []  # the handout's `global tape = stack()`


class Module:
    """A node of the graph: inputs are other modules, the output is `out_tensor`."""

    def __init__(self) -> None:
        self.in_modules: list[Module] = []
        self.out_tensor: torch.Tensor | None = None
        self.out_gradient: torch.Tensor | float = 0.0

    def apply_fwd(self, *in_modules: Module) -> Module:
        self.in_modules = list(in_modules)
        self.out_tensor = self.forward(*[m.out_tensor for m in in_modules])
        self.out_gradient = torch.zeros_like(self.out_tensor)
        TAPE.append(self)
        return self

    def apply_bwd(self) -> Module:
        grads = self.backward(
            [m.out_tensor for m in self.in_modules], self.out_tensor, self.out_gradient
        )
        for module, grad in zip(self.in_modules, grads, strict=True):
            module.out_gradient = module.out_gradient + grad  # += : contributions add up
        return self

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def backward(self, inputs, out, grad) -> list[torch.Tensor]:
        raise NotImplementedError


def tape_bwd(loss: Module) -> None:
    """Seed d loss / d loss = 1 and pop the tape to the end (a stack: last in, first out)."""
    loss.out_gradient = torch.ones_like(loss.out_tensor)
    while TAPE:
        TAPE.pop().apply_bwd()


def tape_bwd_queue(loss: Module) -> None:
    """The wrong order, for the handout's stack-vs-queue question: first in, first out."""
    loss.out_gradient = torch.ones_like(loss.out_tensor)
    while TAPE:
        TAPE.pop(0).apply_bwd()


class Leaf(Module):
    """An input or a parameter: holds a value, receives a gradient, pushes nothing."""

    def __init__(self, value: torch.Tensor) -> None:
        super().__init__()
        self.out_tensor = value.double()
        self.out_gradient = torch.zeros_like(self.out_tensor)

    def zero_grad(self) -> None:
        self.out_gradient = torch.zeros_like(self.out_tensor)


class Add(Module):
    def forward(self, a, b):
        return a + b

    def backward(self, inputs, out, grad):
        return [_unbroadcast(grad, inputs[0]), _unbroadcast(grad, inputs[1])]


class MatMul(Module):
    """a @ b; with a (B, n) and b (n, m) this is a linear layer's product."""

    def forward(self, a, b):
        return a @ b

    def backward(self, inputs, out, grad):
        a, b = inputs
        return [grad @ b.T, a.T @ grad]


class ReLU(Module):
    def forward(self, a):
        return a.clamp(min=0)

    def backward(self, inputs, out, grad):
        return [grad * (inputs[0] > 0)]


class Sigmoid(Module):
    def forward(self, a):
        return torch.sigmoid(a)

    def backward(self, inputs, out, grad):
        return [grad * out * (1 - out)]


class Tanh(Module):
    def forward(self, a):
        return torch.tanh(a)

    def backward(self, inputs, out, grad):
        return [grad * (1 - out**2)]


class Mul(Module):
    def forward(self, a, b):
        return a * b

    def backward(self, inputs, out, grad):
        a, b = inputs
        return [_unbroadcast(grad * b, a), _unbroadcast(grad * a, b)]


class Sum(Module):
    def forward(self, a):
        return a.sum()

    def backward(self, inputs, out, grad):
        return [grad * torch.ones_like(inputs[0])]


class Mean(Module):
    def forward(self, a):
        return a.mean()

    def backward(self, inputs, out, grad):
        return [grad * torch.ones_like(inputs[0]) / inputs[0].numel()]


class MSE(Module):
    """mean((a - b)^2), the gradient flowing to both arguments."""

    def forward(self, a, b):
        return ((a - b) ** 2).mean()

    def backward(self, inputs, out, grad):
        a, b = inputs
        d = grad * 2 * (a - b) / a.numel()
        return [d, -d]


class SoftmaxCrossEntropy(Module):
    """Mean over rows of -log softmax(logits)[label]; labels is a Leaf of one-hot rows."""

    def forward(self, logits, onehot):
        return -(torch.log_softmax(logits, dim=1) * onehot).sum() / len(logits)

    def backward(self, inputs, out, grad):
        logits, onehot = inputs
        # d/d logits = (softmax - y) / B: the handout's g_o = y_hat - y per row.
        return [
            grad * (torch.softmax(logits, dim=1) - onehot) / len(logits),
            torch.zeros_like(onehot),
        ]


def _unbroadcast(grad: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Sum a broadcast gradient back to the shape of the input it came from."""
    while grad.dim() > like.dim():
        grad = grad.sum(0)
    for axis, size in enumerate(like.shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis, keepdim=True)
    return grad


def op(module: Module, *inputs: Module) -> Module:
    return module.apply_fwd(*inputs)


def linear(x: Module, w: Module, b: Module) -> Module:
    """x W + b (row-vector convention, as the HW4 handout)."""
    return op(Add(), op(MatMul(), x, w), b)


def rnn_step(x: Module, h: Module, w_x: Module, w_h: Module, b: Module) -> Module:
    """h_t = tanh(x_t W_x + h_{t-1} W_h + b): what an RNN step needs."""
    return op(Tanh(), op(Add(), op(Add(), op(MatMul(), x, w_x), op(MatMul(), h, w_h)), b))


def stack_vs_queue() -> dict[str, float]:
    """w -> a = x*w -> b = sigmoid(a) -> c = a + b -> J = sum(c): dJ/dw by stack and by queue.

    The queue runs Mul first, while its out_gradient is still zero (Add and Sigmoid have not yet
    added theirs), so w receives nothing; a queue needs about one full pass per level of the
    graph to converge, i.e. quadratic work, where the stack needs one linear pass.
    """
    results = {}
    x_value, w_value = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.5, 0.3, -0.7])
    for name, backward in (("stack", tape_bwd), ("queue", tape_bwd_queue)):
        TAPE.clear()
        x, w = Leaf(x_value), Leaf(w_value)
        a = op(Mul(), x, w)
        c = op(Add(), a, op(Sigmoid(), a))
        backward(op(Sum(), c))
        results[name] = w.out_gradient.tolist()
    w_auto = w_value.double().requires_grad_(True)
    a_auto = x_value.double() * w_auto
    (a_auto + torch.sigmoid(a_auto)).sum().backward()
    results["autograd"] = w_auto.grad.tolist()
    return results


def tape_contents() -> dict:
    """§4 Q1: what `tape.push(self)` records, and why backward needs it.

    Forward J = sum(x*w + sigmoid(x*w)) and list the tape: each entry is a module with its
    input modules and its saved output tensor (Sigmoid's backward reads that output:
    grad * out * (1 - out)). `tape_bwd` then pops the entries last-in-first-out. Finally the
    same forward with the tape emptied before backward: nothing is visited and w gets no
    gradient, so the push is what lets the backward pass reach a module at all.
    """
    x_value, w_value = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.5, 0.3, -0.7])

    def forward() -> tuple[Leaf, Module, dict[int, str]]:
        TAPE.clear()
        x, w = Leaf(x_value), Leaf(w_value)
        a = op(Mul(), x, w)
        s = op(Sigmoid(), a)
        c = op(Add(), a, s)
        loss = op(Sum(), c)
        names = {id(x): "x", id(w): "w", id(a): "a", id(s): "s", id(c): "c", id(loss): "J"}
        return w, loss, names

    w, loss, names = forward()
    recorded = [
        {
            "module": f"{names[id(m)]} = {type(m).__name__}",
            "inputs": [names[id(i)] for i in m.in_modules],
            "saved_output": [round(v, 4) for v in m.out_tensor.reshape(-1).tolist()],
        }
        for m in TAPE
    ]
    loss.out_gradient = torch.ones_like(loss.out_tensor)
    popped = []
    while TAPE:
        module = TAPE.pop()
        popped.append(names[id(module)])
        module.apply_bwd()
    with_tape = w.out_gradient.tolist()

    w, loss, _ = forward()
    TAPE.clear()  # as if apply_fwd had not pushed
    tape_bwd(loss)
    return {
        "recorded": recorded,
        "backward_order": popped,
        "dJ_dw_with_tape": with_tape,
        "dJ_dw_without_tape": w.out_gradient.tolist(),
    }


def multi_head_shapes(
    tokens: int = 5, d_model: int = 16, heads: int = 4, d_k: int = 3, d_v: int = 2, seed: int = 0
) -> dict:
    """§4 Q3: the tensor shapes of multi-head self-attention, computed on random numbers.

    Each head projects the (T, d_model) input to queries and keys (T, d_k) and values (T, d_v);
    its output is softmax(Q K^T / sqrt(d_k)) V, (T, d_v); the heads side by side give
    (T, H, d_v), which the final linear map (not applied here) reads as T x (H d_v).
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(tokens, d_model, generator=g)
    w_q, w_k = (torch.randn(heads, d_model, d_k, generator=g) for _ in range(2))
    w_v = torch.randn(heads, d_model, d_v, generator=g)
    q, k, v = (torch.einsum("td,hde->hte", x, w) for w in (w_q, w_k, w_v))
    weights = torch.softmax(q @ k.transpose(1, 2) / d_k**0.5, dim=-1)  # (H, T, T)
    per_head = weights @ v  # (H, T, d_v)
    output = per_head.transpose(0, 1)  # (T, H, d_v)
    return {
        "sizes": {"T": tokens, "d_model": d_model, "H": heads, "d_k": d_k, "d_v": d_v},
        "key_one_head": list(k[0].shape),
        "output_before_final_linear": list(output.shape),
    }
