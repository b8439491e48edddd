"""``desk run``, ``desk strategies`` and the journal commands through the real CLI entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def desk(*args: str, tmp_path: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DESK_HOME"] = str(tmp_path / "home")
    return subprocess.run(
        [sys.executable, "-m", "desk", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_strategies_json_lists_params(tmp_path: Path) -> None:
    result = desk("strategies", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    params = {p["name"]: p for p in rows["mean_reversion"]["params"]}
    assert params["lookback_period"] == {
        "name": "lookback_period",
        "type": "int",
        "default": 20,
        "min": 2,
        "max": 10_000,
        "doc": "Closes in the rolling mean and std.",
    }
    assert [params[k]["default"] for k in ("entry_std_dev", "exit_std_dev", "stop_loss_pct")] == [2.0, 0.5, 0.02]
    assert [params[k]["default"] for k in ("risk_per_trade_pct", "max_position_size")] == [0.01, 0.1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "nope", "--symbol", "BTC-USD"], "unknown strategy 'nope'"),
        (["--strategy", "mean_reversion", "--symbol", "XRP-USD"], "unknown symbol 'XRP-USD'"),
        (["--strategy", "mean_reversion", "--symbol", "BTC-USD", "--param", "entry_std_dev=abc"], "expected a number"),
        (["--strategy", "mean_reversion", "--symbol", "BTC-USD", "--param", "bogus=1"], "unknown parameter 'bogus'"),
    ],
)
def test_run_bad_input_is_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = desk("run", "--headless", *args, "--journal", str(tmp_path / "j.db"), "--duration", "1", tmp_path=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_run_then_query_the_journal(tmp_path: Path) -> None:
    journal = str(tmp_path / "j.db")
    run = desk(
        "run",
        "--headless",
        "--strategy",
        "market_maker",
        "--symbol",
        "SOL-USD",
        "--param",
        "spread_bps=2",
        "--speed",
        "20",
        "--duration",
        "4",
        "--json",
        "--journal",
        journal,
        tmp_path=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(x) for x in run.stdout.splitlines()]
    assert lines[0]["type"] == "start" and lines[-1]["type"] == "summary"
    fills = json.loads(desk("fills", "--json", "--journal", journal, tmp_path=tmp_path).stdout)
    assert fills and {"symbol", "side", "quantity", "price", "fee", "ts", "order_id", "strategy"} <= set(fills[0])
    assert fills[0]["side"] in ("buy", "sell") and "." in fills[0]["price"]
    positions = json.loads(desk("positions", "--json", "--journal", journal, tmp_path=tmp_path).stdout)
    assert {"symbol", "quantity", "avg_price", "realized_pnl", "unrealized_pnl"} <= set(positions[0])
    orders = json.loads(desk("orders", "--json", "--journal", journal, tmp_path=tmp_path).stdout)
    assert orders and all(
        o["status"] in {"filled", "cancelled", "rejected", "expired", "accepted", "partially_filled"} for o in orders
    )
    export = desk(
        "journal",
        "export",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "x"),
        "--json",
        "--journal",
        journal,
        tmp_path=tmp_path,
    )
    assert export.returncode == 0, export.stderr
    written = json.loads(export.stdout)
    assert any(p.endswith("fills.csv") for p in written)
    assert (tmp_path / "x" / "fills.csv").read_text().count("\n") == len(fills) + 1
    missing = desk("fills", "--journal", str(tmp_path / "none.db"), tmp_path=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
