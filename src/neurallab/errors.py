"""User-facing errors.

Anything the user can fix (a bad flag, a missing file, a malformed CSV row) is raised as a
`UserError`; the CLI prints its message on one line and exits non-zero, never a traceback.
Messages name the file and row, or the flag, that is wrong.
"""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """A problem with the user's input, reported as one line."""


class DataError(UserError):
    """Bad data: names the file and, where it applies, the row (1-based, header excluded)."""

    def __init__(self, path: str | Path, message: str, row: int | None = None) -> None:
        where = f"{path}" if row is None else f"{path}, row {row}"
        super().__init__(f"{where}: {message}")
        self.path = Path(path)
        self.row = row
