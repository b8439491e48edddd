"""``desk var``: VaR and expected shortfall of a portfolio, by historical, parametric and Monte Carlo methods.

Positions are quantities of the base asset, valued at ``--prices`` or at the simulated market's mid. Returns come
from ``--returns FILE`` or, by default, from the simulated market's fair-price history (1000 one-minute bars
for the seed). Money in the output is in the positions' quote currency, rounded to cents (JSON numbers).
numpy/polars/rich are imported inside the command so ``desk --help`` stays fast.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from desk.errors import UserError

if TYPE_CHECKING:
    from desk.risk.var import VarResult

SIM_BARS = 1000
SIM_BAR_SECONDS = 60.0
DEMO_POSITIONS: tuple[tuple[str, str], ...] = (("BTC-USD", "0.5"), ("ETH-USD", "4"), ("SOL-USD", "-50"))
METHOD_CHOICES = ("mc", "historical", "parametric", "all")
ALL_ORDER = ("parametric", "historical", "mc")


@dataclass(frozen=True, slots=True)
class VarRequest:
    """Everything ``desk var`` was asked, parsed and validated (strings from the command line)."""

    positions: str | None = None
    prices: str | None = None
    returns_file: Path | None = None
    method: str = "all"
    confidence: tuple[str, ...] = ()
    horizon: str = "1d"
    paths: int = 200_000
    seed: int = 7
    window: int | None = None
    covariance: str = "sample"
    dof: float | None = None
    bars: int = SIM_BARS


def register(app: typer.Typer) -> None:
    @app.command("var")
    def var_command(
        positions: Annotated[
            str | None,
            typer.Option("--positions", help="Quantities of base asset, SYM=QTY,... (default: a demo portfolio)."),
        ] = None,
        prices: Annotated[
            str | None, typer.Option("--prices", help="Prices SYM=PX,... (default: the simulated market's mid).")
        ] = None,
        returns_file: Annotated[
            Path | None,
            typer.Option("--returns", help="CSV/parquet: a timestamp column and one column of returns per symbol."),
        ] = None,
        method: Annotated[str, typer.Option("--method", help="mc, historical, parametric or all.")] = "all",
        confidence: Annotated[
            list[str] | None,
            typer.Option("--confidence", help="Confidence level(s) in (0, 1): repeat or comma-separate. [0.99]"),
        ] = None,
        horizon: Annotated[
            str, typer.Option("--horizon", help="Periods of the returns (10) or a duration (30s, 10m, 4h, 1d).")
        ] = "1d",
        paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths.")] = 200_000,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated market and the Monte Carlo.")] = 7,
        window: Annotated[
            int | None, typer.Option("--window", help="Use only the last N returns (rolling window).")
        ] = None,
        covariance: Annotated[
            str, typer.Option("--covariance", help="sample or ewma (RiskMetrics, lambda 0.94).")
        ] = "sample",
        dof: Annotated[
            float | None, typer.Option("--dof", help="Monte Carlo with Student-t returns of this many dof (> 2).")
        ] = None,
        bars: Annotated[
            int, typer.Option("--bars", help="Without --returns: one-minute bars of simulated history.")
        ] = SIM_BARS,
        json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    ) -> None:
        """VaR and expected shortfall (losses, quote currency) with per-position contributions."""
        request = VarRequest(
            positions,
            prices,
            returns_file,
            method,
            tuple(confidence or ()),
            horizon,
            paths,
            seed,
            window,
            covariance,
            dof,
            bars,
        )
        report = build_report(request)
        if json_out:
            typer.echo(json.dumps(report))
        else:
            print_report(report)


def parse_assignments(text: str, what: str) -> list[tuple[str, Decimal]]:
    """``"BTC-USD=1.5,ETH-USD=-10"`` -> [(symbol, Decimal)], with one-line errors naming the bad part."""
    out: list[tuple[str, Decimal]] = []
    seen: set[str] = set()
    for part in text.split(","):
        item = part.strip()
        if not item:
            continue
        sym, sep, value = item.partition("=")
        sym = sym.strip().upper()
        if not sep or not sym:
            raise UserError(f"--{what} entry {item!r} is not SYM=VALUE (e.g. BTC-USD=1.5)")
        base, dash, quote = sym.partition("-")
        if not (dash and base and quote):
            raise UserError(f"--{what} symbol {sym!r} is not BASE-QUOTE (e.g. BTC-USD)")
        if sym in seen:
            raise UserError(f"--{what} names {sym} twice; expected each symbol once")
        seen.add(sym)
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite():
            raise UserError(f"--{what} value {value.strip()!r} for {sym} is not a finite number")
        out.append((sym, number))
    if not out:
        raise UserError(f"--{what} {text!r} names no symbols; expected SYM=VALUE,...")
    return out


def parse_confidences(values: tuple[str, ...]) -> list[float]:
    out: list[float] = []
    for raw in values or ("0.99",):
        for part in raw.split(","):
            item = part.strip()
            if not item:
                continue
            try:
                c = float(item)
            except ValueError:
                c = math.nan
            if not (math.isfinite(c) and 0.0 < c < 1.0):
                raise UserError(f"confidence {item!r} must be a number in (0, 1), e.g. 0.99")
            if c not in out:
                out.append(c)
    if not out:
        raise UserError("--confidence names no level; expected e.g. 0.99 or 0.95,0.99")
    return out


def build_report(req: VarRequest) -> dict[str, Any]:
    """Run ``desk var``: returns the JSON document (also what the human output is drawn from)."""
    import numpy as np

    from desk.feeds.sim import DEFAULT_SYMBOLS, SimulatedMarket
    from desk.risk.errors import VarInputError
    from desk.risk.montecarlo import MIN_PATHS
    from desk.risk.returns import load_returns, parse_horizon, simple_returns
    from desk.risk.var import compute_var

    if req.method not in METHOD_CHOICES:
        raise UserError(f"--method {req.method!r} is not one of {', '.join(METHOD_CHOICES)}")
    if req.covariance not in ("sample", "ewma"):
        raise UserError(f"--covariance {req.covariance!r} is not one of sample, ewma")
    if req.paths < MIN_PATHS:
        raise UserError(f"--paths {req.paths} is too few; expected at least {MIN_PATHS}")
    if req.dof is not None and not (math.isfinite(req.dof) and req.dof > 2):
        raise UserError(f"--dof {req.dof} must be > 2 (the variance of a Student-t is infinite below)")
    confidences = parse_confidences(req.confidence)
    methods = list(ALL_ORDER) if req.method == "all" else [req.method]
    try:
        horizon = parse_horizon(req.horizon)
    except VarInputError as exc:
        raise UserError(str(exc)) from exc

    notes: list[str] = []
    demo = req.positions is None
    position_list = (
        [(s, Decimal(q)) for s, q in DEMO_POSITIONS] if demo else parse_assignments(req.positions or "", "positions")
    )
    if demo:
        notes.append("no --positions given: demo portfolio " + ", ".join(f"{s}={q}" for s, q in DEMO_POSITIONS))
    symbols = [s for s, _ in position_list]
    quotes = sorted({s.split("-", 1)[1] for s in symbols})
    if len(quotes) > 1:
        raise UserError(f"positions mix quote currencies {', '.join(quotes)}; expected one quote currency")
    sim_symbols = [spec.instrument.symbol for spec in DEFAULT_SYMBOLS]

    # Returns: a file, or the simulated market's fair-price history.
    if req.returns_file is not None:
        try:
            table = load_returns(req.returns_file)
            returns = table.select(symbols, str(req.returns_file))
        except VarInputError as exc:
            if demo:
                raise UserError(f"{exc} (no --positions given: the demo portfolio needs these columns)") from exc
            raise UserError(str(exc)) from exc
        period_seconds = table.period_seconds
        source = str(req.returns_file)
    else:
        unknown = [s for s in symbols if s not in sim_symbols]
        if unknown:
            raise UserError(
                f"unknown symbol {unknown[0]}; the simulated market has {', '.join(sim_symbols)} "
                "(pass --returns FILE for others)"
            )
        if req.bars < 10:
            raise UserError(f"--bars {req.bars} is too few; expected at least 10")
        history = SimulatedMarket(seed=req.seed).fair_price_path(req.bars, SIM_BAR_SECONDS)
        all_returns = simple_returns(history)
        returns = all_returns[:, [sim_symbols.index(s) for s in symbols]]
        period_seconds = SIM_BAR_SECONDS
        source = f"simulated market, seed {req.seed}: {req.bars} bars of {SIM_BAR_SECONDS:g} s"

    # Prices: --prices, else the simulated market's mid.
    given = dict(parse_assignments(req.prices, "prices")) if req.prices else {}
    for sym, px in given.items():
        if sym not in symbols:
            raise UserError(f"--prices names {sym}, which has no position; expected one of {', '.join(symbols)}")
        if px <= 0:
            raise UserError(f"--prices value {px} for {sym} must be positive")
    market = SimulatedMarket(seed=req.seed)
    price_of: dict[str, Decimal] = {}
    for sym in symbols:
        if sym in given:
            price_of[sym] = given[sym]
        elif sym in sim_symbols:
            snap = market.snapshot(sym)
            inst = market.instruments[sym]
            price_of[sym] = inst.price(snap.bids[0][0] + snap.asks[0][0]) / 2
        else:
            raise UserError(f"no price for {sym}: it is not in the simulated market; pass --prices {sym}=PX")
    values = {sym: qty * price_of[sym] for sym, qty in position_list}
    exposures = np.array([float(values[s]) for s in symbols])

    try:
        h = horizon.in_periods(period_seconds)
        results: list[VarResult] = []
        for m in methods:
            for c in confidences:
                results.append(
                    compute_var(
                        exposures,
                        returns,
                        method=m,  # type: ignore[arg-type]
                        confidence=c,
                        horizon_periods=h,
                        covariance=req.covariance,  # type: ignore[arg-type]
                        window=req.window,
                        paths=req.paths,
                        seed=req.seed,
                        student_t_dof=req.dof if m == "mc" else None,
                        names=tuple(symbols),
                    )
                )
    except VarInputError as exc:
        raise UserError(str(exc)) from exc
    for r in results:
        for note in r.notes:
            if note not in notes:
                notes.append(note)

    first = results[0]
    return {
        "portfolio_value": _money(float(sum(values.values()))),
        "gross_exposure": _money(float(sum(abs(v) for v in values.values()))),
        "currency": quotes[0],
        "positions": [
            {"symbol": s, "quantity": str(q), "price": str(price_of[s]), "value": _money(float(values[s]))}
            for s, q in position_list
        ],
        "demo_portfolio": demo,
        "returns_source": source,
        "observations": int(returns.shape[0]) if req.window is None else min(req.window, int(returns.shape[0])),
        "period_seconds": period_seconds,
        "horizon_periods": h,
        "covariance": req.covariance,
        "results": [_result_json(r, horizon.label) for r in results],
        "contributions": {k: _money(v) for k, v in first.contributions_by_name().items()},
        "contributions_of": {"method": first.method, "confidence": first.confidence},
        "notes": notes,
    }


def _money(x: float) -> float:
    return round(x, 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def _result_json(r: VarResult, horizon_label: str) -> dict[str, Any]:
    return {
        "method": r.method,
        "confidence": r.confidence,
        "horizon": horizon_label,
        "var": _money(r.var),
        "es": _money(r.es),
        "stderr": None if r.stderr is None else _money(r.stderr),
        "es_stderr": None if r.es_stderr is None else _money(r.es_stderr),
        "paths": r.paths,
        "contributions": {k: _money(v) for k, v in r.contributions_by_name().items()},
        "es_contributions": {k: _money(v) for k, v in zip(r.names, r.es_contributions, strict=True)},
    }


_SHORT = {"parametric": "param.", "historical": "hist."}


def print_report(report: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    cur = report["currency"]
    results = report["results"]
    table = Table(
        title=f"VaR and expected shortfall (losses in {cur})", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for col in ("method", "conf.", "horizon", "VaR", "ES", "SE VaR", "SE ES", "paths"):
        table.add_column(col, justify="left" if col in ("method", "horizon") else "right", no_wrap=True)
    for r in results:
        table.add_row(
            r["method"],
            f"{r['confidence']:g}",
            r["horizon"],
            f"{r['var']:,.2f}",
            f"{r['es']:,.2f}",
            "-" if r["stderr"] is None else f"{r['stderr']:,.2f}",
            "-" if r["es_stderr"] is None else f"{r['es_stderr']:,.2f}",
            "-" if r["paths"] is None else f"{r['paths']:,}",
        )
    console.print(table)

    first_conf = results[0]["confidence"]
    shown = [r for r in results if r["confidence"] == first_conf]
    pos = Table(
        title=f"Positions and component VaR at {first_conf:g} (sums to VaR)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col in ("symbol", "quantity", "price", "value"):
        pos.add_column(col, justify="left" if col == "symbol" else "right", no_wrap=True)
    for r in shown:
        pos.add_column(_SHORT.get(r["method"], r["method"]), justify="right", no_wrap=True)
    for p in report["positions"]:
        sym = p["symbol"]
        pos.add_row(
            sym, p["quantity"], p["price"], f"{p['value']:,.2f}", *(f"{r['contributions'][sym]:,.2f}" for r in shown)
        )
    pos.add_row(
        "total", "", "", f"{report['portfolio_value']:,.2f}", *(f"{r['var']:,.2f}" for r in shown), style="bold"
    )
    console.print(pos)
    console.print(
        f"returns: {report['returns_source']} ({report['observations']} returns, period {report['period_seconds']:g} s;"
        f" horizon = {report['horizon_periods']:g} periods); covariance: {report['covariance']}",
        highlight=False,
    )
    for note in report["notes"]:
        console.print(f"note: {note}", highlight=False)
