"""trackio backend (the default): local SQLite, no account, no network."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def default_trackio_dir() -> Path:
    """Where trackio keeps its data: `$TRACKIO_DIR` (made absolute), else trackio's own default
    (`$HF_HOME/trackio`, i.e. `~/.cache/huggingface/trackio`).

    Never a folder relative to where a command is run: trackio prints the hint
    `trackio show --project "..."` after every run, and that hint must find the runs from any
    folder; so must `neurallab dashboard`.
    """
    if os.environ.get("TRACKIO_DIR"):
        return Path(os.environ["TRACKIO_DIR"]).expanduser().resolve()
    from huggingface_hub.constants import HF_HOME  # what trackio itself uses

    return Path(HF_HOME).expanduser().resolve() / "trackio"


def use_trackio_dir() -> Path:
    """Fix the store for this process (trackio reads `$TRACKIO_DIR` once, at import) and for
    the processes it starts; returns it."""
    folder = default_trackio_dir()
    os.environ["TRACKIO_DIR"] = str(folder)
    return folder


def projects() -> list[str]:
    """The projects in the trackio store, without importing trackio (a `<project>.db` each)."""
    return sorted(p.stem for p in default_trackio_dir().glob("*.db"))


def show_dashboard(project: str, port: int) -> None:
    """Serve trackio's dashboard of `project` on localhost from `port`; blocks until stopped."""
    # Both must be set before trackio is imported: it reads them once.
    use_trackio_dir()
    os.environ["GRADIO_SERVER_PORT"] = str(port)
    import trackio

    print(f"trackio data: {os.environ['TRACKIO_DIR']}")
    trackio.show(project=project, open_browser=False, block_thread=True)


class TrackioTracker:
    def __init__(self, project: str, run_name: str, config: dict, resume: bool) -> None:
        # trackio reads TRACKIO_DIR once, at import: it must be set before the first import.
        use_trackio_dir()
        import trackio

        self._trackio = trackio
        self._run = trackio.init(
            project=project,
            name=run_name,
            config=config,
            resume="allow" if resume else "never",
            auto_log_cpu=False,
            auto_log_gpu=False,
        )

    def log(self, metrics: dict[str, float], step: int) -> None:
        self._run.log(metrics, step=step)

    def log_images(
        self, key: str, images: list[np.ndarray], captions: list[str] | None, step: int
    ) -> None:
        # trackio skips a list of images under one key, so each image gets its own key.
        captions = captions or [None] * len(images)
        media = {
            f"{key}/{i}": self._trackio.Image(img, caption=cap)
            for i, (img, cap) in enumerate(zip(images, captions, strict=True))
        }
        self._run.log(media, step=step)

    def finish(self) -> None:
        self._run.finish()
        # trackio finishes its "current run" again at interpreter exit, printing its message a
        # second time outside the run's log; this run is finished, so it is current no more.
        if self._trackio.context_vars.current_run.get() is self._run:
            self._trackio.context_vars.current_run.set(None)
