"""HW7 §2: convolution three ways, each equal to torch's conv2d (a cross-correlation).

- `conv2d_loops`: the handout's loops, Y[r, c] += X[r + i, c + j] * F[i, j], generalised to
  stride, zero padding, input and output channels;
- `conv1d_matrix`: the 1-D convolution y = A x with the banded (Toeplitz) matrix A, so that
  dy/dx = A;
- `conv2d_im2col`: every receptive field as a column, then one matrix product.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def output_size(n: int, k: int, stride: int = 1, padding: int = 0) -> int:
    """floor((n + 2p - k) / s) + 1 positions along one axis."""
    return (n + 2 * padding - k) // stride + 1


def conv2d_loops(
    x: torch.Tensor, w: torch.Tensor, stride: int = 1, padding: int = 0
) -> torch.Tensor:
    """x (C_in, H, W), w (C_out, C_in, K, K) -> (C_out, H_out, W_out), by explicit loops."""
    x = F.pad(x, (padding,) * 4)
    c_out, c_in, k, _ = w.shape
    h_out, w_out = output_size(x.shape[1], k, stride), output_size(x.shape[2], k, stride)
    y = torch.zeros(c_out, h_out, w_out, dtype=x.dtype)
    for o in range(c_out):
        for r in range(h_out):
            for c in range(w_out):
                for ch in range(c_in):
                    for i in range(k):
                        for j in range(k):
                            y[o, r, c] += x[ch, r * stride + i, c * stride + j] * w[o, ch, i, j]
    return y


def conv1d_matrix(w: torch.Tensor, n: int) -> torch.Tensor:
    """The (n - k + 1) x n matrix A with y = A x for a 1-D filter w (stride 1, no padding):
    row r holds w in columns r .. r + k - 1 (the handout's banded form)."""
    k = len(w)
    a = torch.zeros(n - k + 1, n, dtype=w.dtype)
    for r in range(n - k + 1):
        a[r, r : r + k] = w
    return a


def conv2d_im2col(
    x: torch.Tensor, w: torch.Tensor, stride: int = 1, padding: int = 0
) -> torch.Tensor:
    """Same as conv2d_loops, as one matrix product: (C_out, C_in K K) @ (C_in K K, positions)."""
    c_out, c_in, k, _ = w.shape
    x = F.pad(x, (padding,) * 4)
    patches = x.unfold(1, k, stride).unfold(2, k, stride)  # (C_in, H_out, W_out, K, K)
    h_out, w_out = patches.shape[1], patches.shape[2]
    columns = patches.permute(0, 3, 4, 1, 2).reshape(c_in * k * k, h_out * w_out)
    return (w.reshape(c_out, -1) @ columns).reshape(c_out, h_out, w_out)


def parameters_shared(k: int, channels: int = 1) -> int:
    """One K x K filter over all positions (no bias): K*K*C weights."""
    return k * k * channels


def parameters_unshared(n: int, k: int, stride: int, channels: int = 1) -> int:
    """A separate K x K x C filter for every output position (no bias)."""
    return output_size(n, k, stride) ** 2 * k * k * channels


# The handout's worked example (HW7 §2 Q1a).
HANDOUT_X = torch.tensor(
    [
        [1, 0, -2, 3, 4, 1],
        [2, 9, 5, 6, 0, -1],
        [0, -3, 1, 3, 4, 4],
        [6, 5, 2, 0, 6, 8],
        [-5, 4, -3, 1, 3, -2],
        [4, 1, 2, 8, 9, 7],
    ],
    dtype=torch.float64,
)
HANDOUT_F = torch.tensor([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=torch.float64)


def worked_examples() -> dict:
    y = conv2d_loops(HANDOUT_X[None], HANDOUT_F[None, None])[0]
    return {
        "Y": y.int().tolist(),
        "j": int(y[2, 1]),  # Y's letters run a..p row by row: j is row 3, column 2
        "size_6x4_k2_s2": (output_size(6, 2, 2), output_size(4, 2, 2)),
        "params_shared_22": parameters_shared(4),
        "params_unshared_22": parameters_unshared(22, 4, 2),
        "params_unshared_40x40x3": parameters_unshared(40, 4, 2, channels=3),
    }


def what_a_layer_learns(seed: int = 0) -> dict:
    """§2 Q2a/b: which numbers of a convolutional layer are learned and which are chosen.

    A 4x4 filter with stride 2 and no padding (the handout's Q2c layer, no bias): its only
    parameter is the filter; a gradient step changes the filter and leaves stride, padding
    and filter size as they were; the same layer, with the same 16 weights, accepts inputs
    of any size, so the input size belongs to the data, not to the layer.
    """
    g = torch.Generator().manual_seed(seed)
    layer = torch.nn.Conv2d(1, 1, kernel_size=4, stride=2, padding=0, bias=False)
    settings = {"stride": layer.stride, "padding": layer.padding, "kernel_size": layer.kernel_size}
    before = layer.weight.detach().clone()
    x22 = torch.randn(1, 1, 22, 22, generator=g)
    x40 = torch.randn(1, 1, 40, 40, generator=g)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer(x22).square().mean().backward()
    optimizer.step()
    settings_after = {
        "stride": layer.stride,
        "padding": layer.padding,
        "kernel_size": layer.kernel_size,
    }
    return {
        "parameters": {name: list(p.shape) for name, p in layer.named_parameters()},
        "parameter_count": sum(p.numel() for p in layer.parameters()),
        "weights_changed_by_a_step": bool((layer.weight.detach() != before).any()),
        "settings_before": {k: list(v) for k, v in settings.items()},
        "settings_after": {k: list(v) for k, v in settings_after.items()},
        "output_shape_22x22": list(layer(x22).shape[2:]),
        "output_shape_40x40": list(layer(x40).shape[2:]),
    }


def locally_connected(x: torch.Tensor, weights: torch.Tensor, k: int) -> torch.Tensor:
    """No parameter sharing: output position l has its own K x K filter `weights[l]`.

    x (1, H, W), weights (H_out * W_out, K * K) -> (H_out, W_out); stride 1, no padding.
    """
    patches = x.unfold(1, k, 1).unfold(2, k, 1)[0]  # (H_out, W_out, K, K)
    h_out, w_out = patches.shape[:2]
    return (patches.reshape(h_out * w_out, k * k) * weights).sum(1).reshape(h_out, w_out)


def shift_test(seed: int = 0, shift: tuple[int, int] = (2, 3)) -> dict:
    """§2 Q2f: a shared filter responds to a pattern the same way wherever it is.

    A random pattern in the middle of a 16x16 image (zeros around it) is moved by `shift`.
    With one shared 3x3 filter the output moves by the same amount and is otherwise equal
    (translation equivariance); with a separate filter per position (no sharing) it is not.
    Returns the largest difference between output(shifted image) and shifted output(image).
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(1, 16, 16, dtype=torch.float64)
    x[0, 5:10, 5:10] = torch.randn(5, 5, generator=g, dtype=torch.float64)
    moved = torch.roll(x, shifts=shift, dims=(1, 2))  # the border is zero: a plain shift
    w = torch.randn(1, 1, 3, 3, generator=g, dtype=torch.float64)
    per_position = torch.randn(14 * 14, 9, generator=g, dtype=torch.float64)

    def gap(f) -> float:
        return float((f(moved) - torch.roll(f(x), shifts=shift, dims=(0, 1))).abs().max())

    return {
        "shift": list(shift),
        "shared_filter_max_difference": gap(lambda img: F.conv2d(img[None], w)[0, 0]),
        "separate_filters_max_difference": gap(lambda img: locally_connected(img, per_position, 3)),
        "shared_parameters": w.numel(),
        "separate_parameters": per_position.numel(),
    }
