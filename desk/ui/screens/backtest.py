"""The backtest screen (``b`` or the palette): pick a strategy, bars and costs, run, browse the result.

The form is generated from the strategy's ``Param`` declarations and validated by ``desk.ui.backtest_model``
(the same rules as ``desk backtest --param``): a bad value stops the run and the reason shows under the form. The
run is ``run_backtest`` in a thread worker; its progress callback only stores two integers, which a timer copies
into the progress bar, so the worker never waits on the UI. Escape returns to the desk (a running backtest is
abandoned: the next progress callback stops it). The form and the last result live in a ``BacktestSession`` the
app keeps, so they are still there when the screen is opened again.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import Worker, WorkerState

from desk.backtest.report import chart
from desk.backtest.result import BacktestResult
from desk.errors import UserError
from desk.ui import backtest_model as bm
from desk.ui.model import braille_plot
from desk.ui.themes import themes_dir

FIELDS = (
    ("symbol", "symbol (simulated market, or the file's)"),
    ("path", "file (CSV or parquet; data = file)"),
    ("bars", "bars to simulate"),
    ("timeframe", "timeframe (1m, 5m, 1h; a file is resampled)"),
    ("seed", "seed (simulated bars, Monte Carlo)"),
    ("fees_bps", "fees, bps"),
    ("slippage_bps", "slippage, bps"),
)

Draw = Callable[[int, int], Text]


class Plot(Widget):
    """Static text drawn for the widget's current size (charts re-fit when the terminal is resized)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._draw: Draw | None = None

    def set_draw(self, draw: Draw | None) -> None:
        self._draw = draw
        self.refresh()

    def render(self) -> Text:
        if self._draw is None or self.size.width < 20:
            return Text("run a backtest to see its charts", style="italic")
        return self._draw(self.size.width, self.size.height)


