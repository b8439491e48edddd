"""Return files, horizons and price-to-return conversion for VaR."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from desk.risk import VarInputError
from desk.risk.returns import ReturnsTable, load_returns, parse_horizon, simple_returns


@pytest.mark.parametrize(
    ("text", "period", "expected"),
    [
        ("1d", 60.0, 1440.0),
        ("4h", 60.0, 240.0),
        ("10m", 60.0, 10.0),
        ("30s", 60.0, 0.5),
        ("1w", 86400.0, 7.0),
        ("1", 60.0, 1.0),
        ("10", 3600.0, 10.0),
        ("2.5h", 3600.0, 2.5),
    ],
)
def test_horizon_in_periods(text: str, period: float, expected: float) -> None:
    assert parse_horizon(text).in_periods(period) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["1y", "-1d", "0", "0d", "d", "", "1 day", "1e3"])
def test_bad_horizon(text: str) -> None:
    with pytest.raises(VarInputError, match="horizon"):
        parse_horizon(text).in_periods(60.0)


def test_duration_needs_a_known_period() -> None:
    with pytest.raises(VarInputError, match="period is unknown"):
        parse_horizon("1d").in_periods(None)


def test_simple_returns() -> None:
    p = np.array([[100.0, 10.0], [110.0, 9.0], [99.0, 9.9]])
    assert np.allclose(simple_returns(p), [[0.1, -0.1], [-0.1, 0.1]])
    with pytest.raises(VarInputError):
        simple_returns(np.array([[1.0], [0.0]]))


def _frame(rows: int = 30) -> pl.DataFrame:
    start = datetime(2026, 1, 1)
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {
            "timestamp": [start + timedelta(minutes=5 * i) for i in range(rows)],
            "BTC-USD": rng.standard_normal(rows) * 0.01,
            "ETH-USD": rng.standard_normal(rows) * 0.02,
        }
    )


def test_csv_and_parquet_give_the_same_table(tmp_path: Path) -> None:
    df = _frame()
    df.write_csv(tmp_path / "r.csv")
    df.write_parquet(tmp_path / "r.parquet")
    a = load_returns(tmp_path / "r.csv")
    b = load_returns(tmp_path / "r.parquet")
    assert a.symbols == b.symbols == ("BTC-USD", "ETH-USD")
    assert a.period_seconds == b.period_seconds == 300.0
    assert np.allclose(a.returns, df.select("BTC-USD", "ETH-USD").to_numpy())
    assert np.array_equal(a.select(["ETH-USD"], "r.csv")[:, 0], a.returns[:, 1])


def test_epoch_millisecond_timestamps(tmp_path: Path) -> None:
    df = pl.DataFrame(
        {"ts": [1_767_225_600_000 + 60_000 * i for i in range(5)], "X-USD": [0.01, 0.0, -0.01, 0.0, 0.02]}
    )
    df.write_csv(tmp_path / "r.csv")
    assert load_returns(tmp_path / "r.csv").period_seconds == 60.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b\n1,2\n3,4\n", "no timestamp column"),
        ("timestamp,BTC-USD\n2026-01-01T00:01:00,0.1\n2026-01-01T00:00:00,0.2\n", "do not increase at row 1"),
        ("timestamp,BTC-USD\n2026-01-01T00:00:00,x\n2026-01-01T00:01:00,0.2\n", "column BTC-USD"),
        ("timestamp\n2026-01-01T00:00:00\n", "expected a timestamp column and one column"),
    ],
)
def test_bad_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text(content)
    with pytest.raises(VarInputError, match=message):
        load_returns(path)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(VarInputError, match="does not exist"):
        load_returns(tmp_path / "nope.csv")
    bad = tmp_path / "r.parquet"
    bad.write_bytes(b"not a parquet file")
    with pytest.raises(VarInputError, match="cannot read returns file"):
        load_returns(bad)


def test_unknown_column() -> None:
    df = _frame()
    table = ReturnsTable(("BTC-USD", "ETH-USD"), df.select("BTC-USD", "ETH-USD").to_numpy(), 300.0)
    with pytest.raises(
        VarInputError, match=r"symbol SOL-USD is not a column of f\.csv; expected one of BTC-USD, ETH-USD"
    ):
        table.select(["BTC-USD", "SOL-USD"], "f.csv")
