"""Parameter sweeps: every combination of a grid, on all local cores or on an existing Dask cluster.

Each combination is one ``run_backtest`` (vectorised when the strategy has ``vector_targets``, else event-driven;
the look-ahead check runs once, in the parent, on the first combination). Memory stays bounded whatever the grid
size: locally the bars are written once as ``.npy`` columns and every worker process memory-maps them (the pages
are shared through the page cache, not copied per worker), and a worker returns only each combination's metrics.
On Dask the bars are scattered to the workers once (``broadcast``) and tasks carry chunks of combinations.

Combinations a strategy rejects (e.g. ``fast >= slow`` for ma_crossover) are skipped and counted, not fatal: a
rectangular grid over two periods always contains some.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from desk.backtest.data import OHLCV
from desk.domain.instruments import Instrument
from desk.errors import UserError
from desk.strategies.params import Param, ParamValue

LOWER_IS_BETTER = frozenset(
    {
        "max_drawdown",
        "max_drawdown_periods",
        "max_drawdown_seconds",
        "longest_drawdown_periods",
        "volatility",
        "total_fees",
        "max_consecutive_losses",
        "var",
        "es",
    }
)
Progress = Callable[[int, int], None]


# --- the grid -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Axis:
    name: str
    values: tuple[ParamValue, ...]


def parse_axis(spec: str, declared: Sequence[Param], strategy: str) -> Axis:
    """``fast=5:50:5`` (inclusive range), ``fast=5,8,13`` (list) or ``allow_short=true,false``."""
    name, sep, body = spec.partition("=")
    name = name.strip()
    by_name = {p.name: p for p in declared}
    if not sep or not name or not body.strip():
        raise UserError(f"--grid {spec!r}: expected NAME=LO:HI:STEP or NAME=V1,V2,...")
    param = by_name.get(name)
    if param is None:
        known = ", ".join(by_name) or "none"
        raise UserError(f"--grid {spec!r}: unknown parameter {name!r} for strategy {strategy}: expected one of {known}")
    if ":" in body:
        parts = body.split(":")
        if len(parts) != 3 or param.type not in (int, float):
            raise UserError(f"--grid {spec!r}: expected NAME=LO:HI:STEP for a numeric parameter")
        try:
            lo, hi, step = (Decimal(p.strip()) for p in parts)
        except ArithmeticError:
            raise UserError(f"--grid {spec!r}: LO, HI and STEP must be numbers") from None
        if step <= 0 or hi < lo:
            raise UserError(f"--grid {spec!r}: expected LO <= HI and STEP > 0")
        count = int((hi - lo) / step) + 1
        if count > 100_000:
            raise UserError(f"--grid {spec!r}: {count} values: expected at most 100000 per parameter")
        raw: list[Any] = [lo + i * step for i in range(count)]
        raw = [int(v) if param.type is int and v == int(v) else float(v) for v in raw]
        if param.type is int and any(isinstance(v, float) for v in raw):
            raise UserError(f"--grid {spec!r}: {name} is an integer parameter: expected whole LO, HI and STEP")
    else:
        raw = [v.strip() for v in body.split(",") if v.strip()]
    values = tuple(dict.fromkeys(param.parse(v, strategy) for v in raw))
    return Axis(name, values)


def combinations(axes: Sequence[Axis], fixed: Mapping[str, Any]) -> list[dict[str, Any]]:
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        raise UserError(f"--grid names a parameter twice: {', '.join(names)}")
    clash = set(names) & set(fixed)
    if clash:
        raise UserError(f"parameter {sorted(clash)[0]!r} is both in --grid and --param: expected one of them")
    return [{**fixed, **dict(zip(names, combo, strict=True))} for combo in itertools.product(*(a.values for a in axes))]


# --- one evaluation ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SweepConfig:
    strategy: str
    account_value: float = 10_000.0
    fees_bps: str = "0"
    maker_fees_bps: str | None = None
    slippage_bps: str = "0"
    mode: str = "auto"


@dataclass(slots=True)
class SweepRow:
    index: int
    params: dict[str, Any]
    metrics: dict[str, Any] | None
    error: str = ""
    mode: str = ""


def evaluate(config: SweepConfig, data: OHLCV, index: int, params: dict[str, Any]) -> SweepRow:
    from desk.backtest.engine import run_backtest

    try:
        result = run_backtest(
            config.strategy,
            data,
            params,
            account_value=config.account_value,
            fees_bps=config.fees_bps,
            maker_fees_bps=config.maker_fees_bps,
            slippage_bps=config.slippage_bps,
            mode=config.mode,
            monte_carlo=0,
            check_lookahead=False,
        )
    except UserError as exc:
        return SweepRow(index, params, None, str(exc))
    return SweepRow(index, params, result.to_json()["metrics"], mode=result.mode)


def evaluate_chunk(config: SweepConfig, data: OHLCV, chunk: list[tuple[int, dict[str, Any]]]) -> list[SweepRow]:
    return [evaluate(config, data, i, p) for i, p in chunk]


# --- local processes -----------------------------------------------------------------------------------------
_WORKER_DATA: OHLCV | None = None
_COLUMNS = ("ts_ns", "open", "high", "low", "close", "volume")


def _share(data: OHLCV, folder: Path) -> dict[str, Any]:
    for name in _COLUMNS:
        np.save(folder / f"{name}.npy", getattr(data, name))
    inst = data.instrument
    return {
        "folder": str(folder),
        "symbol": data.symbol,
        "tick_size": str(inst.tick_size),
        "lot_size": str(inst.lot_size),
        "min_notional": str(inst.min_notional),
        "timeframe_s": data.timeframe_s,
        "source": data.source,
    }


def _attach(shared: Mapping[str, Any]) -> OHLCV:
    folder = Path(shared["folder"])
    cols = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _COLUMNS}
    inst = Instrument(
        shared["symbol"], Decimal(shared["tick_size"]), Decimal(shared["lot_size"]), Decimal(shared["min_notional"])
    )
    return OHLCV(
        shared["symbol"],
        inst,
        int(shared["timeframe_s"]),
        cols["ts_ns"],
        cols["open"],
        cols["high"],
        cols["low"],
        cols["close"],
        cols["volume"],
        (),
        shared["source"],
    )


def _init_worker(shared: Mapping[str, Any]) -> None:
    global _WORKER_DATA
    _WORKER_DATA = _attach(shared)


def _worker_chunk(config: SweepConfig, chunk: list[tuple[int, dict[str, Any]]]) -> list[SweepRow]:
    assert _WORKER_DATA is not None
    return evaluate_chunk(config, _WORKER_DATA, chunk)


def _chunks(items: list[tuple[int, dict[str, Any]]], size: int) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _run_local(
    config: SweepConfig,
    data: OHLCV,
    jobs: list[tuple[int, dict[str, Any]]],
    workers: int,
    progress: Progress | None,
) -> list[SweepRow]:
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    rows: list[SweepRow] = []
    if workers <= 1 or len(jobs) <= 1:
        for i, (index, params) in enumerate(jobs, 1):
            rows.append(evaluate(config, data, index, params))
            if progress is not None:
                progress(i, len(jobs))
        return rows
    size = max(1, math.ceil(len(jobs) / (workers * 8)))
    with tempfile.TemporaryDirectory(prefix="desk-sweep-") as tmp:
        shared = _share(data, Path(tmp))
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("forkserver"), initializer=_init_worker, initargs=(shared,)
        ) as pool:
            futures = [pool.submit(_worker_chunk, config, chunk) for chunk in _chunks(jobs, size)]
            for future in as_completed(futures):
                rows.extend(future.result())
                if progress is not None:
                    progress(len(rows), len(jobs))
    return rows


# --- Dask ------------------------------------------------------------------------------------------------------
def _run_dask(
    config: SweepConfig,
    data: OHLCV,
    jobs: list[tuple[int, dict[str, Any]]],
    address: str,
    progress: Progress | None,
) -> list[SweepRow]:
    import importlib

    try:
        distributed: Any = importlib.import_module("distributed")  # untyped library: used through Any
    except ImportError:
        raise UserError("--scheduler needs Dask: expected `pip install 'desk[cluster]'`") from None
    as_completed = distributed.as_completed
    from desk.errors import RuntimeFailure

    try:
        client = distributed.Client(address, timeout=10)
    except (OSError, TimeoutError) as exc:
        raise RuntimeFailure(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        size = max(1, math.ceil(len(jobs) / (workers * 8)))
        shared = client.scatter(data, broadcast=True)
        futures = [client.submit(evaluate_chunk, config, shared, chunk, pure=False) for chunk in _chunks(jobs, size)]
        rows: list[SweepRow] = []
        for future in as_completed(futures):
            rows.extend(future.result())
            if progress is not None:
                progress(len(rows), len(jobs))
        return rows
    finally:
        client.close()


# --- the sweep ---------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class SweepResult:
    metric: str
    rows: list[SweepRow]  # ranked, best first; only combinations that ran
    skipped: list[SweepRow] = field(default_factory=list)
    mode: str = ""

    def to_json(self) -> list[dict[str, Any]]:
        return [{"params": r.params, "metrics": r.metrics} for r in self.rows]


def metric_names() -> list[str]:
    from desk.backtest import metrics as m

    return [*m.summarize(np.array([1.0, 1.0, 1.0]), periods_per_year=1.0).keys(), "fills"]


def _sort_key(metric: str) -> Callable[[SweepRow], tuple[int, float, int]]:
    lower = metric in LOWER_IS_BETTER

    def key(row: SweepRow) -> tuple[int, float, int]:
        value = (row.metrics or {}).get(metric)
        if isinstance(value, str):  # "inf" / "-inf" from JSON-ready metrics
            value = math.inf if value == "inf" else -math.inf
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return (1, 0.0, row.index)
        v = float(value)
        return (0, v if lower else -v, row.index)

    return key


def run_sweep(
    config: SweepConfig,
    data: OHLCV,
    grid: Iterable[Axis],
    fixed: Mapping[str, Any] | None = None,
    *,
    metric: str = "sharpe",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> SweepResult:
    from desk.backtest import vectorised as vec
    from desk.strategies.params import resolve_params
    from desk.strategies.registry import load

    if metric not in metric_names():
        raise UserError(f"--metric {metric!r}: expected one of {', '.join(metric_names())}")
    cls = load(config.strategy)
    combos = combinations(list(grid), dict(fixed or {}))
    if not combos:
        raise UserError("--grid: expected at least one combination")
    jobs = list(enumerate(combos))
    # Bad fixed values fail once, here, rather than once per combination.
    resolve_params(cls.params, combos[0], cls.name)
    if config.mode in ("auto", "vectorised"):
        for _, params in jobs:  # the look-ahead check, once, on the first combination the strategy accepts
            resolved = resolve_params(cls.params, params, cls.name)
            try:
                target = vec.targets_for(cls, resolved, data)
            except UserError:
                continue
            if target is not None:
                vec.check_lookahead(cls, resolved, data, target)
            break
    if scheduler:
        rows = _run_dask(config, data, jobs, scheduler, progress)
    else:
        count = workers if workers is not None else (os.cpu_count() or 1)
        rows = _run_local(config, data, jobs, max(1, count), progress)
    ok = [r for r in rows if r.metrics is not None]
    skipped = sorted((r for r in rows if r.metrics is None), key=lambda r: r.index)
    ok.sort(key=_sort_key(metric))
    return SweepResult(metric, ok, skipped, ok[0].mode if ok else "")
