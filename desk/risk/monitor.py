"""The risk engine of a running desk: pre-trade checks, breaker triggers, kill switch, VaR bookkeeping.

``RiskMonitor`` plugs into a ``TradingDesk``: its ``check`` is the gateway's pre-trade check (every order from
any source), its batch hook evaluates the breaker triggers once per second of event time, and it samples mids
once per second into the returns history the VaR worker uses. The VaR computation itself (``compute_report``)
is a pure function that runs off the event loop in a worker thread; the monitor only takes its result
(``apply_report``), and the pre-trade VaR check reuses the covariance that run estimated.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from desk.book.l2 import BookState
from desk.domain.events import Side
from desk.execution.orders import Fill, Order, OrderType
from desk.risk.alerts import AlertBus, Severity
from desk.risk.breaker import BreakerState, CircuitBreaker, Transition
from desk.risk.limits import Limits, OrderImpact, check_order_size, check_position

if TYPE_CHECKING:
    from desk.strategies.base import StrategyState
    from desk.strategies.runner import StrategyInstance
    from desk.trading import TradingDesk

NS = 1_000_000_000
LIQUIDATION = "liquidation"  # strategy tag of liquidation orders: allowed while HALTED


@dataclass(frozen=True, slots=True)
class LimitUse:
    name: str
    value: float
    limit: float
    detail: str = ""

    @property
    def fraction(self) -> float:
        return self.value / self.limit if self.limit > 0 else 0.0


@dataclass(frozen=True, slots=True)
class VarInputs:
    """A consistent snapshot taken on the event loop for the worker thread."""

    symbols: tuple[str, ...]
    exposures: np.ndarray  # quote currency per symbol
    returns: np.ndarray  # T x N simple returns of 1-period mids
    period_s: float
    horizon_periods: float
    confidences: tuple[float, ...]
    methods: tuple[str, ...]
    paths: int
    ts_ns: int


@dataclass(frozen=True, slots=True)
class RiskReport:
    ts_ns: int
    symbols: tuple[str, ...]
    portfolio_value: float
    results: tuple[dict[str, Any], ...]  # method, confidence, var, es, stderr
    contributions: dict[str, float]  # component VaR of the headline method/confidence
    covariance: np.ndarray | None  # per period, for the pre-trade VaR check
    observations: int
    notes: tuple[str, ...]
    error: str = ""
    elapsed_s: float = 0.0


def compute_report(inputs: VarInputs, headline: tuple[str, float]) -> RiskReport:
    """All methods x confidences on the inputs. Pure; runs in a worker thread."""
    from desk.risk.covariance import sample_covariance
    from desk.risk.var import compute_var

    started = time.perf_counter()
    value = float(np.abs(inputs.exposures).sum())
    t = inputs.returns.shape[0]
    if t < 20:
        return RiskReport(
            inputs.ts_ns, inputs.symbols, value, (), {}, None, t, (), f"{t} returns so far; VaR needs at least 20"
        )
    results: list[dict[str, Any]] = []
    contributions: dict[str, float] = {}
    notes: list[str] = []
    error = ""
    for method in inputs.methods:
        for confidence in inputs.confidences:
            try:
                r = compute_var(
                    inputs.exposures,
                    inputs.returns,
                    method=method,  # type: ignore[arg-type]
                    confidence=confidence,
                    horizon_periods=inputs.horizon_periods,
                    paths=inputs.paths,
                    seed=7,
                    workers=1,  # leave the other core to the event loop and the UI
                    names=inputs.symbols,
                )
            except Exception as exc:  # reported in the panel; the desk keeps trading
                error = f"{method} VaR failed: {exc}"
                continue
            results.append({"method": method, "confidence": confidence, "var": r.var, "es": r.es, "stderr": r.stderr})
            notes.extend(n for n in r.notes if n not in notes)
            if (method, confidence) == headline:
                contributions = r.contributions_by_name()
    return RiskReport(
        ts_ns=inputs.ts_ns,
        symbols=inputs.symbols,
        portfolio_value=value,
        results=tuple(results),
        contributions=contributions,
        covariance=sample_covariance(inputs.returns),
        observations=t,
        notes=tuple(notes),
        error=error,
        elapsed_s=time.perf_counter() - started,
    )


@dataclass
class _Counters:
    consecutive_losses: int = 0
    strategy_errors: int = 0
    day: str = ""
    day_start_equity: float = 0.0
    order_times: deque[int] = field(default_factory=lambda: deque(maxlen=100_000))
    rejections: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=50))


class RiskMonitor:
    def __init__(
        self,
        desk: TradingDesk,
        limits: Limits,
        *,
        alerts: AlertBus | None = None,
        var_confidence: float = 0.99,
        var_horizon_s: float = 86_400.0,
        var_method: str = "parametric",
        var_paths: int = 100_000,
        sample_s: float = 1.0,
        history: int = 3_600,
        wall_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.desk = desk
        self.limits = limits
        self.alerts = alerts or AlertBus()
        self.breaker = CircuitBreaker()
        self.var_confidence = var_confidence
        self.var_horizon_s = var_horizon_s
        self.var_method = var_method
        self.var_paths = var_paths
        self.sample_ns = int(sample_s * NS)
        self.wall_clock = wall_clock
        self.symbols = tuple(desk.instruments)
        self.mid_history: deque[tuple[float, ...]] = deque(maxlen=history + 1)
        self.report: RiskReport | None = None
        self.c = _Counters()
        self.version = 0  # bumped on anything the risk panel shows
        self._next_sample_ns = 0
        self._next_eval_ns = 0
        self._last_seen: dict[str, float] = {}
        self._seen_seq: dict[str, int] = {}
        self._stale: set[str] = set()

        desk.gateway.add_check(self.check)
        desk.engine.add_batch_listener(self.on_batch_end)
        desk.broker.fill_listeners.append(self.on_fill)
        desk.broker.order_listeners.append(self._on_order)
        desk.runner.state_listeners.append(self.on_strategy_state)
        self.breaker.listeners.append(self._on_transition)

    # --- pre-trade --------------------------------------------------------------------------------
    def check(self, order: Order) -> str | None:
        reason = self._check(order)
        now = self.desk.clock()
        if reason is None:
            self.c.order_times.append(now)
        else:
            self.c.rejections.append((now, f"{order.client_id} {order.side} {order.symbol}: {reason}"))
            self.version += 1
            self.alerts.raise_alert("rejected", Severity.WARNING, f"{order.symbol} {order.side}: {reason}", now)
        return reason

    def _check(self, order: Order) -> str | None:
        desk = self.desk
        inst = desk.instruments.get(order.symbol)
        if inst is None:
            return None  # the broker rejects unknown symbols itself
        state = self.breaker.state
        liquidation = order.strategy == LIQUIDATION
        book = desk.engine.books[order.symbol]
        # Feed gate: never trade on a book we cannot trust.
        if book.state is not BookState.LIVE:
            return f"{order.symbol} book is {book.state}: {book.invalid_reason or 'no snapshot yet'}"
        if book.is_crossed:
            return f"{order.symbol} book is crossed"
        if order.symbol in self._stale:
            return f"{order.symbol} feed is stale (no message for over {self.limits.stale_after_s:g} s)"
        impact = self.impact(order)
        if state is BreakerState.HALTED and not liquidation:
            return f"circuit breaker HALTED ({self.breaker.reason})"
        if state is BreakerState.REDUCE_ONLY and impact.increases:
            return f"circuit breaker REDUCE_ONLY ({self.breaker.reason}): order would increase the position"
        if liquidation:
            return None
        reason = check_order_size(impact, self.limits) or check_position(impact, self.limits)
        if reason:
            return reason
        window_start = desk.clock() - 60 * NS
        recent = sum(1 for t in self.c.order_times if t >= window_start)
        if recent >= self.limits.max_orders_per_minute:
            return f"order rate {recent}/min reached max_orders_per_minute {self.limits.max_orders_per_minute}"
        if impact.increases:
            daily = self.daily_pnl()
            if daily <= -self.limits.daily_loss_limit:
                return f"daily loss {-daily:,.2f} reached daily_loss_limit {self.limits.daily_loss_limit:,.2f}"
            var_after = self.var_after(order.symbol, float(impact.position_after) * impact.price)
            if var_after is not None and var_after > self.limits.var_limit:
                limit = self.limits.var_limit
                return f"portfolio VaR after the order {var_after:,.2f} would exceed var_limit {limit:,.2f}"
        return None

    def impact(self, order: Order) -> OrderImpact:
        desk = self.desk
        inst = desk.instruments[order.symbol]
        book = desk.engine.books[order.symbol]
        if order.type is OrderType.LIMIT and order.price is not None:
            price_ticks: float = order.price
        else:
            touch = book.best_ask if order.side is Side.BUY else book.best_bid
            price_ticks = touch if touch is not None else (book.mid_ticks() or 0.0)
        price = inst.price_float(price_ticks)
        qty = inst.size(order.quantity)
        before = inst.size(desk.portfolio.position(order.symbol).quantity)
        after = before + qty if order.side is Side.BUY else before - qty
        mids = desk.mids()
        gross = 0.0
        for sym, pos in desk.portfolio.positions.items():
            if sym != order.symbol:
                gross += abs(pos.notional(mids.get(sym)))
        gross += abs(float(after)) * price
        return OrderImpact(
            order.symbol, qty, price, before, after, abs(float(after)) * price, gross, desk.portfolio.equity(mids)
        )

    def var_after(self, symbol: str, new_exposure: float) -> float | None:
        """Parametric VaR of the portfolio with ``symbol``'s exposure replaced (uses the worker's covariance)."""
        report = self.report
        if report is None or report.covariance is None:
            return None
        exposures = self.exposures()
        exposures[self.symbols.index(symbol)] = new_exposure
        variance = float(exposures @ report.covariance @ exposures)
        z = NormalDist().inv_cdf(self.var_confidence)
        return z * math.sqrt(max(variance, 0.0) * self.var_horizon_s / (self.sample_ns / NS))

    def exposures(self) -> np.ndarray:
        mids = self.desk.mids()
        return np.array([self.desk.portfolio.position(s).notional(mids.get(s)) for s in self.symbols])

    # --- monitoring ---------------------------------------------------------------------------------
    def daily_pnl(self) -> float:
        equity = self.desk.portfolio.equity(self.desk.mids())
        day = datetime.fromtimestamp(self.desk.clock() / NS, UTC).date().isoformat()
        if day != self.c.day:
            self.c.day = day
            self.c.day_start_equity = equity
        return equity - self.c.day_start_equity

    def on_fill(self, order: Order, fill: Fill) -> None:
        position = self.desk.portfolio.position(fill.symbol)
        realized = position.last_realized
        if realized < 0:
            self.c.consecutive_losses += 1
            if self.c.consecutive_losses >= self.limits.max_consecutive_losses:
                self.breaker.escalate(
                    BreakerState.REDUCE_ONLY, f"{self.c.consecutive_losses} losing trades in a row", fill.ts_ns
                )
        elif realized > 0:
            self.c.consecutive_losses = 0
        self.version += 1

    def _on_order(self, order: Order, event: object) -> None:
        self.version += 1

    def on_strategy_state(self, inst: StrategyInstance, state: StrategyState, reason: str) -> None:
        if state.value == "error":
            self.c.strategy_errors += 1
            now = self.desk.clock()
            self.alerts.raise_alert("strategy", Severity.CRITICAL, f"{inst.key} failed: {reason}", now)
            if self.c.strategy_errors >= self.limits.max_strategy_errors:
                self.breaker.escalate(BreakerState.HALTED, f"{self.c.strategy_errors} strategy errors", now)

    def on_batch_end(self) -> None:
        engine = self.desk.engine
        now = engine.now_ns
        wall = self.wall_clock()
        for symbol, seq in engine.symbol_seq.items():
            if self._seen_seq.get(symbol) != seq:
                self._seen_seq[symbol] = seq
                self._last_seen[symbol] = wall
        if now >= self._next_sample_ns:
            self._next_sample_ns = (now // self.sample_ns + 1) * self.sample_ns  # a fixed grid: no drift
            mids = self.desk.mids()
            row = tuple(mids.get(s) or math.nan for s in self.symbols)
            if not any(math.isnan(x) for x in row):
                self.mid_history.append(row)
        if now >= self._next_eval_ns:
            self._next_eval_ns = now + NS
            self.evaluate(now, wall)

    def evaluate(self, now_ns: int, wall: float | None = None) -> None:
        """Breaker triggers: daily loss, drawdown, stale data."""
        wall = self.wall_clock() if wall is None else wall
        limits = self.limits
        daily = self.daily_pnl()
        drawdown = self.desk.portfolio.drawdown(self.desk.mids())
        if daily <= -limits.daily_loss_limit:
            self.breaker.escalate(
                BreakerState.HALTED, f"daily loss {-daily:,.2f} >= {limits.daily_loss_limit:,.2f}", now_ns
            )
        elif daily <= -limits.daily_loss_limit * limits.reduce_only_at:
            self.breaker.escalate(BreakerState.REDUCE_ONLY, f"daily loss {-daily:,.2f} near the limit", now_ns)
        if drawdown >= limits.max_drawdown:
            self.breaker.escalate(BreakerState.HALTED, f"drawdown {drawdown:.1%} >= {limits.max_drawdown:.1%}", now_ns)
        elif drawdown >= limits.max_drawdown * limits.reduce_only_at:
            self.breaker.escalate(BreakerState.REDUCE_ONLY, f"drawdown {drawdown:.1%} near the limit", now_ns)
        stale = {s for s, seen in self._last_seen.items() if wall - seen > limits.stale_after_s}
        for symbol in stale - self._stale:
            self.alerts.raise_alert("stale", Severity.WARNING, f"{symbol} feed stale", now_ns)
            if self.desk.portfolio.position(symbol).quantity:
                self.breaker.escalate(BreakerState.REDUCE_ONLY, f"stale data on {symbol} with an open position", now_ns)
        if stale != self._stale:
            self._stale = stale
            self.version += 1

    # --- VaR worker plumbing ------------------------------------------------------------------------
    def var_inputs(self, confidences: tuple[float, ...] = (0.95, 0.99), methods: tuple[str, ...] = ()) -> VarInputs:
        prices = np.array(self.mid_history, dtype=float).reshape(-1, len(self.symbols))
        returns = prices[1:] / prices[:-1] - 1.0 if len(prices) > 1 else np.empty((0, len(self.symbols)))
        period_s = self.sample_ns / NS
        conf = tuple(sorted({*confidences, self.var_confidence}))
        return VarInputs(
            self.symbols,
            self.exposures(),
            returns,
            period_s,
            self.var_horizon_s / period_s,
            conf,
            methods or ("historical", "parametric", "mc"),
            self.var_paths,
            self.desk.clock(),
        )

    def apply_report(self, report: RiskReport) -> None:
        self.report = report
        self.version += 1
        headline = next(
            (
                r
                for r in report.results
                if r["method"] == self.var_method and abs(r["confidence"] - self.var_confidence) < 1e-12
            ),
            None,
        )
        if headline is not None and headline["var"] > self.limits.var_limit:
            self.alerts.raise_alert(
                "limit",
                Severity.WARNING,
                f"portfolio VaR {headline['var']:,.2f} over var_limit {self.limits.var_limit:,.2f}",
                report.ts_ns,
            )

    def compute_now(self) -> RiskReport:
        """Synchronous run (headless commands and tests); the TUI runs ``compute_report`` in a worker."""
        report = compute_report(self.var_inputs(), (self.var_method, self.var_confidence))
        self.apply_report(report)
        return report

    # --- utilisation for the panel and `desk risk` ----------------------------------------------------
    def utilisation(self) -> list[LimitUse]:
        desk = self.desk
        mids = desk.mids()
        equity = desk.portfolio.equity(mids)
        uses: list[LimitUse] = []
        gross = 0.0
        for symbol in self.symbols:
            pos = desk.portfolio.position(symbol)
            inst = desk.instruments[symbol]
            notional = abs(pos.notional(mids.get(symbol)))
            gross += notional
            cap = self.limits.max_position_qty.get(symbol)
            if cap is not None:
                uses.append(LimitUse(f"position {symbol}", abs(float(inst.size(pos.quantity))), float(cap)))
            uses.append(LimitUse(f"position value {symbol}", notional, self.limits.max_position_notional))
            if equity > 0:
                uses.append(LimitUse(f"concentration {symbol}", notional / equity, self.limits.max_concentration))
        uses.append(LimitUse("gross exposure", gross, self.limits.max_gross_exposure))
        uses.append(LimitUse("daily loss", max(0.0, -self.daily_pnl()), self.limits.daily_loss_limit))
        uses.append(LimitUse("drawdown", desk.portfolio.drawdown(mids), self.limits.max_drawdown))
        window_start = desk.clock() - 60 * NS
        rate = sum(1 for t in self.c.order_times if t >= window_start)
        uses.append(LimitUse("orders per minute", float(rate), float(self.limits.max_orders_per_minute)))
        uses.append(
            LimitUse("consecutive losses", float(self.c.consecutive_losses), float(self.limits.max_consecutive_losses))
        )
        uses.append(LimitUse("strategy errors", float(self.c.strategy_errors), float(self.limits.max_strategy_errors)))
        var_now = self.var_after(self.symbols[0], float(self.exposures()[0])) if self.symbols else None
        uses.append(
            LimitUse(
                "VaR",
                var_now or 0.0,
                self.limits.var_limit,
                "" if var_now is not None else "waiting for history",
            )
        )
        return uses

    # --- kill switch --------------------------------------------------------------------------------
    def kill(self, source: str) -> dict[str, int]:
        """Cancel every open order and stop every strategy, now, and halt."""
        desk = self.desk
        now = desk.clock()
        cancelled = desk.broker.cancel_all(reason=f"kill switch ({source})")
        running = [k for k, i in desk.runner.instances.items() if i.state.value in ("running", "paused")]
        desk.runner.stop_all("kill switch")
        self.breaker.escalate(BreakerState.HALTED, f"kill switch ({source})", now)
        desk.audit(source, "risk.halt", cancelled=cancelled, stopped=running)
        self.version += 1
        return {"cancelled": cancelled, "stopped": len(running)}

    def resume(self, source: str) -> bool:
        changed = self.breaker.reset(f"manual reset ({source})", self.desk.clock())
        self.c.consecutive_losses = 0
        self.c.strategy_errors = 0
        self.desk.audit(source, "risk.resume")
        return changed

    def liquidate(self, source: str) -> list[Order]:
        """Flatten every position with market orders (allowed while HALTED; still feed-gated)."""
        desk = self.desk
        desk.audit(source, "risk.liquidate")
        desk.broker.cancel_all(reason=f"liquidation ({source})")
        orders = []
        for symbol, pos in list(desk.portfolio.positions.items()):
            if pos.quantity:
                side = Side.SELL if pos.quantity > 0 else Side.BUY
                order = Order(
                    desk.broker.next_id(), symbol, side, OrderType.MARKET, abs(pos.quantity), strategy=LIQUIDATION
                )
                orders.append(desk.gateway.submit(order))
        return orders

    def _on_transition(self, t: Transition) -> None:
        self.version += 1
        if self.desk.journal is not None:
            self.desk.journal.record_risk("breaker", t.state.value, t.reason, t.ts_ns)
        severity = Severity.CRITICAL if t.state is BreakerState.HALTED else Severity.WARNING
        self.alerts.raise_alert("breaker", severity, f"breaker {t.previous} -> {t.state}: {t.reason}", t.ts_ns)
        if t.state is BreakerState.HALTED:
            self.desk.broker.cancel_all(reason=f"breaker halted: {t.reason}")
            for key, inst in self.desk.runner.instances.items():
                if inst.state.value == "running":
                    self.desk.runner.pause(key)

    def summary(self) -> dict[str, Any]:
        return {
            "breaker": {"state": self.breaker.state.value, "reason": self.breaker.reason},
            "limits": [
                {"name": u.name, "value": u.value, "limit": u.limit, "utilisation": u.fraction, "detail": u.detail}
                for u in self.utilisation()
            ],
            "rejections": [reason for _, reason in self.c.rejections][-10:],
            "stale": sorted(self._stale),
            "var": [] if self.report is None else list(self.report.results),
        }