class BacktestScreen(Screen[None]):
    CSS_PATH = str(themes_dir() / "backtest.tcss")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back to the desk"),
        Binding("ctrl+r", "run", "Run backtest"),
    ]

    def __init__(self, session: bm.BacktestSession) -> None:
        super().__init__()
        self.session = session
        self._progress = (0, 0)
        self._abandoned = False
        self._worker: Worker[BacktestResult] | None = None

    # --- layout ------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        s = self.session
        with Horizontal(id="bt-body"):
            with VerticalScroll(id="bt-form"):
                yield Static("Backtest", id="bt-title")
                yield Label("strategy")
                names = bm.strategy_names()
                yield Select([(n, n) for n in names], value=s.strategy, allow_blank=False, id="bt-strategy")
                yield Label("data")
                yield Select(
                    [("simulated bars", "simulated"), ("file", "file")],
                    value=s.source,
                    allow_blank=False,
                    id="bt-source",
                )
                values = bm.form_values(s)
                for name, label in FIELDS:
                    yield Label(label)
                    yield Input(values[name], id=f"bt-{name}", compact=True)
                yield Static("parameters", id="bt-params-title")
                yield Vertical(*self._param_widgets(s.strategy), id="bt-params")
                yield Button("Run (ctrl+r)", id="bt-run", variant="primary")
                yield ProgressBar(total=None, show_eta=False, id="bt-progress")
                yield Static("", id="bt-error")
            with Vertical(id="bt-result"):
                yield Static("no result yet: fill in the form and run", id="bt-summary")
                with TabbedContent(id="bt-tabs"):
                    with TabPane("Metrics", id="bt-tab-metrics"):
                        yield DataTable(id="bt-metrics", cursor_type="row", zebra_stripes=True)
                    with TabPane("Equity", id="bt-tab-equity"):
                        yield Plot(id="bt-equity")
                    with TabPane("Trades", id="bt-tab-trades"):
                        yield DataTable(id="bt-trades", cursor_type="row", zebra_stripes=True)
                    with TabPane("Monte Carlo", id="bt-tab-mc"):
                        yield DataTable(id="bt-mc-table", cursor_type="none")
                        yield Plot(id="bt-mc")
        yield Footer()

    def _param_widgets(self, strategy: str) -> list[Widget]:
        widgets: list[Widget] = []
        for p in bm.strategy_params(strategy):
            widgets.append(Label(f"{p.name}: {p.describe()}", classes="bt-param-label"))
            widgets.append(Input(self.session.param_text(strategy, p), id=f"bt-param-{p.name}", compact=True))
        return widgets

    def on_mount(self) -> None:
        self.query_one("#bt-metrics", DataTable).add_columns("metric", "value")
        self.query_one("#bt-trades", DataTable).add_columns(*bm.TRADE_COLUMNS)
        self.query_one("#bt-mc-table", DataTable).add_columns("Monte Carlo", "5%", "50%", "95%")
        self.query_one("#bt-progress", ProgressBar).display = False
        self.set_interval(0.1, self._show_progress, name="backtest-progress")
        if self.session.result is not None:
            self.show_result(self.session.result)

    # --- form --------------------------------------------------------------------------------------------
    @on(Select.Changed, "#bt-strategy")
    async def _strategy_changed(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str) or event.value == self.session.strategy:
            return
        self.session.strategy = event.value
        box = self.query_one("#bt-params", Vertical)
        await box.remove_children()
        await box.mount(*self._param_widgets(event.value))

    @on(Select.Changed, "#bt-source")
    def _source_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.session.source = event.value

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        ident = event.input.id or ""
        if ident.startswith("bt-param-"):
            self.session.set_param(self.session.strategy, ident.removeprefix("bt-param-"), event.value)
        elif ident.startswith("bt-") and ident[3:] in bm.form_values(self.session):
            setattr(self.session, ident[3:], event.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_run()

    @on(Button.Pressed, "#bt-run")
    def _run_pressed(self) -> None:
        self.action_run()

    @property
    def error_text(self) -> str:
        return str(self.query_one("#bt-error", Static).content)

    def _error(self, message: str) -> None:
        self.query_one("#bt-error", Static).update(message)

    # --- run ---------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    @property
    def worker(self) -> Worker[BacktestResult] | None:
        return self._worker

    def action_run(self) -> None:
        if self.running:
            self.notify("a backtest is already running", severity="warning")
            return
        try:
            request = bm.parse_request(self.session)
        except UserError as exc:
            self._error(str(exc))
            return
        self._error("")
        self._progress = (0, 0)
        bar = self.query_one("#bt-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self._worker = self.run_worker(
            partial(bm.run, request, self._on_progress),
            name="backtest",
            group="backtest",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _on_progress(self, done: int, total: int) -> None:
        """Called in the worker thread: store, never touch widgets. Stops the run once the screen is gone."""
        if self._abandoned:
            raise bm.Cancelled
        self._progress = (done, total)

    def _show_progress(self) -> None:
        done, total = self._progress
        if total and self.running:
            self.query_one("#bt-progress", ProgressBar).update(total=total, progress=done)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._worker:
            return
        if event.state is WorkerState.SUCCESS:
            self.query_one("#bt-progress", ProgressBar).display = False
            result = event.worker.result
            assert result is not None
            self.session.result = result
            self.show_result(result)
        elif event.state is WorkerState.ERROR:
            self.query_one("#bt-progress", ProgressBar).display = False
            error = event.worker.error
            if isinstance(error, UserError):
                self._error(str(error))
            elif not isinstance(error, bm.Cancelled):
                self._error(f"backtest failed: {type(error).__name__}: {error}")

    def action_close(self) -> None:
        self._abandoned = True
        self.dismiss()

    # --- result ------------------------------------------------------------------------------------------
    def show_result(self, result: BacktestResult) -> None:
        self.query_one("#bt-summary", Static).update(bm.summary(result))
        metrics = self.query_one("#bt-metrics", DataTable)
        metrics.clear()
        for label, value in bm.metric_rows(result):
            metrics.add_row(label, Text(value, justify="right"))
        trades = self.query_one("#bt-trades", DataTable)
        trades.clear()
        for row in bm.trade_rows(result):
            trades.add_row(*row)
        mc = self.query_one("#bt-mc-table", DataTable)
        mc.clear()
        for row in bm.monte_carlo_rows(result):
            mc.add_row(*row)
        self.query_one("#bt-equity", Plot).set_draw(partial(_equity_text, result))
        paths = bm.monte_carlo_paths(result.trades.ret, seed=int((result.monte_carlo or {}).get("seed", 0)))
        self.query_one("#bt-mc", Plot).set_draw(partial(_paths_text, paths, len(result.trades)))


def _equity_text(result: BacktestResult, width: int, height: int) -> Text:
    """Equity (two thirds of the rows) and drawdown depth charts with the report's block charts."""
    plot_w = max(8, width - 15)
    eq_rows = max(3, (height - 3) * 2 // 3)
    dd_rows = max(2, height - 3 - eq_rows)
    text = Text()
    text.append(f"Equity ({result.starting_value:,.2f} -> {float(result.equity[-1]):,.2f})\n", style="bold")
    text.append("\n".join(chart(result.equity, plot_w, eq_rows)) + "\n")
    text.append("Drawdown depth (%)\n", style="bold")
    text.append("\n".join(chart(bm.drawdown_percent(result), plot_w, dd_rows, how="max")))
    return text


def _paths_text(paths: bm.MonteCarloPaths, trades: int, width: int, height: int) -> Text:
    """The band between the 5% and 95% equity paths (braille), with the 5/50/95% multiples after the last trade."""
    if trades == 0:
        return Text("no trades: nothing to resample", style="italic")
    rows = max(3, height - 2)
    plot_w = max(8, width - 12)
    lo = float(paths.p5.min())
    hi = float(paths.p95.max())
    spans = list(zip(paths.p5.tolist(), paths.p95.tolist(), strict=True))
    # every dot column shows the trades that fall in it: equal runs folded when there are more trades than
    # columns (as ``fold`` does), each trade stretched over several columns when there are fewer
    n = len(spans)
    k = plot_w * 2
    folded = []
    for i in range(k):
        run = spans[i * n // k : max(i * n // k + 1, (i + 1) * n // k)]
        folded.append((min(a for a, _ in run), max(b for _, b in run)))
    lines = braille_plot(folded, plot_w, rows, lo, hi)
    text = Text()
    text.append(
        f"Equity multiple over {trades} resampled trades ({paths.n_sims:,} orderings): band 5%-95%\n", style="bold"
    )
    for i, line in enumerate(lines):
        tag = f"{hi:.3f}" if i == 0 else f"{lo:.3f}" if i == len(lines) - 1 else ""
        text.append(line + " " + tag + "\n")
    text.append(
        f"after the last trade: 5% {paths.p5[-1]:.3f}  50% {paths.p50[-1]:.3f}  95% {paths.p95[-1]:.3f}", style="bold"
    )
    return text
