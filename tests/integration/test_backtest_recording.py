"""A backtest on a `desk record` session: tick-level, through the paper desk; equity agrees with its own fills."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from desk.backtest.ticks import is_recording, run_recording_backtest
from desk.execution.fees import FeeSchedule


def _desk(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DESK_HOME"] = str(tmp_path / "h")
    return subprocess.run([sys.executable, "-m", "desk", *args], capture_output=True, text=True, env=env, timeout=120)


def test_market_maker_on_a_recorded_session(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    made = _desk(
        tmp_path,
        "record",
        "--venue",
        "sim",
        "--symbols",
        "SOL-USD",
        "--out",
        str(rec),
        "--duration",
        "12",
        "--seed",
        "3",
    )
    assert made.returncode == 0, made.stderr
    assert is_recording(rec)
    fees = FeeSchedule(Decimal(10), Decimal(10))  # the default settings' maker/taker bps, as the CLI uses
    result = run_recording_backtest("market_maker", rec, "SOL-USD", {"spread_bps": 2.0}, fees=fees, monte_carlo=0)
    assert result.mode == "ticks" and result.metrics["fills"] == len(result.fills) > 0
    # Independent check of the equity curve's last point: cash flows of the fills plus the open position at the
    # last mid, computed here from the fill records alone.
    inst = result.instrument
    k = float(inst.tick_size) * float(inst.lot_size)
    cash = result.starting_value - sum(f.side * f.lots * f.price * k + f.fee for f in result.fills)
    lots = sum(f.side * f.lots for f in result.fills)
    expected = cash + inst.size_float(lots) * float(result.close[-1])
    assert result.equity[-1] == pytest.approx(expected, rel=1e-9)

    cli = _desk(
        tmp_path,
        "backtest",
        "--strategy",
        "market_maker",
        "--data",
        str(rec),
        "--param",
        "spread_bps=2",
        "--json",
        "--mc-sims",
        "0",
    )
    assert cli.returncode == 0, cli.stderr
    doc = json.loads(cli.stdout)
    assert doc["mode"] == "ticks" and doc["metrics"]["fills"] == len(result.fills)
    assert doc["metrics"]["total_return"] == pytest.approx(result.final_return)
    wrong = _desk(tmp_path, "backtest", "--strategy", "market_maker", "--data", str(rec), "--symbol", "BTC-USD")
    assert wrong.returncode == 2 and "not in the recording" in wrong.stderr
