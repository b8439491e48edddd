"""The desk's Line-API base: fewer segments (and escape sequences) per line and a shorter paint path, with the
same pixels on screen."""

from __future__ import annotations

import gc
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st
from rich.segment import Segment
from rich.style import Style
from textual.filter import Monochrome
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import DataTable

from desk.feeds.sim import SimulatedMarket
from desk.ui.model import Line
from desk.ui.widgets.ladder import Ladder
from desk.ui.widgets.layout import Column, DeskFooter, DeskScreen, Row, blank_lines
from desk.ui.widgets.lines import LineWidget, PanelStrip, _runs, join_cells, paint
from desk.ui.widgets.strategies import StrategiesTable

from .conftest import DeskPair
from .test_app import SIZE, make_app

SURFACE = "#161b22"
PANEL = "#1f2630"
STYLES = [
    Style(color="#a5a8ac", bgcolor=SURFACE),  # muted
    Style(color="#a5a8ac", bgcolor=SURFACE),  # label: equal to muted, a different object
    Style(color="#d7dce2", bgcolor=SURFACE),  # value
    Style(color="#ed8d88", bgcolor=SURFACE, bold=True),  # bad
    Style(color="#d7dce2", bgcolor=PANEL, bold=True),  # title, another background
    Style(color="#d7dce2", bgcolor=SURFACE, underline=True),  # draws on blank cells
    Style(color="#d7dce2", bgcolor=SURFACE, reverse=True),  # so does reverse video
    Style(color="#d7dce2"),  # no background
]
PAD = Style(bgcolor=SURFACE)
PAINTS = {style: paint(style) for style in [*STYLES, PAD]}
TEXTS = ["", " ", "   ", "60035.70", " 0.45", "█▊ ", " buy ", "x"]


def looks(segments: list[Segment]) -> list[tuple[str, object]]:
    """Each cell as the terminal shows it: a glyph in its full style, a blank cell by what it draws."""
    cells: list[tuple[str, object]] = []
    for text, style, _ in segments:
        assert style is not None
        decorated = style.underline or style.strike or style.overline or style.reverse or style.link
        for char in text:
            cells.append((char, style if char != " " or decorated else ("blank", style.bgcolor)))
    return cells


def naive(cells: list[tuple[str, Style]], width: int) -> list[Segment]:
    segments = [Segment(text, style) for text, style in cells if text]
    used = sum(len(text) for text, _ in cells)
    return [*segments, Segment(" " * (width - used), PAD)] if used < width else segments


cell_lists = st.lists(st.tuples(st.sampled_from(TEXTS), st.sampled_from(STYLES)), max_size=12)


@given(cell_lists, st.integers(min_value=0, max_value=80))
def test_join_cells_keeps_every_cell_as_it_looks(cells: list[tuple[str, Style]], width: int) -> None:
    segments, used = join_cells(cells, PAINTS, width, PAINTS[PAD])
    assert used == sum(len(text) for text, _ in cells)
    assert looks(segments) == looks(naive(cells, width))
    assert all(a.style != b.style for a, b in pairwise(segments))
    assert len(segments) <= len(naive(cells, width))


def test_blank_cells_join_a_neighbour_with_the_same_background() -> None:
    price, mine, size, bar = STYLES[3], STYLES[0], STYLES[2], STYLES[4]
    segments, used = join_cells(
        [("60035.70", price), ("     ", mine), (" 0.45", size), ("", bar)], PAINTS, 20, PAINTS[PAD]
    )
    assert used == 18
    # The blank "mine" cell and the padding cost no escape sequence of their own.
    assert [(s.text, s.style) for s in segments] == [("60035.70     ", price), (" 0.45  ", size)]


def test_blank_cells_keep_a_style_that_draws_on_them() -> None:
    underline, value = STYLES[5], STYLES[2]
    segments, _ = join_cells([("ab", value), ("  ", underline), ("cd", value)], PAINTS, 6, PAINTS[PAD])
    assert [s.text for s in segments] == ["ab", "  ", "cd"]


async def test_panels_paint_what_textuals_styling_pass_would(warm_desk: DeskPair, market: SimulatedMarket) -> None:
    """``LineWidget.render_lines`` skips Textual's per-line styling pass; the strips must be the ones it makes."""
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.update_view()
        panels = list(app.query(LineWidget))
        assert {type(p).__name__ for p in panels} >= {"Ladder", "Tape", "PriceChart", "StatusBar", "RiskPanel"}
        for panel in panels:
            if not panel.display:
                continue
            width, height = panel.size
            for crop in (Region(0, 0, width, height), Region(3, 1, width - 5, height - 1)):
                ours = panel.render_lines(crop)
                textuals = Widget.render_lines(panel, crop)
                assert [list(s) for s in ours] == [list(s) for s in textuals], (type(panel).__name__, crop)
        # A panel given a border goes through Textual's pass again (which draws the border).
        ladder = app.query_one(Ladder)
        ladder.styles.border = ("round", "red")
        await pilot.pause()
        assert ladder.render_lines(Region(0, 0, ladder.region.width, 1))[0].text.startswith("╭")


