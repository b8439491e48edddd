"""Start-up time of the `desk` command (target: `desk --help` < 0.3 s).

Wall time of fresh processes, median of several runs, next to two references measured in the same run: a bare
interpreter (`python -c pass`, the floor nothing can beat) and `import typer` (the floor of any typer CLI). The
gap between `import typer` and `desk --help` is what desk's own import chain costs (commands that take options
also pay typer's pydantic import, shown as a third reference); the slowest imports of that
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


def interleaved(cases: list[tuple[str, list[str], dict[str, str]]], cwd: str) -> dict[str, list[float]]:
    """Run the cases round-robin, so load from other processes on the machine falls on all of them alike."""
    for _, cmd, env in cases:
        wall(cmd, env, cwd)  # warm the OS file cache and the bytecode cache
    times: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    for _ in range(RUNS):
        for label, cmd, env in cases:
            times[label].append(wall(cmd, env, cwd))
    return times


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
        cases: list[tuple[str, list[str], dict[str, str]]] = [
            ("reference: python -c pass", [py, "-c", "pass"], env),
            ("reference: python -c 'import typer'", [py, "-c", "import typer"], env),
            # typer 0.29 coerces option values with pydantic: every command with options pays this import.
            ("reference: python -c 'import typer, pydantic'", [py, "-c", "import typer, pydantic"], env),
            ("python -m desk --help", [py, "-m", "desk", "--help"], env),
            ("python -m desk --version", [py, "-m", "desk", "--version"], env),
            ("python -m desk config check", [py, "-m", "desk", "config", "check"], env),
            ("python -m desk book BTC-USD --json", [py, "-m", "desk", "book", "BTC-USD", "--json"], env),
            ("python -m desk --help, no .pyc cache", [py, "-m", "desk", "--help"], no_bytecode),
        ]
        script = Path(py).parent / "desk"
        script_path = str(script) if script.exists() else shutil.which("desk")
        if script_path:
            cases.insert(3, ("desk --help (console script)", [script_path, "--help"], env))
        print(f"start-up wall time, median (min) of {RUNS} interleaved runs, {os.cpu_count()} CPUs, ", end="")
        print(f"load {os.getloadavg()[0]:.2f}")
        results: dict[str, float] = {}
        for label, times in interleaved(cases, home).items():
            results[label] = statistics.median(times)
            print(f"  {label:<40} {results[label] * 1000:7.1f} ms  ({min(times) * 1000:.1f} ms)")
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
