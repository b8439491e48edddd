"""Kraken CRC32: Kraken's published worked example and every checksum in a recorded real session."""

from __future__ import annotations

import json
import zlib
from decimal import Decimal
from pathlib import Path

import pytest

from desk.book.l2 import OrderBook
from desk.domain.instruments import Instrument
from desk.feeds.checksum import book_checksum, checksum_text, fixed_point, kraken_checksum
from desk.feeds.venues.numbers import GridParser

RECORDINGS = Path(__file__).parents[2] / "../shared/exchange-recordings"
KRAKEN_V1 = RECORDINGS / "kraken_v1_book1000_2021-04-17.jsonl"

# Kraken's "Spot Websockets (v2) Book Checksum" guide, BTC/USD worked example: expected 3310070434.
DOC_ASKS = [
    ("45285.2", "0.00100000"), ("45286.4", "1.54571953"), ("45286.6", "1.54571109"), ("45289.6", "1.54560911"),
    ("45290.2", "0.15890660"), ("45291.8", "1.54553491"), ("45294.7", "0.04454749"), ("45296.1", "0.35380000"),
    ("45297.5", "0.09945542"), ("45299.5", "0.18772827"),
]  # fmt: skip
DOC_BIDS = [
    ("45283.5", "0.10000000"), ("45283.4", "1.54582015"), ("45282.1", "0.10000000"), ("45281.0", "0.10000000"),
    ("45280.3", "1.54592586"), ("45279.0", "0.07990000"), ("45277.6", "0.03310103"), ("45277.5", "0.30000000"),
    ("45277.3", "1.54602737"), ("45276.6", "0.15445238"),
]  # fmt: skip


def test_doc_worked_example_string_and_value() -> None:
    text = checksum_text(DOC_ASKS, DOC_BIDS)
    assert text.startswith("452852100000")  # "45285.2" + "0.00100000" per the guide
    assert len(text) == 281
    assert kraken_checksum(DOC_ASKS, DOC_BIDS) == 3310070434


def test_doc_example_from_integer_book() -> None:
    inst = Instrument("BTC-USD", Decimal("0.1"), Decimal("0.00000001"))
    px, qty = GridParser(inst.tick_size), GridParser(inst.lot_size, "size")
    bids = {px(p): qty(q) for p, q in DOC_BIDS}
    asks = {px(p): qty(q) for p, q in DOC_ASKS}
    asks[px("45400.0")] = 5  # an 11th level must not count
    value = book_checksum(bids, asks, price_scale=1, price_decimals=1, qty_scale=1, qty_decimals=8)
    assert value == 3310070434


def test_json_number_text_gives_a_different_checksum() -> None:
    """Why the pair's precision matters: "0.001" instead of "0.00100000" changes the hashed digits."""
    shortest = [(p, str(Decimal(q).normalize())) for p, q in DOC_ASKS]
    assert kraken_checksum(shortest, DOC_BIDS) != 3310070434


def test_small_hand_computed_example() -> None:
    # asks "0.05000"/"0.00000304" -> "5000" + "304"; bids "0.04000"/"1.50000000" -> "4000" + "150000000"
    text = checksum_text([("0.05000", "0.00000304")], [("0.04000", "1.50000000")])
    assert text == "5000304" + "4000150000000"
    assert kraken_checksum([("0.05000", "0.00000304")], [("0.04000", "1.50000000")]) == zlib.crc32(text.encode())


def test_fixed_point_rendering() -> None:
    assert fixed_point(5, 8) == "0.00000005"
    assert fixed_point(123456, 2) == "1234.56"
    assert fixed_point(7, 0) == "7"
    assert fixed_point(0, 3) == "0.000"


def _decimals(text: str) -> int:
    return len(text) - text.index(".") - 1


def test_every_published_checksum_in_recorded_v1_session() -> None:
    """Replays Kraken v1 book-1000 for 10 pairs through integer books; every ``c`` must match."""
    if not KRAKEN_V1.exists():
        pytest.skip("exchange recordings not available")
    books: dict[str, tuple[OrderBook, GridParser, GridParser, int, int]] = {}
    checked = 0
    for line in KRAKEN_V1.read_text().splitlines():
        msg = json.loads(line)["msg"]
        if not isinstance(msg, list):
            continue
        pair = msg[-1]
        depth = int(msg[-2].split("-")[1])
        maps = [m for m in msg[1:-2] if isinstance(m, dict)]
        if "as" in maps[0] or "bs" in maps[0]:
            levels = maps[0].get("as") or maps[0]["bs"]
            pd, qd = _decimals(levels[0][0]), _decimals(levels[0][1])
            inst = Instrument(pair.replace("/", "-"), Decimal(1).scaleb(-pd), Decimal(1).scaleb(-qd))
            book = OrderBook(inst, "kraken")
            px, qty = GridParser(inst.tick_size), GridParser(inst.lot_size, "size")
            for p, q, *_ in maps[0].get("as", []):
                book.set_level(False, px(p), qty(q))
            for p, q, *_ in maps[0].get("bs", []):
                book.set_level(True, px(p), qty(q))
            books[pair] = (book, px, qty, pd, qd)
            continue
        book, px, qty, pd, qd = books[pair]
        published = None
        for m in maps:
            for p, q, *_ in m.get("a", []):
                book.set_level(False, px(p), qty(q))
            for p, q, *_ in m.get("b", []):
                book.set_level(True, px(p), qty(q))
            published = m.get("c", published)
        book.truncate(depth)
        assert published is not None
        ours = book_checksum(book.bids, book.asks, price_scale=1, price_decimals=pd, qty_scale=1, qty_decimals=qd)
        assert ours == int(published), f"{pair} update {checked}"
        checked += 1
    assert len(books) == 10
    assert checked == 4269
