"""`neurallab.compat.driver_parity` and `compat.univariate_tester` used the way the course's
driver and tester use them: `train_model(model, train_loader=...)` running every epoch (early
stopping only when asked), `validation_metrics(model, loader)`, batches on the model's device,
`runParityExperiment` and its plot, against loops and equations written here from the spec."""

from __future__ import annotations

import itertools
import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

import neurallab.compat.driver_parity as course
from neurallab.compat import univariate_tester
from neurallab.compat.driver_parity import (
    Parity,
    ParityLSTM,
    dev,
    main,
    pad_collate,
    runParityExperiment,
    train_model,
    validation_metrics,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny LSTMs run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Passes:
    """A loader that counts how many times it is iterated (= epochs run)."""

    def __init__(self, loader) -> None:
        self.loader, self.passes = loader, 0

    def __iter__(self):
        self.passes += 1
        return iter(self.loader)


def _train_loader(max_length: int = 3, batch_size: int = 14) -> DataLoader:
    train = Parity(split="train", max_length=max_length)
    return DataLoader(train, batch_size=batch_size, shuffle=True, collate_fn=pad_collate)


def test_course_names_and_model_interface():
    assert dev == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = ParityLSTM()
    assert model.hidden_dim == 64 and str(model) == "LSTM-64" and str(ParityLSTM(7)) == "LSTM-7"
    x, y, lengths = pad_collate([Parity("train", 3)[i] for i in (0, 5, 13)])
    assert x.shape == (3, 3) and y.dtype == torch.int64 and lengths == [1, 2, 3]
    assert model(x, lengths).shape == (3, 2)
    assert len(Parity("train", 5)) == 62 and len(Parity("val", 5)) == 32


def test_train_model_runs_every_epoch_unless_early_stopping_is_asked_for(capsys):
    torch.manual_seed(0)
    stopping = Passes(_train_loader())
    n = train_model(ParityLSTM(8), train_loader=stopping, epochs=300, lr=0.05, early_stop=True)
    assert n < 300 and stopping.passes == n  # reached 100% training accuracy at epoch n
    assert f"epoch {n - 1}: 100% training accuracy, stopping early" in capsys.readouterr().out
    # The same run (same seed, same batches) without the option goes on past that epoch.
    torch.manual_seed(0)
    everything = Passes(_train_loader())
    epochs = n + 25
    assert train_model(ParityLSTM(8), train_loader=everything, epochs=epochs, lr=0.05) == epochs
    assert everything.passes == epochs
    out = capsys.readouterr().out
    logged = [
        int(e) for e in re.findall(r"^epoch (\d+) train loss \d\.\d{3}, train acc", out, re.M)
    ]
    assert logged == list(range(0, epochs, 10)) and len(logged) == math.ceil(epochs / 10)
    assert "stopping early" not in out


def test_train_model_is_the_course_loop(capsys):
    """Adam with weight decay 1e-5, mean cross-entropy, one step per batch: written here."""
    torch.manual_seed(3)
    ours, loader = ParityLSTM(6), _train_loader(batch_size=5)
    theirs = ParityLSTM(6)
    theirs.load_state_dict(ours.state_dict())
    torch.manual_seed(4)
    train_model(ours, loader, 3, 0.01)
    torch.manual_seed(4)
    optimizer = torch.optim.Adam(theirs.parameters(), lr=0.01, weight_decay=1e-5)
    for _ in range(3):
        for x, y, lengths in loader:
            loss = F.cross_entropy(theirs(x, lengths), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for k, v in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[k], v)


def test_validation_metrics_is_mean_loss_and_accuracy_over_the_loader():
    torch.manual_seed(1)
    model = ParityLSTM(5)
    val = Parity("val", 7)
    loader = DataLoader(val, batch_size=50, collate_fn=pad_collate)
    loss, acc = validation_metrics(model, loader)
    assert isinstance(loss, float) and isinstance(acc, float) and not model.training
    x = torch.stack([val[i][0] for i in range(len(val))])
    y = torch.tensor([int(val[i][1]) for i in range(len(val))])
    with torch.no_grad():
        scores = model(x, [7] * len(y))
    assert loss == pytest.approx(F.cross_entropy(scores, y).item(), rel=1e-6)
    assert acc == (scores.argmax(1) == y).float().mean().item()


class _Seen(Exception):
    pass


class OnMeta(nn.Module):
    """A model whose parameters live on the `meta` device: records where batches arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(2, device="meta"))
        self.devices: list[torch.device] = []

    def forward(self, x, s):
        self.devices.append(x.device)
        raise _Seen


def test_batches_are_moved_to_the_models_device():
    """A CUDA model gets CUDA batches; `meta` stands in for a second device on this machine."""
    model = OnMeta()
    with pytest.raises(_Seen):
        train_model(model, train_loader=_train_loader(), epochs=1)
    with pytest.raises(_Seen):
        validation_metrics(model, _train_loader())
    assert [d.type for d in model.devices] == ["meta", "meta"]


def test_parity_experiment_batches_accuracies_and_plot(tmp_path, monkeypatch, capsys):
    for k in range(1, 12):  # the same batches as the course's DataLoader, in the same order
        loader = DataLoader(Parity("val", k), batch_size=1000, collate_fn=pad_collate)
        for (x, y, l), (x2, y2, l2) in itertools.zip_longest(loader, course.length_batches(k)):
            assert torch.equal(x, x2) and torch.equal(y, y2) and l == l2
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    model = ParityLSTM(8)
    train_model(model, _train_loader(), epochs=40, lr=0.05)
    accuracies = runParityExperiment(model, 3, max_test_length=9)
    assert (tmp_path / "LSTM-8_parity_generalization.png").is_file()
    expected = [
        validation_metrics(
            model, DataLoader(Parity("val", k), batch_size=1000, collate_fn=pad_collate)
        )[1]
        for k in range(1, 10)
    ]
    assert accuracies == expected and accuracies[:3] == [1.0, 1.0, 1.0]
    out = capsys.readouterr().out
    assert [int(k) for k in re.findall(r"^length=(\d+) val accuracy", out, re.M)] == list(
        range(1, 10)
    )
    assert course.TEST_MAX_LENGTH == 20  # the course's lengths 1..20 by default


def test_main_trains_then_runs_the_experiment(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(course, "TEST_MAX_LENGTH", 6)  # keep the test short
    main(["--hidden_dim", "8", "--epochs", "12"])
    out = capsys.readouterr().out
    assert re.findall(r"^epoch (\d+) train loss", out, re.M) == ["0", "10"]
    assert out.count("val accuracy") == 6
    main(["--hidden_dim", "8", "--epochs", "1", "--test_max_length", "4"])
    assert capsys.readouterr().out.count("val accuracy") == 4
    assert (tmp_path / "LSTM-8_parity_generalization.png").is_file()


def test_univariate_tester_weights_solve_parity_by_the_equations():
    """Equations (1)-(6) written here with the module's twelve scalars, from c = h = 0, over
    every binary string of length 14: h > 0.5 exactly for the odd ones."""
    w = {k: getattr(univariate_tester, k) for k in ("w_ix", "w_ih", "b_i", "w_fx", "w_fh")}
    w |= {k: getattr(univariate_tester, k) for k in ("b_f", "w_ox", "w_oh", "b_o")}
    w |= {k: getattr(univariate_tester, k) for k in ("w_gx", "w_gh", "b_g")}
    assert len(w) == 12 and all(isinstance(v, float) for v in w.values())

    def sigmoid(v: float) -> float:
        return 1 / (1 + math.exp(-v))

    wrong = 0
    for bits in itertools.product((0, 1), repeat=14):
        h = c = 0.0
        for x in bits:
            i = sigmoid(w["w_ix"] * x + w["w_ih"] * h + w["b_i"])
            f = sigmoid(w["w_fx"] * x + w["w_fh"] * h + w["b_f"])
            o = sigmoid(w["w_ox"] * x + w["w_oh"] * h + w["b_o"])
            g = math.tanh(w["w_gx"] * x + w["w_gh"] * h + w["b_g"])
            c = f * c + i * g
            h = o * math.tanh(c)
        wrong += (h > 0.5) != (sum(bits) % 2 == 1)
    assert wrong == 0
    assert univariate_tester.check() == (16384, 16384)
