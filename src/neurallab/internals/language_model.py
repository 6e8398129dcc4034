"""HW7 §3 Q2: what an RNN language model adds to an RNN, shown on the course's own modules.

A tiny `RNNLanguageModel` (vocabulary 12, dimension 8) is taken apart:
- its `rnn` alone already processes a sequence: (B, T, d) vectors in, T hidden states out;
- the language model wraps it with an embedding (token ids -> vectors) and a head (vectors ->
  next-token logits over the vocabulary), the parts that make it predict the next token;
- its training loss, the mean next-token cross-entropy, is -log P(x_2..x_T | x_1) / (T - 1):
  the probability of the sequence by the chain rule, computed here a second way, one token at
  a time through the step functions that generation uses;
- it is not only an encoder: `generate` continues a prompt token by token.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from neurallab.models.rnn_lm import RNNLanguageModel


def take_apart(seed: int = 0, vocab: int = 12, dim: int = 8, length: int = 6) -> dict:
    torch.manual_seed(seed)
    lm = RNNLanguageModel(dim, dim, vocab, key_dim=4, value_dim=4)
    lm.eval()
    tokens = torch.randint(3, vocab, (1, length))
    with torch.no_grad():
        vectors = torch.randn(1, length, dim)
        hidden, _ = lm.rnn(vectors)  # the plain RNN on a sequence of vectors
        logits, _, _ = lm(tokens)
        loss = F.cross_entropy(logits[0, :-1], tokens[0, 1:])  # the training objective

        # The same probability one token at a time, as generation computes it.
        log_p = 0.0
        states, outputs = lm.rnn.step(lm.embeddings(tokens[:, 0]))
        states, outputs = states.unsqueeze(1), outputs.unsqueeze(1)
        for t in range(1, length):
            next_logits = lm.lm_head(lm.attention.step(outputs))
            log_p += float(torch.log_softmax(next_logits, dim=-1)[0, tokens[0, t]])
            h_t, y_t = lm.rnn.step(lm.embeddings(tokens[:, t]), states)
            states = torch.cat([states, h_t.unsqueeze(1)], dim=1)
            outputs = torch.cat([outputs, y_t.unsqueeze(1)], dim=1)
        continuation = lm.generate(tokens[:, :3], max_tokens=5)
    rnn_parameters = sum(p.numel() for p in lm.rnn.parameters())
    return {
        "parts": {name: type(m).__name__ for name, m in lm.named_children()},
        "rnn_input_shape": list(vectors.shape),
        "rnn_hidden_states_shape": list(hidden.shape),
        "lm_logits_shape": list(logits.shape),
        "parameters": {
            "rnn": rnn_parameters,
            "added_by_the_language_model": sum(p.numel() for p in lm.parameters()) - rnn_parameters,
        },
        "mean_next_token_cross_entropy": float(loss),
        "minus_log_p_sequence_over_steps": -log_p / (length - 1),
        "prompt": tokens[0, :3].tolist(),
        "generated": continuation.tolist(),
    }
