"""Run the registered benchmarks and print baseline-vs-ours ratios measured in one run.

    python benchmarks/run.py                 # everything
    python benchmarks/run.py engine rnn_lm   # only bench_engine.py and bench_rnn_lm.py
    python benchmarks/run.py --repeats 9

Each `benchmarks/bench_<area>.py` defines `BENCHMARKS: list[Benchmark]` (see harness.py).
Speed claims are checked here, never by timed unit tests: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import format_table, run_benchmark  # noqa: E402


def load_area(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("areas", nargs="*", help="bench_<area>.py files to run (default: all)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per side")
    args = parser.parse_args(argv)
    files = sorted(HERE.glob("bench_*.py"))
    if args.areas:
        files = [f for f in files if f.stem.removeprefix("bench_") in args.areas]
        if not files:
            parser.error(f"no benchmarks match {args.areas}")
    results = []
    for path in files:
        for bench in load_area(path).BENCHMARKS:
            print(f"running {bench.name} ...", file=sys.stderr, flush=True)
            results.append(run_benchmark(bench, args.repeats))
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
