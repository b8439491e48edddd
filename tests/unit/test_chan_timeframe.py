"""`desk chan --data FILE --timeframe TF`: the file's bars resampled before the analysis.

The resampling is checked against two independent implementations: polars' ``group_by_dynamic`` on the raw file
and ``desk.backtest.data.resample_ohlcv`` on the tick grid.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from desk.backtest.data import load_ohlcv, resample_ohlcv
from desk.chan import ChanConfig, analyze
from desk.commands.chan import load_file, resample_bars
from desk.errors import UserError

NS = 1_000_000_000


def desk(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DESK_HOME"] = str(tmp_path / "home")
    return subprocess.run([sys.executable, "-m", "desk", *args], capture_output=True, text=True, env=env, timeout=120)


def walk(n: int, start_minute: int = 3) -> pl.DataFrame:
    """1-minute bars starting at 00:03, so the first 5-minute window is partial (00:00-00:05 holds two bars)."""
    rng = np.random.default_rng(5)
    close = np.round(100 + np.cumsum(rng.normal(size=n)), 2)
    opens = np.r_[close[0], close[:-1]]
    start = pl.datetime(2026, 1, 1) + pl.duration(minutes=start_minute)
    return pl.DataFrame(
        {
            "timestamp": pl.datetime_range(start, start + pl.duration(minutes=n - 1), "1m", eager=True),
            "open": opens,
            "high": np.round(np.maximum(opens, close) + rng.uniform(0, 0.5, n), 2),
            "low": np.round(np.minimum(opens, close) - rng.uniform(0, 0.5, n), 2),
            "close": close,
        }
    )


def test_resampling_matches_polars_and_the_backtest_loader(tmp_path: Path) -> None:
    df = walk(403)
    path = tmp_path / "bars.csv"
    df.write_csv(path)
    got = resample_bars(load_file(path), 300, path)

    want = (
        df.sort("timestamp")
        .group_by_dynamic("timestamp", every="5m")
        .agg(pl.col("open").first(), pl.col("high").max(), pl.col("low").min(), pl.col("close").last())
    )
    assert len(got) == want.height == 82  # 2 bars in the first window, 80 full windows, 1 bar in the last
    assert got.ts.tolist() == want["timestamp"].dt.epoch("ns").to_list()
    for col in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(got, col), want[col].to_numpy())

    grid = resample_ohlcv(load_ohlcv(path, symbol="X-USD", tick_size=Decimal("0.01")), 300)
    assert got.ts.tolist() == grid.ts_ns.tolist()
    np.testing.assert_allclose(got.high, grid.high * 0.01, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.close, grid.close * 0.01, rtol=0, atol=1e-9)


def test_integer_seconds_keep_their_unit(tmp_path: Path) -> None:
    path = tmp_path / "secs.csv"
    path.write_text(
        "ts,open,high,low,close\n"
        "1767225600,10,11,9,10.5\n"  # 00:00:00
        "1767225660,10.5,12,10,11\n"  # 00:01:00
        "1767225720,11,11.5,8,9\n"  # 00:02:00 (next 2-minute window)
        "1767225780,9,9.5,8.5,9.2\n"
    )
    got = resample_bars(load_file(path), 120, path)
    assert got.ts.tolist() == [1767225600, 1767225720]
    assert got.open.tolist() == [10, 11]
    assert got.high.tolist() == [12, 11.5]
    assert got.low.tolist() == [9, 8]
    assert got.close.tolist() == [11, 9.2]
    same = resample_bars(load_file(path), 60, path)  # the file's own spacing: unchanged
    assert same.ts.tolist() == [1767225600, 1767225660, 1767225720, 1767225780]


def test_bad_timeframes_and_unsorted_files(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    walk(30).write_csv(path)
    with pytest.raises(UserError, match=r"--timeframe 90s: expected a multiple of the file's 1m bars"):
        resample_bars(load_file(path), 90, path)
    unsorted = tmp_path / "u.csv"
    unsorted.write_text("ts,open,high,low,close\n120,1,2,1,1\n60,1,2,1,1\n")
    with pytest.raises(UserError, match=r"row 1 \(60\) is not after row 0 \(120\)"):
        resample_bars(load_file(unsorted), 300, unsorted)


def test_cli_resamples_then_analyses(tmp_path: Path) -> None:
    df = walk(600, start_minute=0)
    path = tmp_path / "bars.parquet"
    df.write_parquet(path)
    result = desk("chan", "--data", str(path), "--timeframe", "5m", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["bars"] == 120
    expected = analyze(resample_bars(load_file(path), 300, path), ChanConfig())
    assert [(p["start"]["index"], p["end"]["index"]) for p in doc["pens"]] == [
        (p.start.index, p.end.index) for p in expected.pens
    ]
    assert all(f["ts"] % (300 * NS) == 0 for f in doc["fractals"])

    bad = desk("chan", "--data", str(path), "--timeframe", "7s", tmp_path=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0
    assert "--timeframe 7s: expected a multiple of the file's 1m bars" in bad.stderr
