"""Manual order entry: side, market or limit, quantity and price, checked on the instrument's grid, then a
confirmation step before anything is sent (the desk's risk checks still apply after it)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from desk.domain.events import Side
from desk.domain.instruments import Instrument


@dataclass(frozen=True, slots=True)
class OrderTicket:
    """A checked order, in the decimal units the user typed (``TradingDesk.manual_order`` takes these)."""

    symbol: str
    side: Side
    quantity: str
    price: str | None  # None: a market order

    def describe(self) -> str:
        where = "at market" if self.price is None else f"limit {self.price}"
        return f"{self.side.value.upper()} {self.quantity} {self.symbol} {where}"


def check_ticket(inst: Instrument, side: Side, kind: str, quantity: str, price: str) -> OrderTicket:
    """The ticket for these field values, or ValueError naming the bad value and what was expected."""
    qty = quantity.strip()
    if not qty:
        raise ValueError(f"quantity is empty: expected a multiple of {inst.lot_size} {inst.base}")
    lots = inst.size_to_lots(qty)  # ValueError: not a number or off the lot grid
    if lots <= 0:
        raise ValueError(f"quantity {qty} must be > 0")
    if kind == "market":
        return OrderTicket(inst.symbol, side, qty, None)
    px = price.strip()
    if not px:
        raise ValueError(f"price is empty: expected a limit price on the {inst.tick_size} grid")
    if inst.price_to_ticks(px) <= 0:
        raise ValueError(f"price {px} must be > 0")
    return OrderTicket(inst.symbol, side, qty, px)


class OrderEntryScreen(ModalScreen[OrderTicket | None]):
    """Enter reviews the order; a confirmation dialog follows and only a yes dismisses with the ticket."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "#qty"

    def __init__(self, inst: Instrument, side: Side, price: int | None) -> None:
        super().__init__()
        self.inst = inst
        self.side = side
        self.price = price  # ticks prefilled in the price field (the passive touch), or None

    def compose(self) -> ComposeResult:
        inst = self.inst
        with Vertical(classes="dialog"):
            yield Static(f"Order {inst.symbol}", classes="dialog-title")
            with Horizontal(classes="field"):
                yield Label("side", classes="field-label")
                yield Select(
                    [("buy", "buy"), ("sell", "sell")],
                    value=self.side.value,
                    allow_blank=False,
                    id="side",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("type", classes="field-label")
                yield Select(
                    [("limit", "limit"), ("market", "market")],
                    value="limit",
                    allow_blank=False,
                    id="type",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label(f"quantity ({inst.base})", classes="field-label")
                yield Input(placeholder=f"multiple of {inst.lot_size}", id="qty", compact=True)
            with Horizontal(classes="field"):
                yield Label(f"price ({inst.quote})", classes="field-label")
                prefill = "" if self.price is None else inst.price_str(self.price)
                yield Input(prefill, placeholder=f"multiple of {inst.tick_size}", id="price", compact=True)
            yield Static("", id="form-error", classes="field-error")
            yield Static("enter reviews the order    escape cancels", classes="dialog-hint")

    @on(Select.Changed, "#type")
    def _type_changed(self, event: Select.Changed) -> None:
        self.query_one("#price", Input).disabled = event.value == "market"

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.review()

    def ticket(self) -> OrderTicket:
        side = Side(str(self.query_one("#side", Select).value))
        kind = str(self.query_one("#type", Select).value)
        return check_ticket(
            self.inst, side, kind, self.query_one("#qty", Input).value, self.query_one("#price", Input).value
        )

    def review(self) -> None:
        """Check the fields; a bad one shows its reason here, a good ticket goes to the confirmation step."""
        from desk.ui.screens.confirm import ConfirmScreen

        error = self.query_one("#form-error", Static)
        try:
            ticket = self.ticket()
        except ValueError as exc:
            error.update(str(exc))
            return
        error.update("")
        notional = ""
        if ticket.price is not None:
            value = Decimal(ticket.quantity) * Decimal(ticket.price)
            notional = f"notional {value:,.2f} {self.inst.quote}"

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(ticket)

        self.app.push_screen(ConfirmScreen(f"Send {ticket.describe()}?", notional), answered)

    def action_cancel(self) -> None:
        self.dismiss(None)
