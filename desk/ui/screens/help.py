"""The ``?`` screen: every key binding of the desk, read from the bindings themselves so it cannot go stale."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_rows(bindings: Iterable[BindingType], key_display: Callable[[Binding], str]) -> list[tuple[str, str]]:
    """(keys, description) rows; bindings that share a description (``1``..``9``, ``s``/``tab``) share a row."""
    grouped: dict[str, list[str]] = {}
    for item in bindings:
        if not isinstance(item, Binding) or not item.description or item.system:
            continue
        keys = grouped.setdefault(item.description, [])
        display = key_display(item)
        if display not in keys:
            keys.append(display)
    rows = []
    for description, keys in grouped.items():
        text = f"{keys[0]}..{keys[-1]}" if len(keys) > 3 else " / ".join(keys)
        rows.append((text, description))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close help"),
        Binding("question_mark", "dismiss", "Close help", show=False),
    ]

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 3))
        table.add_column(style="bold", justify="right")
        table.add_column()
        for keys, description in self.rows:
            table.add_row(keys, description)
        with Vertical(id="help-box"):
            yield Static("desk: keys", id="help-title")
            yield Static(table, id="help-table")
            yield Static("escape or ? closes this screen", id="help-hint")
