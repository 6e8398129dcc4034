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
        whole prefix at every step). The prefix pass is a batch of matrix products and uses
        every thread; batch-1 decoding is a chain of tiny matrix-vector products, so it runs
        on one thread: spinning up more only adds synchronisation.
        """
        self.eval()
        with torch.inference_mode():
            prefix = self.forward(tokens)
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return self._decode(tokens, prefix, max_tokens, temperature, top_k)
            finally:
                torch.set_num_threads(threads)

    def _decode(self, tokens, prefix, max_tokens, temperature, top_k) -> torch.Tensor:
        att = self.attention
        logits, hidden_states, attn_inputs = prefix
        batch, length = tokens.shape
        folded = self._folded_decoding_weights()
        split = [att.key_dim, att.value_transform.out_features, att.key_dim]
        keys = logits.new_empty((batch, length + max_tokens, split[0]))
        values = logits.new_empty((batch, length + max_tokens, split[1]))
        keys[:, :length] = att.key_transform(attn_inputs)
        values[:, :length] = att.value_transform(attn_inputs)
        h = hidden_states[:, -1]
        token = self._pick(logits[:, -1], temperature, top_k)
        generated = [token]
        for n in range(length + 1, length + max_tokens):
            # One new position: h_n (7.6.1), its key, value and query, attention over 1..n.
            h = torch.relu(torch.addmm(folded["input"][token[:, 0]], h, folded["h2h"]))
            k, v, q = torch.addmm(folded["kvq_bias"], h, folded["kvq"]).split(split, dim=1)
            keys[:, n - 1], values[:, n - 1] = k, v
            weights = torch.softmax(torch.bmm(keys[:, :n], q.unsqueeze(2)).squeeze(2), dim=1)
            mixed = torch.bmm(weights.unsqueeze(1), values[:, :n]).squeeze(1)
            token = self._pick(
                torch.addmm(folded["head_bias"], mixed, folded["head"]), temperature, top_k
            )
            generated.append(token)
        return torch.cat(generated, dim=1).view(-1)

    def _folded_decoding_weights(self) -> dict[str, torch.Tensor]:
        """The per-token chain of affine maps, multiplied out once before decoding.

        A batch-1 decoding step is a chain of tiny matrix-vector products, so its cost is the
        number of operations, not their size. Affine maps applied one after another are one
        affine map, so (same function, different rounding):
        - the input term of 7.6.1 for token w, W_i2h E[w] + b_i2h + b_h2h, is row w of a table;
        - y = W_out h + b_out followed by the key, value and query maps is one (2dk+dv, h) map,
          with the query rows divided by sqrt(dk) so the scores need no extra scaling;
        - the attention output map followed by the language-model head is one (V, dv) map.
        Matrices are stored transposed, ready for `addmm(bias, row, matrix)`.
        """
        att, cell, out = self.attention, self.rnn.cell, self.rnn.out

        def bias(layer: torch.nn.Linear) -> torch.Tensor:
            return (
                layer.bias if layer.bias is not None else layer.weight.new_zeros(layer.out_features)
            )

        scale = 1 / math.sqrt(att.key_dim)
        kvq = [(att.key_transform, 1.0), (att.value_transform, 1.0), (att.query_transform, scale)]
        head, output = self.lm_head, att.output_transform
        return {
            "input": self.embeddings.weight @ cell.i2h.weight.T + bias(cell.i2h) + bias(cell.h2h),
            "h2h": cell.h2h.weight.T,
            "kvq": torch.cat([m.weight * c for m, c in kvq]).matmul(out.weight).T.contiguous(),
            "kvq_bias": torch.cat([(m.weight @ bias(out) + bias(m)) * c for m, c in kvq]),
            "head": (head.weight @ output.weight).T.contiguous(),
            "head_bias": head.weight @ bias(output) + bias(head),
        }

    def _pick(self, logits: torch.Tensor, temperature: float, top_k: int | None) -> torch.Tensor:
        if top_k is not None and temperature > 0:
            kth = logits.topk(top_k, dim=-1).values[..., -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        return self.select_token(logits, temperature)
