"""Journal writer (one background thread, batched transactions) and reader (queries, recovery).

Durability policy (also in docs/journal.md):
- WAL mode, ``synchronous=FULL``: a committed transaction survives a process kill *and* a power cut.
- The trading thread never waits for the disk: ``Journal`` queues rows to one writer thread, which commits
  everything queued so far in one transaction (group commit: many fills per fsync under load).
- A fill is **acknowledged** (printed by ``desk run``, shown in the TUI as journaled) only from the ``on_commit``
  callbacks, which run after the transaction holding it has committed. So an acknowledged fill is never lost;
  a fill between its creation and its commit (a few milliseconds) can be lost by a crash, and was never
  acknowledged. Positions are rebuilt from journaled fills only, so they always equal the sum of those fills.
- Single writer: only the desk process writes; CLI readers open read-only connections (no "database is locked").
"""

from __future__ import annotations

import contextlib
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from desk.domain.events import Side
from desk.domain.instruments import Instrument
from desk.execution.orders import Fill, Order, OrderEvent, OrderStatus, OrderType, TimeInForce
from desk.journal.schema import migrate

Row = tuple[str, tuple[Any, ...]]
_Item = tuple[Row | None, Callable[[], None] | None]
_STOP = object()


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=5.0)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, timeout=5.0, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        migrate(conn)
    conn.row_factory = sqlite3.Row
    return conn


class Journal:
    """Append-only writer. ``record_*`` methods are cheap (they enqueue); the thread does the I/O."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="desk-journal", daemon=True)
        self.committed_transactions = 0
        self.error: str = ""
        self._thread.start()

    # --- recording ------------------------------------------------------------------------------
    def write(self, sql: str, params: tuple[Any, ...], on_commit: Callable[[], None] | None = None) -> None:
        item: _Item = ((sql, params), on_commit)
        self._queue.put(item)

    def record_order(self, order: Order, event: OrderEvent, instrument: Instrument) -> None:
        price = None if order.price is None else instrument.price_str(order.price)
        self.write(
            "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(client_id) DO UPDATE SET "
            "status=excluded.status, filled_lots=excluded.filled_lots, reason=excluded.reason, "
            "updated_ns=excluded.updated_ns",
            (
                order.client_id,
                order.symbol,
                order.side.value,
                order.type.value,
                order.tif.value,
                int(order.post_only),
                instrument.size_str(order.quantity),
                price,
                order.quantity,
                order.price,
                order.strategy,
                order.status.value,
                order.filled,
                order.reason,
                order.created_ns,
                order.updated_ns,
            ),
        )
        self.write(
            "INSERT INTO order_events(order_id, status, filled_lots, reason, ts_ns) VALUES (?,?,?,?,?)",
            (event.order_id, event.status.value, event.filled, event.reason, event.ts_ns),
        )

    def record_fill(self, fill: Fill, instrument: Instrument, on_commit: Callable[[], None] | None = None) -> None:
        self.write(
            "INSERT OR IGNORE INTO fills(fill_id, order_id, symbol, side, price, quantity, price_ticks, quantity_lots,"
            " fee, liquidity, strategy, ts_ns) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                fill.fill_id,
                fill.order_id,
                fill.symbol,
                fill.side.value,
                instrument.price_str(fill.price),
                instrument.size_str(fill.quantity),
                fill.price,
                fill.quantity,
                str(fill.fee),
                fill.liquidity,
                fill.strategy,
                fill.ts_ns,
            ),
            on_commit,
        )

    def record_strategy(
        self, key: str, name: str, symbol: str, params: dict[str, Any], state: str, reason: str, ts_ns: int
    ) -> None:
        self.write(
            "INSERT INTO strategy_runs(key, name, symbol, params, state, reason, ts_ns) VALUES (?,?,?,?,?,?,?)",
            (key, name, symbol, json.dumps(params, sort_keys=True), state, reason, ts_ns),
        )

    def record_risk(self, kind: str, state: str, detail: str, ts_ns: int) -> None:
        self.write("INSERT INTO risk_events(kind, state, detail, ts_ns) VALUES (?,?,?,?)", (kind, state, detail, ts_ns))

    def record_audit(self, source: str, action: str, detail: dict[str, Any], ts_ns: int) -> None:
        self.write(
            "INSERT INTO audit(source, action, detail, ts_ns) VALUES (?,?,?,?)",
            (source, action, json.dumps(detail, sort_keys=True, default=str), ts_ns),
        )

    def record_equity(self, ts_ns: int, equity: float) -> None:
        self.write("INSERT INTO equity(ts_ns, equity) VALUES (?,?)", (ts_ns, equity))

    # --- lifecycle ------------------------------------------------------------------------------
    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything queued before this call is committed."""
        done = threading.Event()
        self._queue.put((None, done.set))
        return done.wait(timeout)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout=10.0)
        self._conn.close()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:  # group commit: take everything already queued
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(entry is _STOP for entry in batch)
            items: list[_Item] = [entry for entry in batch if isinstance(entry, tuple)]
            while not self._commit(items):
                # Disk full, file locked by a foreign writer...: keep the rows and retry, never drop them.
                if stop:
                    return
                time.sleep(0.5)
            for _, callback in items:
                if callback is not None:
                    with contextlib.suppress(Exception):  # an acknowledgement hook must never kill the writer
                        callback()
            if stop:
                return

    def _commit(self, items: list[_Item]) -> bool:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            for row, _ in items:
                if row is not None:
                    self._conn.execute(row[0], row[1])
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self.error = f"journal write failed (will retry): {exc}"
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            return False
        self.error = ""
        self.committed_transactions += 1
        return True


