"""Pick a strategy and a symbol to add to the desk (it is added stopped; the start key runs it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from desk.errors import UserError

AddStrategy = Callable[[str, str], str]
"""Adds (name, symbol) to the desk and returns the new instance's key; raises UserError with the reason."""


class AddStrategyScreen(ModalScreen[str | None]):
    """Enter on a strategy adds it on the chosen symbol; a refusal (unknown, already running) shows its reason."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "#strategy-list"

    def __init__(
        self, names: Sequence[str], docs: dict[str, str], symbols: Sequence[str], symbol: str, add: AddStrategy
    ) -> None:
        super().__init__()
        self.names = list(names)
        self.docs = docs
        self.symbols = list(symbols)
        self.symbol = symbol
        self.add = add

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Add a strategy", classes="dialog-title")
            yield OptionList(*[Option(name, id=name) for name in self.names], id="strategy-list")
            yield Static(self.docs.get(self.names[0], "") if self.names else "", id="strategy-doc", classes="field-doc")
            with Horizontal(classes="field"):
                yield Label("symbol", classes="field-label")
                yield Select(
                    [(s, s) for s in self.symbols], value=self.symbol, allow_blank=False, id="symbol", compact=True
                )
            yield Static("", id="form-error", classes="field-error")
            yield Static("enter adds the highlighted strategy (stopped)    escape: cancel", classes="dialog-hint")

    @on(OptionList.OptionHighlighted, "#strategy-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.query_one("#strategy-doc", Static).update(self.docs.get(str(event.option.id), ""))

    @on(OptionList.OptionSelected, "#strategy-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.submit(str(event.option.id))

    def submit(self, name: str) -> None:
        symbol = str(self.query_one("#symbol", Select).value)
        try:
            key = self.add(name, symbol)
        except UserError as exc:
            self.query_one("#form-error", Static).update(str(exc))
            return
        self.dismiss(key)

    def action_cancel(self) -> None:
        self.dismiss(None)
