# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # HW7: convolution, BPTT, autodiff and the RNN language model
#
# One section per question of the handout. Each `ask(handout, question)` cell shows the
# answer `neurallab reproduce hw7` computes: the commands of its runs, the reading, the
# verdict against the handout, tables and plots. Finished answers are reused (from
# `runs/reproduce`, else the ones published in `results/quick`); pass a setting to answer the
# question again with it, e.g. `ask("hw7", "§5 Q3", lr=3e-3)` (kept apart in
# `runs/reproduce-changed/`), or `quick=False` for the handout's own budget (hours on a CPU: the
# published full answers are shown instantly). The handout trains on TinyStories; our
# stand-in is a BBC News corpus (`docs/notebooks.md` says how to prepare it).

# %%
from neurallab.experiments.notebook import ask, overview

overview("hw7")

# %% [markdown]
# ## §2: convolution
# **Question.** Output shapes and values of a bias-free convolution on worked examples,
# its parameter count, and what parameter sharing buys; the loop-based convolution is
# checked against `torch.nn.functional.conv2d`.

# %%
ask("hw7", "§2")

# %% [markdown]
# ## §3: backpropagation through time
# **Question.** The gradients of a simple RNN unrolled over time, and which statements
# about RNNs and RNN language models hold; computed by code and checked against autograd.

# %%
ask("hw7", "§3")

# %% [markdown]
# ## §4: tape-based autodiff and attention shapes
# **Question.** What `tape.push` records, whether a queue could replace the stack, and the
# shapes inside multi-head self-attention.

# %%
ask("hw7", "§4")

# %% [markdown]
# ## §5 Q1: model size
# **Question.** Train at sizes 64, 128, 256 and 512 (dk = dv = 128, 50,000 sequences at the
# handout's budget) and compare final losses: do larger models reach lower loss?

# %%
ask("hw7", "§5 Q1")  # e.g. ask("hw7", "§5 Q1", n_seeds=1)

# %% [markdown]
# ## §5 Q2: batch size and wall time
# **Question.** Batch sizes 32 to 256: faster or slower, better or worse, more or less
# stable? (The handout's "faster" is a GPU's answer; on a CPU we measure time per sequence.)

# %%
ask("hw7", "§5 Q2")

# %% [markdown]
# ## §5 Q3: number of training sequences
# **Question.** Final losses after 10k, 20k, 50k and 100k sequences: does loss keep falling?

# %%
ask("hw7", "§5 Q3")  # e.g. ask("hw7", "§5 Q3", lr=3e-3)

# %% [markdown]
# ## §5 Q4: a long run, then samples at temperatures 0, 0.3 and 0.8
# **Question.** Train on many more sequences and sample stories at three temperatures:
# greedy decoding repeats itself, higher temperatures vary more and drift.

# %%
ask("hw7", "§5 Q4")

# %% [markdown]
# ### Generate here
# The model of §5 Q4's run (its `last.pt` in `runs/reproduce`) loaded and sampled with the
# library's `generate_samples`, the code `neurallab generate` runs. Without that run, a
# small model is trained first with `rnn_lm.train` (about a minute on a 2-core CPU; on a GPU
# add `device="cuda"` and raise `num_sequences`). Change the prompt or the temperatures.

# %%
import os

from neurallab.engine.generation import generate_samples
from neurallab.experiments.notebook import REUSE_ONLY, project_root
from neurallab.programs import rnn_lm

root = project_root()
found = [
    *sorted(root.glob("runs/reproduce/full/hw7/runs/long-s*/last.pt")),
    *sorted(root.glob("runs/reproduce/quick/hw7/runs/long-s*/last.pt")),
]
small = root / "runs" / "rnn-lm" / "notebook-small"
if not found and (small / "summary.json").exists():
    found = [small / "last.pt"]
if not found and os.environ.get(REUSE_ONLY) != "1":
    small_lm = rnn_lm.Settings(num_sequences=3000, hidden_dim=64, embed_dim=64, dk=64, dv=64)
    rnn_lm.train(small_lm, small, tracker="none", progress=False, overwrite=True)
    found = [small / "last.pt"]
if found:
    model, tokenizer = rnn_lm.load_with_tokenizer(found[0])
    print(f"model: {found[0].relative_to(root)}")
    samples = generate_samples(
        model,
        tokenizer,
        "The government said",
        [0.0, 0.3, 0.8],
        num_tokens=40,
        samples=2,
        top_k=None,
        seed=0,
    )
    for temperature, texts in samples.items():
        for text in texts:
            print(f"T = {temperature}: {text}\n")
else:
    print(
        f"No trained language model here and {REUSE_ONLY}=1: the samples of §5 Q4 above are "
        "what its run generated."
    )
