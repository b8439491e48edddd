"""The desk app driven through Textual's Pilot: keys, help, quit, themes, and the ladder on a seeded market.

The feed is a ``ManualFeed`` (events are pushed by the test) and ticks are triggered by calling the app's tick,
``update_view``, so nothing here waits on wall-clock timing.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from textual.command import CommandList
from textual.message import Message
from textual.pilot import Pilot

from desk.config import Settings, UISettings
from desk.engine import Engine
from desk.feeds.sim import NS, SimFeed, SimulatedMarket
from desk.ui.app import DeskApp, build_app
from desk.ui.messages import SymbolSwitched
from desk.ui.model import line_text
from desk.ui.screens.help import HelpScreen
from desk.ui.widgets.chart import PriceChart
from desk.ui.widgets.ladder import Ladder
from desk.ui.widgets.status import StatusBar
from desk.ui.widgets.tape import Tape

from .conftest import DeskPair, ManualFeed, fixed_clock, opening_events

SIZE = (160, 50)


def make_app(pair: DeskPair, market: SimulatedMarket, settings: Settings | None = None) -> tuple[DeskApp, ManualFeed]:
    feed = ManualFeed(market.instruments)
    desk, monitor = pair
    app = build_app(settings or Settings(), feed=feed, desk=desk, monitor=monitor, clock=fixed_clock, freeze_gc=False)
    return app, feed


async def run_palette_command(pilot: Pilot[None], text: str) -> None:
    """Open the command palette, type ``text`` and run the first match once the palette has listed it."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*text)
    for _ in range(200):  # the palette searches in a worker: wait for the match (bounded), never for a fixed time
        await pilot.pause(0.02)
        commands = pilot.app.screen.query(CommandList)
        if commands and commands.first().option_count and text in str(commands.first().get_option_at_index(0).prompt):
            break
    await pilot.press("enter")
    await pilot.pause()


def ladder_prices(ladder: Ladder) -> tuple[list[Decimal], list[Decimal]]:
    """(asks top to bottom, bids top to bottom) as read off the painted strips (under the title and header)."""
    asks: list[Decimal] = []
    bids: list[Decimal] = []
    side = asks
    for y in range(2, len(ladder.lines)):
        text = ladder.render_line(y).text
        if "spread" in text:
            side = bids
            continue
        if text.strip():
            side.append(Decimal(text.split()[0]))
    return asks, bids


async def test_ladder_is_ordered_matches_the_book_and_updates(
    warm_desk: DeskPair, warm_engine: Engine, market: SimulatedMarket
) -> None:
    app, feed = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.update_view()
        ladder = app.query_one(Ladder)
        depth = ladder.shown_depth()
        assert depth == Settings().ui.depth_levels  # 20 levels a side fit at 160x50
        asks, bids = ladder_prices(ladder)
        assert len(asks) == len(bids) == depth
        assert asks == sorted(asks, reverse=True)  # ascending away from the spread (upwards)
        assert bids == sorted(bids, reverse=True)  # descending away from the spread (downwards)
        assert bids[0] < asks[-1]  # best bid < best ask
        book = warm_engine.books["BTC-USD"]
        inst = book.instrument
        top_bids, top_asks = book.top(depth)
        assert asks[::-1] == [inst.price(p) for p, _ in top_asks]
        assert bids == [inst.price(p) for p, _ in top_bids]
        before = list(ladder.lines)

        feed.push(market.events_until(market.now_ns + 5 * NS))
        app.update_view()
        await pilot.pause()
        assert ladder.lines != before
        asks2, bids2 = ladder_prices(ladder)
        assert asks2 == sorted(asks2, reverse=True) and bids2 == sorted(bids2, reverse=True)
        assert bids2[0] < asks2[-1]
        top_bids, top_asks = book.top(depth)
        assert asks2[::-1] == [inst.price(p) for p, _ in top_asks]
        assert bids2 == [inst.price(p) for p, _ in top_bids]


async def test_widgets_skip_work_when_nothing_changed(
    warm_desk: DeskPair, warm_engine: Engine, market: SimulatedMarket
) -> None:
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.update_view()
        ladder, tape, chart = app.query_one(Ladder), app.query_one(Tape), app.query_one(PriceChart)
        lines = (ladder.lines, tape.lines, chart.lines)
        app.update_view()  # same sequence numbers: the same line lists, not rebuilt copies
        assert (ladder.lines, tape.lines, chart.lines) == lines
        assert all(now is then for now, then in zip((ladder.lines, tape.lines, chart.lines), lines, strict=True))


