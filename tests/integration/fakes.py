"""Test doubles for driving venue adapters without a socket (unit-level recording replays)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
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


class RecordedRest:
    """``get_json`` answers with recorded REST bodies, each handed over by ``deliver`` at the point of a re-run where
    the live client received it. A request waits until then, as the live one waited on the network, however many
    websocket frames that takes; a body with no request waiting for it means the re-run has diverged."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str] | None]] = []
        self.waiters: dict[str, deque[asyncio.Future[Any]]] = {}
        self._parked: asyncio.Future[None] | None = None

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self.waiters.values())

    def next_park(self) -> asyncio.Future[None]:
        """Resolves when a request next starts waiting for its body."""
        self._parked = asyncio.get_running_loop().create_future()
        return self._parked

    def deliver(self, path: str, body: Any) -> None:
        queue = self.waiters.get(path)
        if not queue:
            raise AssertionError(f"a {path} body was received here, but the re-run has no request waiting for it")
        queue.popleft().set_result(body)

    async def get_json(self, path: str, params: dict[str, str] | None = None, *, weight: float = 1.0) -> Any:
        self.calls.append((path, params))
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(path, deque()).append(answer)
        if self._parked is not None and not self._parked.done():
            self._parked.set_result(None)
        return await answer

    async def aclose(self) -> None:
        return None


class RerunLink(FakeLink):
    """A link for re-running an adapter over recorded frames: spawned coroutines run as tasks (as the supervisor
    runs them) against ``RecordedRest``, and ``settle`` lets them run as far as the recording allows."""

    def __init__(self, venue: str, symbols: list[str]) -> None:
        super().__init__(venue, symbols)
        self.rest = RecordedRest()
        self.tasks: list[asyncio.Task[None]] = []

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(coro))

    async def settle(self) -> None:
        """Returns once every task has finished or waits for a REST body still to come (event-driven: woken by a
        task ending or a request parking, never by a timer); a task's exception is raised here."""
        while True:
            for task in self.tasks:
                if task.done():
                    task.result()
            running = [task for task in self.tasks if not task.done()]
            self.tasks = running
            if len(running) == self.rest.waiting:
                return
            parked = self.rest.next_park()
            await asyncio.wait([*running, parked], return_when=asyncio.FIRST_COMPLETED)


def recording(name: str) -> list[dict[str, Any]]:
    path = RECORDINGS / name
    return [json.loads(line) for line in path.read_text().splitlines()]
