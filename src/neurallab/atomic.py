"""Files written atomically: a crash mid-write leaves the old file or the new one, never half.

The content goes to a temporary file in the target's folder, is flushed to disk, and is renamed
over the target (a rename within one folder is atomic). Checkpoints, dataset caches and a run
folder's JSON files are all written this way.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def previous_path(path: Path) -> Path:
    """Where `write_atomic(path, ..., keep_previous=True)` keeps the file it replaced."""
    return path.with_name(path.stem + ".prev" + path.suffix)


def write_atomic(
    path: Path, write: Callable[[IO[bytes]], Any], keep_previous: bool = False
) -> None:
    """Call `write(f)` on a temporary binary file, then rename it to `path`.

    With `keep_previous` the file being replaced is kept as `previous_path(path)`. On any
    failure the temporary file is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if keep_previous and path.exists():
            os.replace(path, previous_path(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """`data` as indented JSON (anything else as its str), written atomically."""
    text = json.dumps(data, indent=2, default=str)
    write_atomic(path, lambda f: f.write(text.encode("utf-8")))
