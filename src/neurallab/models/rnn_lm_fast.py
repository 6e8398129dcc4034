"""The same RNN language model as `rnn_lm.py`, computed fast.

Same modules, names and parameters (state_dicts are interchangeable); the work is reorganised:
- input projections W_i2h i_t + b_i2h + b_h2h for all steps in one matmul, so the recurrence
  loop does only h_{t-1} W_h2h^T and a ReLU per step;
- the output projection, queries, keys and values for all positions in one matmul each;
- causal attention for all positions at once: a (T, T) score matrix with the future masked;
- generation keeps the last hidden state and the keys and values of the prefix (a cache), so a
  new token costs O(1) projections instead of re-projecting the whole prefix.
"""

from __future__ import annotations

import math

import torch

from neurallab.models.rnn_lm import RNNLanguageModel


class ReluRecurrence(torch.autograd.Function):
    """h_t = ReLU(x_t + h_{t-1} W^T), h_0 = 0, for all t, with a hand-written backward.

    One autograd node instead of T: backprop through time is the loop
    dz_t = (dh_t + dz_{t+1} W) * [h_t > 0], then dW = sum_t dz_t^T h_{t-1} in one matmul.
    """

    @staticmethod
    def forward(ctx, inputs: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        w_t = weight.to(inputs.dtype).t()
        states = torch.empty_like(inputs)
        h = torch.relu(inputs[:, 0])
        states[:, 0] = h
        for t in range(1, inputs.shape[1]):
            h = torch.relu(torch.addmm(inputs[:, t], h, w_t))
            states[:, t] = h
        ctx.save_for_backward(states, weight)
        return states

    @staticmethod
    def backward(ctx, grad_states: torch.Tensor):
        states, weight = ctx.saved_tensors
        w = weight.to(states.dtype)
        grad_z = torch.empty_like(states)
        carry = torch.zeros_like(states[:, 0])  # dL/dh_t coming back from step t+1
        for t in range(states.shape[1] - 1, -1, -1):
            dz = (grad_states[:, t] + carry) * (states[:, t] > 0)
            grad_z[:, t] = dz
            carry = dz @ w
        # dW = sum_{t>=1} dz_t^T h_{t-1}: all steps in one matmul.
        h_prev = states[:, :-1].reshape(-1, states.shape[-1])
        grad_w = grad_z[:, 1:].reshape(-1, states.shape[-1]).t() @ h_prev
        return grad_z, grad_w.to(weight.dtype)


class FastRNNLanguageModel(RNNLanguageModel):
    def recurrence(self, embedded: torch.Tensor) -> torch.Tensor:
        """Hidden states (B, T, h) of h_t = ReLU(W_i2h i_t + W_h2h h_{t-1}), h_0 = 0 (7.6.1)."""
        cell = self.rnn.cell
        # Every step's input term in one matmul; h_0 = 0 leaves only the h2h bias at t = 1.
        inputs = cell.i2h(embedded) + cell.h2h.bias
        return ReluRecurrence.apply(inputs, cell.h2h.weight)

    def causal_attention(self, y: torch.Tensor) -> torch.Tensor:
        att = self.attention
        q, k, v = att.query_transform(y), att.key_transform(y), att.value_transform(y)
        scores = q @ k.transpose(1, 2) / math.sqrt(att.key_dim)  # (B, T, T): query t, key n
        future = torch.ones(y.shape[1], y.shape[1], dtype=torch.bool, device=y.device).triu(1)
        weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        return att.output_transform(weights @ v)

    def forward(self, tokens: torch.Tensor):
        hidden_states = self.recurrence(self.embeddings(tokens))
        attn_inputs = self.rnn.out(hidden_states)
        return self.lm_head(self.causal_attention(attn_inputs)), hidden_states, attn_inputs

    def generate(
        self,
        tokens: torch.Tensor,
        max_tokens: int = 10,
        temperature: float = 0.0,
        top_k: int | None = None,
    ) -> torch.Tensor:
        """Same tokens as the reference for temperature 0, at O(1) projections per new token.

        The prefix goes through the batched forward once; then each new token costs one RNN
        cell step, one output/query/key/value projection of that token alone, and attention
        over keys and values kept in preallocated buffers (the reference re-projects the
        whole prefix at every step). Batch-1 decoding is a chain of tiny matrix-vector
        products, so it runs on one thread: spinning up more only adds synchronisation.
        """
        self.eval()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                return self._generate_cached(tokens, max_tokens, temperature, top_k)
        finally:
            torch.set_num_threads(threads)

    def _generate_cached(self, tokens, max_tokens, temperature, top_k) -> torch.Tensor:
        att, cell, linear = self.attention, self.rnn.cell, torch.nn.functional.linear
        logits, hidden_states, attn_inputs = self.forward(tokens)
        batch, length = tokens.shape
        keys = tokens.new_empty((batch, length + max_tokens, att.key_dim), dtype=logits.dtype)
        values = keys.new_empty((batch, length + max_tokens, att.value_transform.out_features))
        keys[:, :length] = att.key_transform(attn_inputs)
        values[:, :length] = att.value_transform(attn_inputs)
        h = hidden_states[:, -1]
        scale = math.sqrt(att.key_dim)
        token = self._pick(logits[:, -1], temperature, top_k)
        generated = [token]
        for n in range(length + 1, length + max_tokens):
            x = self.embeddings.weight[token[:, 0]]
            h = torch.relu(
                linear(x, cell.i2h.weight, cell.i2h.bias)
                + linear(h, cell.h2h.weight, cell.h2h.bias)
            )
            y = linear(h, self.rnn.out.weight, self.rnn.out.bias)
            keys[:, n - 1] = linear(y, att.key_transform.weight, att.key_transform.bias)
            values[:, n - 1] = linear(y, att.value_transform.weight, att.value_transform.bias)
            q = linear(y, att.query_transform.weight, att.query_transform.bias)
            scores = torch.bmm(keys[:, :n], q.unsqueeze(2)).squeeze(2) / scale  # (B, n)
            mixed = torch.bmm(torch.softmax(scores, dim=1).unsqueeze(1), values[:, :n]).squeeze(1)
            a = linear(mixed, att.output_transform.weight, att.output_transform.bias)
            token = self._pick(
                linear(a, self.lm_head.weight, self.lm_head.bias), temperature, top_k
            )
            generated.append(token)
        return torch.cat(generated, dim=1).view(-1)

    def _pick(self, logits: torch.Tensor, temperature: float, top_k: int | None) -> torch.Tensor:
        if top_k is not None and temperature > 0:
            kth = logits.topk(top_k, dim=-1).values[..., -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        return self.select_token(logits, temperature)
