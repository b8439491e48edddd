"""The base of desk's low-rate tables (strategies, orders): a ``DataTable`` that changes only what changed.

``DataTable`` repaints the whole table on any cell update (references/textual-live-data.md, pitfall 3), so these
tables are handed complete rows on their own schedule and touch the table only when a row differs: changed
cells when the rows are the same, a rebuild (keeping the selected row) when rows came or went.

Between those changes a table is still rendered on every frame of the 15 Hz tick (the compositor re-renders
every widget under a frame's dirty area, and the ladder's spans every row), and a ``DataTable`` costs about
50 us a frame to hand back the same cached lines (ancestor walks for its background, pseudo-class state, the
styling pass). So the table keeps its last answer until something asks it to repaint: a ``refresh`` (which every
change of content, cursor, hover, scroll or style makes), a restyle, or another size, crop, scroll or theme.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Self

from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable

from desk.ui.widgets.lines import LineWidget

Row = tuple[str, ...]
KeyedRows = list[tuple[str, Row]]


class PanelTitle(LineWidget):
    """A table's title row: the Line-API panels' own title row, so it paints as cheaply as they do."""

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, lines=[((title, "title"),)])


class SyncedTable(DataTable[str]):
    def __init__(self, columns: tuple[tuple[str, int], ...], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, show_row_labels=False)
        self._spec = columns
        self._rows: KeyedRows = []
        self.rebuilds = 0  # how often rows were re-added (tests check the table is left alone when nothing changed)
        self._rendered: tuple[Hashable, list[Strip]] | None = None  # (what it depends on, the last lines)

    def on_mount(self) -> None:
        for label, width in self._spec:
            self.add_column(label, width=width, key=label)

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False) -> Self:
        self._rendered = None
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def notify_style_update(self) -> None:
        self._rendered = None
        super().notify_style_update()

    def render_lines(self, crop: Region) -> list[Strip]:
        key = (crop, self.outer_size, self.scroll_offset, self.app.theme, self.app.ansi_color)
        rendered = self._rendered
        if rendered is not None and rendered[0] == key:
            return rendered[1]
        lines = super().render_lines(crop)
        self._rendered = (key, lines)
        return lines

    @property
    def rows_shown(self) -> KeyedRows:
        return self._rows

    def selected_key(self) -> str | None:
        """Key of the row under the cursor, or None for an empty table."""
        if not self._rows:
            return None
        row = min(max(self.cursor_row, 0), len(self._rows) - 1)
        return self._rows[row][0]

    def sync(self, rows: KeyedRows) -> bool:
        """Show ``rows``; returns whether anything changed on screen."""
        old = self._rows
        if rows == old:
            return False
        if [k for k, _ in rows] == [k for k, _ in old]:
            columns = [label for label, _ in self._spec]
            for (key, new), (_, was) in zip(rows, old, strict=True):
                for column, value, previous in zip(columns, new, was, strict=True):
                    if value != previous:
                        self.update_cell(key, column, value)
        else:
            selected = self.selected_key()
            self.clear()
            for key, cells in rows:
                self.add_row(*cells, key=key)
            self.rebuilds += 1
            keys = [k for k, _ in rows]
            if selected in keys:
                self.cursor_coordinate = Coordinate(keys.index(selected), 0)
        self._rows = rows
        return True
