"""Test doubles for driving venue adapters without a socket (unit-level recording replays)."""

from __future__ import annotations

import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from desk.domain.events import Event, FeedState
from desk.feeds.health import FeedHealth
from desk.feeds.venues.base import ResyncKind

RECORDINGS = Path(__file__).parents[2] / "../shared/exchange-recordings"


class ScriptedRest:
    """``get_json`` answers from a queue of canned responses per path."""

    def __init__(self) -> None:
        self.responses: dict[str, list[Any]] = {}
        self.calls: list[tuple[str, dict[str, str] | None]] = []

    def add(self, path: str, payload: Any) -> None:
        self.responses.setdefault(path, []).append(payload)

    async def get_json(self, path: str, params: dict[str, str] | None = None, *, weight: float = 1.0) -> Any:
        self.calls.append((path, params))
        return self.responses[path].pop(0)

    async def aclose(self) -> None:
        return None


class FakeLink:
    """Collects what an adapter emits; spawned coroutines are kept for the test to run when it chooses."""

    def __init__(self, venue: str, symbols: list[str]) -> None:
        self.health = FeedHealth(venue, symbols)
        self.rest: Any = ScriptedRest()
        self.events: list[Event] = []
        self.sent: list[Any] = []
        self.spawned: list[Coroutine[Any, Any, None]] = []
        self.resyncs: list[tuple[str, str, ResyncKind]] = []
        self.reconnects: list[str] = []
        self.states: list[tuple[str, FeedState]] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def send(self, payload: Any) -> None:
        self.sent.append(payload)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.spawned.append(coro)

    def set_state(self, symbol: str, state: FeedState, detail: str = "") -> None:
        self.health.set_state(symbol, state, detail)
        self.states.append((symbol, state))

    def resync(self, symbol: str, reason: str, kind: ResyncKind) -> None:
        self.resyncs.append((symbol, reason, kind))
        self.set_state(symbol, FeedState.RESYNCING, reason)

    def reconnect(self, reason: str) -> None:
        self.reconnects.append(reason)

    async def run_spawned(self) -> None:
        while self.spawned:
            await self.spawned.pop(0)


def recording(name: str) -> list[dict[str, Any]]:
    path = RECORDINGS / name
    return [json.loads(line) for line in path.read_text().splitlines()]
