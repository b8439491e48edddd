"""Edit a strategy instance's parameters in a form generated from its ``Param`` declarations.

Each field is checked with ``Param.parse`` (the same rule as ``--param`` on the command line); a bad value keeps
the form open with the reason under the field, and nothing is applied until every field is valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from desk.errors import UserError
from desk.strategies.params import Param, ParamValue

ApplyParams = Callable[[dict[str, ParamValue]], None]
"""Applies the changed values to the running desk; raises UserError with the reason when it refuses them."""


def _text(value: ParamValue) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class ParamsScreen(ModalScreen[bool]):
    """Dismisses with True once new values were applied, False when cancelled or nothing changed."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, key: str, strategy: str, params: tuple[Param, ...], values: Mapping[str, ParamValue], apply: ApplyParams
    ) -> None:
        super().__init__()
        self.key = key
        self.strategy = strategy
        self.params = params
        self.values = dict(values)
        self.apply = apply

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Parameters of {self.key}", classes="dialog-title")
            with VerticalScroll(id="param-fields"):
                for p in self.params:
                    with Horizontal(classes="field"):
                        yield Label(p.name, classes="field-label")
                        yield Input(_text(self.values.get(p.name, p.default)), id=f"param-{p.name}", compact=True)
                    yield Static(f"{p.doc} ({p.describe()})", classes="field-doc")
                    yield Static("", id=f"error-{p.name}", classes="field-error")
            yield Static("", id="form-error", classes="field-error")
            yield Static("enter applies    escape cancels", classes="dialog-hint")

    def field(self, name: str) -> Input:
        return self.query_one(f"#param-{name}", Input)

    def error(self, name: str) -> str:
        return str(self.query_one(f"#error-{name}", Static).content)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def submit(self) -> bool:
        """Validate every field, show each reason, apply only when all are valid. Returns whether it applied."""
        parsed: dict[str, ParamValue] = {}
        first_bad: Input | None = None
        for p in self.params:
            field = self.field(p.name)
            message = ""
            try:
                parsed[p.name] = p.parse(field.value, self.strategy)
            except UserError as exc:
                message = str(exc)
                first_bad = first_bad or field
            self.query_one(f"#error-{p.name}", Static).update(message)
        form_error = self.query_one("#form-error", Static)
        if first_bad is not None:
            form_error.update("not applied: fix the values marked above")
            first_bad.focus()
            return False
        changed = {name: value for name, value in parsed.items() if value != self.values.get(name)}
        if not changed:
            self.dismiss(False)
            return False
        try:
            self.apply(changed)
        except UserError as exc:
            form_error.update(f"not applied: {exc}")
            return False
        self.dismiss(True)
        return True

    def action_cancel(self) -> None:
        self.dismiss(False)
