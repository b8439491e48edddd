"""Declared strategy parameters: type, default, bounds and a one-line doc.

Declaring them (instead of reading ``**kwargs``) lets the TUI build an editor, the CLI validate ``--param k=v``
with a one-line error, and ``desk strategies`` list them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from desk.errors import UserError

ParamValue = int | float | bool | str


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: type
    default: ParamValue
    doc: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()

    def parse(self, raw: Any, strategy: str = "") -> ParamValue:
        """Coerce ``raw`` (a string from the CLI/TUI, or a value) and check bounds; UserError on failure."""
        where = f"{strategy}.{self.name}" if strategy else self.name
        expected = self.describe()
        try:
            if self.type is bool:
                if isinstance(raw, bool):
                    value: ParamValue = raw
                elif str(raw).strip().lower() in ("1", "true", "yes", "on"):
                    value = True
                elif str(raw).strip().lower() in ("0", "false", "no", "off"):
                    value = False
                else:
                    raise ValueError
            elif self.type is int:
                if isinstance(raw, float) and not raw.is_integer():
                    raise ValueError
                value = int(str(raw).strip()) if isinstance(raw, str) else int(raw)
            elif self.type is float:
                value = float(raw)
                if value != value or value in (float("inf"), float("-inf")):
                    raise ValueError
            else:
                value = str(raw).strip()
                if self.choices and value not in self.choices:
                    raise ValueError
        except (TypeError, ValueError):
            raise UserError(f"parameter {where} = {raw!r}: expected {expected}") from None
        if isinstance(value, int | float) and not isinstance(value, bool):
            if self.min is not None and value < self.min:
                raise UserError(f"parameter {where} = {raw!r}: expected {expected}")
            if self.max is not None and value > self.max:
                raise UserError(f"parameter {where} = {raw!r}: expected {expected}")
        return value

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        kind = {int: "an integer", float: "a number", bool: "true or false", str: "text"}[self.type]
        if self.min is not None and self.max is not None:
            return f"{kind} in [{self.min:g}, {self.max:g}]"
        if self.min is not None:
            return f"{kind} >= {self.min:g}"
        if self.max is not None:
            return f"{kind} <= {self.max:g}"
        return kind

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.__name__,
            "default": self.default,
            "min": self.min,
            "max": self.max,
            "doc": self.doc,
            **({"choices": list(self.choices)} if self.choices else {}),
        }


def resolve_params(declared: Sequence[Param], given: Mapping[str, Any], strategy: str = "") -> dict[str, ParamValue]:
    """Defaults overlaid with ``given`` (validated); an unknown name is a UserError listing the known ones."""
    by_name = {p.name: p for p in declared}
    for name in given:
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            raise UserError(f"unknown parameter {name!r} for strategy {strategy}: expected one of {known}")
    return {p.name: p.parse(given[p.name], strategy) if p.name in given else p.default for p in declared}


def parse_assignments(items: Sequence[str]) -> dict[str, str]:
    """``["k=v", ...]`` from ``--param`` flags."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--param {item!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out
