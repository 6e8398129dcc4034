"""HW0 §2 (background reading): the three written questions, each shown by code run beside it.

2.1 asks how autograd computes gradients and why that matters, 2.2 why `wandb.log()` beats
printing, 2.3 what the text starter's `MaxLen` and `PadSequence` do (here `TruncateToMaxLen`
and `PadToMaxLen`, the names handout question 4.2 gives them). The explanations are prose;
each answer runs a short demonstration whose source and real output are shown in the report,
and every sentence that says what the demonstration shows is chosen from values it returned.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from neurallab.experiments.base import Answer, Budget, Question
from neurallab.experiments.verdict import written


def demonstrate(fn: Callable[[], dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    """Run `fn`, capturing what it prints: (its source, its printed output, what it returned)."""
    source = textwrap.dedent(inspect.getsource(fn))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = fn()
    return source, printed.getvalue(), result


def code_and_output(source: str, output: str) -> str:
    """Markdown: the code, then what it printed (no blank lines inside, so blocks stay whole)."""
    source = "\n".join(line for line in source.splitlines() if line.strip())
    output = "\n".join(line for line in output.splitlines() if line.strip())
    return f"```python\n{source}\n```\nOutput:\n```text\n{output}\n```"


# -- 2.1 autograd -----------------------------------------------------------------------------
def autograd_demo() -> dict[str, Any]:
    # A leaf tensor with requires_grad=True: operations on it are recorded in a graph.
    w = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    x = torch.tensor([3.0, 1.0, 2.0])  # data: requires_grad is False
    y = (w * x).sum()
    loss = (y - 4.0) ** 2
    graph, node = [], loss.grad_fn
    while node is not None:  # walk the recorded graph back from the loss
        graph.append(type(node).__name__)
        node = next((f for f, _ in node.next_functions if f is not None), None)
    print("graph from the loss back to w:", " <- ".join(graph))
    loss.backward()  # reverse mode: d loss / d w for every leaf that requires grad
    by_hand = 2 * (y.detach() - 4.0) * x  # chain rule: d loss/dy * dy/dw
    print("w.grad:", w.grad.tolist(), " by hand:", by_hand.tolist())
    print("x.grad:", x.grad, " y.requires_grad:", y.requires_grad)
    first = w.grad.clone()
    ((w * x).sum() - 4.0).pow(2).backward()  # a second graph, a second backward
    print("w.grad after another backward:", w.grad.tolist(), "(added, not replaced)")
    try:
        loss.backward()  # the first graph was freed by its backward
        freed = False
    except RuntimeError as error:
        freed = True
        print("backward through the first graph again:", str(error).split(".")[0])
    return {
        "matches": torch.allclose(first, by_hand),
        "x_has_no_grad": x.grad is None,
        "accumulates": torch.allclose(w.grad, 2 * first),
        "freed": freed,
        "graph": graph,
    }


def training_demo() -> dict[str, Any]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    x, y = torch.randn(64, 4), torch.randn(64, 1)
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()  # one call: gradients of every parameter
    tensors = list(model.parameters())
    filled = sum(p.grad is not None for p in tensors)
    numbers = sum(p.numel() for p in tensors)
    print(f"one backward() filled .grad of {filled} of {len(tensors)} parameter tensors")
    print(f"({numbers} numbers)")
    with torch.no_grad():  # one gradient-descent step, as optimizer.step() does
        for p in tensors:
            p -= 0.1 * p.grad
    after = nn.functional.mse_loss(model(x), y).item()
    print(f"loss before the step {loss.item():.4f}, after {after:.4f}")
    return {
        "filled": filled,
        "tensors": len(tensors),
        "numbers": numbers,
        "before": loss.item(),
        "after": after,
    }


def q21(budget: Budget, out: Path) -> Answer:
    src_a, out_a, a = demonstrate(autograd_demo)
    src_b, out_b, b = demonstrate(training_demo)
    shown = [
        f"the recorded graph runs {' <- '.join(a['graph'])}",
        "`w.grad` "
        + ("equals" if a["matches"] else "does NOT equal")
        + " the chain-rule derivative computed by hand",
        "`x`, which does not require grad, "
        + ("gets no gradient" if a["x_has_no_grad"] else "gets a gradient"),
        "a second `backward()` "
        + ("adds to `.grad`" if a["accumulates"] else "does not add to `.grad`")
        + " (hence `optimizer.zero_grad()` before each step)",
        "a graph "
        + ("cannot" if a["freed"] else "can")
        + " be run backward twice without `retain_graph=True`",
    ]
    step = "lowered" if b["after"] < b["before"] else "did not lower"
    filled = (
        f"one `backward()` gave all {b['tensors']} parameter tensors ({b['numbers']} numbers) "
        "their gradient"
        if b["filled"] == b["tensors"]
        else f"one `backward()` gave only {b['filled']} of {b['tensors']} tensors a gradient"
    )
    text = (
        "**2.1** During the forward pass PyTorch records a graph: every result computed from a "
        "tensor with `requires_grad=True` keeps its `grad_fn`, the operation that made it and "
        "links to its inputs. `loss.backward()` runs reverse-mode automatic differentiation: "
        "from the scalar loss back to the leaves, each node multiplies the incoming gradient by "
        "its local derivative (the chain rule as vector-Jacobian products), contributions "
        "along different paths are summed, and the results are added into each leaf's `.grad`; "
        "the graph is then freed. This is essential for training because gradient descent "
        "needs the derivative of the loss with respect to every parameter, and reverse mode "
        "gets all of them from one backward pass costing a small multiple of the forward pass, "
        "for any model written in PyTorch, with no derivative worked out by hand. In the first "
        f"demonstration {'; '.join(shown)}. In the second, {filled}, and one step against it "
        f"{step} the loss ({b['before']:.4f} to {b['after']:.4f}).\n\n"
        + code_and_output(src_a, out_a)
        + "\n\n"
        + code_and_output(src_b, out_b)
    )
    return Answer(
        text=text,
        verdicts=[
            written(
                "2.1: how autograd computes gradients, and why that is essential for training.",
                "a graph recorded in the forward pass, traversed backwards by the chain rule "
                "(reverse mode) into every parameter's .grad; training needs all those gradients "
                "from one pass",
                demonstrated=True,
            )
        ],
        metrics={"autograd": {k: v for k, v in a.items() if k != "graph"}, "training": b},
        key_result=f"w.grad {'equals' if a['matches'] else 'differs from'} the hand derivative; "
        f"one backward fills {b['filled']}/{b['tensors']} tensors; a step {step} the loss",
    )


# -- 2.2 logging ----------------------------------------------------------------------------
def logging_demo() -> dict[str, Any]:
    from neurallab.tracking.run import Run, metric_series

    with tempfile.TemporaryDirectory() as tmp:
        for lr in (0.1, 0.01):  # two runs of gradient descent on loss = w**2
            run = Run(Path(tmp) / f"lr-{lr}")  # a run folder; --tracker mirrors it to wandb
            run.write_config({"lr": lr, "w0": 5.0})
            w = 5.0
            for step in range(1, 6):
                w -= lr * 2 * w
                run.log({"loss": w * w}, step=step)  # like wandb.log({"loss": ...}, step=...)
            run.finish()
        # Later, after the console output is gone: read both runs back, side by side.
        curves = {}
        for lr in (0.1, 0.01):
            folder = Path(tmp) / f"lr-{lr}"
            steps, losses = metric_series(folder / "metrics.csv", "loss")
            curves[lr] = losses
            config = (folder / "config.json").read_text().replace("\n", "").replace("  ", " ")
            print(f"run lr-{lr}: config {config}")
            print(f"  loss at steps {steps}: {[round(v, 3) for v in losses]}")
        rows = (Path(tmp) / "lr-0.1" / "metrics.csv").read_text().splitlines()
        print("first rows of lr-0.1/metrics.csv:", rows[:3])
    return {"runs": len(curves), "points": [len(v) for v in curves.values()]}


def q22(budget: Budget, out: Path) -> Answer:
    src, printed, result = demonstrate(logging_demo)
    points = ", ".join(map(str, result["points"]))
    text = (
        "**2.2** A `print` is a line of text in one terminal: it scrolls away, is not tied to "
        "the run's settings, and comparing runs means copying numbers by hand. `wandb.log()` "
        "stores each value as a structured record (metric name, step, value) with the run's "
        "configuration, persistently, so that after the run (or from another machine) the "
        "values can be plotted, several runs overlaid and filtered by their hyperparameters, "
        "and steps of different metrics aligned; it also logs what print cannot show, such as "
        "images with captions (Q3.5), tables and model files, and the dashboard can be shared. "
        "Every neurallab command logs this way: each run folder holds `config.json` and "
        "`metrics.csv`, mirrored to trackio, wandb or TensorBoard by `--tracker`, and every "
        "plot in this report is drawn from those logs, not from console output. In the "
        f"demonstration two runs log their loss without printing; afterwards all "
        f"{result['runs']} are read back from disk with their configurations and every logged "
        f"point ({points}), ready to overlay.\n\n" + code_and_output(src, printed)
    )
    return Answer(
        text=text,
        verdicts=[
            written(
                "2.2: why use something like wandb.log() rather than printing loss or accuracy.",
                "logged values persist as structured, step-aligned records tied to the run's "
                "configuration, so runs can be plotted, compared and shared later; print output "
                "is unstructured and lost",
                demonstrated=True,
            )
        ],
        key_result=f"{result['runs']} logged runs read back with config and {points} points",
    )


# -- 2.3 MaxLen and PadSequence ---------------------------------------------------------------
def padding_demo() -> dict[str, Any]:
    from neurallab.data.text import (
        CorpusInfo,
        PadToMaxLen,
        SimpleTokenizer,
        TruncateToMaxLen,
        default_csv,
        read_text_csv,
    )

    articles = read_text_csv(default_csv("train"))[:4]  # four real training articles
    tokenizer = SimpleTokenizer()
    info = CorpusInfo(articles, tokenizer)
    ids = [info.vocab(tokenizer(a.text)) for a in articles]
    ids[0] = ids[0][:5]  # make one article short, to see the padding
    print("token counts:", [len(i) for i in ids], " pad_idx:", info.pad_idx)
    raw = [(torch.tensor(i), a.label_idx) for i, a in zip(ids, articles, strict=True)]
    try:
        next(iter(DataLoader(raw, batch_size=4)))  # the default collate stacks the articles
        stacked_raw = True
    except RuntimeError as error:
        stacked_raw = False
        print("batch of 4 raw articles:", error)
    max_len = 12
    truncate, pad = TruncateToMaxLen(max_len), PadToMaxLen(max_len, info.pad_idx)
    print("MaxLen(12):", [len(truncate(i)) for i in ids])
    print("PadSequence(12) of the short one:", pad(truncate(ids[0])))
    fixed = [
        (torch.tensor(pad(truncate(i))), a.label_idx) for i, a in zip(ids, articles, strict=True)
    ]
    tokens, labels = next(iter(DataLoader(fixed, batch_size=4)))
    print("batch after MaxLen + PadSequence:", tuple(tokens.shape), "labels", labels.tolist())
    # With padding_idx, EmbeddingBag's mean skips the pad tokens.
    bag = nn.EmbeddingBag(info.vocab_size, 4, mode="mean", padding_idx=info.pad_idx)
    plain = bag(torch.tensor([ids[0]]))
    padded = bag(torch.tensor([pad(ids[0])]))
    same = torch.allclose(plain, padded)
    print("mean embedding of the short article, unpadded vs padded, equal:", same)
    return {
        "stacked_raw": stacked_raw,
        "lengths_after": [len(pad(truncate(i))) for i in ids],
        "batch_shape": tuple(tokens.shape),
        "pad_ignored": same,
        "max_len": max_len,
    }


def q23(budget: Budget, out: Path) -> Answer:
    src, printed, r = demonstrate(padding_demo)
    raw = (
        "could be stacked into one batch"
        if r["stacked_raw"]
        else "could not be stacked into one batch (torch's stack error, as in question 4.2.b)"
    )
    same_length = len(set(r["lengths_after"])) == 1
    after = (
        f"all {r['max_len']} tokens long and stack into a batch of shape {r['batch_shape']}"
        if same_length
        else f"of lengths {r['lengths_after']}"
    )
    pad_ignored = (
        "gives the short article the same mean embedding with and without its pads"
        if r["pad_ignored"]
        else "does NOT give the short article the same mean embedding with and without pads"
    )
    text = (
        "**2.3** `MaxLen` (`TruncateToMaxLen`) cuts each numericalised article to its first "
        "`max_len` tokens. It runs on every example before batching, whenever `max_len > 0`, "
        "to bound the cost of one example (article lengths have a long tail; Q4.1) and to fix "
        "the length that padding fills up to. `PadSequence` (`PadToMaxLen`) appends the "
        "padding index (`CorpusInfo.pad_idx`) until an article is `max_len` tokens long. It is "
        "needed when a batch holds more than one article: the DataLoader's collate stacks the "
        "examples into one tensor, which requires equal lengths. At batch size 1 nothing needs "
        "padding, and `--max_len -1` turns both off. Padding costs compute (every article is "
        "processed at `max_len`; Q4.2.a times it), and `nn.EmbeddingBag(..., "
        "padding_idx=pad_idx)` makes the pads drop out of the average. In the demonstration "
        f"four real training articles of unequal length {raw}; after both transforms they are "
        f"{after}; and `EmbeddingBag` with `padding_idx` {pad_ignored}.\n\n"
        + code_and_output(src, printed)
    )
    return Answer(
        text=text,
        verdicts=[
            written(
                "2.3: what MaxLen and PadSequence do in txt_classifier.py, and when and why each "
                "is used.",
                "MaxLen truncates each article to max_len tokens (bounded cost, fixed length); "
                "PadSequence pads to max_len with pad_idx so batches of several articles stack; "
                "padding_idx keeps the pads out of the embedding mean",
                demonstrated=True,
            )
        ],
        metrics={k: v for k, v in r.items() if k != "batch_shape"},
        key_result=(
            f"raw articles {'stack' if r['stacked_raw'] else 'fail to stack'}; after MaxLen + "
            f"PadSequence the batch is {r['batch_shape']}; pads "
            f"{'ignored' if r['pad_ignored'] else 'NOT ignored'} by EmbeddingBag"
        ),
    )


QUESTIONS = [
    Question("hw0", "Q2.1", "Autograd: how gradients are computed", q21, 1, 1),
    Question("hw0", "Q2.2", "wandb.log() vs printing", q22, 1, 1),
    Question("hw0", "Q2.3", "MaxLen and PadSequence", q23, 1, 1),
]