async def test_tape_chart_and_status_show_the_market(
    warm_desk: DeskPair, warm_engine: Engine, market: SimulatedMarket
) -> None:
    app, feed = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.update_view()
        tape = app.query_one(Tape)
        last = warm_engine.tapes["BTC-USD"][-1]
        inst = warm_engine.instruments["BTC-USD"]
        assert tape.render_line(0).text.strip() == "trades BTC-USD"
        assert tape.render_line(2).text.split()[2] == inst.price_str(last.price)
        chart = app.query_one(PriceChart)
        assert line_text(chart.lines[0]).strip() == "price BTC-USD"
        chart_title = line_text(chart.lines[1])
        assert inst.price_str(last.price) in chart_title
        status = app.query_one(StatusBar).render_line(0).text
        assert status.split()[:5] == ["sim", "BTC-USD", "1/3", "feed", "live"]
        assert "00:01:30 UTC" in status
        assert "msg/s -" in status  # no batch has arrived through the app's feed yet
        feed.push(market.events_until(market.now_ns + NS))
        app.update_view()
        assert "last 0.00s" in app.query_one(StatusBar).render_line(0).text  # the fixed clock: age 0


async def test_symbol_keys_cycle_and_select(warm_desk: DeskPair, warm_engine: Engine, market: SimulatedMarket) -> None:
    seen: list[Message] = []
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await pilot.pause()
        assert app.symbol == "BTC-USD"
        expected = [("s", "ETH-USD"), ("tab", "SOL-USD"), ("tab", "BTC-USD"), ("shift+tab", "SOL-USD")]
        expected += [("2", "ETH-USD"), ("9", "ETH-USD"), ("1", "BTC-USD")]
        ladder = app.query_one(Ladder)
        for key, symbol in expected:
            await pilot.press(key)
            assert app.symbol == symbol, key
            assert ladder.render_line(0).text.strip() == f"depth {symbol}"
            assert f" {symbol} " in app.query_one(StatusBar).render_line(0).text
        await pilot.pause()
    switched = [(m.previous, m.symbol) for m in seen if isinstance(m, SymbolSwitched)]
    assert switched == [
        ("BTC-USD", "ETH-USD"),
        ("ETH-USD", "SOL-USD"),
        ("SOL-USD", "BTC-USD"),
        ("BTC-USD", "SOL-USD"),
        ("SOL-USD", "ETH-USD"),
        ("ETH-USD", "BTC-USD"),
    ]


async def test_ladder_follows_the_selected_symbol(
    warm_desk: DeskPair, warm_engine: Engine, market: SimulatedMarket
) -> None:
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        asks, bids = ladder_prices(app.query_one(Ladder))
        inst = warm_engine.instruments["SOL-USD"]
        assert bids[0] == inst.price(warm_engine.books["SOL-USD"].best_bid or 0)
        assert asks[-1] == inst.price(warm_engine.books["SOL-USD"].best_ask or 0)


async def test_help_lists_the_bindings_and_closes(
    warm_desk: DeskPair, warm_engine: Engine, market: SimulatedMarket
) -> None:
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = dict((desc, keys) for keys, desc in app.screen.rows)
        assert rows["Next symbol"] == "s / tab"
        assert rows["Previous symbol"] == "shift+tab"
        assert rows["Symbol 1-9"] == "1..9"
        assert rows["Quit"] == "q"
        assert rows["Help"] == "?"
        assert rows["Command palette: symbols, themes, Chan, backtest"] == "^p"
        assert rows["Kill switch"] == "K / ^k"
        assert rows["Reset breaker (confirms)"] == "R" and rows["Liquidate all (confirms)"] == "L"
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")
        assert not isinstance(app.screen, HelpScreen)


async def test_q_quits_and_stops_the_feed(warm_desk: DeskPair, warm_engine: Engine, market: SimulatedMarket) -> None:
    app, feed = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert feed.stopped
    assert app.return_code == 0


