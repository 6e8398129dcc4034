"""HW7 reference model and the course drop-in `neurallab.compat.rnn`, against the spec."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from neurallab.compat import rnn as course
from neurallab.data.stories import SentenceDataset, default_paths
from neurallab.models.rnn_lm import RNN, RNNCell, RNNLanguageModel, SelfAttention

SPEC_KEYS = [
    "embeddings.weight",
    "rnn.cell.i2h.weight",
    "rnn.cell.i2h.bias",
    "rnn.cell.h2h.weight",
    "rnn.cell.h2h.bias",
    "rnn.out.weight",
    "rnn.out.bias",
    "attention.query_transform.weight",
    "attention.query_transform.bias",
    "attention.key_transform.weight",
    "attention.key_transform.bias",
    "attention.value_transform.weight",
    "attention.value_transform.bias",
    "attention.output_transform.weight",
    "attention.output_transform.bias",
    "lm_head.weight",
    "lm_head.bias",
]


def test_state_dict_has_the_17_course_entries_in_order():
    lm = RNNLanguageModel(8, 12, 30, 5, 7)
    assert list(lm.state_dict()) == SPEC_KEYS
    shapes = {k: tuple(v.shape) for k, v in lm.state_dict().items()}
    assert shapes["attention.value_transform.weight"] == (7, 12)
    assert shapes["attention.output_transform.weight"] == (12, 7)
    assert shapes["lm_head.weight"] == (30, 12)


def test_initialisation_order_fixes_the_weights_under_the_course_seed():
    """Creating the layers one by one in the spec's order gives the same initial weights."""
    e, h, v, dk, dv = 6, 10, 40, 4, 5
    torch.manual_seed(10601)
    layers = [
        nn.Embedding(v, e),
        nn.Linear(e, h),
        nn.Linear(h, h),
        nn.Linear(h, h),
        nn.Linear(h, dk),
        nn.Linear(h, dk),
        nn.Linear(h, dv),
        nn.Linear(dv, h),
        nn.Linear(h, v),
    ]
    expected = [t for layer in layers for t in layer.state_dict().values()]
    torch.manual_seed(10601)
    got = list(RNNLanguageModel(e, h, v, dk, dv).state_dict().values())
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))


def test_cell_rnn_step_and_forward_follow_the_equations():
    torch.manual_seed(0)
    cell = RNNCell(3, 4)
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    manual = torch.relu(
        x @ cell.i2h.weight.T + cell.i2h.bias + h @ cell.h2h.weight.T + cell.h2h.bias
    )
    assert torch.allclose(cell(x, h), manual)

    rnn = RNN(3, 4)
    seq = torch.randn(2, 5, 3)
    hidden, outputs = rnn(seq)
    assert hidden.shape == outputs.shape == (2, 5, 4)
    h_t = torch.zeros(2, 4)
    for t in range(5):
        h_t = rnn.cell(seq[:, t], h_t)
        assert torch.allclose(hidden[:, t], h_t, atol=1e-6)
        assert torch.allclose(outputs[:, t], rnn.out(h_t), atol=1e-6)
    # None as previous states means zeros; a 1-D input is one example.
    h1, y1 = rnn.step(seq[0, 0])
    assert torch.allclose(h1[0], rnn.cell(seq[:1, 0], torch.zeros(1, 4))[0])
    assert torch.allclose(y1, rnn.out(h1))


def test_attention_step_is_scaled_dot_product_over_the_prefix():
    torch.manual_seed(0)
    att = SelfAttention(6, 3, 2)
    y = torch.randn(1, 4, 6)
    q = att.query_transform(y[0, -1])
    k, v = att.key_transform(y[0]), att.value_transform(y[0])
    w = torch.softmax(torch.stack([k[n] @ q for n in range(4)]) / math.sqrt(3), dim=0)
    expected = att.output_transform(sum(w[n] * v[n] for n in range(4)))
    assert torch.allclose(att.step(y)[0], expected, atol=1e-6)
    # Causal: outputs at positions < 3 do not depend on later positions.
    changed = y.clone()
    changed[:, 3:] += 5
    assert torch.allclose(att(y)[:, :3], att(changed)[:, :3])
    assert not torch.allclose(att(y)[:, 3], att(changed)[:, 3])


