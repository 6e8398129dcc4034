"""HW3 Problem 5 data: real multivariate series from the UEA/UCR archive, or your own arrays.

The `.ts` files ship inside the PyPI `aeon` wheel. We read them ourselves instead of calling
aeon's loader: importing aeon's data functions needs numba and llvmlite (~200 MB) for what is
a simple text format, so aeon is installed with `--no-deps` and used only as a file carrier.

Every split becomes a TensorDataset of (x (N, T_max, F) zero-padded, lengths (N,), labels (N,)),
channels z-scored with statistics of the training split.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from neurallab.data.registry import Progress, dataset, dataset_path
from neurallab.data.splits import stratified_split
from neurallab.errors import DataError, UserError

UEA_SETS = ("BasicMotions", "JapaneseVowels")


@dataclass
class Series:
    """One split: a list of (T_i, F) arrays, integer labels and the class names."""

    values: list[np.ndarray]
    labels: np.ndarray
    classes: list[str]


def read_ts(path: Path) -> Series:
    """Parse a UEA `.ts` file: header lines (@...), then one case per line with the
    channels separated by ':' and the class label last."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    classes: list[str] | None = None
    values, labels, in_data = [], [], False
    for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if line.lower().startswith("@classlabel"):
                classes = line.split()[2:]
            in_data = line.lower() == "@data"
            continue
        *channels, label = line.split(":")
        if classes is None or label not in classes:
            raise DataError(
                path, f"line {line_number}: class {label!r} is not declared in @classLabel"
            )
        try:
            # '?' is the format's missing value; it becomes NaN and is reported below.
            rows = [
                [float("nan") if v == "?" else float(v) for v in ch.split(",")] for ch in channels
            ]
        except ValueError:
            raise DataError(path, f"line {line_number}: a value is not a number") from None
        if len({len(r) for r in rows}) != 1:
            raise DataError(path, f"line {line_number}: channels have different lengths")
        case = np.asarray(rows, dtype=np.float32).T  # (T, F)
        if not np.isfinite(case).all():
            raise DataError(path, f"line {line_number}: missing or NaN values in the series")
        values.append(case)
        labels.append(classes.index(label))
    if not values:
        raise DataError(path, "no cases after @data")
    return Series(values, np.asarray(labels), classes)


def _aeon_data_folder() -> Path:
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("UEA series need PyPI aeon's data files: pip install --no-deps aeon==1.6.0")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"


@dataset("uea", "UEA multivariate series BasicMotions and JapaneseVowels (.ts files from aeon)")
def build_uea(out: Path, progress: Progress) -> None:
    progress.stage("copying .ts files", total=len(UEA_SETS) * 2)
    for name in UEA_SETS:
        for split in ("TRAIN", "TEST"):
            src = _aeon_data_folder() / name / f"{name}_{split}.ts"
            read_ts(src)  # validate before caching
            (out / name).mkdir(exist_ok=True)
            shutil.copyfile(src, out / name / src.name)
            progress.advance()


def load_npy(x_path: Path, y_path: Path) -> Series:
    """Your own data: X of shape (N, T, F) and integer labels y of shape (N,)."""
    x = _load_array(x_path)
    y = _load_array(y_path)
    if x.ndim != 3:
        raise DataError(x_path, f"expected shape (N, T, F), got {x.shape}")
    if y.shape != (x.shape[0],):
        raise DataError(
            y_path, f"expected {x.shape[0]} labels to match {x_path.name}, got shape {y.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(x).reshape(len(x), -1).all(axis=1))
    if bad.size:
        raise DataError(
            x_path, f"NaN or infinite values in series {int(bad[0])}", row=int(bad[0]) + 1
        )
    classes = sorted(set(y.tolist()))
    index = {c: i for i, c in enumerate(classes)}
    return Series(
        [c.astype(np.float32) for c in x],
        np.asarray([index[v] for v in y.tolist()]),
        [str(c) for c in classes],
    )


def _load_array(path: Path) -> np.ndarray:
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(path, f"not a NumPy array file ({exc})") from None


def subset(series: Series, idx: np.ndarray) -> Series:
    return Series([series.values[i] for i in idx], series.labels[idx], series.classes)


def to_tensors(series: Series, mean: np.ndarray, std: np.ndarray, t_max: int) -> TensorDataset:
    """Normalise, zero-pad (or cut) to t_max steps: (x, lengths, labels)."""
    n, f = len(series.values), series.values[0].shape[1]
    x = torch.zeros(n, t_max, f)
    lengths = torch.zeros(n, dtype=torch.long)
    for i, case in enumerate(series.values):
        if case.shape[0] == 0:
            raise UserError(f"series {i} has zero length")
        steps = min(len(case), t_max)
        x[i, :steps] = torch.from_numpy((case[:steps] - mean) / std)
        lengths[i] = steps
    return TensorDataset(x, lengths, torch.as_tensor(series.labels, dtype=torch.long))


def load_splits(name: str, npy: tuple[Path, Path] | None = None, seed: int = 0):
    """train/val/test TensorDatasets plus (classes, features, t_max).

    UEA sets keep their official test split; validation is a stratified 20% of the training
    split (fixed seed). Your own arrays are split 70/15/15 per class.
    """
    if npy is not None:
        full = load_npy(*npy)
        parts = np.asarray(stratified_split(full.labels, (0.7, 0.15), seed))
        train, val, test = (
            subset(full, np.flatnonzero(parts == s)) for s in ("train", "val", "test")
        )
    else:
        if name not in UEA_SETS:
            raise UserError(
                f"--dataset: unknown dataset {name!r}; choose from {', '.join(UEA_SETS)}"
            )
        folder = dataset_path("uea") / name
        official = read_ts(folder / f"{name}_TRAIN.ts")
        test = read_ts(folder / f"{name}_TEST.ts")
        parts = np.asarray(stratified_split(official.labels, (0.8, 0.2), seed))
        train = subset(official, np.flatnonzero(parts == "train"))
        val = subset(official, np.flatnonzero(parts != "train"))
    stacked = np.concatenate(train.values)
    mean, std = stacked.mean(0), stacked.std(0) + 1e-6
    # Pad to the longest series of any split (a shape, not information about the labels), so
    # no test series is cut short.
    t_max = max(len(c) for s in (train, val, test) for c in s.values)
    sets = [to_tensors(s, mean, std, t_max) for s in (train, val, test)]
    return sets, train.classes, train.values[0].shape[1], t_max
