"""``desk data sim``, ``desk backtest`` (incl. --parity) and ``desk sweep`` through the real CLI entry point."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest


def desk(*args: str, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DESK_HOME"] = str(tmp_path / "home")
    env["COLUMNS"] = "100"
    return subprocess.run(
        [sys.executable, "-m", "desk", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.fixture(scope="module")
def bars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bars")
    result = desk("data", "sim", "--bars", "1500", "--out", str(tmp / "btc.parquet"), "--seed", "5", tmp_path=tmp)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp / "btc.parquet")
    return tmp / "btc.parquet"


def test_backtest_json_and_exports(bars: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = desk(
        "backtest", "--strategy", "ma_crossover", "--data", str(bars), "--param", "fast=5", "--param", "slow=20",
        "--param", "position_size=1", "--fees-bps", "2", "--slippage-bps", "1", "--json", "--out", str(out),
        "--format", "both", "--mc-sims", "300", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["strategy"] == "ma_crossover" and doc["symbol"] == "BTC-USD" and doc["bars"] == 1500
    assert doc["params"] == {"fast": 5, "slow": 20, "position_size": 1.0, "allow_short": False}
    metrics = doc["metrics"]
    for key in ("total_return", "cagr", "sharpe", "sortino", "calmar", "max_drawdown", "trades", "win_rate"):
        assert key in metrics
    assert metrics["total_return"] == pytest.approx(doc["final_equity"] / doc["starting_value"] - 1, rel=1e-12)
    assert metrics["trades"] > 5 and metrics["total_fees"] > 0
    assert doc["monte_carlo"]["n_sims"] == 300 and doc["monte_carlo"]["n_trades"] == metrics["trades"]
    assert pl.read_csv(out / "trades.csv").height == metrics["trades"]
    assert pl.read_parquet(out / "fills.parquet").height == doc["fills"]
    assert pl.read_parquet(out / "equity.parquet").height == 1500


def test_backtest_human_report(bars: Path, tmp_path: Path) -> None:
    result = desk(
        "backtest", "--strategy", "ma_crossover", "--data", str(bars), "--param", "fast=8", "--param", "slow=30",
        "--resample", "5m", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for text in ("ma_crossover on BTC-USD 5m, 300 bars", "Total return", "Sharpe", "Equity", "Drawdown depth"):
        assert text in result.stdout
    assert any(ch in result.stdout for ch in "▁▂▃▄▅▆▇█")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "ma_crossover"], "expected exactly one of --data FILE or --download"),
        (["--strategy", "nope", "--data", "{bars}"], "unknown strategy 'nope'"),
        (["--strategy", "ma_crossover", "--data", "{bars}", "--param", "bogus=1"], "unknown parameter 'bogus'"),
        (["--strategy", "ma_crossover", "--data", "{bars}", "--mode", "fast"], "--mode 'fast'"),
        (["--strategy", "ma_crossover", "--data", "missing.csv"], "no such file"),
        (["--strategy", "mean_reversion", "--data", "{bars}", "--mode", "vectorised"], "no vectorised signals"),
        (["--parity", "nowhere"], "session.json"),
    ],
)
def test_backtest_bad_input_is_one_line_exit_2(bars: Path, tmp_path: Path, args: list[str], message: str) -> None:
    result = desk("backtest", *[a.replace("{bars}", str(bars)) for a in args], tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_sweep_json_is_ranked(bars: Path, tmp_path: Path) -> None:
    result = desk(
        "sweep", "--strategy", "ma_crossover", "--data", str(bars), "--grid", "fast=4:12:4", "--grid", "slow=20,40",
        "--metric", "total_return", "--workers", "2", "--json", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 6
    values = [r["metrics"]["total_return"] for r in rows]
    assert values == sorted(values, reverse=True)
    assert {(r["params"]["fast"], r["params"]["slow"]) for r in rows} == {(f, s) for f in (4, 8, 12) for s in (20, 40)}
    bad = desk("sweep", "--strategy", "ma_crossover", "--data", str(bars), "--grid", "fast=1:3:1", "--metric", "x",
               tmp_path=tmp_path)  # fmt: skip
    assert bad.returncode == 2 and "--metric 'x'" in bad.stderr


def test_sweep_on_a_dask_scheduler_over_tcp(bars: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    args = {"n_workers": 1, "threads_per_worker": 2, "processes": False, "protocol": "tcp", "dashboard_address": None}
    with distributed.LocalCluster(**args) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        result = desk(
            "sweep", "--strategy", "ma_crossover", "--data", str(bars), "--grid", "fast=4,8", "--grid", "slow=20",
            "--scheduler", address, "--json", tmp_path=tmp_path,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    local = desk(
        "sweep", "--strategy", "ma_crossover", "--data", str(bars), "--grid", "fast=4,8", "--grid", "slow=20",
        "--workers", "1", "--json", tmp_path=tmp_path,
    )  # fmt: skip
    assert json.loads(result.stdout) == json.loads(local.stdout)


def test_parity_replays_a_recorded_paper_session(tmp_path: Path) -> None:
    session = tmp_path / "session"
    run = desk(
        "run", "--headless", "--strategy", "market_maker", "--symbol", "SOL-USD", "--param", "spread_bps=2",
        "--param", "quote_size=300", "--param", "refresh_interval=0.5", "--duration", "3", "--speed", "20",
        "--seed", "4", "--record", str(session), "--json", tmp_path=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (session / "journal.db").exists() and (session / "session.json").exists()
    fills = [json.loads(line) for line in run.stdout.splitlines() if '"type": "fill"' in line]
    assert len(fills) >= 5
    parity = desk("backtest", "--parity", str(session), "--json", tmp_path=tmp_path)
    assert parity.returncode == 0, parity.stderr
    doc = json.loads(parity.stdout)
    assert doc["parity"] is True
    assert doc["journal_fills"] == doc["replay_fills"] == doc["matched"] == len(fills)
    assert doc["mismatched"] == 0 and doc["max_price_diff"] == 0.0

    # Tamper with one journaled fill: the diff must name it with its price difference.
    con = sqlite3.connect(session / "journal.db")
    seq, price = con.execute("SELECT seq, price FROM fills ORDER BY seq LIMIT 1 OFFSET 2").fetchone()
    con.execute("UPDATE fills SET price = ? WHERE seq = ?", (f"{float(price) + 0.5:.3f}", seq))
    con.commit()
    con.close()
    tampered = desk("backtest", "--parity", str(session), "--json", tmp_path=tmp_path)
    assert tampered.returncode == 0, tampered.stderr  # the comparison ran; the verdict is in the report
    again = json.loads(tampered.stdout)
    assert again["parity"] is False and again["mismatched"] == 1 and again["matched"] == len(fills) - 1
    assert again["mismatches"][0]["index"] == 2
    assert again["mismatches"][0]["price_diff"] == pytest.approx(-0.5)
    assert again["mismatches"][0]["time_diff_ms"] == 0.0
