"""Drop-in for the course's HW7 `rnn.py`: same names, semantics, flags and output files.

An autograder's `from rnn import RNN, SelfAttention, RNNCell, RNNLanguageModel, train, validate`
works against a file holding `from neurallab.compat.rnn import *`, and

    python -m neurallab.compat.rnn --train_data train.json --val_data valid.json \\
        --metrics_out metrics.txt --train_losses_out train_losses.txt \\
        --val_losses_out val_losses.txt --embed_dim 64 --hidden_dim 128 --dk 32 --dv 32 \\
        --num_sequences 128 --batch_size 1

behaves as the course program. The tokenizer is `./my_tokenizer` as in the course, or, if that
folder does not exist, the one `neurallab data prepare bbc-lm` trained.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from neurallab.data.stories import SentenceDataset
from neurallab.models.rnn_lm import RNN, RNNCell, RNNLanguageModel, SelfAttention

__all__ = [
    "RNN",
    "RNNCell",
    "RNNLanguageModel",
    "SelfAttention",
    "SentenceDataset",
    "complete",
    "device",
    "train",
    "validate",
]

torch.manual_seed(10601)  # as the course module: fixes the initial weights

if torch.cuda.is_available():
    device = torch.device("cuda")
elif torch.backends.mps.is_available():
    device = torch.device("mps")
else:
    device = torch.device("cpu")

tokenizer = None  # set by main(), used by complete()
lm: RNNLanguageModel | None = None


def _shifted_loss(model: RNNLanguageModel, tokens: torch.Tensor, loss_fn) -> torch.Tensor:
    """Cross-entropy of the logits at positions 1..T-1 against the next tokens 2..T."""
    logits, _, _ = model(tokens)
    return loss_fn(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))


def validate(lm: RNNLanguageModel, dataset, loss_fn) -> float:
    """The course's validation loss: on the first batch of `dataset` only."""
    lm.eval()
    with torch.no_grad():
        tokens = next(iter(dataset)).to(device)
        loss = _shifted_loss(lm, tokens, loss_fn).item()
    lm.train()
    return loss


def train(
    lm: RNNLanguageModel,
    train_data,
    valid_data,
    loss_fn,
    optimizer,
    num_sequences: int,
    batch_size: int,
) -> tuple[list[float], list[float]]:
    """Train until batch index num_sequences // batch_size; every val_index batches (batch 0
    included) record the mean training loss since the last record and a validation loss,
    both rounded to 6 decimals."""
    val_index = max(1, int(num_sequences * 0.1) // batch_size)
    stop = num_sequences // batch_size
    train_losses, valid_losses, since_record = [], [], []
    lm.train()
    for idx, tokens in enumerate(train_data):
        if idx >= stop:
            break
        tokens = tokens.to(device)
        loss = _shifted_loss(lm, tokens, loss_fn)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
        optimizer.step()
        since_record.append(loss.item())
        if idx % val_index == 0:
            train_losses.append(round(sum(since_record) / len(since_record), 6))
            valid_losses.append(round(validate(lm, valid_data, loss_fn), 6))
            since_record = []
    return train_losses, valid_losses


def complete(prefix: str, num_tokens: int = 64, temperature: float = 0.0) -> str:
    """Continue `prefix` with the trained module-level `lm` and `tokenizer`."""
    ids = tokenizer.encode(prefix, add_special_tokens=False)
    tokens = torch.tensor([ids], dtype=torch.long, device=device)
    return tokenizer.decode(
        lm.generate(tokens, max_tokens=num_tokens, temperature=temperature).tolist()
    )


def _load_tokenizer():
    from transformers import AutoTokenizer

    folder = Path("my_tokenizer")
    if not folder.exists():
        from neurallab.data.stories import default_paths

        folder = default_paths()["tokenizer"]
    return AutoTokenizer.from_pretrained(str(folder))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="rnn.py", description=__doc__.splitlines()[0])
    for flag in (
        "--train_data",
        "--val_data",
        "--metrics_out",
        "--train_losses_out",
        "--val_losses_out",
    ):
        p.add_argument(flag, type=str, required=True)
    p.add_argument("--embed_dim", type=int, default=128)
    p.add_argument("--hidden_dim", type=int, default=128)
    p.add_argument("--dk", type=int, default=128)
    p.add_argument("--dv", type=int, default=128)
    p.add_argument("--num_sequences", type=int, default=50_000)
    p.add_argument("--batch_size", type=int, default=1)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    global tokenizer, lm
    args = parse_args(argv)
    tokenizer = _load_tokenizer()
    train_data = DataLoader(
        SentenceDataset(args.train_data), batch_size=args.batch_size, shuffle=False
    )
    valid_data = DataLoader(
        SentenceDataset(args.val_data), batch_size=args.batch_size, shuffle=False
    )
    lm = RNNLanguageModel(
        args.embed_dim, args.hidden_dim, tokenizer.vocab_size, args.dk, args.dv
    ).to(device)
    optimizer = torch.optim.Adam(lm.parameters(), lr=1e-3)
    train_losses, valid_losses = train(
        lm,
        train_data,
        valid_data,
        nn.CrossEntropyLoss(),
        optimizer,
        args.num_sequences,
        args.batch_size,
    )
    Path(args.train_losses_out).write_text("".join(f"{x}\n" for x in train_losses))
    Path(args.val_losses_out).write_text("".join(f"{x}\n" for x in valid_losses))
    Path(args.metrics_out).write_text(
        f"Final Train Loss: {train_losses[-1]}\nFinal Valid Loss: {valid_losses[-1]}\n"
    )


if __name__ == "__main__":
    main()
