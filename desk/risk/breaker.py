"""The circuit breaker: NORMAL -> REDUCE_ONLY -> HALTED.

Triggers only ever escalate the state; going back down is a human decision (``reset``, which the TUI and
``desk resume`` confirm first). Every transition carries its reason and is reported to listeners (journal,
alerts, UI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    NORMAL = "normal"
    REDUCE_ONLY = "reduce_only"  # only orders that shrink a position
    HALTED = "halted"  # no new orders at all (liquidation by the user excepted)

    @property
    def level(self) -> int:
        return _LEVEL[self]


_LEVEL = {BreakerState.NORMAL: 0, BreakerState.REDUCE_ONLY: 1, BreakerState.HALTED: 2}


@dataclass(frozen=True, slots=True)
class Transition:
    previous: BreakerState
    state: BreakerState
    reason: str
    ts_ns: int


TransitionListener = Callable[[Transition], None]


class CircuitBreaker:
    def __init__(self) -> None:
        self.state = BreakerState.NORMAL
        self.reason = ""
        self.since_ns = 0
        self.listeners: list[TransitionListener] = []
        self.history: list[Transition] = []

    def escalate(self, state: BreakerState, reason: str, ts_ns: int) -> bool:
        """Move up to ``state`` if it is more severe than the current one."""
        if state.level <= self.state.level:
            return False
        self._move(state, reason, ts_ns)
        return True

    def reset(self, reason: str, ts_ns: int) -> bool:
        """Manual reset to NORMAL (the caller has asked for confirmation)."""
        if self.state is BreakerState.NORMAL:
            return False
        self._move(BreakerState.NORMAL, reason, ts_ns)
        return True

    def _move(self, state: BreakerState, reason: str, ts_ns: int) -> None:
        transition = Transition(self.state, state, reason, ts_ns)
        self.state = state
        self.reason = reason
        self.since_ns = ts_ns
        self.history.append(transition)
        del self.history[:-100]
        for listener in self.listeners:
            listener(transition)
