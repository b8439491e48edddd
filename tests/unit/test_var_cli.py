"""``desk var``: the JSON contract, positions and prices, returns files, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from desk.commands.risk_var import VarRequest, build_report, parse_assignments, parse_confidences
from desk.errors import UserError

REPO = Path(__file__).resolve().parents[2]


def _returns_file(tmp_path: Path, rows: int = 400, name: str = "r.csv") -> Path:
    rng = np.random.default_rng(3)
    start = datetime(2026, 1, 1)
    df = pl.DataFrame(
        {
            "timestamp": [start + timedelta(minutes=i) for i in range(rows)],
            "BTC-USD": rng.standard_normal(rows) * 0.001,
            "ETH-USD": rng.standard_normal(rows) * 0.0015,
            "SOL-USD": rng.standard_normal(rows) * 0.002,
        }
    )
    path = tmp_path / name
    if name.endswith(".parquet"):
        df.write_parquet(path)
    else:
        df.write_csv(path)
    return path


def _desk(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    return subprocess.run(
        [sys.executable, "-m", "desk", "var", *args], capture_output=True, text=True, cwd=REPO, env=env, check=False
    )


def test_report_from_a_returns_file_matches_closed_form(tmp_path: Path) -> None:
    path = _returns_file(tmp_path)
    report = build_report(
        VarRequest(
            positions="BTC-USD=1.5,ETH-USD=-10",
            prices="BTC-USD=60000,ETH-USD=3000",
            returns_file=path,
            method="all",
            confidence=("0.95,0.99",),
            horizon="1h",
            paths=50_000,
        )
    )
    assert report["portfolio_value"] == 60_000.0 and report["gross_exposure"] == 120_000.0
    assert report["period_seconds"] == 60.0 and report["horizon_periods"] == 60.0
    assert [(r["method"], r["confidence"]) for r in report["results"]] == [
        ("parametric", 0.95),
        ("parametric", 0.99),
        ("historical", 0.95),
        ("historical", 0.99),
        ("mc", 0.95),
        ("mc", 0.99),
    ]
    returns = pl.read_csv(path).select("BTC-USD", "ETH-USD").to_numpy()
    w = np.array([90_000.0, -30_000.0])
    sigma = np.sqrt(w @ np.cov(returns, rowvar=False) @ w * 60)
    for r in report["results"]:
        assert r["horizon"] == "1h"
        assert sum(r["contributions"].values()) == pytest.approx(r["var"], abs=0.02)
        z = stats.norm.ppf(r["confidence"])
        if r["method"] == "parametric":
            assert r["var"] == pytest.approx(z * sigma, abs=0.006)
            assert r["es"] == pytest.approx(stats.norm.pdf(z) / (1 - r["confidence"]) * sigma, abs=0.006)
            assert r["stderr"] is None
        if r["method"] == "mc":
            assert abs(r["var"] - z * sigma) <= 3 * r["stderr"] + 0.01
    assert report["contributions"] == report["results"][0]["contributions"]
    assert report["contributions_of"] == {"method": "parametric", "confidence": 0.95}
    assert report["positions"][0] == {"symbol": "BTC-USD", "quantity": "1.5", "price": "60000", "value": 90000.0}
    assert not report["demo_portfolio"]


def test_demo_portfolio_at_simulated_mid(tmp_path: Path) -> None:
    report = build_report(VarRequest(method="parametric", bars=200))
    assert report["demo_portfolio"] and report["notes"][0].startswith("no --positions given: demo portfolio")
    prices = {p["symbol"]: p["price"] for p in report["positions"]}
    assert prices == {"BTC-USD": "60000.00", "ETH-USD": "3000.00", "SOL-USD": "150.000"}
    assert report["portfolio_value"] == 0.5 * 60_000 + 4 * 3000 - 50 * 150
    assert report["observations"] == 200 and report["horizon_periods"] == 1440.0
    assert report["results"][0]["horizon"] == "1d"


def test_parquet_window_ewma_and_student_t(tmp_path: Path) -> None:
    path = _returns_file(tmp_path, name="r.parquet")
    report = build_report(
        VarRequest(
            positions="SOL-USD=100",
            prices="SOL-USD=150",
            returns_file=path,
            method="mc",
            horizon="10",
            window=100,
            covariance="ewma",
            dof=5.0,
            paths=20_000,
        )
    )
    (result,) = report["results"]
    assert report["observations"] == 100 and report["covariance"] == "ewma" and result["var"] > 0
    assert any("Student-t" in n for n in report["notes"])


@pytest.mark.parametrize(
    ("request_kwargs", "message"),
    [
        ({"positions": "XRP-USD=1"}, "unknown symbol XRP-USD"),
        ({"positions": "BTC-USD=abc"}, "value 'abc' for BTC-USD is not a finite number"),
        ({"positions": "BTCUSD=1"}, "symbol 'BTCUSD' is not BASE-QUOTE"),
        ({"positions": "BTC-USD"}, "is not SYM=VALUE"),
        ({"positions": "BTC-USD=1,BTC-USD=2"}, "names BTC-USD twice"),
        ({"positions": "BTC-USD=1,NKN-USDT=5"}, "mix quote currencies"),
        ({"prices": "ETH-USD=0", "positions": "ETH-USD=1"}, "must be positive"),
        ({"prices": "SOL-USD=1", "positions": "ETH-USD=1"}, "SOL-USD, which has no position"),
        ({"confidence": ("1.5",)}, "confidence '1.5' must be a number in"),
        ({"confidence": ("0.99,x",)}, "confidence 'x'"),
        ({"horizon": "1y"}, "horizon '1y' is not understood"),
        ({"method": "delta"}, "--method 'delta'"),
        ({"covariance": "shrunk"}, "--covariance 'shrunk'"),
        ({"paths": 10}, "--paths 10 is too few"),
        ({"dof": 2.0}, "--dof 2.0 must be > 2"),
        ({"confidence": ("0.9999",)}, "historical VaR at 0.9999 needs at least 10000 returns"),
        ({"window": 5}, "window 5 must be an integer >= 10"),
    ],
)
def test_bad_input_is_a_user_error(request_kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_report(VarRequest(**{"bars": 20, "paths": 2000, **request_kwargs}))  # type: ignore[arg-type]


def test_file_errors_are_user_errors(tmp_path: Path) -> None:
    path = _returns_file(tmp_path, rows=50)
    with pytest.raises(UserError, match="symbol XRP-USD is not a column"):
        build_report(VarRequest(positions="XRP-USD=1", prices="XRP-USD=1", returns_file=path))
    with pytest.raises(UserError, match="demo portfolio needs these columns"):
        build_report(VarRequest(returns_file=_returns_file(tmp_path, name="only.csv").with_name("missing.csv")))
    nan = tmp_path / "nan.csv"
    nan.write_text(
        "timestamp,BTC-USD\n"
        + "".join(f"2026-01-01T00:{i:02d}:00,{'NaN' if i == 7 else 0.001 * i}\n" for i in range(30))
    )
    with pytest.raises(UserError, match="return nan of BTC-USD at row 7"):
        build_report(VarRequest(positions="BTC-USD=1", returns_file=nan))
    flat = tmp_path / "flat.csv"
    flat.write_text(
        "timestamp,BTC-USD,ETH-USD\n" + "".join(f"2026-01-01T00:{i:02d}:00,{0.001 * (i % 3)},0.0\n" for i in range(30))
    )
    with pytest.raises(UserError, match="ETH-USD has variance 0"):
        build_report(VarRequest(positions="BTC-USD=1,ETH-USD=1", returns_file=flat, method="parametric"))


def test_parse_helpers() -> None:
    assert parse_assignments(" btc-usd=1.5 , ETH-USD=-10 ", "positions") == [
        ("BTC-USD", pytest.approx(1.5)),
        ("ETH-USD", pytest.approx(-10)),
    ]
    assert parse_confidences(("0.95,0.99", "0.999", "0.99")) == [0.95, 0.99, 0.999]
    assert parse_confidences(()) == [0.99]


def test_cli_json_and_exit_codes(tmp_path: Path) -> None:
    path = _returns_file(tmp_path)
    ok = _desk(
        "--positions", "BTC-USD=1.5,ETH-USD=-10", "--returns", str(path), "--method", "mc", "--paths", "20000",
        "--json", tmp_path=tmp_path,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert set(doc) >= {"portfolio_value", "results", "contributions"}
    assert set(doc["results"][0]) >= {"method", "confidence", "horizon", "var", "es", "stderr"}
    assert doc["results"][0]["var"] > 0 and doc["results"][0]["es"] >= doc["results"][0]["var"]

    bad = _desk("--confidence", "99", "--returns", str(path), tmp_path=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == ["desk: error: confidence '99' must be a number in (0, 1), e.g. 0.99"]
    missing = _desk("--returns", str(tmp_path / "none.csv"), tmp_path=tmp_path)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "none.csv does not exist" in missing.stderr


def test_cli_human_output(tmp_path: Path) -> None:
    out = _desk("--bars", "100", "--method", "parametric", "--horizon", "4h", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "VaR and expected shortfall" in out.stdout and "demo portfolio" in out.stdout
    assert "parametric" in out.stdout and "BTC-USD" in out.stdout
