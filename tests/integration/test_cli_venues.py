"""`desk feed` and `desk book` on a venue, through the real CLI in a subprocess, against the local exchange doubles.

The doubles run in this test's event loop; the CLI connects to them with ``--ws-url/--rest-url``. Every check
rebuilds the venue's true book independently (the deterministic ``Exchange`` stepped to the printed sequence)
and compares it with what the command printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from desk.book.l2 import OrderBook
from desk.domain.events import BookDelta, BookSnapshot
from tests.integration.servers import INSTRUMENT, SYMBOL, Exchange
from tests.integration.test_binance_local import FakeBinance
from tests.integration.test_kraken_local import FakeKraken

REPO = Path(__file__).resolve().parents[2]


def cli_env(home: Path) -> dict[str, str]:
    """The CLI's environment: settings and caches under ``home``, never the user's; no proxy for 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_") and "proxy" not in k.lower()}
    return env | {"DESK_HOME": str(home), "NO_PROXY": "127.0.0.1,localhost", "PYTHONPATH": str(REPO)}


async def run_cli(args: list[str], home: Path, timeout_s: float = 40.0) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "desk", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=cli_env(home), cwd=str(home),
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def levels(rows: list[list[str]]) -> tuple[tuple[int, int], ...]:
    return tuple((INSTRUMENT.price_to_ticks(Decimal(p)), INSTRUMENT.size_to_lots(Decimal(s))) for p, s in rows)


def truth_at(seq: int) -> OrderBook:
    """The venue's book right after sequence ``seq``, from a fresh run of the same deterministic exchange."""
    ex = Exchange()
    while ex.book.seq != seq:
        assert not ex.done, f"the exchange never reaches seq {seq}"
        ex.step()
    return ex.book


def replay_printed(lines: list[dict[str, Any]]) -> OrderBook:
    """Apply the printed snapshots and deltas in order, as a client of `desk feed --json` would."""
    book = OrderBook(INSTRUMENT, "cli")
    for row in lines:
        if row["type"] == "snapshot":
            book.apply_snapshot(BookSnapshot(SYMBOL, "x", row["seq"], 0, levels(row["bids"]), levels(row["asks"])))
        elif row["type"] == "delta":
            book.apply_delta(
                BookDelta(SYMBOL, "x", row["first_seq"], row["seq"], 0, levels(row["bids"]), levels(row["asks"]))
            )
    return book


async def test_feed_json_on_binance_resyncs_after_a_gap_and_keeps_running(tmp_path: Path) -> None:
    async with FakeBinance("gap", pace_s=0.04) as fake:  # loses a message only after serving a snapshot
        args = ["feed", SYMBOL, "--venue", "binance", "--ws-url", fake.ws_url, "--rest-url", fake.http.url]
        code, out, err = await run_cli([*args, "--duration", "3", "--json"], tmp_path)
    assert code == 0, err
    assert fake.fault_done and fake.snapshot_seqs[0] < fake.fault_seq
    rows = [json.loads(line) for line in out.splitlines()]
    kinds = {row["type"] for row in rows}
    assert kinds == {"snapshot", "delta", "trade", "status"}
    assert all(row["symbol"] == SYMBOL and row["venue"] == "binance" for row in rows)
    statuses = [row for row in rows if row["type"] == "status"]
    for key in ("state", "msgs_per_s", "last_msg_age_s", "latency_ms", "gaps", "resyncs", "checksum_failures"):
        assert key in statuses[0]
    resync = next(i for i, row in enumerate(rows) if row["type"] == "status" and row["state"] == "resyncing")
    assert (rows[resync]["gaps"], rows[resync]["resyncs"]) == (1, 1)
    assert "sequence gap" in rows[resync]["detail"]
    # After the resync: a fresh snapshot, live again, and the process went on printing periodic statuses.
    after = rows[resync + 1 :]
    assert any(row["type"] == "snapshot" for row in after)
    live_after = [row for row in after if row["type"] == "status" and row["state"] == "live"]
    assert len(live_after) >= 2 and all(row["resyncs"] == 1 for row in live_after)
    assert [row["type"] for row in rows].count("snapshot") == 2
    # What was printed rebuilds the venue's final book exactly.
    book = replay_printed(rows)
    assert book.seq == fake.ex.book.seq
    assert (book.bids, book.asks) == (fake.ex.book.bids, fake.ex.book.asks)