def test_language_model_forward_select_and_generate():
    torch.manual_seed(0)
    lm = RNNLanguageModel(8, 12, 30, 5, 7)
    tokens = torch.randint(0, 30, (2, 9))
    logits, hidden, attn_inputs = lm(tokens)
    assert logits.shape == (2, 9, 30) and hidden.shape == attn_inputs.shape == (2, 9, 12)
    assert torch.allclose(attn_inputs, lm.rnn.out(hidden))
    assert torch.equal(lm.select_token(logits[:, -1], 0.0)[:, 0], logits[:, -1].argmax(-1))
    assert lm.select_token(logits[:, -1], 0.7).shape == (2, 1)
    out = lm.generate(tokens[:1], max_tokens=6)
    assert out.shape == (6,)
    # Greedy generation is the argmax of a full forward pass over the growing sequence.
    seq = tokens[:1]
    for new in out:
        assert new == lm(seq)[0][0, -1].argmax()
        seq = torch.cat([seq, new.view(1, 1)], dim=1)


def _tiny_course_files(tmp_path, n_train=12, n_val=5, length=24):
    train = json.loads(default_paths()["train"].read_text())
    (tmp_path / "train.json").write_text(json.dumps([s[:length] for s in train[:n_train]]))
    (tmp_path / "valid.json").write_text(json.dumps([s[:length] for s in train[-n_val:]]))
    return tmp_path / "train.json", tmp_path / "valid.json"


def test_train_records_every_val_index_from_batch_0_rounded(tmp_path):
    """An independent loop reproduces train(): cadence, mean-since-last, rounding, clipping."""
    train_path, val_path = _tiny_course_files(tmp_path)
    data = DataLoader(SentenceDataset(train_path), batch_size=2, shuffle=False)
    val = DataLoader(SentenceDataset(val_path), batch_size=2, shuffle=False)
    torch.manual_seed(3)
    lm = RNNLanguageModel(8, 12, 1024, 4, 4)
    twin = RNNLanguageModel(8, 12, 1024, 4, 4)
    twin.load_state_dict(lm.state_dict())
    train_losses, val_losses = course.train(
        lm, data, val, nn.CrossEntropyLoss(), torch.optim.Adam(lm.parameters(), lr=1e-3), 21, 2
    )
    # num_sequences 21, batch 2: stop at batch 10, val_index = max(1, 2 // 2) = 1.
    opt = torch.optim.Adam(twin.parameters(), lr=1e-3)
    expected_train, expected_val = [], []
    for tokens in list(data)[:10]:
        logits = twin(tokens)[0]
        loss = nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, 1024), tokens[:, 1:].reshape(-1)
        )
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(twin.parameters(), 1.0)
        opt.step()
        expected_train.append(round(loss.item(), 6))
        first = next(iter(val))
        with torch.no_grad():
            vl = twin(first)[0]
        expected_val.append(
            round(
                nn.functional.cross_entropy(
                    vl[:, :-1].reshape(-1, 1024), first[:, 1:].reshape(-1)
                ).item(),
                6,
            )
        )
    assert train_losses == pytest.approx(expected_train, abs=2e-6)
    assert val_losses == pytest.approx(expected_val, abs=2e-6)
    assert all(x == round(x, 6) for x in train_losses + val_losses)


