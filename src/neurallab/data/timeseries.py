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
    classes: list[str] | None = None
    values, labels, in_data = [], [], False
    for line_number, line in enumerate(_text_lines(path), start=1):
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


def _text_lines(path: Path) -> list[str]:
    """The lines of a text file; a missing file, a folder or a binary file is one DataError."""
    if not path.exists():
        raise DataError(path, "file not found")
    if path.is_dir():
        raise DataError(path, "is a folder, expected a UEA .ts text file")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(path, "not a text file (expected a UEA .ts file)") from None


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
    """Your own data: X of shape (N, T, F) and labels y of shape (N,) (integers or strings)."""
    x_path, y_path = Path(x_path), Path(y_path)
    x = _load_array(x_path)
    y = _load_array(y_path)
    if x.ndim != 3 or 0 in x.shape:
        raise DataError(x_path, f"expected a non-empty array of shape (N, T, F), got {x.shape}")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DataError(x_path, f"expected numbers, got an array of {x.dtype}")
    if y.shape != (x.shape[0],):
        raise DataError(
            y_path, f"expected {x.shape[0]} labels to match {x_path.name}, got shape {y.shape}"
        )
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.mod(y, 1) == 0):
        bad = int(np.flatnonzero(np.mod(y, 1) != 0)[0])
        raise DataError(
            y_path, f"label {y[bad].item()!r} is not a class (integers or strings)", row=bad + 1
        )
    bad = np.flatnonzero(~np.isfinite(x.astype(np.float64)).reshape(len(x), -1).all(axis=1))
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
    """One array from a .npy file; anything else (a folder, an .npz archive, text, a pickle)
    is one DataError saying what it is."""
    if not path.exists():
        raise DataError(path, "file not found")
    if path.is_dir():
        raise DataError(path, "is a folder, expected a .npy file")
    with path.open("rb") as f:
        magic = f.read(6)
    if magic != b"\x93NUMPY":  # every .npy file starts so; NumPy's own guess reads oddly here
        kind = "an .npz archive" if magic[:2] == b"PK" else "not a NumPy .npy file"
        raise DataError(path, f"{kind}; expected an array saved with numpy.save")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(path, f"not a readable NumPy .npy file ({exc})") from None
    if not isinstance(array, np.ndarray):  # np.load opens an .npz archive as a mapping
        array.close()
        raise DataError(path, "an .npz archive of several arrays, expected one .npy array")
    return array


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


@dataclass
class Splits:
    """train/val/test TensorDatasets of (x, lengths, labels), and what a model is built from."""

    sets: tuple[TensorDataset, TensorDataset, TensorDataset]
    classes: list[str]
    features: int
    steps: int  # the longest series of any split: every series is padded to it
    mean: np.ndarray  # the training split's channel means and deviations (x is z-scored by)
    std: np.ndarray


def load_splits(name: str, npy: tuple[Path, Path] | None = None, seed: int = 0) -> Splits:
    """UEA sets keep their official test split; validation is a stratified 20% of the training
    split (drawn by `seed`). Your own arrays are split 70/15/15 per class."""
    if npy is not None:
        full = load_npy(*npy)
        parts = np.asarray(stratified_split(full.labels, (0.7, 0.15), seed))
        train, val, test = (
            subset(full, np.flatnonzero(parts == s)) for s in ("train", "val", "test")
        )
        for split, part in (("validation", val), ("test", test)):
            if not part.values:
                raise DataError(
                    Path(npy[0]),
                    f"{len(full.values)} series are too few for a {split} split (70/15/15 per "
                    "class): give more series",
                )
    else:
        train, val, test = _uea_splits(name, seed)
    stacked = np.concatenate(train.values)
    mean, std = stacked.mean(0), stacked.std(0) + 1e-6
    # Pad to the longest series of any split (a shape, not information about the labels), so
    # no test series is cut short.
    t_max = max(len(c) for s in (train, val, test) for c in s.values)
    sets = tuple(to_tensors(s, mean, std, t_max) for s in (train, val, test))
    return Splits(sets, train.classes, train.values[0].shape[1], t_max, mean, std)


def _uea_splits(name: str, seed: int) -> tuple[Series, Series, Series]:
    if name not in UEA_SETS:
        raise UserError(f"--dataset: unknown dataset {name!r}; choose from {', '.join(UEA_SETS)}")
    folder = dataset_path("uea") / name
    official = read_ts(folder / f"{name}_TRAIN.ts")
    test_path = folder / f"{name}_TEST.ts"
    test = read_ts(test_path)
    # Labels are indices into each file's own @classLabel list: the two lists must agree.
    if test.classes != official.classes:
        raise DataError(
            test_path,
            f"classes {test.classes} differ from the training file's {official.classes}",
        )
    widths = {v.shape[1] for v in official.values + test.values}
    if len(widths) != 1:
        raise DataError(test_path, f"series have different numbers of channels: {sorted(widths)}")
    parts = np.asarray(stratified_split(official.labels, (0.8, 0.2), seed))
    train = subset(official, np.flatnonzero(parts == "train"))
    val = subset(official, np.flatnonzero(parts != "train"))
    return train, val, test
