"""HW7 §3: backpropagation through time for the handout's 3-step RNN, by its closed form.

    z_t = W_hh h_{t-1} + W_hx x_t,  h_t = z_t (identity),  o_t = W_hy h_t,
    y_hat_t = softmax(o_t),  J = sum_t CE(y_hat_t, y_t)

    g_o_t = y_hat_t - y_t
    g_h_t = W_hy^T g_o_t + W_hh^T g_h_{t+1}      (the later steps' contribution; g_h_4 = 0)
    dJ/dW_hh = sum_t g_h_t h_{t-1}^T              (h_0 = 0)

The last term of g_h_t is what the student answer in the handout copy leaves out.
"""

from __future__ import annotations

import torch


def forward(x: torch.Tensor, w_hx, w_hh, w_hy) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """x (T, 3) -> hidden states h_0..h_T and softmax outputs y_hat_1..y_hat_T."""
    h = [torch.zeros(w_hh.shape[0], dtype=x.dtype)]
    y_hat = []
    for x_t in x:
        h.append(w_hh @ h[-1] + w_hx @ x_t)  # psi = identity
        y_hat.append(torch.softmax(w_hy @ h[-1], dim=0))
    return h, y_hat


def loss(x, y, w_hx, w_hh, w_hy) -> torch.Tensor:
    _, y_hat = forward(x, w_hx, w_hh, w_hy)
    return -sum((y_t * torch.log(p)).sum() for y_t, p in zip(y, y_hat, strict=True))


def grad_w_hh(x, y, w_hx, w_hh, w_hy, later_steps: bool = True) -> torch.Tensor:
    """The closed form above; `later_steps=False` drops W_hh^T g_h_{t+1} (the common mistake)."""
    h, y_hat = forward(x, w_hx, w_hh, w_hy)
    steps = len(x)
    g_h = [None] * (steps + 2)
    g_h[steps + 1] = torch.zeros_like(h[0])
    for t in range(steps, 0, -1):
        g_o = y_hat[t - 1] - y[t - 1]
        g_h[t] = w_hy.T @ g_o + (w_hh.T @ g_h[t + 1] if later_steps else 0)
    return sum(torch.outer(g_h[t], h[t - 1]) for t in range(1, steps + 1))


def unrolled_graph(steps: int = 3) -> list[str]:
    """The nodes of the unrolled computation graph, in evaluation order."""
    nodes = []
    for t in range(1, steps + 1):
        nodes += [
            f"z{t} = Lin(W_hh, W_hx, h{t - 1}, x{t})",
            f"h{t} = psi(z{t})",
            f"o{t} = Lin(W_hy, h{t})",
            f"y_hat{t} = soft(o{t})",
            f"J{t} = CE(y_hat{t}, y{t})",
        ]
    return nodes + ["J = " + " + ".join(f"J{t}" for t in range(1, steps + 1))]


def example(seed: int = 0):
    """Random weights and data of the handout's sizes: x_t in R^3, h_t in R^4, y_t in R^2."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 3, generator=g, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.randint(0, 2, (3,), generator=g), 2).double()
    w_hx = torch.randn(4, 3, generator=g, dtype=torch.float64)
    w_hh = torch.randn(4, 4, generator=g, dtype=torch.float64)
    w_hy = torch.randn(2, 4, generator=g, dtype=torch.float64)
    return x, y, w_hx, w_hh, w_hy


def check(seed: int = 1) -> dict[str, float]:
    """Closed form vs autograd, with and without the later-step term."""
    x, y, w_hx, w_hh, w_hy = example(seed)
    w = w_hh.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(loss(x, y, w_hx, w, w_hy), w)
    return {
        "closed_form_error": float((grad_w_hh(x, y, w_hx, w_hh, w_hy) - auto).abs().max()),
        "without_later_steps_error": float(
            (grad_w_hh(x, y, w_hx, w_hh, w_hy, later_steps=False) - auto).abs().max()
        ),
    }
