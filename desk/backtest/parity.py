"""Parity: replay a recorded paper session through a fresh desk and diff its fills against the session's journal.

A session directory is written by ``desk run --headless --record DIR``:

- ``DIR/market/``: the recording (``desk.feeds.record``) of every batch the feed handed the engine, in order,
  with its batching intact (strategies' ``on_book`` runs once per batch, so batching is part of the input);
- ``DIR/journal.db``: the session's journal (unless ``--journal`` put it elsewhere; session.json says where);
- ``DIR/session.json``: strategies with their resolved parameters and bar timeframe, the trading and risk
  settings the desk ran with, and the number of batches delivered before the strategies were stopped.

``run_parity`` builds the desk with the same recipe (``desk.runtime.build.build_trading_desk``) and the recorded
settings, adds and starts the same strategies, feeds the recorded batches (the risk monitor's staleness clock
follows event time instead of the wall clock), stops the strategies at the recorded point, and compares fills in
order: a pair is *matched* when side, quantity, price and time agree exactly, *mismatched* otherwise (with the
price and time differences); fills without a counterpart are listed on their side.

What cannot be replayed shows up as mismatches rather than being hidden: manual orders and ``desk halt``/
``liquidate`` during the session, and VaR-limit decisions that depended on when the VaR thread finished.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desk.domain.events import Event
from desk.errors import UserError

if TYPE_CHECKING:
    from desk.config import Settings
    from desk.feeds.record import Recorder
    from desk.strategies.base import StrategyState
    from desk.strategies.runner import StrategyInstance
    from desk.trading import TradingDesk

SESSION_FILE = "session.json"
SESSION_FORMAT = "desk-session/1"
MARKET_DIR = "market"


# --- recording a session ---------------------------------------------------------------------------------------
class SessionRecorder:
    """Attached to a headless run: records the feed's batches and what is needed to replay the session."""

    def __init__(self, directory: Path, venue: str, instruments: dict[str, Any], settings: Settings) -> None:
        from desk.feeds.record import Recorder

        self.directory = Path(directory)
        self.recorder: Recorder = Recorder(self.directory / MARKET_DIR, venue, instruments)
        self.settings = settings
        self.batches = 0
        self.stop_batch: int | None = None
        self.strategies: list[dict[str, Any]] = []
        self.journal: Path | None = None

    def wrap(self, sink: Callable[[Sequence[Event]], None]) -> Callable[[Sequence[Event]], None]:
        """A feed sink that records each batch, then hands it to the engine."""
        record = self.recorder.sink

        def recorded(batch: Sequence[Event]) -> None:
            if batch:
                record(batch)
                self.batches += 1
            sink(batch)

        return recorded

    def attach(self, desk: TradingDesk, journal: Path) -> None:
        self.journal = journal
        desk.runner.state_listeners.append(self._on_state)

    def _on_state(self, inst: StrategyInstance, state: StrategyState, reason: str) -> None:
        from desk.strategies.base import StrategyState

        if state is StrategyState.RUNNING and reason == "started":
            self.strategies.append(
                {
                    "name": inst.name,
                    "key": inst.key,
                    "symbol": inst.symbol,
                    "params": dict(inst.params),
                    "bar_seconds": inst.bars.timeframe_s if inst.bars is not None else None,
                    "start_batch": self.batches,
                }
            )
        elif state in (StrategyState.STOPPED, StrategyState.ERROR) and self.stop_batch is None:
            self.stop_batch = self.batches

    def close(self) -> Path:
        self.recorder.close()
        doc = {
            "format": SESSION_FORMAT,
            "journal": str(self.journal) if self.journal is not None else None,
            "strategies": self.strategies,
            "stop_batch": self.stop_batch if self.stop_batch is not None else self.batches,
            "batches": self.batches,
            "trading": dataclasses.asdict(self.settings.trading),
            "risk": _plain(dataclasses.asdict(self.settings.risk)),
        }
        path = self.directory / SESSION_FILE
        path.write_text(json.dumps(doc, indent=2, default=str))
        return path


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# --- replaying and comparing ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FillKey:
    strategy: str
    symbol: str
    side: str
    quantity: str
    price: str
    liquidity: str
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Mismatch:
    index: int
    journal: FillKey
    replay: FillKey
    price_diff: float  # replay - journal, quote currency
    time_diff_ms: float

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "journal": dataclasses.asdict(self.journal),
            "replay": dataclasses.asdict(self.replay),
            "price_diff": self.price_diff,
            "time_diff_ms": self.time_diff_ms,
        }