def test_train_cadence_averages_since_the_last_record(tmp_path):
    train_path, val_path = _tiny_course_files(tmp_path, n_train=12)
    data = DataLoader(SentenceDataset(train_path), batch_size=1, shuffle=False)
    val = DataLoader(SentenceDataset(val_path), batch_size=1, shuffle=False)
    torch.manual_seed(0)
    lm = RNNLanguageModel(4, 4, 1024, 2, 2)
    seen = []
    real_loss = nn.CrossEntropyLoss()

    def loss_fn(a, b):
        value = real_loss(a, b)
        if torch.is_grad_enabled():
            seen.append(value.item())
        return value

    tr, va = course.train(lm, data, val, loss_fn, torch.optim.SGD(lm.parameters(), lr=0.0), 12, 1)
    # val_index = int(1.2) // 1 = 1 -> every batch; use num_sequences 12 -> 12 batches.
    assert len(tr) == len(va) == 12 and len(seen) == 12
    seen.clear()
    tr, va = course.train(lm, data, val, loss_fn, torch.optim.SGD(lm.parameters(), lr=0.0), 10, 1)
    assert len(seen) == 10 and len(tr) == 10  # val_index 1
    seen.clear()
    # num_sequences 40 > data: stops with the data; val_index 4 -> records at 0, 4, 8.
    tr, va = course.train(lm, data, val, loss_fn, torch.optim.SGD(lm.parameters(), lr=0.0), 40, 1)
    assert len(seen) == 12 and len(tr) == 3
    assert tr[0] == round(seen[0], 6)
    assert tr[1] == pytest.approx(round(sum(seen[1:5]) / 4, 6), abs=1e-6)
    assert tr[2] == pytest.approx(round(sum(seen[5:9]) / 4, 6), abs=1e-6)


def test_validate_uses_the_first_batch_only(tmp_path):
    train_path, val_path = _tiny_course_files(tmp_path)
    torch.manual_seed(0)
    lm = RNNLanguageModel(4, 4, 1024, 2, 2)
    full = DataLoader(SentenceDataset(val_path), batch_size=2, shuffle=False)
    first = [next(iter(full))]
    assert course.validate(lm, full, nn.CrossEntropyLoss()) == course.validate(
        lm, first, nn.CrossEntropyLoss()
    )
    assert lm.training  # back in training mode afterwards


def test_course_cli_writes_the_three_files_with_the_course_numbers(tmp_path):
    train_path, val_path = _tiny_course_files(tmp_path, n_train=8, n_val=3, length=16)
    shutil.copytree(default_paths()["tokenizer"], tmp_path / "my_tokenizer")
    flags = ["--embed_dim", "8", "--hidden_dim", "12", "--dk", "4", "--dv", "4"]
    cmd = [
        sys.executable, "-m", "neurallab.compat.rnn",
        "--train_data", str(train_path), "--val_data", str(val_path),
        "--metrics_out", "m.txt", "--train_losses_out", "t.txt", "--val_losses_out", "v.txt",
        *flags, "--num_sequences", "8", "--batch_size", "1",
    ]  # fmt: skip
    subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True, timeout=120)
    train_losses = [float(x) for x in (tmp_path / "t.txt").read_text().split()]
    val_losses = [float(x) for x in (tmp_path / "v.txt").read_text().split()]
    metrics = (tmp_path / "m.txt").read_text().splitlines()
    assert len(train_losses) == len(val_losses) == 8  # val_index = max(1, 0) = 1
    assert metrics == [
        f"Final Train Loss: {train_losses[-1]}",
        f"Final Valid Loss: {val_losses[-1]}",
    ]
    # The same numbers in-process: seed 10601, model built first, Adam 1e-3, shuffle off.
    torch.manual_seed(10601)
    lm = RNNLanguageModel(8, 12, 1024, 4, 4)
    data = DataLoader(SentenceDataset(train_path), batch_size=1, shuffle=False)
    val = DataLoader(SentenceDataset(val_path), batch_size=1, shuffle=False)
    expected = course.train(
        lm, data, val, nn.CrossEntropyLoss(), torch.optim.Adam(lm.parameters(), lr=1e-3), 8, 1
    )
    assert train_losses == pytest.approx(expected[0], abs=1e-6)
    assert val_losses == pytest.approx(expected[1], abs=1e-6)


def test_autograder_style_import_sets_the_seed(tmp_path):
    (tmp_path / "rnn.py").write_text("from neurallab.compat.rnn import *\n")
    code = (
        "from rnn import RNN, SelfAttention, RNNCell, RNNLanguageModel, train, validate, device\n"
        "import torch; print(torch.initial_seed(), device.type)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    assert out.stdout.split() == ["10601", "cpu"]
