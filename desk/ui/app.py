"""The desk's Textual app and ``build_app``, the one factory the CLI and the tests use.

Data path (references/textual-live-data.md): the feed runs as a worker in the app's event loop and its sink
applies each batch straight to the ``Engine`` (no Textual message per update). One app-level interval at
``ui.refresh_hz`` pulls an immutable ``MarketView`` of the shown symbol and hands it to each widget, which
compares sequence numbers and repaints only when its content changed. After the first frame the start-up
objects are moved out of the garbage collector's reach (``gc.freeze``), which removes the worst GC stalls.

Trading (strategies, orders, positions, equity, risk; the VaR worker, control socket and alerts) comes from
``TradingActions`` in desk/ui/trading_actions.py, on a ``TradingDesk`` with its ``RiskMonitor``
(``desk.runtime.build.build_trading_desk``): the app's engine is the desk's.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from desk.config import Settings
from desk.domain.events import Event
from desk.engine import MarketView
from desk.errors import RuntimeFailure, UserError
from desk.feeds.base import Feed
from desk.risk.monitor import RiskMonitor
from desk.trading import TradingDesk
from desk.ui import analysis
from desk.ui.messages import SymbolSwitched
from desk.ui.model import RateMeter, StatusInfo
from desk.ui.screens.help import HelpScreen, binding_rows
from desk.ui.session import TradingSession, another_desk_answers
from desk.ui.themes import DESK_THEMES, stylesheet_path, themes_dir
from desk.ui.trading_actions import TRADING_BINDINGS, TradingActions
from desk.ui.widgets.chan_chart import ChanChart
from desk.ui.widgets.chart import PriceChart
from desk.ui.widgets.ladder import Ladder
from desk.ui.widgets.layout import Column, DeskFooter, DeskScreen, Row
from desk.ui.widgets.status import StatusBar
from desk.ui.widgets.tape import Tape

Clock = Callable[[], float]
"""Seconds since the epoch; injected so tests and screenshots get a fixed clock."""

MAX_REFRESH_HZ = 60.0  # Textual's own frame cap


TRADING_STYLESHEET = "trading.tcss"


class DeskApp(TradingActions):
    TITLE = "desk"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "next_symbol", "Next symbol"),
        Binding("tab", "next_symbol", "Next symbol", show=False, priority=True),
        Binding("shift+tab", "previous_symbol", "Previous symbol", show=False, priority=True),
        *[Binding(str(n), f"select_symbol({n - 1})", "Symbol 1-9", show=False) for n in range(1, 10)],
        Binding("c", "toggle_chan", "Chan overlay"),
        Binding("m", "chan_macd", "Chan MACD preset", show=False),
        Binding("t", "chan_timeframe", "Chan timeframe", show=False),
        Binding("b", "backtest", "Backtest"),
        *TRADING_BINDINGS,
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        feed: Feed,
        session: TradingSession,
        clock: Clock,
        freeze_gc: bool,
        control_socket: Path | None = None,
        recovered: dict[str, int] | None = None,
    ) -> None:
        super().__init__(css_path=[stylesheet_path(), themes_dir() / TRADING_STYLESHEET])
        ui = settings.ui
        if not 0 < ui.refresh_hz <= MAX_REFRESH_HZ:
            raise UserError(f"ui.refresh_hz {ui.refresh_hz} is out of range; expected 0 < hz <= {MAX_REFRESH_HZ:g}")
        if ui.depth_levels < 1:
            raise UserError(f"ui.depth_levels {ui.depth_levels} must be at least 1")
        for theme in DESK_THEMES:
            self.register_theme(theme)
        if ui.theme not in self.available_themes:
            names = ", ".join(sorted(self.available_themes))
            raise UserError(f"ui.theme {ui.theme!r} is not a known theme; expected one of {names}")
        self.theme = ui.theme
        self.settings = settings
        self.feed = feed
        self.engine = engine = session.desk.engine
        self.clock = clock
        self.symbols = [s for s in dict.fromkeys(settings.market.symbols) if s in engine.books] or list(engine.books)
        if not self.symbols:
            raise UserError("no symbols to show; expected market.symbols to name the feed's instruments")
        self.symbol_index = 0
        self.meter = RateMeter(clock)
        self.feed_error = ""
        self.ticks = 0
        self._freeze_gc = freeze_gc
        self._gc_frozen = False
        self.init_trading(
            session,
            control_socket=control_socket,
            var_interval_s=settings.risk.var_interval_s,
            var_horizon=settings.risk.var_horizon,
            recovered=recovered,
        )

    # --- layout ------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Row(id="main"):
            yield Ladder(self.settings.ui.depth_levels, id="ladder")
            # Market on top (tape, chart), the desk's trading panels under it (desk/ui/trading_actions.py).
            with Column(id="right"):
                with Row(id="market-row"):
                    yield Tape(id="tape")
                    with Column(id="panels"):
                        yield PriceChart(id="chart")
                        yield ChanChart(id="chan")  # shown in the chart's place by `c`
                yield from self.compose_trading()
        yield DeskFooter()

    def get_default_screen(self) -> Screen[Any]:
        return DeskScreen(id="_default")

    def on_mount(self) -> None:
        # Held, not queried per tick: a query each tick costs, and after exit has begun there is nothing to find.
        self._ladder = self.query_one(Ladder)
        self._tape = self.query_one(Tape)
        self._chart = self.query_one(PriceChart)
        self._chan = self.query_one(ChanChart)
        self._status_bar = self.query_one(StatusBar)
        self.start_trading()
        self.run_worker(self._run_feed(), name="feed", group="feed", exit_on_error=False)
        self.set_interval(1.0 / self.settings.ui.refresh_hz, self.update_view, name="ui-tick")
        self.update_view()
        if self._freeze_gc:
            self.call_after_refresh(self._freeze)

    def on_unmount(self) -> None:
        self.feed.stop()
        self.stop_trading()
        if self._gc_frozen:
            gc.unfreeze()
            self._gc_frozen = False

    def _freeze(self) -> None:
        gc.collect()
        gc.freeze()
        self._gc_frozen = True

    # --- data path ---------------------------------------------------------------------------------------
    def _sink(self, batch: Sequence[Event]) -> None:
        """Called by the feed with each batch, in the event loop: apply straight to the engine, count, done."""
        self.engine.on_events(batch)
        self.meter.add(len(batch))

    async def _run_feed(self) -> None:
        try:
            await self.feed.run(self._sink)
        except Exception as exc:  # a feed that dies must not take the screen with it: show it instead
            self.feed_error = f"{type(exc).__name__}: {exc}"
            self.notify(f"feed stopped: {self.feed_error}", severity="error", timeout=30)

    @property
    def symbol(self) -> str:
        return self.symbols[self.symbol_index]

    def update_view(self) -> None:
        """The UI tick: one snapshot of the shown symbol, handed to each widget."""
        ladder = self._ladder
        if not ladder.is_attached:  # the app is shutting down; a last timer tick may still fire
            return
        self.ticks += 1
        view = self.engine.view(self.symbol, depth=ladder.depth, trades=self._tape.rows)
        own = self.session.own_levels(self.symbol)
        ladder.show(view, (own.bids, own.asks))
        self._tape.show(view)
        if self._chan.display:
            self._chan.show(view)
        else:
            self._chart.show(view)
        self._status_bar.show(self._status(view))
        self.update_trading()

    def _status(self, view: MarketView) -> StatusInfo:
        feed_state = view.feed.state.value if view.feed is not None else "-"
        if self.feed_error:
            feed_state = "down"
        return StatusInfo(
            venue=view.venue,
            symbol=view.symbol,
            symbol_index=self.symbol_index,
            symbol_count=len(self.symbols),
            feed_state=feed_state,
            rate=self.meter.sample(),
            age_s=self.meter.age(),
            book_state=view.state.value,
            book_seq=view.book_seq,
            wall_time=self.clock(),
            gaps=view.feed.gaps if view.feed is not None else 0,
            resyncs=view.feed.resyncs if view.feed is not None else 0,
            checksum_failures=view.feed.checksum_failures if view.feed is not None else 0,
        )

    # --- actions -----------------------------------------------------------------------------------------
    def switch_symbol(self, symbol: str) -> None:
        if symbol not in self.symbols:
            self.bell()
            return
        previous = self.symbol
        if symbol == previous:
            return
        self.symbol_index = self.symbols.index(symbol)
        self.post_message(SymbolSwitched(symbol, previous))
        self.update_view()

    def action_next_symbol(self) -> None:
        self.switch_symbol(self.symbols[(self.symbol_index + 1) % len(self.symbols)])

    def action_previous_symbol(self) -> None:
        self.switch_symbol(self.symbols[(self.symbol_index - 1) % len(self.symbols)])

    def action_select_symbol(self, index: int) -> None:
        if 0 <= index < len(self.symbols):
            self.switch_symbol(self.symbols[index])
        else:
            self.bell()

    def action_toggle_chan(self) -> None:
        analysis.toggle_chan(self)

    def action_chan_macd(self) -> None:
        analysis.cycle_macd(self)

    def action_chan_timeframe(self) -> None:
        analysis.cycle_timeframe(self)

    def action_backtest(self) -> None:
        analysis.open_backtest(self)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        rows = binding_rows(self.BINDINGS, self.get_key_display)
        rows.append(
            (
                self.get_key_display(Binding(self.COMMAND_PALETTE_BINDING, "")),
                "Command palette: symbols, themes, Chan, backtest",
            )
        )
        self.push_screen(HelpScreen(rows))

    def set_theme(self, name: str) -> None:
        self.theme = name

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for symbol in self.symbols:
            yield SystemCommand(f"Symbol: {symbol}", f"Show {symbol} on the desk", partial(self.switch_symbol, symbol))
        for theme in DESK_THEMES:
            yield SystemCommand(
                f"Theme: {theme.name}", f"Switch to the {theme.name} theme", partial(self.set_theme, theme.name)
            )
        yield from analysis.commands(self)


def build_app(
    settings: Settings | None = None,
    *,
    feed: Feed | None = None,
    desk: TradingDesk | None = None,
    monitor: RiskMonitor | None = None,
    journal_path: Path | None = None,
    control_socket: Path | None = None,
    clock: Clock | None = None,
    freeze_gc: bool = True,
) -> DeskApp:
    """The desk app on ``feed`` (default: ``market.venue`` from ``settings``, the simulated market unless set
    otherwise), trading through a paper ``TradingDesk`` and its ``RiskMonitor``.

    Without ``desk``/``monitor`` they are built from settings (``build_trading_desk``) with the journal at
    ``journal_path`` (None: no journal), and recovered from it: positions, open orders, and strategies, which come
    back paused. ``control_socket`` starts the control server there on mount (None: none); if another desk
    already answers on it this raises ``RuntimeFailure`` before anything is opened.

    Tests inject a feed (never the network), a prepared desk and monitor, a fixed ``clock``, and a journal and
    socket under tmp_path when they want them; the CLI passes settings, the journal and the socket.
    ``freeze_gc`` moves start-up objects out of the collector after the first frame (off in tests that build
    many apps in one process).
    """
    settings = settings if settings is not None else Settings()
    if (desk is None) != (monitor is None):
        raise ValueError("build_app takes a prepared desk together with its RiskMonitor (build_trading_desk)")
    if control_socket is not None and another_desk_answers(control_socket):
        raise RuntimeFailure(
            f"another desk is running (control socket {control_socket} answers); expected one desk per data directory"
        )
    if feed is None:
        from desk.ui.sources import market_feed

        feed = market_feed(settings)
    recovered = None
    built = desk is None or monitor is None
    if desk is None or monitor is None:
        from desk.runtime.build import build_trading_desk

        desk, monitor = build_trading_desk(settings, feed.instruments, feed.venue, journal_path)
    try:
        if built:
            recovered = desk.recover()
        return DeskApp(
            settings,
            feed=feed,
            session=TradingSession(desk, monitor),
            clock=clock or time.time,
            freeze_gc=freeze_gc,
            control_socket=control_socket,
            recovered=recovered,
        )
    except Exception:
        if built:  # close the journal we opened (its writer thread) before the error leaves
            desk.close()
        raise
