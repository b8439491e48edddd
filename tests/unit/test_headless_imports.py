"""Headless commands never import Textual, and `desk --help` stays free of heavy libraries.

Each check runs in a fresh interpreter: ``sys.modules`` of the test process is polluted by every other test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from desk import __version__

HEAVY = ("textual", "numpy", "polars", "httpx", "websockets", "scipy")


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DESK_HOME"] = str(tmp_path / "home")
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )


def test_book_json_in_process_does_not_import_textual(tmp_path: Path) -> None:
    code = """
import json, sys
import desk.cli as cli
cli._register()  # every command module in COMMAND_MODULES
sys.argv = ["desk", "book", "BTC-USD", "--json"]
try:
    cli.main()
except SystemExit as exc:
    assert not exc.code, exc.code
loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith(("textual.", "desk.ui")))
print(json.dumps({"loaded": loaded}))
"""
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    book_line, report_line = result.stdout.strip().splitlines()
    assert json.loads(book_line)["symbol"] == "BTC-USD"
    assert json.loads(report_line) == {"loaded": []}


def test_help_imports_no_heavy_library(tmp_path: Path) -> None:
    code = f"""
import json, sys
import desk.cli as cli
sys.argv = ["desk", "--help"]
try:
    cli.main()
except SystemExit:
    pass
heavy = {HEAVY!r}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Commands" in result.stdout
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_python_m_desk_version(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DESK_HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [sys.executable, "-m", "desk", "--version"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"desk {__version__}\n"
    assert result.stderr == ""
