"""HW4 Exercises 1-2: the toy network's forward and backward pass written out by hand.

Row-vector convention of the handout: z1 = x W1 + B1, h = relu(z1), z2 = h W2 + B2,
y_hat = sigmoid(z2), L = ||y_hat - Y||^2 (sum over batch and outputs).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ToyParams:
    W1: torch.Tensor  # (3, 4)
    B1: torch.Tensor  # (1, 4)
    W2: torch.Tensor  # (4, 2)
    B2: torch.Tensor  # (1, 2)

    @classmethod
    def init(cls, scale: float = 0.2, dtype: torch.dtype = torch.float32) -> ToyParams:
        """The handout's initialisation order: W1, B1, W2, B2, each randn * 0.2."""
        shapes = [(3, 4), (1, 4), (4, 2), (1, 2)]
        return cls(*(torch.randn(*s).to(dtype) * scale for s in shapes))

    def tensors(self) -> list[torch.Tensor]:
        return [self.W1, self.B1, self.W2, self.B2]


def forward(x: torch.Tensor, p: ToyParams) -> torch.Tensor:
    """Exercise 1: y_hat = sigmoid(relu(x W1 + B1) W2 + B2)."""
    h = torch.relu(x @ p.W1 + p.B1)
    return torch.sigmoid(h @ p.W2 + p.B2)


def sum_squared_error(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L = ||y_hat - Y||_2^2, the handout's loss (mse_loss with reduction='sum')."""
    return ((y_hat - y) ** 2).sum()


def sigmoid_derivative(y_hat: torch.Tensor) -> torch.Tensor:
    """sigma'(z) = sigma(z) (1 - sigma(z)), written with the output y_hat = sigma(z)."""
    return y_hat * (1 - y_hat)


def relu_derivative(z: torch.Tensor) -> torch.Tensor:
    """relu'(z) = H(z), the step function; H(0) = 1 as in the handout."""
    return (z >= 0).to(z.dtype)


def backprop(x: torch.Tensor, y: torch.Tensor, p: ToyParams) -> tuple[torch.Tensor, ...]:
    """Exercise 2: gradients of L with respect to (W1, B1, W2, B2), by the chain rule."""
    z1 = x @ p.W1 + p.B1
    h = torch.relu(z1)
    z2 = h @ p.W2 + p.B2
    y_hat = torch.sigmoid(z2)

    y_hat_grad = 2 * (y_hat - y)  # dL/dy_hat
    z2_grad = y_hat_grad * sigmoid_derivative(y_hat)  # dL/dz2
    h_grad = z2_grad @ p.W2.T  # dL/dh = dL/dz2 W2^T
    z1_grad = h_grad * relu_derivative(z1)  # dL/dz1

    # Bias gradients sum over the batch; weight gradients are batch-summed outer products.
    B2_grad = z2_grad.sum(0)
    W2_grad = (h[:, :, None] * z2_grad[:, None, :]).sum(0)
    B1_grad = z1_grad.sum(0)
    W1_grad = (x[:, :, None] * z1_grad[:, None, :]).sum(0)
    return W1_grad, B1_grad, W2_grad, B2_grad


def autograd_gradients(x: torch.Tensor, y: torch.Tensor, p: ToyParams) -> list[torch.Tensor]:
    """The same gradients from torch.autograd, for comparison."""
    leaves = [t.detach().clone().requires_grad_(True) for t in p.tensors()]
    loss = sum_squared_error(forward(x, ToyParams(*leaves)), y)
    return list(torch.autograd.grad(loss, leaves))


def gradient_distances(x: torch.Tensor, y: torch.Tensor, p: ToyParams) -> dict[str, float]:
    """The handout's check: L2 norm of (manual - autograd) gradient, per parameter.

    In float64 a correct `backprop` agrees to ~1e-16; a wrong derivative shows up as a
    distance of the size of the gradient itself.
    """
    manual = backprop(x, y, p)
    auto = autograd_gradients(x, y, p)
    names = ("W1", "B1", "W2", "B2")
    return {
        n: float((m.reshape(a.shape) - a).norm())
        for n, m, a in zip(names, manual, auto, strict=True)
    }


def gradient_step(p: ToyParams, grads: tuple[torch.Tensor, ...], lr: float) -> ToyParams:
    """w <- w - lr * dL/dw (the handout's `W1 -= W1_grad * lr`); biases keep shape (1, k)."""
    return ToyParams(
        *(t - lr * g.reshape(t.shape) for t, g in zip(p.tensors(), grads, strict=True))
    )
