"""Shared fixtures: small real datasets and a quiet environment for runs."""

from __future__ import annotations

import os

import pytest

# No tracker network, no progress bars in test logs.
os.environ.setdefault("NEURALLAB_TEST", "1")


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A private NEURALLAB_DATA for tests that build datasets."""
    monkeypatch.setenv("NEURALLAB_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"
