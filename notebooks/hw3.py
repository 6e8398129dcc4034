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
# # HW3: MNIST, autoencoder, time series
#
# One section per problem of the handout. Each `ask(handout, question)` cell shows the
# answer `neurallab reproduce hw3` computes: the commands of its runs, the reading, the
# verdict against the handout, tables and plots. Finished answers are reused (from
# `runs/reproduce`, else the ones published in `results/quick`); pass a setting to answer the
# question again with it, e.g. `ask("hw3", "P1", lr=3e-3, n_seeds=1)` (kept apart in
# `runs/reproduce-changed/`), or `quick=False` for the handout's own budget. Set-up:
# `docs/notebooks.md`.

# %%
from neurallab.experiments.notebook import ask, overview

overview("hw3")

# %% [markdown]
# ## P1: MNIST classification
# **Question.** A 784-64-10 MLP classifies MNIST digits with `CrossEntropyLoss`. (A) the
# cross-entropy of a given softmax output for a '3'; (B) why cross-entropy rather than MSE,
# comparing their gradients at y_hat_3 = 0.9; (C) why no `nn.Softmax` before the loss.
# We train the network with both losses over seeds and compute A-C.
#
# The program behind it is a typed Python API; its settings, with their defaults:

# %%
from neurallab.programs import mnist

mnist.Settings()

# %%
ask("hw3", "P1")  # e.g. ask("hw3", "P1", lr=3e-3, n_seeds=1)

# %% [markdown]
# ## P2: an autoencoder for MNIST reconstruction
# **Question.** Fill in the blanks of the training loop (loss, `model.train()`, flattening,
# backward, step, zero_grad) and say what the model learns and why its loss fits.
# We train the autoencoder with a 2-d code and show reconstructions and the latent space.

# %%
ask("hw3", "P2")  # e.g. ask("hw3", "P2", epochs=2)

# %% [markdown]
# ## P3: PyTorch refresher A-G
# **Question.** Where MNIST, Adam and `DataLoader` live; what a missing `loss.backward()`
# or `zero_grad()` does; Dropout and BatchNorm under `train()` vs `eval()`; why test
# accuracy can collapse when `eval()` is forgotten. Each answer is shown by running code.

# %%
ask("hw3", "P3")

# %% [markdown]
# ## P4: the Colab notebook
# **Question.** Problem 4 is a Colab notebook given only as a link: its cells are not in
# our copy of the handout, so nothing is claimed for it; the answer says so and points to
# the programs that are reproduced.

# %%
ask("hw3", "P4")

# %% [markdown]
# ## P5: time-series classification
# **Question.** For samples of 50 time points x 8 features: why an MLP is a poor choice,
# when a CNN works best and worst, and what a recurrent model brings. We train an MLP, a
# CNN, an LSTM and a GRU on the same multivariate series over seeds and argue from the table.

# %%
ask("hw3", "P5")  # e.g. ask("hw3", "P5", n_seeds=1)
