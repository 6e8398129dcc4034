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
