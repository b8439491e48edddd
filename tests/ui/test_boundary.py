"""Headless paths never import Textual: ``desk --help`` and the TUI launcher module stay light until the TUI
actually opens (ARCHITECTURE.md: the core never imports Textual)."""

from __future__ import annotations

import subprocess
import sys


def _imports_textual(code: str) -> bool:
    probe = f"{code}\nimport sys\nprint('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1] == "True"


def test_cli_and_tui_launcher_do_not_import_textual() -> None:
    assert not _imports_textual("import desk.cli, desk.commands.tui, desk.ui.model, desk.ui.sources")


def test_the_app_module_does_import_textual() -> None:
    # The probe itself must be able to fail: the UI package proper does pull Textual in.
    assert _imports_textual("import desk.ui.app")


def test_bare_desk_with_a_symbol_the_simulator_lacks_is_one_line_exit_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "desk.toml"
    config.write_text('[market]\nsymbols = ["XRP-USD"]\n')
    env = {"DESK_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "desk", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "'XRP-USD'" in lines[0] and "BTC-USD" in lines[0]
