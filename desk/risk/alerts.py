"""Alerts: limit breaches, breaker transitions, rejected orders, stale feeds.

Every alert becomes a log line; subscribers add the TUI notification; optionally the terminal bell and a
configured command (for paging), run detached with the alert text as its last argument and never waited for.
Repeated identical alerts are throttled so a stuck condition cannot flood the pager.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger("desk.alerts")


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # "limit", "breaker", "rejected", "stale", "strategy"
    severity: Severity
    message: str
    ts_ns: int


class AlertBus:
    def __init__(self, *, bell: bool = False, command: str = "", throttle_s: float = 30.0) -> None:
        self.bell = bell
        self.command = shlex.split(command) if command else []
        self.throttle_ns = int(throttle_s * 1e9)
        self.listeners: list[Callable[[Alert], None]] = []
        self.recent: deque[Alert] = deque(maxlen=200)
        self._last_sent: dict[str, int] = {}

    def raise_alert(self, kind: str, severity: Severity, message: str, ts_ns: int) -> Alert | None:
        key = f"{kind}:{message}"
        last = self._last_sent.get(key)
        if last is not None and ts_ns - last < self.throttle_ns:
            return None
        self._last_sent[key] = ts_ns
        alert = Alert(kind, severity, message, ts_ns)
        self.recent.append(alert)
        level = {Severity.INFO: logging.INFO, Severity.WARNING: logging.WARNING}.get(severity, logging.ERROR)
        log.log(level, "%s: %s", kind, message)
        for listener in self.listeners:
            listener(alert)
        if self.bell and severity is not Severity.INFO and sys.stderr.isatty():
            sys.stderr.write("\a")
            sys.stderr.flush()
        if self.command:
            try:
                subprocess.Popen(
                    [*self.command, f"desk {severity}: {message}"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                log.error("alert command %r failed: %s", self.command[0], exc)
        return alert