async def test_theme_from_settings_and_from_the_palette(
    warm_desk: DeskPair, warm_engine: Engine, market: SimulatedMarket
) -> None:
    settings = dataclasses.replace(Settings(), ui=UISettings(theme="desk-light"))
    app, _ = make_app(warm_desk, market, settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == "desk-light"
        ladder = app.query_one(Ladder)
        light_ask = ladder.render_line(3).simplify()._segments[0].style
        for theme in ("desk-dark", "desk-light"):
            await run_palette_command(pilot, f"Theme: {theme}")
            assert app.theme == theme
            if theme == "desk-dark":
                ladder.refresh()
                await pilot.pause()
                dark_ask = ladder.render_line(3).simplify()._segments[0].style
                assert dark_ask is not None and light_ask is not None
                # Cached strips were dropped: the ask prices are repainted in the new theme's colour.
                assert dark_ask.color != light_ask.color
                assert dark_ask.bgcolor != light_ask.bgcolor


async def test_palette_switches_symbol(warm_desk: DeskPair, warm_engine: Engine, market: SimulatedMarket) -> None:
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await run_palette_command(pilot, "Symbol: SOL-USD")
        assert app.symbol == "SOL-USD"


class BrokenFeed(ManualFeed):
    async def run(self, sink):  # type: ignore[no-untyped-def]
        raise ConnectionError("venue closed the socket")


async def test_a_dying_feed_shows_down_and_keeps_the_screen(
    warm_desk: DeskPair, warm_engine: Engine, market: SimulatedMarket
) -> None:
    feed = BrokenFeed(market.instruments)
    app = build_app(Settings(), feed=feed, desk=warm_desk[0], monitor=warm_desk[1], clock=fixed_clock, freeze_gc=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        app.update_view()
        await pilot.pause()
        assert app.is_running
        assert "ConnectionError: venue closed the socket" in app.feed_error
        assert "feed down" in app.query_one(StatusBar).render_line(0).text


async def test_default_app_runs_the_simulated_market_and_moves() -> None:
    """build_app(settings) alone opens on the simulated market; the book fills and keeps changing."""
    settings = dataclasses.replace(Settings(), sim=dataclasses.replace(Settings().sim, speed=20.0))
    app = build_app(settings, clock=fixed_clock, freeze_gc=False)
    assert isinstance(app.feed, SimFeed)
    async with app.run_test(size=SIZE) as pilot:
        seen: set[tuple[int, ...]] = set()
        for _ in range(200):  # wait for three different book states; bounded, not timed
            await pilot.pause(0.02)
            seen.add((app.engine.level_updates,))
            if len(seen) >= 3 and app.engine.level_updates > 0:
                break
        assert len(seen) >= 3
        app.update_view()
        asks, bids = ladder_prices(app.query_one(Ladder))
        assert asks and bids and bids[0] < asks[-1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ui": UISettings(theme="no-such-theme")}, "ui.theme 'no-such-theme' is not a known theme"),
        ({"ui": UISettings(refresh_hz=0)}, "ui.refresh_hz 0 is out of range"),
        ({"ui": UISettings(depth_levels=0)}, "ui.depth_levels 0 must be at least 1"),
    ],
)
def test_bad_ui_settings_are_user_errors(change: dict[str, object], message: str) -> None:
    from desk.errors import UserError

    market = SimulatedMarket()
    with pytest.raises(UserError, match=message):
        build_app(dataclasses.replace(Settings(), **change), feed=ManualFeed(market.instruments))  # type: ignore[arg-type]


def test_opening_events_put_every_book_live(market: SimulatedMarket) -> None:
    engine = Engine(market.instruments)
    engine.on_events(opening_events(market))
    assert all(book.state.value == "live" for book in engine.books.values())


async def test_a_small_terminal_shows_fewer_levels_and_does_not_fail(
    warm_desk: DeskPair, warm_engine: Engine, market: SimulatedMarket
) -> None:
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.update_view()
        await pilot.pause()
        ladder = app.query_one(Ladder)
        assert ladder.shown_depth() == (ladder.size.height - 3) // 2 < Settings().ui.depth_levels
        asks, bids = ladder_prices(ladder)
        assert len(asks) == len(bids) == ladder.shown_depth() and bids[0] < asks[-1]
        await pilot.resize_terminal(160, 50)
        await pilot.pause()
        app.update_view()
        assert ladder.shown_depth() == Settings().ui.depth_levels


async def test_chart_moves_its_live_point_at_most_five_times_a_second(
    warm_desk: DeskPair, warm_engine: Engine, market: SimulatedMarket
) -> None:
    app, feed = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        chart = app.query_one(PriceChart)
        now = [100.0]
        chart.clock = lambda: now[0]
        app.update_view()
        bars = len(warm_engine.bars["BTC-USD"].history())

        def push_until(predicate) -> None:  # type: ignore[no-untyped-def]
            for _ in range(10_000):
                feed.push(market.events_until(market.now_ns + NS // 100))
                if predicate():
                    return
            raise AssertionError("the seeded market never produced the event this test needs")

        # A bar close redraws at once, even right after the last draw.
        drawn = chart.lines
        push_until(lambda: len(warm_engine.bars["BTC-USD"].history()) > bars)
        app.update_view()
        assert chart.lines is not drawn
        # A BTC trade at a new price inside the same bar, 0.1 s after the last draw: the chart waits.
        bars = len(warm_engine.bars["BTC-USD"].history())
        last_price = warm_engine.tapes["BTC-USD"][-1].price
        push_until(
            lambda: (
                warm_engine.tapes["BTC-USD"][-1].price != last_price
                and len(warm_engine.bars["BTC-USD"].history()) == bars
            )
        )
        drawn = chart.lines
        now[0] += 0.1
        app.update_view()
        assert chart.lines is drawn
        # 0.25 s after the last draw the live point moves.
        now[0] += 0.15
        app.update_view()
        assert chart.lines is not drawn
