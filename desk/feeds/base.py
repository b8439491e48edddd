"""The contract between feeds and the engine.

A feed is an async producer: ``await feed.run(sink)`` calls ``sink(batch)`` with lists of normalised events,
in order, batched per socket read or per wake-up (never one call per level: see ARCHITECTURE.md, "feed rate is
not frame rate"). It returns when stopped or finished; it never raises for network faults it can recover from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from desk.domain.events import Event
from desk.domain.instruments import Instrument

Sink = Callable[[Sequence[Event]], None]


class Feed(Protocol):
    venue: str

    @property
    def instruments(self) -> dict[str, Instrument]: ...

    async def run(self, sink: Sink) -> None: ...

    def stop(self) -> None: ...
