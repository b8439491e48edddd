"""Line output for streaming commands: flushed per batch, and quiet when the reader goes away.

``desk feed --json | head -3`` closes the pipe under us; Python would then raise ``BrokenPipeError`` on the next
write (and again at interpreter exit while flushing). The writer notices, points stdout at /dev/null so the exit
flush is silent, and reports ``closed`` so the command can stop its feed and exit 0.
"""

from __future__ import annotations

import os
import sys


class LineWriter:
    __slots__ = ("closed",)

    def __init__(self) -> None:
        self.closed = False

    def line(self, text: str) -> None:
        if self.closed:
            return
        try:
            sys.stdout.write(text + "\n")
        except BrokenPipeError:
            self._reader_gone()

    def flush(self) -> None:
        if self.closed:
            return
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            self._reader_gone()

    def _reader_gone(self) -> None:
        self.closed = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # stdout without a file descriptor (e.g. captured in tests)
            pass