@dataclass
class RecoveredState:
    fills: list[Fill] = field(default_factory=list)
    open_orders: list[Order] = field(default_factory=list)
    strategies: list[dict[str, Any]] = field(default_factory=list)  # last record per instance key
    equity: list[tuple[int, float]] = field(default_factory=list)


class JournalReader:
    """Queries for CLI commands and recovery; read-only, safe while a desk is writing."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise FileNotFoundError(path)
        self.path = path
        self._conn = connect(path, readonly=True)

    def close(self) -> None:
        self._conn.close()

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self._conn.execute(sql, tuple(params))]

    def fills(self, symbol: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM fills" + (" WHERE symbol = ?" if symbol else "") + " ORDER BY seq"
        rows = self.rows(sql, (symbol,) if symbol else ())
        return rows[-limit:] if limit else rows

    def orders(self, open_only: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
        where = " WHERE status IN ('new', 'accepted', 'partially_filled')" if open_only else ""
        rows = self.rows(f"SELECT * FROM orders{where} ORDER BY created_ns, client_id")
        return rows[-limit:] if limit else rows

    def table(self, name: str) -> list[dict[str, Any]]:
        if name not in {"orders", "order_events", "fills", "strategy_runs", "risk_events", "audit", "equity"}:
            raise ValueError(f"unknown journal table {name!r}")
        return self.rows(f"SELECT * FROM {name}")

    def recover(self, instruments: dict[str, Instrument]) -> RecoveredState:
        state = RecoveredState()
        for row in self.fills():
            inst = instruments.get(row["symbol"])
            if inst is None:
                continue
            state.fills.append(
                Fill(
                    fill_id=row["fill_id"],
                    order_id=row["order_id"],
                    symbol=row["symbol"],
                    side=Side(row["side"]),
                    price=inst.price_to_ticks(row["price"]),
                    quantity=inst.size_to_lots(row["quantity"]),
                    fee=Decimal(row["fee"]),
                    liquidity=row["liquidity"],
                    ts_ns=row["ts_ns"],
                    strategy=row["strategy"],
                )
            )
        for row in self.orders(open_only=True):
            inst = instruments.get(row["symbol"])
            if inst is None:
                continue
            # Journaled fills are the truth for how much of the order is done.
            filled = sum(f.quantity for f in state.fills if f.order_id == row["client_id"])
            order = Order(
                client_id=row["client_id"],
                symbol=row["symbol"],
                side=Side(row["side"]),
                type=OrderType(row["type"]),
                quantity=inst.size_to_lots(row["quantity"]),
                price=None if row["price"] is None else inst.price_to_ticks(row["price"]),
                tif=TimeInForce(row["tif"]),
                post_only=bool(row["post_only"]),
                strategy=row["strategy"],
                status=OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACCEPTED,
                filled=filled,
                filled_notional=sum(f.price * f.quantity for f in state.fills if f.order_id == row["client_id"]),
                created_ns=row["created_ns"],
                updated_ns=row["updated_ns"],
            )
            if order.remaining > 0 and order.type is OrderType.LIMIT:
                state.open_orders.append(order)
        latest: dict[str, dict[str, Any]] = {}
        for row in self.rows("SELECT * FROM strategy_runs ORDER BY id"):
            row["params"] = json.loads(row["params"])
            latest[row["key"]] = row
        state.strategies = list(latest.values())
        state.equity = [(r["ts_ns"], r["equity"]) for r in self.rows("SELECT * FROM equity ORDER BY ts_ns")]
        return state