async def test_book_once_and_watch_on_binance_equal_the_venue_book(tmp_path: Path) -> None:
    async with FakeBinance("none", pace_s=0.02) as fake:
        base = [SYMBOL, "--venue", "binance", "--ws-url", fake.ws_url, "--rest-url", fake.http.url, "--json"]
        code, out, err = await run_cli(["book", *base, "--depth", "5"], tmp_path)
        assert code == 0, err
        doc = json.loads(out)
        assert (doc["symbol"], doc["venue"], doc["state"]) == (SYMBOL, "binance", "live")
        truth = truth_at(doc["seq"])
        bids, asks = truth.top(5)
        assert (levels(doc["bids"]), levels(doc["asks"])) == (tuple(bids), tuple(asks))

    async with FakeBinance("none", pace_s=0.02) as fake:
        base = [SYMBOL, "--venue", "binance", "--ws-url", fake.ws_url, "--rest-url", fake.http.url, "--json"]
        code, out, err = await run_cli(["book", *base, "--watch", "--duration", "2.5", "--depth", "3"], tmp_path)
    assert code == 0, err
    docs = [json.loads(line) for line in out.splitlines()]
    assert len(docs) >= 2 and all(d["state"] == "live" for d in docs)
    for doc in (docs[0], docs[-1]):
        bids, asks = truth_at(doc["seq"]).top(3)
        assert (levels(doc["bids"]), levels(doc["asks"])) == (tuple(bids), tuple(asks))


async def test_feed_on_kraken_shows_a_checksum_failure_in_json_and_text(tmp_path: Path) -> None:
    async with FakeKraken("bad_checksum") as fake:
        args = ["feed", SYMBOL, "--venue", "kraken", "--ws-url", fake.ws_url, "--rest-url", fake.http.url]
        code, out, err = await run_cli([*args, "--duration", "2.5", "--json"], tmp_path)
    assert code == 0, err
    statuses = [row for row in map(json.loads, out.splitlines()) if row["type"] == "status"]
    bad = next(row for row in statuses if row["state"] == "resyncing")
    assert (bad["checksum_failures"], bad["resyncs"], bad["gaps"]) == (1, 1, 0)
    assert "checksum mismatch" in bad["detail"]
    last = [row for row in statuses if row["detail"] != "stopped"][-1]  # the final "down (stopped)" is Ctrl-C's
    assert last["state"] == "live" and last["checksum_failures"] == 1

    async with FakeKraken("bad_checksum") as fake:
        args = ["feed", SYMBOL, "--venue", "kraken", "--ws-url", fake.ws_url, "--rest-url", fake.http.url]
        code, out, err = await run_cli([*args, "--duration", "2.5"], tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    bad_at = next(i for i, line in enumerate(lines) if " status resyncing (checksum mismatch" in line)
    assert any(f"{SYMBOL} status live" in line for line in lines[bad_at:])
    assert any(f"{SYMBOL} snapshot #" in line for line in lines[bad_at:])


async def test_venue_errors_are_one_line(tmp_path: Path) -> None:
    async with FakeBinance("none") as fake:
        code, out, err = await run_cli(
            ["feed", "NOPE-USD", "--venue", "binance", "--rest-url", fake.http.url], tmp_path
        )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "'NOPE-USD'" in err and "not listed on binance" in err
    code, _, err = await run_cli(["book", SYMBOL, "--venue", "ftx"], tmp_path)
    assert code == 2 and err.count("\n") == 1 and "ftx" in err
    code, _, err = await run_cli(["feed", SYMBOL, "--venue", "binance", "--ws-url", "http://x"], tmp_path)
    assert code == 2 and err.count("\n") == 1 and "http://x" in err


@pytest.mark.parametrize("venue", ["coinbase"])
async def test_unreachable_reference_endpoint_is_a_runtime_failure(tmp_path: Path, venue: str) -> None:
    code, out, err = await run_cli(["book", SYMBOL, "--venue", venue, "--rest-url", "http://127.0.0.1:9"], tmp_path)
    assert code == 1 and out == "" and err.count("\n") == 1 and err.startswith("desk: error:")
