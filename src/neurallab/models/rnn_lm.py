"""HW7's RNN language model with self-attention, written exactly as the handout describes.

This is the reference: one step at a time, as the course's `rnn.py`. `rnn_lm_fast.py`
computes the same function with the same parameters, much faster; tests prove they agree.

    h_t = ReLU(W_i2h i_t + W_h2h h_{t-1})          (RNNCell, 7.6.1)
    y_t = W_out h_t                                 (RNN output)
    q_t, k_n, v_n = W_q y_t, W_k y_n, W_v y_n       (7.6.2)
    a_t = W_o sum_n softmax_n(k_n . q_t / sqrt(D_key)) v_n,  n = 1..t
    g_t = W_LM a_t                                  (next-token logits, 7.6.4)
"""

from __future__ import annotations

import math

import torch
from torch import nn


class RNNCell(nn.Module):
    def __init__(self, input_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.i2h = nn.Linear(input_dim, hidden_dim)
        self.h2h = nn.Linear(hidden_dim, hidden_dim)
        self.activation = nn.ReLU()

    def forward(self, input: torch.Tensor, hidden_state: torch.Tensor) -> torch.Tensor:
        """input (B, in), hidden_state (B, h) -> next hidden state (B, h)."""
        return self.activation(self.i2h(input) + self.h2h(hidden_state))


class RNN(nn.Module):
    def __init__(self, input_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.cell = RNNCell(input_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, hidden_dim)

    def step(self, input: torch.Tensor, hidden_prev: torch.Tensor | None = None):
        """One step: input (B, in) or (in,), hidden_prev (B, t-1, h) or None (zeros).
        Returns (h_t (B, h), y_t = out(h_t) (B, h))."""
        if input.dim() == 1:
            input = input.unsqueeze(0)
        if hidden_prev is None or hidden_prev.shape[1] == 0:
            last = torch.zeros(
                input.shape[0], self.hidden_dim, device=input.device, dtype=input.dtype
            )
        else:
            last = hidden_prev[:, -1]
        h_t = self.cell(input, last)
        return h_t, self.out(h_t)

    def forward(self, sequence: torch.Tensor):
        """sequence (B, T, in) -> (hidden states (B, T, h), outputs (B, T, h))."""
        hidden, outputs = None, []
        for t in range(sequence.shape[1]):
            h_t, y_t = self.step(sequence[:, t], hidden)
            hidden = (
                h_t.unsqueeze(1) if hidden is None else torch.cat([hidden, h_t.unsqueeze(1)], 1)
            )
            outputs.append(y_t)
        return hidden, torch.stack(outputs, dim=1)


class SelfAttention(nn.Module):
    def __init__(self, hidden_dim: int, key_dim: int, value_dim: int) -> None:
        super().__init__()
        self.key_dim = key_dim
        self.query_transform = nn.Linear(hidden_dim, key_dim)
        self.key_transform = nn.Linear(hidden_dim, key_dim)
        self.value_transform = nn.Linear(hidden_dim, value_dim)
        self.output_transform = nn.Linear(value_dim, hidden_dim)

    def step(self, y_all: torch.Tensor) -> torch.Tensor:
        """y_all (B, t, h): attention output for the last position t, (B, h)."""
        query = self.query_transform(y_all[:, -1])  # (B, dk)
        keys = self.key_transform(y_all)  # (B, t, dk)
        values = self.value_transform(y_all)  # (B, t, dv)
        scores = torch.bmm(keys, query.unsqueeze(2)).squeeze(2) / math.sqrt(self.key_dim)
        weights = torch.softmax(scores, dim=1)  # over the t positions
        return self.output_transform(torch.bmm(weights.unsqueeze(1), values).squeeze(1))

    def forward(self, y_all: torch.Tensor) -> torch.Tensor:
        """y_all (B, T, h) -> (B, T, h): position t attends to positions 1..t."""
        return torch.stack([self.step(y_all[:, : t + 1]) for t in range(y_all.shape[1])], dim=1)


class RNNLanguageModel(nn.Module):
    def __init__(
        self, embed_dim: int, hidden_dim: int, vocab_size: int, key_dim: int, value_dim: int
    ) -> None:
        super().__init__()
        # Creation order fixes the initial weights under a given seed: keep it.
        self.embeddings = nn.Embedding(vocab_size, embed_dim)
        self.rnn = RNN(embed_dim, hidden_dim)
        self.attention = SelfAttention(hidden_dim, key_dim, value_dim)
        self.lm_head = nn.Linear(hidden_dim, vocab_size)

    def forward(self, tokens: torch.Tensor):
        """tokens (B, T) -> (token_logits (B, T, V), hidden_states (B, T, h), attn_inputs (B, T, h))."""
        hidden_states, attn_inputs = self.rnn(self.embeddings(tokens))
        return self.lm_head(self.attention(attn_inputs)), hidden_states, attn_inputs

    @staticmethod
    def select_token(logits: torch.Tensor, temperature: float) -> torch.Tensor:
        """Greedy for temperature 0, else a sample of softmax(logits / temperature): (B, 1)."""
        if temperature == 0:
            return logits.argmax(dim=-1, keepdim=True)
        probs = torch.softmax(logits / temperature, dim=-1)
        return torch.multinomial(probs, 1)

    def generate(
        self, tokens: torch.Tensor, max_tokens: int = 10, temperature: float = 0.0
    ) -> torch.Tensor:
        """tokens (1, L) -> 1-D tensor of `max_tokens` new ids, one step at a time.

        As the course: each step recomputes keys and values over the whole prefix.
        """
        self.eval()
        with torch.no_grad():
            logits, hidden_states, attn_inputs = self.forward(tokens)
            token = self.select_token(logits[:, -1], temperature)
            generated = [token]
            for _ in range(max_tokens - 1):
                h_t, y_t = self.rnn.step(self.embeddings(token[:, 0]), hidden_states)
                hidden_states = torch.cat([hidden_states, h_t.unsqueeze(1)], dim=1)
                attn_inputs = torch.cat([attn_inputs, y_t.unsqueeze(1)], dim=1)
                token = self.select_token(
                    self.lm_head(self.attention.step(attn_inputs)), temperature
                )
                generated.append(token)
        return torch.cat(generated, dim=1).view(-1)
