"""The datasets `neurallab data prepare` can build, and where they live.

A source module registers a builder with `@dataset(...)`. Building is idempotent and safe:
the builder writes into a temporary folder next to the cache entry, the folder is renamed
into place only when complete, and a `manifest.json` records every file's size and SHA-256
so `neurallab data list` can verify what is on disk.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from neurallab.errors import UserError

# Modules that register datasets; imported lazily by `all_datasets()`.
SOURCE_MODULES = [
    "neurallab.data.digits",
    "neurallab.data.images",
    "neurallab.data.text",
    "neurallab.data.stories",
    "neurallab.data.timeseries",
]

MANIFEST = "manifest.json"


class Progress:
    """A small progress reporter handed to builders (rich bar on a terminal, quiet otherwise)."""

    def __init__(self, name: str) -> None:
        from rich.progress import BarColumn, TaskProgressColumn, TextColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn(f"[bold]{name}[/bold] {{task.description}}"),
            BarColumn(),
            TaskProgressColumn(),
        )
        self._task = None

    def __enter__(self) -> Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.stop()

    def stage(self, description: str, total: float | None = None) -> None:
        """Start a new stage of work with `total` units (None: indeterminate)."""
        if self._task is not None:
            self._bar.update(self._task, completed=self._bar.tasks[self._task].total or 1)
        self._task = self._bar.add_task(description, total=total)

    def advance(self, amount: float = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, amount)


Builder = Callable[[Path, Progress], None]


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    build: Builder
    version: int = 1  # bump to invalidate caches built by an older builder


_REGISTRY: dict[str, Dataset] = {}


def dataset(name: str, description: str, version: int = 1) -> Callable[[Builder], Builder]:
    """Register `build(out_dir, progress)` as the builder of dataset `name`."""

    def register(build: Builder) -> Builder:
        _REGISTRY[name] = Dataset(name, description, build, version)
        return build

    return register


def cache_dir() -> Path:
    """Root of the data cache: `$NEURALLAB_DATA`, default `~/.cache/neurallab`."""
    return Path(os.environ.get("NEURALLAB_DATA") or Path.home() / ".cache" / "neurallab")


def all_datasets() -> dict[str, Dataset]:
    for module in SOURCE_MODULES:
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
    return dict(sorted(_REGISTRY.items()))


def get(name: str) -> Dataset:
    known = all_datasets()
    if name not in known:
        raise UserError(f"unknown dataset {name!r}; known: {', '.join(known)}")
    return known[name]


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _file_records(root: Path) -> dict[str, dict]:
    return {
        str(p.relative_to(root)): {"bytes": p.stat().st_size, "sha256": _hash(p)}
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def verify(name: str) -> str | None:
    """Return None if dataset `name` is complete and intact, else why not."""
    ds = get(name)
    folder = cache_dir() / name
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        return "not prepared"
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("version") != ds.version:
        return f"built by builder version {manifest.get('version')}, current is {ds.version}"
    for rel, record in manifest["files"].items():
        path = folder / rel
        if not path.exists():
            return f"missing {rel}"
        if path.stat().st_size != record["bytes"]:
            return f"{rel} has {path.stat().st_size} bytes, expected {record['bytes']}"
    return None


def prepare(name: str, force: bool = False, check_hashes: bool = False) -> Path:
    """Build dataset `name` into the cache unless it is already there; return its folder."""
    ds = get(name)
    folder = cache_dir() / name
    problem = verify(name)
    if problem is None and check_hashes:
        problem = _check_hashes(folder)
    if problem is None and not force:
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    started = time.perf_counter()
    try:
        with Progress(name) as progress:
            ds.build(staging, progress)
            progress.stage("hashing")
            files = _file_records(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    manifest = {
        "name": name,
        "version": ds.version,
        "description": ds.description,
        "seconds": round(time.perf_counter() - started, 2),
        "files": files,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1))
    # Swap into place: the old copy (if any) is removed only once the new one is complete.
    old = folder.parent / f".{name}.old-{os.getpid()}"
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def _check_hashes(folder: Path) -> str | None:
    manifest = json.loads((folder / MANIFEST).read_text())
    for rel, record in manifest["files"].items():
        if _hash(folder / rel) != record["sha256"]:
            return f"{rel} does not match its SHA-256"
    return None


def dataset_path(name: str) -> Path:
    """The folder of dataset `name`, preparing it first if needed."""
    return prepare(name)
