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
# # CNN on CIFAR-3 and LSTM parity
#
# One section per question of the handout. Each `ask(handout, question)` cell shows the
# answer `neurallab reproduce cnn-rnn` computes: the commands of its runs, the reading, the
# verdict against the handout, tables and plots. Finished answers are reused (from
# `runs/reproduce`, else the ones published in `results/quick`); pass a setting to answer the
# question again with it, e.g. `ask("cnn-rnn", "Q2", lr=0.01)` (kept apart in
# `runs/reproduce-changed/`), or `quick=False` for the handout's own budget. Our images stand in for
# CIFAR-10's three classes (`docs/notebooks.md` says how to prepare them).

# %%
from neurallab.experiments.notebook import ask, overview

overview("cnn-rnn")

# %% [markdown]
# ## Q1: the CNN
# **Question.** Implement the handout's Net (two conv-pool blocks, three linear layers),
# train it, and include its training plot; the handout expects validation accuracy "in the
# upper 80s or above" on its photos.

# %%
ask("cnn-rnn", "Q1")  # e.g. ask("cnn-rnn", "Q1", n_seeds=1, lr=0.01)

# %% [markdown]
# ## Q2: BatchNorm after fc1
# **Question.** Add a batch normalisation layer after `fc1`, train again, and comment on the
# differences from Q1.

# %%
ask("cnn-rnn", "Q2")

# %% [markdown]
# ## Q3: keep the best weights, then test them
# **Question.** Save the weights whenever validation accuracy improves, and write `test.py`
# that loads them and reports test accuracy.

# %%
ask("cnn-rnn", "Q3")

# %% [markdown]
# ## Q4: hand-set weights of a univariate LSTM for parity
# **Question.** Choose the twelve weights and biases of a scalar LSTM so that its final
# hidden state is at least 0.5 exactly for strings with an odd number of ones.
#
# Our weights (`neurallab.models.parity.HAND_WEIGHTS`, derived in `docs/parity.md`) and the
# gates they open on one string. The hidden states come from the library's
# `univariate_lstm_states`; the gates are then read from the weights and h_{t-1}, and
# recombining them must give the library's h_t again (checked below).

# %%
import io

import matplotlib.pyplot as plt
import torch
from IPython.display import Image

from neurallab.internals.parity import verify_hand_weights
from neurallab.models.parity import HAND_WEIGHTS, univariate_lstm_states

string = "0110100111"  # change it: any string of 0s and 1s
bits = torch.tensor([[int(b) for b in string]])
h = univariate_lstm_states(bits, HAND_WEIGHTS)[0]
w, x = HAND_WEIGHTS, bits[0].double()
h_prev = torch.cat([torch.zeros(1, dtype=torch.float64), h[:-1]])
gate = {
    k: act(w[f"w_{k}x"] * x + w[f"w_{k}h"] * h_prev + w[f"b_{k}"])
    for k, act in (
        ("i", torch.sigmoid),
        ("f", torch.sigmoid),
        ("o", torch.sigmoid),
        ("g", torch.tanh),
    )
}
c = torch.zeros_like(h)
for t in range(len(x)):
    c[t] = gate["f"][t] * (c[t - 1] if t else 0.0) + gate["i"][t] * gate["g"][t]
assert torch.allclose(gate["o"] * torch.tanh(c), h), "gates do not recombine into h"

fig, ax = plt.subplots(figsize=(9, 3.5))
for name, values in [*gate.items(), ("c", c), ("h", h)]:
    ax.plot(range(1, len(x) + 1), values, marker="o", label=name)
ax.axhline(0.5, color="grey", lw=0.8, ls=":")
ax.set_xticks(
    range(1, len(x) + 1),
    [
        f"{b}\n{'odd' if p else 'even'}"
        for b, p in zip(string, (bits[0].cumsum(0) % 2).tolist(), strict=True)
    ],
)
ax.set_title(f"hand-set LSTM on {string}: h_t > 0.5 exactly on odd prefixes")
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
buffer = io.BytesIO()
fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
plt.close(fig)
Image(buffer.getvalue())

# %% [markdown]
# The weights checked on every string up to length 12 (`neurallab parity-manual` runs the
# same check), then the answer as `reproduce` gives it:

# %%
verify_hand_weights(12)

# %%
ask("cnn-rnn", "Q4")

# %% [markdown]
# ## Q5: ParityLSTM with packed sequences
# **Question.** Implement `ParityLSTM` (variable-length strings, packed sequences, the last
# real step's state to a 2-way classifier) and train it to 100% training accuracy.

# %%
ask("cnn-rnn", "Q5")

# %% [markdown]
# ## Q6: generalisation to lengths 0..20
# **Question.** Plot accuracy against string length for lengths the model never saw, and
# describe the trend and its cause.

# %%
ask("cnn-rnn", "Q6")

# %% [markdown]
# ## Q7: the smallest hidden size that trains
# **Question.** With 3-4 hidden sizes, what is the smallest that reliably reaches 100%
# training accuracy, and why is a small LSTM harder to train though one unit suffices?

# %%
ask("cnn-rnn", "Q7")  # e.g. ask("cnn-rnn", "Q7", n_seeds=2)
