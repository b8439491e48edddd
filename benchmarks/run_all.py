"""Run every benchmarks/bench_*.py as its own process (fresh interpreter, no cross-talk) and print its figures."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    only = set(sys.argv[1:])
    failed = []
    for script in sorted(here.glob("bench_*.py")):
        if only and script.stem not in only and script.stem.removeprefix("bench_") not in only:
            continue
        print(f"\n=== {script.stem} ===", flush=True)
        start = time.perf_counter()
        result = subprocess.run([sys.executable, str(script)], check=False)
        print(f"--- {script.stem}: exit {result.returncode} in {time.perf_counter() - start:.1f} s", flush=True)
        if result.returncode:
            failed.append(script.stem)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
