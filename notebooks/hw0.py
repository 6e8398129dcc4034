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
# # HW0: PyTorch primer, image and text classifiers
#
# One section per question of the handout. Each `ask(handout, question)` cell shows the
# answer `neurallab reproduce hw0` computes: the commands of its runs, the reading, the
# verdict against the handout, tables and plots. Finished answers are reused (from
# `runs/reproduce`, else the ones published in `results/quick`); pass a setting to answer the
# question again with it, e.g. `ask("hw0", "Q4.3", n_seeds=1)` (kept apart in
# `runs/reproduce-changed/`), or `quick=False` for the handout's own budget. Our data stand in for
# the course's: clip art of three animals for its photos, a news corpus for its real vs fake
# articles (`docs/notebooks.md` says how to prepare them).

# %%
from neurallab.experiments.notebook import ask, overview

overview("hw0")

# %% [markdown]
# ## §2: the primer's written questions
# ### Q2.1: autograd
# **Question.** How does autograd compute gradients, and why does training need it?
# Answered by code: a recorded graph, then `backward()`.

# %%
ask("hw0", "Q2.1")

# %% [markdown]
# ### Q2.2: logging vs printing
# **Question.** What does `wandb.log()` (here: any tracker) give over printing the loss?

# %%
ask("hw0", "Q2.2")

# %% [markdown]
# ### Q2.3: `MaxLen` and `PadSequence`
# **Question.** What do these two classes of `txt_classifier.py` do, and when is each used?

# %%
ask("hw0", "Q2.3")

# %% [markdown]
# ## §3: the image classifier
# ### Q3.1: the loss of each batch
# **Question.** Run the classifier at its defaults; plot each batch's mean loss against the
# number of examples the optimizer has seen.

# %%
ask("hw0", "Q3.1")  # e.g. ask("hw0", "Q3.1", lr=0.01)

# %% [markdown]
# ### Q3.2: train vs validation loss
# **Question.** Both losses, each averaged over its whole split, per epoch, on one plot.

# %%
ask("hw0", "Q3.2")

# %% [markdown]
# ### Q3.3: train vs validation accuracy
# **Question.** The same for accuracy.

# %%
ask("hw0", "Q3.3")

# %% [markdown]
# ### Q3.4: colour vs grayscale
# **Question.** Test accuracy with colour and with grayscale images: was the classifier
# learning little more than the animals' colours?

# %%
ask("hw0", "Q3.4")  # e.g. ask("hw0", "Q3.4", n_seeds=5)

# %% [markdown]
# ### Q3.5: the first test batch, captioned
# **Question.** Show the first test batch captioned predicted / true, and explain a few of
# the mistakes.

# %%
ask("hw0", "Q3.5")

# %% [markdown]
# ### Q3.6: a new model (CNN) against the base model (MLP)
# **Question.** Final train and test accuracy of both, their accuracy curves on one plot,
# their parameter counts, and why one does better on test or train.

# %%
ask("hw0", "Q3.6")

# %% [markdown]
# ## §4: the text classifier
# ### Q4.1: article lengths
# **Question.** A histogram of the raw articles' lengths, before truncation or padding.

# %%
ask("hw0", "Q4.1")

# %% [markdown]
# ### Q4.2.a: batch size, max_len and run time
# **Question.** Epoch time at batch 1 with and without `max_len`, and at batch 32 with it.

# %%
ask("hw0", "Q4.2.a")

# %% [markdown]
# ### Q4.2.b: batch 32 without max_len
# **Question.** Why does this run fail with torch's stack error, and what fixes it?

# %%
ask("hw0", "Q4.2.b")

# %% [markdown]
# ### Q4.3: SGD (lr 5) vs Adam (lr 0.001)
# **Question.** Validation and test accuracy with each optimizer.

# %%
ask("hw0", "Q4.3")  # e.g. ask("hw0", "Q4.3", n_seeds=1)

# %% [markdown]
# ### Q4.4: an LSTM classifier
# **Question.** Describe a new model, compare its accuracies with the original's per epoch,
# and explain the difference (how sequences are read: padding, pooling, the last step).

# %%
ask("hw0", "Q4.4")

# %% [markdown]
# ### Q4.5: how the model succeeds
# **Question.** Looking at real/fake pairs, how can the model tell them apart? We list the
# tokens the trained model relies on.

# %%
ask("hw0", "Q4.5")
