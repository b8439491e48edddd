"""Start-up time of the `desk` command (target: `desk --help` < 0.3 s).

Wall time of fresh processes, median of several runs, next to two references measured in the same run: a bare
interpreter (`python -c pass`, the floor nothing can beat) and `import typer` (the floor of any typer CLI). The
gap between `import typer` and `desk --help` is what desk's own import chain costs; the slowest imports of that
chain are listed from `python -X importtime` so a regression points at its cause.

Bytecode: an installed desk has .pyc files, but a checkout run with PYTHONDONTWRITEBYTECODE=1 (as in this
project's dev environment) compiles desk's modules from source on every start. The main figures use a
bytecode cache in a temporary PYTHONPYCACHEPREFIX (the installed case); one extra line shows `--help` without it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 9
TARGET_S = 0.3


def wall(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.decode().strip()}")
    return elapsed


def median_wall(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    wall(cmd, env, cwd)  # warm the OS file cache and .pyc files
    times = [wall(cmd, env, cwd) for _ in range(RUNS)]
    return statistics.median(times), min(times)


def slowest_imports(env: dict[str, str], cwd: str, top: int = 8) -> list[tuple[float, str]]:
    """Top-level-ish modules by cumulative import time (microseconds in the log, reported in ms)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "desk", "--help"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    rows: list[tuple[float, str]] = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 1:
            rows.append((int(cumulative) / 1000, name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    with tempfile.TemporaryDirectory() as home:
        base = {k: v for k, v in os.environ.items() if not k.startswith("DESK_") and k != "PYTHONDONTWRITEBYTECODE"}
        base["DESK_HOME"] = home
        env = base | {"PYTHONPYCACHEPREFIX": str(Path(home) / "pycache")}
        no_bytecode = base | {"PYTHONDONTWRITEBYTECODE": "1"}
        py = sys.executable
        cases: list[tuple[str, list[str]]] = [
            ("reference: python -c pass", [py, "-c", "pass"]),
            ("reference: python -c 'import typer'", [py, "-c", "import typer"]),
            ("python -m desk --help", [py, "-m", "desk", "--help"]),
            ("python -m desk --version", [py, "-m", "desk", "--version"]),
            ("python -m desk config check", [py, "-m", "desk", "config", "check"]),
            ("python -m desk book BTC-USD --json", [py, "-m", "desk", "book", "BTC-USD", "--json"]),
        ]
        script = Path(py).parent / "desk"
        script_path = str(script) if script.exists() else shutil.which("desk")
        if script_path:
            cases.insert(3, ("desk --help (console script)", [script_path, "--help"]))
        print(f"start-up wall time, median (min) of {RUNS} runs, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
        results: dict[str, float] = {}
        for label, cmd in cases:
            med, low = median_wall(cmd, env, home)
            results[label] = med
            print(f"  {label:<40} {med * 1000:7.1f} ms  ({low * 1000:.1f} ms)")
        med, low = median_wall([py, "-m", "desk", "--help"], no_bytecode, home)
        print(f"  {'python -m desk --help, no .pyc cache':<40} {med * 1000:7.1f} ms  ({low * 1000:.1f} ms)")
        help_s = results["python -m desk --help"]
        typer_s = results["reference: python -c 'import typer'"]
        verdict = "OK" if help_s < TARGET_S else "OVER TARGET"
        print(f"desk --help: {help_s * 1000:.1f} ms vs target {TARGET_S * 1000:.0f} ms: {verdict}")
        print(f"desk's own share above `import typer`: {(help_s - typer_s) * 1000:.1f} ms")
        print("slowest imports of `desk --help` (cumulative ms, python -X importtime, one run):")
        for ms, name in slowest_imports(env, home):
            print(f"  {ms:7.1f}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
