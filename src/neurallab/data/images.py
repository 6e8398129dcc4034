"""Colour images for HW0 §3 and the CIFAR-3 CNN: the course's formats, and a default dataset.

Default: three categories of Debian's public-domain `openclipart-png` (animals, food,
transportation), fetched without root (`apt-get download` + `dpkg-deb -x`), composited onto
white (the PNGs have transparency), and written in the course's layouts:

* HW0: `data/img_{train,val,test}.csv` (`image,prompt,label,label_idx`, 70/15/15 per class,
  seed 0) with JPEGs at `./data/<label>/<label>-<n>.jpg` (shorter side 256); the prompt is the
  picture's title, from its file name.
* CIFAR-3: `cifar3/{train,val,test}.pkl`, dicts with `images` (N x 3072 uint8, planes R, G, B
  of 32x32) and `labels` (N x 1).

Loading decodes and resizes every image once into a uint8 tensor (cached next to the CSV), so
an epoch costs only normalisation and compute.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import pickle
import re
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import TensorDataset

from neurallab.atomic import write_atomic
from neurallab.data import transforms as T
from neurallab.data.registry import Progress, dataset, dataset_path
from neurallab.data.splits import shuffled, stratified_split
from neurallab.errors import DataError, UserError

CLASSES = ("animals", "food", "transportation")
COLUMNS = ("image", "prompt", "label", "label_idx")
MAX_PIXELS = 25_000_000  # a few clip-art PNGs are 100+ megapixels: skipped, not decoded
SPLITS = ("train", "val", "test")


# -- building the default dataset ---------------------------------------------------------
def _fetch_openclipart(workdir: Path) -> Path:
    """Download and unpack Debian's openclipart-png without root; returns its png/ folder."""
    try:
        subprocess.run(
            ["apt-get", "download", "openclipart-png"],
            cwd=workdir,
            check=True,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise UserError(
            "could not download Debian's openclipart-png (run `apt-get update` once, "
            f"then retry): {detail.strip().splitlines()[-1] if detail.strip() else exc}"
        ) from None
    deb = next(workdir.glob("openclipart-png*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(workdir / "x")], check=True, timeout=1800)
    return workdir / "x" / "usr" / "share" / "openclipart" / "png"


def title_from_filename(path: Path) -> str:
    """'flying_wasp_gerald_g._02.png' -> 'flying wasp gerald g': the picture's title."""
    words = re.sub(r"[_\-.]+", " ", path.stem)
    return re.sub(r"\s+\d+$", "", words).strip()


def composite_on_white(path: Path) -> Image.Image | None:
    """RGB picture with transparency flattened onto white; None for oversized images."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS:
                    return None
                rgba = img.convert("RGBA")
    except Image.DecompressionBombError:
        return None
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _shorter_side(img: Image.Image, size: int) -> Image.Image:
    scale = size / min(img.size)
    return img.resize(
        (max(size, round(img.width * scale)), max(size, round(img.height * scale))), Image.BILINEAR
    )


@dataset(
    "clipart3",
    "3 classes of openclipart-png (animals/food/transportation): HW0 CSV+JPEG and CIFAR-3 pickles",
    version=2,
)
def build_clipart3(out: Path, progress: Progress) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        progress.stage("downloading openclipart-png (131 MB)")
        png_root = _fetch_openclipart(Path(tmp))
        files = [
            (c, Path(p))
            for c in CLASSES
            for p in sorted(glob.glob(str(png_root / c / "**" / "*.png"), recursive=True))
        ]
        progress.stage("compositing and resizing", total=len(files))
        pictures = []
        for label, path in files:
            img = composite_on_white(path)
            progress.advance()
            if img is not None:
                pictures.append((label, title_from_filename(path), img))
        _write_course_layout(out, shuffled(pictures, seed=0))


def _write_course_layout(out: Path, pictures: list[tuple[str, str, Image.Image]]) -> None:
    labels = [CLASSES.index(label) for label, _, _ in pictures]
    split_of = stratified_split(labels, (0.7, 0.15), seed=0)
    data_dir = out / "data"
    rows = {s: [] for s in SPLITS}
    small = {s: ([], []) for s in SPLITS}
    counters = dict.fromkeys(CLASSES, 0)
    for (label, title, img), split in zip(pictures, split_of, strict=True):
        (data_dir / label).mkdir(parents=True, exist_ok=True)
        name = f"{label}-{counters[label]}.jpg"
        counters[label] += 1
        _shorter_side(img, 256).save(data_dir / label / name, quality=92)
        rows[split].append((f"./data/{label}/{name}", title, label, CLASSES.index(label)))
        tiny = np.asarray(
            T.center_crop(torch.from_numpy(np.asarray(_shorter_side(img, 32))).permute(2, 0, 1), 32)
        )
        small[split][0].append(tiny.reshape(-1))  # planes R, G, B of 32x32 = 3072 values
        small[split][1].append([CLASSES.index(label)])
    (out / "cifar3").mkdir()
    for split in SPLITS:
        with (data_dir / f"img_{split}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows(rows[split])
        images, labels = small[split]
        with (out / "cifar3" / f"{split}.pkl").open("wb") as f:
            pickle.dump(
                {
                    "images": np.stack(images).astype(np.uint8),
                    "labels": np.asarray(labels, dtype=np.int64),
                },
                f,
            )


def default_csv(split: str) -> Path:
    return dataset_path("clipart3") / "data" / f"img_{split}.csv"


def default_cifar3(split: str) -> Path:
    return dataset_path("clipart3") / "cifar3" / f"{split}.pkl"


# -- the course's CSV + JPEG format -------------------------------------------------------
def read_image_csv(path: Path) -> list[tuple[Path, str, int]]:
    """(image file, label, label_idx) per row; image paths resolve against the CSV's folder's
    parent (the course's `./data/<label>/...` convention) or, failing that, the CSV's folder."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found" if not path.exists() else "a folder, not a CSV")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(path, f"not a text CSV (byte 0x{exc.object[exc.start]:02x} at "
                        f"offset {exc.start} is not UTF-8)") from None  # fmt: skip
    reader = csv.DictReader(text.splitlines(keepends=True))
    missing = [c for c in ("image", "label", "label_idx") if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(
            path, f"missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}"
        )
    rows = []
    for number, row in enumerate(reader, start=1):
        try:
            idx = int(row["label_idx"])
        except (TypeError, ValueError):
            raise DataError(
                path, f"label_idx {row['label_idx']!r} is not an integer", row=number
            ) from None
        image = _resolve(path, row["image"] or "")
        if image is None:
            raise DataError(path, f"image file {row['image']!r} not found", row=number)
        rows.append((image, row["label"], idx))
    if not rows:
        raise DataError(path, "no rows: the split is empty")
    return rows


def read_prompts(path: Path) -> list[str]:
    """The `prompt` column in row order ("" where the CSV has none)."""
    with Path(path).open(newline="", encoding="utf-8") as f:
        return [row.get("prompt") or "" for row in csv.DictReader(f)]


def _resolve(csv_path: Path, image: str) -> Path | None:
    for base in (csv_path.parent.parent, csv_path.parent):
        candidate = (base / image).resolve()
        if image and candidate.is_file():
            return candidate
    return None


def open_rgb(path: Path, csv_path: Path, row: int) -> Image.Image:
    """One picture as an RGB PIL image (decoded now, file closed). Unreadable files name the
    CSV and its row."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return img.convert("RGB")
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise DataError(csv_path, f"cannot read image {path.name}: {exc}", row=row) from None


def decode(path: Path, csv_path: Path, row: int, size: int | None) -> torch.Tensor:
    """One image as uint8 (3, H, W); with `size`, the course's Resize(size) + CenterCrop(size):
    shorter side resized (antialiased) to it, longer side truncated as torchvision does, and the
    centre crop's offsets rounded as torchvision rounds them, so the pixels the models see are
    the course pipeline's. Unreadable files name the CSV and its row."""
    rgb = np.asarray(open_rgb(path, csv_path, row))
    tensor = torch.from_numpy(rgb.copy()).permute(2, 0, 1)
    if size is None:
        return tensor
    resized = T.resize_shorter(tensor, size, truncate=True)
    return T.center_crop(resized, size, round_offsets=True)


def _fingerprint(rows: list[tuple[Path, str, int]], size: int) -> str:
    """Identifies the decoded cache: every image's path, size and modification time."""
    # "course": decoded as the course pipeline decodes (earlier caches rounded differently).
    h = hashlib.sha256(f"{size}|course".encode())
    for path, _, idx in rows:
        st = path.stat()
        h.update(f"{path}|{st.st_size}|{st.st_mtime_ns}|{idx}\n".encode())
    return h.hexdigest()


def load_image_split(
    csv_path: Path, size: int = 256, num_labels: int | None = None
) -> TensorDataset:
    """A split as (uint8 images (N, 3, size, size), labels (N,)).

    Images are decoded and resized once and cached next to the CSV (`img_train.256px.pt`); the
    cache is used only while every listed image file is unchanged.
    """
    csv_path = Path(csv_path)
    rows = read_image_csv(csv_path)
    for number, (_, _, idx) in enumerate(rows, start=1):
        if idx < 0 or (num_labels is not None and idx >= num_labels):
            top = "" if num_labels is None else f" 0..{num_labels - 1}"
            raise DataError(csv_path, f"label_idx {idx} is out of range{top}", row=number)
    cache = csv_path.with_suffix(f".{size}px.pt")
    key = _fingerprint(rows, size)
    if cache.exists():
        try:
            cached = torch.load(cache, weights_only=True)
            if cached.get("key") == key:
                return TensorDataset(cached["images"], cached["labels"])
        except Exception:  # noqa: BLE001 - a damaged cache is rebuilt, never trusted
            pass
    images = torch.stack(
        [decode(p, csv_path, n, size) for n, (p, _, _) in enumerate(rows, start=1)]
    )
    labels = torch.tensor([idx for _, _, idx in rows])
    try:
        write_atomic(
            cache, lambda f: torch.save({"key": key, "images": images, "labels": labels}, f)
        )
    except OSError:
        pass  # a read-only data folder: decode again next time
    return TensorDataset(images, labels)


def label_names_of(csv_path: Path) -> list[str]:
    """The label names by index, from a CSV whose label and label_idx columns agree: each
    label has one index, each index one label, and the indices are 0..K-1."""
    names: dict[int, str] = {}
    index_of: dict[str, int] = {}
    for number, (_, label, idx) in enumerate(read_image_csv(csv_path), start=1):
        if names.setdefault(idx, label) != label:
            raise DataError(
                csv_path,
                f"label_idx {idx} is {label!r} here but {names[idx]!r} earlier",
                row=number,
            )
        if index_of.setdefault(label, idx) != idx:
            raise DataError(
                csv_path,
                f"label {label!r} has label_idx {idx} here but {index_of[label]} earlier",
                row=number,
            )
    if sorted(names) != list(range(len(names))):
        raise DataError(csv_path, f"label indices {sorted(names)} are not 0..{len(names) - 1}")
    return [names[i] for i in range(len(names))]


def check_labels_match(csv_path: Path, names: list[str], train_csv: Path) -> None:
    """A validation or test CSV must label as the training CSV does (`names` by index)."""
    for number, (_, label, idx) in enumerate(read_image_csv(csv_path), start=1):
        if 0 <= idx < len(names) and names[idx] != label:
            raise DataError(
                csv_path,
                f"label {label!r} has label_idx {idx}, which is {names[idx]!r} in {train_csv}",
                row=number,
            )


# -- CIFAR formats ------------------------------------------------------------------------
def _check_labels(path: Path, labels: np.ndarray, num_classes: int) -> None:
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if len(bad):
        raise DataError(
            path,
            f"label {labels[bad[0]]} is out of range 0..{num_classes - 1}",
            row=int(bad[0]) + 1,
        )


COURSE_CIFAR3 = "cifar10_hst_{split}"  # the course's pickle names: cifar10_hst_train, ...


def course_cifar3(folder: Path, split: str) -> Path | None:
    """`<folder>/cifar10_hst_<split>` if the course's pickle is there, else None."""
    path = Path(folder) / COURSE_CIFAR3.format(split=split)
    return path if path.is_file() else None


def load_cifar3(path: Path, num_classes: int = 3) -> TensorDataset:
    """The course's CIFAR-3 pickle -> (uint8 images (N, 3, 32, 32), labels (N,)).

    `images` is N x 3072: the R, G and B planes of each 32x32 picture, in that order.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    try:
        with path.open("rb") as f:
            data = pickle.load(f, encoding="latin1")
        images = np.asarray(data["images"], dtype=np.uint8)
        labels = np.asarray(data["labels"]).reshape(-1).astype(np.int64)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is bad input
        raise DataError(path, f"not a CIFAR-3 pickle with 'images' and 'labels' ({exc})") from None
    if images.ndim != 2 or images.shape[1] != 3072 or len(labels) != len(images):
        raise DataError(
            path, f"expected images N x 3072 and N labels, got {images.shape} and {labels.shape}"
        )
    if not len(images):
        raise DataError(path, "no images: the split is empty")
    _check_labels(path, labels, num_classes)
    return TensorDataset(
        torch.from_numpy(images.reshape(-1, 3, 32, 32).copy()), torch.from_numpy(labels)
    )


def load_cifar10_batches(paths: list[Path], classes: tuple[int, ...]) -> TensorDataset:
    """Real CIFAR-10 python batches (`data_batch_1`, ..., `test_batch`: dicts with b"data"
    N x 3072 uint8 and b"labels"), keeping the given classes relabelled 0, 1, ... in order."""
    if len(set(classes)) != len(classes) or not all(0 <= c <= 9 for c in classes):
        raise UserError(f"--classes: need distinct CIFAR-10 classes in 0..9, got {list(classes)}")
    images, labels = [], []
    for path in map(Path, paths):
        if not path.exists():
            raise DataError(path, "file not found (expected a CIFAR-10 python batch)")
        try:
            with path.open("rb") as f:
                batch = pickle.load(f, encoding="bytes")
            data = np.asarray(batch[b"data"], dtype=np.uint8)
            y = np.asarray(batch[b"labels"], dtype=np.int64)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is bad input
            raise DataError(path, f"not a CIFAR-10 python batch ({exc})") from None
        if data.ndim != 2 or data.shape[1] != 3072 or len(y) != len(data):
            raise DataError(path, f"expected data N x 3072 and N labels, got {data.shape}")
        _check_labels(path, y, 10)
        keep = np.isin(y, classes)
        images.append(data[keep])
        labels.append(np.array([classes.index(v) for v in y[keep]], dtype=np.int64))
    x = np.concatenate(images).reshape(-1, 3, 32, 32)
    if not len(x):
        raise DataError(paths[0], f"no images of classes {list(classes)}: the split is empty")
    return TensorDataset(torch.from_numpy(x.copy()), torch.from_numpy(np.concatenate(labels)))