@dataclass(slots=True)
class ParityReport:
    session: Path
    journal_fills: int
    replay_fills: int
    matched: int
    mismatched: list[Mismatch] = field(default_factory=list)
    only_journal: list[FillKey] = field(default_factory=list)
    only_replay: list[FillKey] = field(default_factory=list)
    batches: int = 0

    @property
    def matched_all(self) -> bool:
        return not self.mismatched and not self.only_journal and not self.only_replay

    @property
    def max_price_diff(self) -> float:
        return max((abs(m.price_diff) for m in self.mismatched), default=0.0)

    @property
    def max_time_diff_ms(self) -> float:
        return max((abs(m.time_diff_ms) for m in self.mismatched), default=0.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "session": str(self.session),
            "parity": self.matched_all,
            "batches": self.batches,
            "journal_fills": self.journal_fills,
            "replay_fills": self.replay_fills,
            "matched": self.matched,
            "mismatched": len(self.mismatched),
            "only_in_journal": len(self.only_journal),
            "only_in_replay": len(self.only_replay),
            "max_price_diff": self.max_price_diff,
            "max_time_diff_ms": self.max_time_diff_ms,
            "mismatches": [m.as_json() for m in self.mismatched[:50]],
            "journal_only": [dataclasses.asdict(k) for k in self.only_journal[:50]],
            "replay_only": [dataclasses.asdict(k) for k in self.only_replay[:50]],
        }


def load_session(directory: Path) -> dict[str, Any]:
    path = Path(directory) / SESSION_FILE
    if not path.is_file():
        raise UserError(
            f"--parity {str(directory)!r}: no {SESSION_FILE}: "
            "expected a directory written by desk run --headless --record"
        )
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
    except ValueError:
        raise UserError(f"{path}: not JSON: expected a session written by desk run --headless --record") from None
    if doc.get("format") != SESSION_FORMAT:
        raise UserError(f"{path}: format {doc.get('format')!r}: expected {SESSION_FORMAT!r}")
    return doc


def _recorded_settings(settings: Settings, doc: dict[str, Any]) -> Settings:
    from desk.config import RiskSettings, TradingSettings

    def build(cls: Any, values: dict[str, Any]) -> Any:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names}
        return cls(**kwargs)

    trading = build(TradingSettings, doc.get("trading", {}))
    risk = build(RiskSettings, {**doc.get("risk", {}), "alert_bell": False, "alert_command": ""})
    return dataclasses.replace(settings, trading=trading, risk=risk)


def replay_session(directory: Path, settings: Settings) -> tuple[list[FillKey], int]:
    """Fills of a fresh desk fed the recorded batches, as comparable keys."""
    from desk.feeds.replay import open_recording, read_batches
    from desk.runtime.build import build_trading_desk

    doc = load_session(directory)
    recording = open_recording(Path(directory) / MARKET_DIR)
    replay_settings = _recorded_settings(settings, doc)
    desk, monitor = build_trading_desk(replay_settings, recording.instruments, recording.venue, None)
    monitor.wall_clock = lambda: desk.engine.now_ns / 1e9  # staleness in event time: the replay runs faster
    fills: list[FillKey] = []

    def on_fill(order: Any, fill: Any) -> None:
        fills.append(_key_of_fill(desk, fill))

    desk.broker.fill_listeners.append(on_fill)
    pending = sorted(doc.get("strategies", []), key=lambda s: int(s.get("start_batch", 0)))
    stop_at = int(doc.get("stop_batch", 0))

    def start_due(batch_no: int) -> None:
        while pending and int(pending[0].get("start_batch", 0)) <= batch_no:
            spec = pending.pop(0)
            inst = desk.runner.add(spec["name"], spec["symbol"], spec["params"], bar_seconds=spec.get("bar_seconds"))
            desk.runner.start(inst.key)

    alerts = logging.getLogger("desk.alerts")
    was_disabled = alerts.disabled
    alerts.disabled = True  # the session already raised these alerts; the replay only compares fills
    count = 0
    try:
        for _, batch in read_batches(recording):
            if count >= stop_at:
                break
            start_due(count)
            desk.engine.on_events(batch)
            count += 1
        start_due(count)
        desk.runner.stop_all("run ended")
    finally:
        alerts.disabled = was_disabled
        desk.close()
    return fills, count


