"""OHLCV loading: formats, timestamp units, validation messages, gaps, resampling (checked by hand)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from desk.backtest.data import (
    from_arrays,
    infer_tick,
    load_ohlcv,
    parse_timeframe,
    resample_ohlcv,
    simulated,
    write_ohlcv,
)
from desk.domain.instruments import Instrument
from desk.errors import UserError

NS = 1_000_000_000
T0 = 1_704_067_200  # 2024-01-01T00:00:00Z


def frame(n: int = 6, step_s: int = 60) -> pl.DataFrame:
    close = [100.0 + i for i in range(n)]
    return pl.DataFrame(
        {
            "timestamp": [(T0 + i * step_s) * 1000 for i in range(n)],  # epoch milliseconds
            "open": [c - 0.5 for c in close],
            "high": [c + 1.25 for c in close],
            "low": [c - 1.0 for c in close],
            "close": close,
            "volume": [1.5] * n,
        }
    )


def test_csv_with_epoch_ms_goes_onto_an_inferred_grid(tmp_path: Path) -> None:
    path = tmp_path / "abc-usd.csv"
    frame().write_csv(path)
    data = load_ohlcv(path)
    assert data.symbol == "ABC-USD"  # from the file name
    assert data.instrument.tick_size == Decimal("0.01")  # 100.5, 101.25... all on 0.01 (not on 0.1)
    assert data.timeframe_s == 60
    assert data.ts_ns[0] == T0 * NS and data.ts_ns[1] - data.ts_ns[0] == 60 * NS
    assert data.open.tolist()[:2] == [9950, 10050]
    assert data.high.tolist()[0] == 10125
    assert data.volume.tolist()[0] == 150_000_000  # 1.5 in lots of 1e-8
    assert data.gaps == ()


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns", "iso", "datetime"])
def test_time_units_agree(tmp_path: Path, unit: str) -> None:
    f = frame(4)
    seconds = [T0 + i * 60 for i in range(4)]
    if unit == "iso":
        f = f.with_columns(pl.Series("timestamp", [f"2024-01-01T00:0{i}:00" for i in range(4)]))
    elif unit == "datetime":
        f = f.with_columns(pl.Series("timestamp", [s * 1_000_000 for s in seconds]).cast(pl.Datetime("us")))
    else:
        scale = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": NS}[unit]
        f = f.with_columns(pl.Series("timestamp", [s * scale for s in seconds]))
    path = tmp_path / "x.parquet"
    f.write_parquet(path)
    data = load_ohlcv(path, symbol="ABC-USD")
    assert data.ts_ns.tolist() == [s * NS for s in seconds]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop("close"), "missing column 'close'"),
        (lambda f: f.rename({"timestamp": "when"}), "no time column"),
        (lambda f: f.with_columns(pl.lit("n/a").alias("open")), "holds String: expected numbers"),
        (
            lambda f: f.with_columns(pl.Series("timestamp", [(T0 + i * 60) * 1000 for i in (0, 1, 1, 3, 4, 5)])),
            "row 3 .* repeats row 2",
        ),
        (
            lambda f: f.with_columns(pl.Series("timestamp", [(T0 + i * 60) * 1000 for i in (0, 2, 1, 3, 4, 5)])),
            "row 3 .* goes back from row 2",
        ),
        (lambda f: f.with_columns(pl.Series("high", [101.0, 99.0, 103.0, 104.0, 105.0, 106.0])), "row 2 .*low <="),
        (lambda f: f.with_columns(pl.Series("close", [100.0, None, 102.0, 103.0, 104.0, 105.0])), "'close' is empty"),
        (lambda f: f.with_columns(pl.Series("low", [99.0, -1.0, 101.0, 102.0, 103.0, 104.0])), "expected a price > 0"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, mutate: object, message: str) -> None:
    path = tmp_path / "bad.csv"
    mutate(frame()).write_csv(path)  # type: ignore[operator]
    with pytest.raises(UserError, match=message):
        load_ohlcv(path, symbol="ABC-USD")


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        load_ohlcv(tmp_path / "missing.csv")
    (tmp_path / "bars.txt").write_text("x")
    with pytest.raises(UserError, match=r"expected \.csv or \.parquet"):
        load_ohlcv(tmp_path / "bars.txt")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(UserError, match="cannot read"):
        load_ohlcv(tmp_path / "junk.parquet", symbol="ABC-USD")
    frame().write_csv(tmp_path / "nosymbol.csv")
    with pytest.raises(UserError, match="BASE-QUOTE"):
        load_ohlcv(tmp_path / "nosymbol.csv")


def test_gaps_are_reported_not_fatal(tmp_path: Path) -> None:
    f = frame(10).filter(~pl.int_range(pl.len()).is_in([3, 4, 5, 8]))
    path = tmp_path / "gappy-usd.csv"
    f.write_csv(path)
    data = load_ohlcv(path)
    assert data.timeframe_s == 60 and len(data) == 6
    assert [(g.missing, g.after_ns) for g in data.gaps] == [(3, (T0 + 2 * 60) * NS), (1, (T0 + 7 * 60) * NS)]
    assert "2 gaps, 4 bars missing" in data.describe_gaps()


def test_resample_by_hand() -> None:
    inst = Instrument("ABC-USD", Decimal("1"), Decimal("1"))
    # 1-minute bars from 00:00 to 00:09 except 00:06; 5-minute buckets [00:00, 00:05) and [00:05, 00:10)
    minutes = [0, 1, 2, 3, 4, 5, 7, 8, 9]
    opens = [10, 11, 12, 13, 14, 15, 17, 18, 19]
    highs = [12, 13, 20, 15, 16, 17, 30, 19, 21]
    lows = [9, 10, 11, 5, 13, 14, 16, 12, 18]
    closes = [11, 12, 13, 14, 15, 16, 18, 19, 20]
    ts = [(T0 + m * 60) * NS for m in minutes]
    data = from_arrays("ABC-USD", inst, ts, opens, highs, lows, closes, [1, 2, 3, 4, 5, 6, 7, 8, 9], timeframe_s=60)
    five = resample_ohlcv(data, 300)
    assert five.ts_ns.tolist() == [T0 * NS, (T0 + 300) * NS]
    assert five.open.tolist() == [10, 15]
    assert five.high.tolist() == [20, 30]
    assert five.low.tolist() == [5, 12]
    assert five.close.tolist() == [15, 20]
    assert five.volume.tolist() == [15, 30]
    with pytest.raises(UserError, match="multiple"):
        resample_ohlcv(data, 90)


def test_parquet_roundtrip_keeps_grid_and_symbol(tmp_path: Path) -> None:
    data = simulated("ETH-USD", 120, seed=3)
    path = write_ohlcv(data, tmp_path / "eth.parquet")
    back = load_ohlcv(path)
    assert back.symbol == "ETH-USD" and back.instrument == data.instrument
    for col in ("ts_ns", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(back, col), getattr(data, col)), col
    five = load_ohlcv(path, resample="5m")
    assert len(five) == 24 and five.timeframe_s == 300


def test_simulated_bars_are_consistent_and_deterministic() -> None:
    a = simulated("BTC-USD", 200, seed=11)
    b = simulated("BTC-USD", 200, seed=11)
    assert np.array_equal(a.close, b.close) and np.array_equal(a.high, b.high)
    assert np.all(a.high >= np.maximum(a.open, a.close)) and np.all(a.low <= np.minimum(a.open, a.close))
    assert np.array_equal(a.open[1:], a.close[:-1])  # one continuous fair-price path
    assert np.any(a.high > np.maximum(a.open, a.close))  # extremes come from the finer path
    assert not np.array_equal(a.close, simulated("BTC-USD", 200, seed=12).close)


def test_helpers() -> None:
    assert parse_timeframe("1m") == 60 and parse_timeframe("4h") == 14_400 and parse_timeframe("30") == 30
    with pytest.raises(UserError):
        parse_timeframe("1x")
    assert infer_tick(np.array([1.5, 2.25, 3.0])) == Decimal("0.01")
    assert infer_tick(np.array([100.0, 250.0])) == Decimal("1")


def test_bar_events_match_the_columns_across_chunks() -> None:
    data = simulated("BTC-USD", 50, seed=3)
    bars = list(data.bars(3, 47, chunk=7))
    assert len(bars) == 44
    for i, bar in enumerate(bars, 3):
        assert (bar.symbol, bar.timeframe_s, bar.trades) == ("BTC-USD", data.timeframe_s, 0)
        row = (data.ts_ns, data.open, data.high, data.low, data.close, data.volume)
        assert (bar.start_ns, bar.open, bar.high, bar.low, bar.close, bar.volume) == tuple(int(c[i]) for c in row)
    assert [b.close for b in data.bars(40)] == data.close[40:].tolist()
    assert list(data.bars(10, 10)) == []
