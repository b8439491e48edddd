"""Kill a headless run with SIGKILL mid-trading: no acknowledged fill is lost and positions equal the fills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from desk.journal import JournalReader
from desk.journal.positions import positions_from_fills

RUN = [
    sys.executable,
    "-m",
    "desk",
    "run",
    "--headless",
    "--strategy",
    "market_maker",
    "--symbol",
    "SOL-USD",
    "--param",
    "spread_bps=2",
    "--param",
    "quote_size=300",
    "--param",
    "refresh_interval=0.5",
    "--speed",
    "20",
    "--json",
]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env["DESK_HOME"] = str(tmp_path / "home")
    return env


def test_sigkill_loses_no_acknowledged_fill(tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    proc = subprocess.Popen(
        [*RUN, "--journal", str(journal), "--duration", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    acked: list[dict[str, str]] = []
    deadline = time.monotonic() + 90
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            event = json.loads(line)
            if event["type"] == "fill":
                acked.append(event)
            if len(acked) >= 6 or time.monotonic() > deadline:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= 6, proc.stderr.read() if proc.stderr else ""

    reader = JournalReader(journal)
    fills = reader.fills()
    reader.close()
    journaled = {f["fill_id"] for f in fills}
    assert {a["fill_id"] for a in acked} <= journaled  # every acknowledged fill survived the kill
    # Positions equal the sum of the journaled fills (computed here independently, in plain Decimal).
    net = sum((Decimal(f["quantity"]) * (1 if f["side"] == "buy" else -1) for f in fills), Decimal(0))
    (row,) = positions_from_fills(fills)
    assert Decimal(row["quantity"]) == net

    # A restart rebuilds the same positions from the journal and reports what it recovered.
    restart = subprocess.run(
        [*RUN, "--journal", str(journal), "--duration", "1"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
    )
    assert restart.returncode == 0, restart.stderr
    lines = [json.loads(x) for x in restart.stdout.splitlines()]
    start = next(x for x in lines if x["type"] == "start")
    assert start["recovered"]["fills"] == len(fills)
    assert start["recovered"]["strategies"] == 1  # it was running when killed: restored (paused), then resumed
    summary = lines[-1]
    assert summary["type"] == "summary"
    assert summary["fills"] >= len(fills)