def backgrounds(strips: list[Strip]) -> list[list[tuple[str, object]]]:
    """Each cell of blank strips as it looks: a space on its background."""
    return [[(char, style.bgcolor if style else None) for text, style, _ in strip for char in text] for strip in strips]


async def test_layout_containers_stay_out_of_the_compositor(warm_desk: DeskPair, market: SimulatedMarket) -> None:
    """Row and Column are hidden (they draw nothing) and every panel in them is shown, where it was."""
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        composed = app.screen._compositor.visible_widgets
        containers = [*app.query(Row), *app.query(Column)]
        assert len(containers) == 6 and not any(c in composed for c in containers)
        panels = [w for c in containers for w in c.children if not isinstance(w, Row | Column) and w.display]
        assert len(panels) == 10 and all(p in composed for p in panels)
        assert app.query_one(Ladder).region == Region(0, 1, 66, 48)


async def test_screen_and_footer_paint_their_background_as_textual_would(
    warm_desk: DeskPair, market: SimulatedMarket
) -> None:
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        backdrops = [app.screen, app.query_one(DeskFooter)]
        assert isinstance(app.screen, DeskScreen)
        for widget in backdrops:
            width, height = widget.region.size
            crop = Region(2, 0, width - 4, height)
            ours = blank_lines(widget, crop)
            assert ours is not None and widget.render_lines(crop) == ours
            assert backgrounds(ours) == backgrounds(Widget.render_lines(widget, crop)), widget
        # A filter the app applies to colours (NO_COLOR) sends them back through Textual's path.
        app._filters.append(Monochrome())
        assert all(blank_lines(widget, Region(0, 0, 4, 1)) is None for widget in backdrops)


def test_a_divided_panel_strip_is_freed_by_reference_counting() -> None:
    segments = [Segment("60035.70", STYLES[3]), Segment("  0.45", STYLES[2])]
    assert [list(s) for s in PanelStrip(segments, 14).divide([8, 14])] == [
        list(s) for s in Strip(segments, 14).divide([8, 14])
    ]
    gc.collect()
    gc.disable()
    try:
        plain = Strip(segments, 14)
        plain.divide([14])
        del plain
        assert gc.collect() > 0, "Textual's Strip caches [self] when divided at its length: a cycle"
        panel = PanelStrip(segments, 14)
        assert panel.divide([14]) == [panel]
        del panel
        assert gc.collect() == 0
    finally:
        gc.enable()


async def test_a_row_that_moves_keeps_its_strip(warm_desk: DeskPair, market: SimulatedMarket) -> None:
    """The tape moves down a row per trade: the strips of lines still shown are reused, not built again."""
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        panel = app.query_one(Ladder)
        width, height = panel.size
        rows: list[Line] = [((f"row {i}", "value"),) for i in range(height)]
        panel.set_lines(rows, width)
        before = panel.render_lines(Region(0, 0, width, height))
        panel.set_lines([(("new", "bid"),), *rows[:-1]], width)
        after = panel.render_lines(Region(0, 0, width, height))
        assert after[0].text.startswith("new") and after[1].text.startswith("row 0")
        assert all(now is then for now, then in zip(after[1:], before[:-1], strict=True))
        assert panel.render_line(1) is before[0]


async def test_tables_repaint_on_content_cursor_focus_and_theme(warm_desk: DeskPair, market: SimulatedMarket) -> None:
    """A table keeps its last lines between frames; every change must still reach the screen."""
    app, _ = make_app(warm_desk, market)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(StrategiesTable)
        crop = Region(0, 0, *table.region.size)

        def painted() -> list[list[Segment]]:
            """The table's lines as kept, checked against what it renders afresh."""
            kept = [list(s) for s in table.render_lines(crop)]
            assert kept == [list(s) for s in DataTable.render_lines(table, crop)]
            return kept

        empty = painted()
        assert table.render_lines(crop) is table.render_lines(crop)  # kept between frames
        table.sync([("a", ("alpha", "BTC-USD", "paused", "+0.00")), ("b", ("beta", "ETH-USD", "paused", "+1.00"))])
        await pilot.pause()
        rows = painted()
        assert rows != empty and "alpha" in "".join(s.text for s in rows[1])
        had_focus = table.has_focus
        app.set_focus(None if had_focus else table)
        await pilot.pause()
        assert table.has_focus is not had_focus
        focused = painted()
        assert focused != rows  # the cursor row shows whether the table has the focus
        table.move_cursor(row=1)
        await pilot.pause()
        assert painted() != focused
        app.theme = "desk-light"
        await pilot.pause()
        assert painted() != focused


@given(st.sets(st.integers(min_value=0, max_value=60)))
def test_changed_rows_repaint_as_runs(rows: set[int]) -> None:
    runs = list(_runs(sorted(rows)))
    assert [y for top, bottom in runs for y in range(top, bottom)] == sorted(rows)
    assert all(bottom < top for (_, bottom), (top, _) in pairwise(runs))  # runs are apart: as few as can be
