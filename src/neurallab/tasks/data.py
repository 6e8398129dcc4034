"""`neurallab data prepare [NAME|all]` and `neurallab data list`."""

from __future__ import annotations

import argparse

from neurallab.commands import choose
from neurallab.data import registry

COMMAND = "data"
HELP = "prepare the default datasets into the cache, or list what is ready"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="<action>")
    prep = sub.add_parser("prepare", help="build datasets into the cache (idempotent)")
    prep.add_argument("name", nargs="?", default="all", help="dataset name, or 'all'")
    prep.add_argument("--force", action="store_true", help="rebuild even if ready")
    prep.add_argument("--verify", action="store_true", help="re-check SHA-256 of ready datasets")
    sub.add_parser("list", help="show each dataset, whether it is ready, and where")


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _list()
    known = registry.all_datasets()
    # Unknown names fail before anything is built; any case names a dataset (`BBC` is `bbc`).
    names = list(known) if args.name.lower() == "all" else [choose(args.name, known, "dataset")]
    for name in names:
        folder = registry.prepare(name, force=args.force, check_hashes=args.verify)
        print(f"{name}: ready at {folder}")
    return 0


def _list() -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"datasets in {registry.cache_dir()}")
    for column in ("name", "status", "files", "MB", "description"):
        table.add_column(column)
    for name, ds in registry.all_datasets().items():
        problem = registry.verify(name)
        files, size = "", ""
        if problem is None:
            import json

            manifest = json.loads((registry.cache_dir() / name / registry.MANIFEST).read_text())
            files = str(len(manifest["files"]))
            size = f"{sum(f['bytes'] for f in manifest['files'].values()) / 1e6:.1f}"
        table.add_row(name, "ready" if problem is None else problem, files, size, ds.description)
    Console().print(table)
    return 0