def _key_of_fill(desk: TradingDesk, fill: Any) -> FillKey:
    inst = desk.instruments[fill.symbol]
    return FillKey(
        fill.strategy,
        fill.symbol,
        fill.side.value,
        inst.size_str(fill.quantity),
        inst.price_str(fill.price),
        fill.liquidity,
        fill.ts_ns,
    )


def journal_fills(journal: Path, strategies: set[str]) -> list[FillKey]:
    from desk.journal.store import JournalReader

    if not journal.exists():
        raise UserError(f"journal {str(journal)!r} of the session does not exist")
    reader = JournalReader(journal)
    try:
        rows = reader.fills()
    finally:
        reader.close()
    return [
        FillKey(r["strategy"], r["symbol"], r["side"], r["quantity"], r["price"], r["liquidity"], int(r["ts_ns"]))
        for r in rows
        if not strategies or r["strategy"] in strategies
    ]


def compare(session: Path, journal: list[FillKey], replay: list[FillKey], batches: int = 0) -> ParityReport:
    """Pairs fills in order per strategy and classifies each pair."""
    from decimal import Decimal

    report = ParityReport(session, len(journal), len(replay), 0, batches=batches)
    keys = list(dict.fromkeys([k.strategy for k in journal] + [k.strategy for k in replay]))
    index = 0
    for strategy in keys:
        mine = [k for k in journal if k.strategy == strategy]
        theirs = [k for k in replay if k.strategy == strategy]
        for j, r in zip(mine, theirs, strict=False):
            if j == r:
                report.matched += 1
            else:
                try:
                    price_diff = float(Decimal(r.price) - Decimal(j.price))
                except ArithmeticError:
                    price_diff = float("nan")
                report.mismatched.append(Mismatch(index, j, r, price_diff, (r.ts_ns - j.ts_ns) / 1e6))
            index += 1
        report.only_journal.extend(mine[len(theirs) :])
        report.only_replay.extend(theirs[len(mine) :])
    return report


def run_parity(directory: Path, settings: Settings) -> ParityReport:
    doc = load_session(directory)
    journal_path = Path(doc["journal"]) if doc.get("journal") else Path(directory) / "journal.db"
    if not journal_path.is_absolute():
        journal_path = Path(directory) / journal_path
    strategies = {s["key"] for s in doc.get("strategies", [])}
    recorded = journal_fills(journal_path, strategies)
    replayed, batches = replay_session(directory, settings)
    return compare(Path(directory), recorded, replayed, batches)


def print_report(report: ParityReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    verdict = "[green]fills reproduced[/]" if report.matched_all else "[red]fills differ[/]"
    console.print(
        f"parity {report.session}: {verdict} - {report.batches} batches replayed; journal {report.journal_fills} "
        f"fills, replay {report.replay_fills}; matched {report.matched}, mismatched {len(report.mismatched)}, "
        f"only in journal {len(report.only_journal)}, only in replay {len(report.only_replay)}"
    )
    if report.mismatched:
        console.print(
            f"max price difference {report.max_price_diff:g}, max time difference {report.max_time_diff_ms:g} ms"
        )
        table = Table(title="first mismatches", title_justify="left")
        for col in ("#", "strategy", "journal", "replay", "price diff", "time diff ms"):
            table.add_column(col)
        for m in report.mismatched[:20]:
            j, r = m.journal, m.replay
            table.add_row(
                str(m.index),
                j.strategy,
                f"{j.side} {j.quantity} @ {j.price} ({j.liquidity})",
                f"{r.side} {r.quantity} @ {r.price} ({r.liquidity})",
                f"{m.price_diff:g}",
                f"{m.time_diff_ms:g}",
            )
        console.print(table)
    for label, keys in (("only in journal", report.only_journal), ("only in replay", report.only_replay)):
        for k in keys[:10]:
            console.print(f"{label}: {k.strategy} {k.side} {k.quantity} @ {k.price} ts {k.ts_ns}")
