"""HW7 RNN language model: training step and generation, course reference vs fast path.

Shapes from the issue: batch 128, 128 tokens, embed = hidden = dk = dv = 128, vocabulary 1024.
The FLOP/s row times one fast training step against a single large matmul doing the same
number of FLOPs (the machine's matmul peak measured in the same run), so its ratio is the
fraction of that peak the training step achieves.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from harness import Benchmark
from neurallab.models.rnn_lm import RNNLanguageModel
from neurallab.models.rnn_lm_fast import FastRNNLanguageModel

B, T, D, V = 128, 128, 128, 1024


def _models():
    torch.manual_seed(10601)
    ref = RNNLanguageModel(D, D, V, D, D)
    fast = FastRNNLanguageModel(D, D, V, D, D)
    fast.load_state_dict(ref.state_dict())
    return ref, fast


def _train_step(model, tokens, optimizer, precision="fp32"):
    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = model(tokens)[0]
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, V).float(), tokens[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.item()

    return step


def _tokens():
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(0))


def _step_fp32():
    ref, fast = _models()
    tokens = _tokens()
    return (
        _train_step(ref, tokens, torch.optim.Adam(ref.parameters(), 1e-3)),
        _train_step(fast, tokens, torch.optim.Adam(fast.parameters(), 1e-3)),
    )


def _step_bf16():
    ref, fast = _models()
    tokens = _tokens()
    return (
        _train_step(ref, tokens, torch.optim.Adam(ref.parameters(), 1e-3)),
        _train_step(fast, tokens, torch.optim.Adam(fast.parameters(), 1e-3), "bf16"),
    )


def step_flops() -> float:
    """Matmul FLOPs of one fast training step (forward x 3 for forward + backward).

    Per token: i2h, h2h, out, q, k, v, o projections (7 D x D), the LM head (D x V) and
    causal attention (scores and weighted sum over the t <= T positions, on average T/2).
    """
    per_token = 2 * (7 * D * D + D * V + 2 * (T / 2) * D)
    return 3 * per_token * B * T


def _flops_vs_peak():
    _, fast = _models()
    tokens = _tokens()
    n = round((step_flops() / 2) ** (1 / 3))  # an n x n x n matmul of the same FLOPs
    a, b = torch.randn(n, n), torch.randn(n, n)
    return (lambda: a @ b), _train_step(fast, tokens, torch.optim.Adam(fast.parameters(), 1e-3))


def _generation(prompt_length: int):
    def setup():
        ref, fast = _models()
        prompt = torch.randint(0, V, (1, prompt_length), generator=torch.Generator().manual_seed(1))
        return (
            lambda: ref.generate(prompt, max_tokens=256),
            lambda: fast.generate(prompt, max_tokens=256),
        )

    return setup


BENCHMARKS = [
    Benchmark(
        "LM train step fp32, 128x128 tokens, dim 128, V 1024",
        "course reference (step by step)",
        "fast path fp32",
        _step_fp32,
        goal=10.0,
        repeats=3,
    ),
    Benchmark(
        "LM train step, fast bf16 autocast",
        "course reference fp32",
        "fast path bf16",
        _step_bf16,
        goal=20.0,
        repeats=3,
    ),
    Benchmark(
        "fraction of matmul peak (same FLOPs)",
        "one square fp32 matmul",
        "fast fp32 train step",
        _flops_vs_peak,
        goal=0.5,
        repeats=5,
    ),
    Benchmark(
        "generate 256 tokens (prompt 16)",
        "course generate (re-projects the prefix)",
        "KV-cached generate",
        _generation(16),
        goal=20.0,
        repeats=3,
    ),
    Benchmark(
        "generate 256 tokens (prompt 1024)",
        "course generate (re-projects the prefix)",
        "KV-cached generate",
        _generation(1024),
        goal=20.0,
        repeats=3,
    ),
]

if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from run import main

    raise SystemExit(main(["rnn_lm", *sys.argv[1:]]))
