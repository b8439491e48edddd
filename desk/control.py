"""The local control channel: ``desk halt|resume|liquidate|risk`` reach a running desk through it.

A unix domain socket in the desk's data directory, created with mode 0600 inside a 0700 directory, so only the
owner of the desk can talk to it (the kernel checks file permissions on connect). One JSON request per line,
one JSON response per line: ``{"cmd": "halt"}`` -> ``{"ok": true, ...}``. There is no network listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desk.errors import RuntimeFailure, UserError

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class ControlServer:
    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self.handler = handler
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, stat.S_IRWXU)
        if self.path.exists():
            if _is_alive(self.path):
                raise RuntimeFailure(f"another desk is running (control socket {self.path} answers)")
            self.path.unlink()
        old_umask = os.umask(0o177)  # the socket is born 0600: no window where others could connect
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        finally:
            os.umask(old_umask)
        os.chmod(self.path, stat.S_IRUSR | stat.S_IWUSR)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=5.0)
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("expected a JSON object")
                response = self.handler(request)
            except UserError as exc:  # a bad value in the request: its message is already one clear line
                response = {"ok": False, "error": str(exc), "user_error": True}
            except Exception as exc:  # a bad request must not take the desk down
                response = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            writer.write(json.dumps(response, default=str).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()


def _is_alive(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def send_command(path: Path, request: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """Send one request to the desk listening on ``path``; RuntimeFailure when none is running."""
    if not path.exists():
        raise RuntimeFailure(f"no running desk: control socket {path} does not exist")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError as exc:
            raise RuntimeFailure(f"no running desk answers on {path}: {exc.strerror or exc}") from None
    try:
        response: dict[str, Any] = json.loads(data)
    except json.JSONDecodeError:
        raise RuntimeFailure(f"the desk on {path} sent an unreadable answer") from None
    return response
