"""``desk halt`` / ``desk risk`` / ``desk resume`` reach a running headless desk over its owner-only socket."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DESK_HOME"] = str(tmp_path / "h")
    return env


def _desk(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desk", *args], capture_output=True, text=True, env=_env(tmp_path), timeout=30
    )


def _start_market_maker(tmp_path: Path) -> subprocess.Popen[str]:
    """A headless desk quoting BTC-USD far from the touch (two resting orders, rarely filled)."""
    args = ["run", "--headless", "--strategy", "market_maker", "--symbol", "BTC-USD", "--param", "spread_bps=40"]
    return subprocess.Popen(
        [sys.executable, "-m", "desk", *args, "--duration", "60", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )


def _wait_until_answering(tmp_path: Path, socket_path: Path) -> None:
    deadline = time.monotonic() + 30
    while not socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert socket_path.exists()
    while time.monotonic() < deadline and _desk(tmp_path, "status").returncode != 0:
        time.sleep(0.1)  # the socket file exists a moment before the desk answers on it


def test_halt_from_another_terminal(tmp_path: Path) -> None:
    socket_path = tmp_path / "h" / "data" / "control.sock"
    offline = _desk(tmp_path, "halt")
    assert offline.returncode == 1 and "no running desk" in offline.stderr
    run = _start_market_maker(tmp_path)
    try:
        _wait_until_answering(tmp_path, socket_path)
        mode = stat.S_IMODE(socket_path.stat().st_mode)
        assert mode == 0o600 and stat.S_IMODE(socket_path.parent.stat().st_mode) == 0o700
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until both quotes rest (event-driven, not a fixed sleep)
            status = _desk(tmp_path, "status", "--json")
            if status.returncode == 0 and json.loads(status.stdout)["open_orders"] == 2:
                break
            time.sleep(0.2)
        halted = _desk(tmp_path, "halt", "--json")
        assert halted.returncode == 0, halted.stderr
        answer = json.loads(halted.stdout)
        assert answer["action"] == "halt" and answer["cancelled"] == 2 and answer["stopped"] == 1
        risk = json.loads(_desk(tmp_path, "risk", "--json").stdout)
        assert risk["breaker"]["state"] == "halted" and risk["source"] == "running desk"
        assert any(limit["name"] == "gross exposure" for limit in risk["limits"])
        assert json.loads(_desk(tmp_path, "resume", "--yes", "--json").stdout)["changed"] is True
        assert json.loads(_desk(tmp_path, "risk", "--json").stdout)["breaker"]["state"] == "normal"
    finally:
        run.terminate()
        out, _ = run.communicate(timeout=30)
    lines = [json.loads(x) for x in out.splitlines()]
    assert any(x["type"] == "strategy" and x["state"] == "stopped" and "kill switch" in x["reason"] for x in lines)
    assert lines[-1]["type"] == "summary"
    assert not socket_path.exists()  # removed on a clean exit
    offline_risk = json.loads(_desk(tmp_path, "risk", "--json").stdout)
    assert offline_risk["source"].startswith("configuration") and offline_risk["breaker"]["state"] == "normal"


def test_strategy_and_order_commands_reach_the_running_desk(tmp_path: Path) -> None:
    socket_path = tmp_path / "h" / "data" / "control.sock"
    run = _start_market_maker(tmp_path)
    try:
        _wait_until_answering(tmp_path, socket_path)
        added = _desk(
            tmp_path, "strategy", "add", "mean_reversion", "ETH-USD", "--param", "lookback_period=30", "--json"
        )
        assert added.returncode == 0, added.stderr
        keys = {s["key"]: s for s in json.loads(added.stdout)["strategies"]}
        assert keys["mean_reversion:ETH-USD"]["state"] == "stopped"
        assert keys["mean_reversion:ETH-USD"]["params"]["lookback_period"] == 30
        bad = _desk(tmp_path, "strategy", "params", "mean_reversion:ETH-USD", "--param", "entry_std_dev=abc")
        assert bad.returncode == 2 and "expected a number in [0.1, 10]" in bad.stderr
        started = json.loads(_desk(tmp_path, "strategy", "start", "mean_reversion:ETH-USD", "--json").stdout)
        assert {s["key"]: s["state"] for s in started["strategies"]}["mean_reversion:ETH-USD"] == "running"
        filled = json.loads(_desk(tmp_path, "order", "buy", "ETH-USD", "0.5", "--yes", "--json").stdout)
        assert filled["status"] == "filled" and filled["filled"] == "0.5000"
        off_grid = _desk(tmp_path, "order", "buy", "ETH-USD", "0.00001", "--yes")
        assert off_grid.returncode == 2 and "not a multiple of lot size" in off_grid.stderr
        status = json.loads(_desk(tmp_path, "status", "--json").stdout)
        assert status["positions"]["ETH-USD"] == "0.5000" and status["breaker"] == "normal"
    finally:
        run.terminate()
        run.communicate(timeout=30)
