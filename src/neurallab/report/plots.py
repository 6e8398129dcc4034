"""matplotlib (Agg) figures used across tasks: curves, run comparisons, image grids, histograms.

Every function returns a Figure; `Run.save_figure` writes it as a PNG and mirrors it to the
tracker. Titles, axis labels and legends are always set: a plot must read on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from neurallab.data.transforms import to_uint8_image

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Series = tuple[Sequence[float], Sequence[float]]  # (x values, y values)


def _subplots(*args: Any, **kwargs: Any) -> tuple[Figure, Any]:
    """`plt.subplots` on the Agg backend. matplotlib is imported here, on the first plot, not
    with this module: the commands that import this module would otherwise pay for it on every
    start, `--help` included."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def line_plot(
    series: dict[str, Series],
    title: str,
    xlabel: str,
    ylabel: str,
    logy: bool = False,
    marker_x: float | None = None,
    marker_label: str | None = None,
) -> Figure:
    """Several named lines on one axis, e.g. train vs validation loss, or several runs."""
    fig, ax = _subplots(figsize=(6.4, 4.2))
    for label, (xs, ys) in series.items():
        style = "o-" if len(xs) <= 30 else "-"
        ax.plot(xs, ys, style, label=label, markersize=3, linewidth=1.4)
    if marker_x is not None:
        ax.axvline(
            marker_x,
            color="grey",
            linestyle="--",
            linewidth=1,
            label=marker_label or f"x = {marker_x:g}",
        )
    if logy:
        ax.set_yscale("log")
    if all(float(x).is_integer() for xs, _ in series.values() for x in xs):
        # Epochs, lengths, sizes: no ticks between whole numbers (an "epoch 1.5" means nothing).
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def panels(plots: dict[str, dict[str, Series]], title: str, xlabel: str) -> Figure:
    """Side-by-side panels (e.g. loss and accuracy), each with its own legend."""
    fig, axes = _subplots(1, len(plots), figsize=(5.2 * len(plots), 4))
    for ax, (ylabel, series) in zip(np.atleast_1d(axes), plots.items(), strict=True):
        for label, (xs, ys) in series.items():
            ax.plot(xs, ys, "o-" if len(xs) <= 30 else "-", label=label, markersize=3)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def image_grid(
    images: Sequence, captions: Sequence[str] | None, title: str, cols: int = 8
) -> Figure:
    """Images (CHW/HWC/HW, float in [0, 1] or uint8) in a grid, each with its caption."""
    rows = max(1, -(-len(images) // cols))
    fig, axes = _subplots(rows, cols, figsize=(1.6 * cols, 1.8 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            img = to_uint8_image(images[i])
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255)
            if captions:
                ax.set_title(captions[i], fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def histogram(values: Sequence[float], title: str, xlabel: str, bins: int = 50) -> Figure:
    fig, ax = _subplots(figsize=(6.4, 4))
    ax.hist(values, bins=bins, color="tab:blue", alpha=0.8)
    values = np.asarray(values)
    ax.axvline(np.median(values), color="k", linestyle="--", label=f"median {np.median(values):g}")
    ax.set(title=title, xlabel=xlabel, ylabel="count")
    ax.legend()
    fig.tight_layout()
    return fig


def scatter_by_class(points: np.ndarray, labels: np.ndarray, title: str) -> Figure:
    """2-D points coloured by integer class, with a legend of classes."""
    fig, ax = _subplots(figsize=(6, 5.5))
    for c in np.unique(labels):
        sel = labels == c
        ax.scatter(points[sel, 0], points[sel, 1], s=3, alpha=0.6, label=str(c))
    ax.set(title=title, xlabel="z1", ylabel="z2")
    ax.legend(markerscale=4, title="digit", fontsize=8)
    fig.tight_layout()
    return fig


def learning_curves(
    history: Sequence[dict], title: str, splits: Sequence[str] = ("train", "val", "test")
) -> Figure:
    """Loss (and accuracy, where logged) per evaluation from `FitResult.history`.

    The training curve is a full evaluation of the training set when the task made one
    (`train/loss`), else the mean over the batches since the previous evaluation
    (`train/avg_*`); the other splits are full evaluations.
    """
    xs = [h["samples"] for h in history]
    plots: dict[str, dict[str, Series]] = {}
    for metric in ("loss", "acc"):
        series = {}
        for split in splits:
            key = f"{split}/{metric}"
            label = split
            if split == "train" and not any(key in h for h in history):
                key, label = f"train/avg_{metric}", "train (running mean)"
            pairs = [(x, h[key]) for x, h in zip(xs, history, strict=True) if key in h]
            if pairs:
                series[label] = ([p[0] for p in pairs], [p[1] for p in pairs])
        if series:
            plots["accuracy" if metric == "acc" else "loss"] = series
    return panels(plots, title, xlabel="training examples seen")


def dot_plot(
    groups: dict[str, dict[str, Sequence[float]]],
    title: str,
    ylabel: str,
    intervals: dict[str, dict[str, tuple[float, float]]] | None = None,
) -> Figure:
    """Repeated measurements by category: one column per category, one colour per series.

    `groups[series][category]` holds the values (e.g. one per seed), each drawn as a dot with the
    mean as a short bar; `intervals[series][category]` (e.g. a 95% CI) is drawn as a line.
    """
    categories = list(dict.fromkeys(c for values in groups.values() for c in values))
    width = 0.7 / max(1, len(groups))
    fig, ax = _subplots(figsize=(max(6.4, 1.3 * len(categories)), 4.2))
    for i, (series, values) in enumerate(groups.items()):
        colour, label = f"C{i}", series  # the series is named once, at its first column
        for j, category in enumerate(categories):
            if category not in values:
                continue
            x = j + (i - (len(groups) - 1) / 2) * width
            ys = np.asarray(values[category], dtype=float)
            ax.scatter(
                np.full(len(ys), x),
                ys,
                s=16,
                color=colour,
                alpha=0.7,
                zorder=3,
                label=label,
            )
            label = None
            ax.hlines(ys.mean(), x - width / 3, x + width / 3, color=colour, linewidth=2)
            if intervals and category in intervals.get(series, {}):
                low, high = intervals[series][category]
                ax.vlines(x, low, high, color=colour, linewidth=1)
    ax.set_xticks(range(len(categories)), categories)
    ax.set(title=title, ylabel=ylabel)
    ax.grid(alpha=0.3, axis="y")
    ax.legend()
    fig.tight_layout()
    return fig
