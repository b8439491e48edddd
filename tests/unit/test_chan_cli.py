"""`desk chan`: the JSON shape of references/cli.md, file input and one-line errors with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from desk.chan import ChanConfig, analyze
from desk.commands.chan import load_file, parse_timeframe, sim_bars
from desk.errors import UserError


def desk(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DESK_HOME"] = str(tmp_path / "home")
    return subprocess.run([sys.executable, "-m", "desk", *args], capture_output=True, text=True, env=env, timeout=120)


def write_walk(path: Path, n: int = 400) -> pl.DataFrame:
    rng = np.random.default_rng(11)
    close = np.round(100 + np.cumsum(rng.normal(size=n)), 2)
    opens = np.r_[close[0], close[:-1]]
    high = np.round(np.maximum(opens, close) + rng.uniform(0, 0.5, n), 2)
    low = np.round(np.minimum(opens, close) - rng.uniform(0, 0.5, n), 2)
    df = pl.DataFrame(
        {
            "timestamp": pl.datetime_range(
                pl.datetime(2026, 1, 1), pl.datetime(2026, 1, 1) + pl.duration(minutes=n - 1), "1m", eager=True
            ),
            "open": opens,
            "high": high,
            "low": low,
            "close": close,
            "volume": np.ones(n),
        }
    )
    if path.suffix == ".csv":
        df.write_csv(path)
    else:
        df.write_parquet(path)
    return df


def test_json_document_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    df = write_walk(path)
    result = desk("chan", "--data", str(path), "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {"fractals", "pens", "segments", "divergences", "macd", "pen"} <= set(doc)
    assert doc["macd"] == {"preset": "standard", "fast": 12, "slow": 26, "signal": 9}
    assert doc["pens"] and doc["fractals"]
    for f in doc["fractals"]:
        assert set(f) == {"kind", "index", "ts", "price"} and f["kind"] in ("top", "bottom")
    ts0 = df["timestamp"].dt.epoch("ns").to_list()
    for p in doc["pens"]:
        assert set(p) == {"direction", "start", "end", "confirmed"}
        for end in (p["start"], p["end"]):
            assert set(end) == {"index", "ts", "price"}
            assert end["ts"] == ts0[end["index"]]
            assert isinstance(end["price"], str)
        top = p["end"] if p["direction"] == "up" else p["start"]
        assert float(top["price"]) == df["high"][top["index"]]  # raw-bar index of the extreme in the input
    for s in doc["segments"]:
        assert {"direction", "start", "end", "confirmed"} <= set(s)
    # Same numbers as the library on the same file.
    expected = analyze(load_file(path), ChanConfig())
    assert len(doc["pens"]) == len(expected.pens) and len(doc["segments"]) == len(expected.segments)


def test_symbol_json_prices_on_the_tick_grid(tmp_path: Path) -> None:
    result = desk("chan", "--symbol", "ETH-USD", "--bars", "300", "--pen", "traditional", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["pen"]["mode"] == "traditional"
    prices = [f["price"] for f in doc["fractals"]]
    assert prices and all(len(p.split(".")[1]) == 2 for p in prices)  # ETH-USD tick 0.01


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbol", "XRP-USD"], "unknown symbol 'XRP-USD'"),
        (["--symbol", "BTC-USD", "--macd", "turbo"], "unknown MACD preset 'turbo'"),
        (["--symbol", "BTC-USD", "--pen", "zigzag"], "pen mode 'zigzag'"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = desk("chan", *args, tmp_path=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_file_errors_name_the_problem(tmp_path: Path) -> None:
    missing = tmp_path / "m.csv"
    missing.write_text("ts,open,high,close\n1,1,2,1\n")
    with pytest.raises(UserError, match="missing column"):
        load_file(missing)
    bad = tmp_path / "b.csv"
    bad.write_text("ts,open,high,low,close\n1,1,2,1,1\n2,1,x,1,1\n")
    with pytest.raises(UserError, match="column high row 1: 'x' is not a number"):
        load_file(bad)
    inverted = tmp_path / "i.csv"
    inverted.write_text("ts,open,high,low,close\n1,1,2,1,1\n2,1,1,2,1\n")
    with pytest.raises(UserError, match=r"row 1: high 1\.0 is below low 2\.0"):
        load_file(inverted)
    with pytest.raises(UserError, match="cannot read"):
        load_file(tmp_path / "nope.csv")
    with pytest.raises(UserError, match=r"expected \.csv or \.parquet"):
        load_file(tmp_path / "x.json")


def test_parquet_and_timeframes(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    write_walk(path, 120)
    assert len(load_file(path)) == 120
    assert [parse_timeframe(t) for t in ("1s", "1m", "5m", "1h", "1d")] == [1, 60, 300, 3600, 86400]
    with pytest.raises(UserError, match="not a bar length"):
        parse_timeframe("5x")


def test_sim_bars_have_real_ranges() -> None:
    arrays, fmt = sim_bars("BTC-USD", 60, 50, seed=3)
    assert len(arrays) == 50
    assert (arrays.high >= np.maximum(arrays.open, arrays.close)).all()
    assert (arrays.low <= np.minimum(arrays.open, arrays.close)).all()
    assert (arrays.high > arrays.low).mean() > 0.9
    assert np.all(np.diff(arrays.ts) == 60 * 10**9)
    assert fmt(60000.123) == "60000.12"
