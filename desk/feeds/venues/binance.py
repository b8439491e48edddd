"""Binance Spot: ``<symbol>@depth@100ms`` diffs + REST snapshot, synchronised by Binance's documented procedure.

"How to manage a local order book correctly" (web-socket-streams.md, current text): buffer the diff events and
note the first ``U``; fetch ``/api/v3/depth``; if its ``lastUpdateId`` < that ``U``, fetch again; drop buffered
events with ``u <= lastUpdateId``; the first kept event must contain ``lastUpdateId + 1`` in ``[U, u]``; then apply
in order, each event's ``U`` == previous ``u`` + 1, and restart from a fresh snapshot on any gap.

Sequence normalisation for the generic book: the snapshot carries ``seq = lastUpdateId`` and each applied diff
becomes ``BookDelta(first_seq = local_seq + 1, seq = u)``, so ``first_seq == book.seq + 1`` holds downstream.

One combined-stream connection carries every symbol (``/stream?streams=a/b/...``), so subscriptions are in the
URL and a reconnect resubscribes by construction. Binance pings every 20 s; ``websockets`` answers pings with
pongs itself (tests/integration prove it). ``serverShutdown`` means a disconnect is coming: reconnect now.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Literal

import msgspec
from msgspec.json import decode

from desk.domain.events import BookDelta, BookSnapshot, FeedState, Level, Side, Trade
from desk.domain.instruments import Instrument
from desk.errors import UserError
from desk.feeds.health import FeedHealth
from desk.feeds.ratelimit import VenueLimits
from desk.feeds.venues.base import Link, VenueAdapter, VenueInstrument
from desk.feeds.venues.depth_step import (
    CROSSED,
    DECLINED,
    GAP,
    MS,
    NOT_LIVE,
    STALE,
    UNHANDLED,
    DepthStep,
    Step,
    make_step,
)
from desk.feeds.venues.numbers import RawLevelParser, parse_levels
from desk.feeds.venues.rest import RestError

QUOTE_ALIASES = {"USD": "USDT"}  # Binance.com lists no USD pairs: the desk's BTC-USD trades as BTCUSDT
SNAPSHOT_WEIGHTS = ((100, 5), (500, 25), (1000, 50), (5000, 250))  # rest-api.md "Order book" weights


def depth_frame_type(venue_symbols: Collection[str] = ()) -> tuple[type, Callable[[str | bytes], Any]]:
    """The typed shape of a combined-stream depth frame, and its decoder (no dicts, no key lookups).

    ``s`` is a ``Literal`` of the adapter's venue symbols when given: msgspec then hands back the one interned
    string of each symbol (no new ``str`` per frame, its hash already known for the step lookup), and a frame for a
    symbol not subscribed fails validation and takes the generic path. The level texts stay ``msgspec.Raw``: the
    depth step reads them straight into integers."""
    return _depth_frame_type(frozenset(venue_symbols))  # one type per symbol set: steps check the frame's type


@functools.cache
def _depth_frame_type(venue_symbols: frozenset[str]) -> tuple[type, Callable[[str | bytes], Any]]:
    symbol: Any = Literal.__getitem__(tuple(sorted(venue_symbols))) if venue_symbols else str
    update = msgspec.defstruct(
        "_DepthUpdate",
        [("E", int), ("s", symbol), ("U", int), ("u", int), ("b", msgspec.Raw), ("a", msgspec.Raw)],
        tag_field="e",
        tag="depthUpdate",
        gc=False,
    )
    combined = msgspec.defstruct("_Combined", [("data", update)], gc=False)
    return update, msgspec.json.Decoder(combined).decode


_DepthUpdate, _decode_depth = depth_frame_type()  # any symbol: the shape tests and benchmarks use


@dataclass(slots=True)
class _Diff:
    first: int  # U
    last: int  # u
    ts_ns: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class _SyncState:
    __slots__ = ("buffer", "fetching", "live")

    def __init__(self) -> None:
        self.buffer: list[_Diff] = []
        self.fetching = False
        self.live = False


def snapshot_weight(limit: int) -> int:
    for upto, weight in SNAPSHOT_WEIGHTS:
        if limit <= upto:
            return weight
    return SNAPSHOT_WEIGHTS[-1][1]


class BinanceAdapter(VenueAdapter):
    venue: ClassVar[str] = "binance"
    default_ws_url: ClassVar[str] = "wss://stream.binance.com:9443"
    default_rest_url: ClassVar[str] = "https://api.binance.com"
    # web-socket-streams.md "WebSocket Limits"; rest-api.md REQUEST_WEIGHT 6000 per minute.
    limits: ClassVar[VenueLimits] = VenueLimits(6000, 60.0, 5.0, 300, 300.0)

    def __init__(
        self,
        instruments: dict[str, VenueInstrument],
        *,
        ws_url: str | None = None,
        rest_url: str | None = None,
        trades: bool = True,
        snapshot_limit: int = 1000,
        snapshot_retry_s: float = 0.25,
        max_buffer: int = 10_000,
        trade_stream: str = "trade",
    ) -> None:
        super().__init__(instruments, ws_url=ws_url, rest_url=rest_url, trades=trades)
        if not 1 <= snapshot_limit <= 5000:
            raise ValueError(f"snapshot_limit {snapshot_limit}: expected 1..5000")
        if trade_stream not in ("trade", "aggTrade"):
            raise ValueError(f"trade_stream {trade_stream!r}: expected 'trade' or 'aggTrade'")
        self.snapshot_limit = snapshot_limit
        self.snapshot_retry_s = snapshot_retry_s
        self.max_buffer = max_buffer
        self.trade_stream = trade_stream
        self.sync = {sym: _SyncState() for sym in self.books}
        self._levels = {
            sym: RawLevelParser(sb.parse_price, sb.parse_size) for sym, sb in self.books.items()
        }  # fmt: skip
        # venue symbol -> the per-frame depth step and its Python twin (depth_step.py), counting into the
        # FeedHealth of the link that delivers the frames: bound on every connection (on_open)
        self._steps: dict[str, Step] = {}
        self._python_steps: dict[str, DepthStep] = {}
        self._depth_type, self._decode_depth = depth_frame_type(self.by_venue_symbol)
        self.snapshots_fetched = 0

    # --- connection -------------------------------------------------------------------------------
    def streams(self) -> list[str]:
        out = []
        for vi in self.venue_instruments.values():
            name = vi.instrument.venue_symbol.lower()
            out.append(f"{name}@depth@100ms")
            if self.trades:
                out.append(f"{name}@{self.trade_stream}")
        return out

    def connect_url(self) -> str:
        return f"{self.ws_url.rstrip('/')}/stream?streams={'/'.join(self.streams())}"

    def on_open(self, link: Link) -> None:
        for state in self.sync.values():
            state.buffer.clear()
            state.fetching = False
            state.live = False
        self._bind_steps(link.health)

    def on_close(self) -> None:
        super().on_close()
        for state in self.sync.values():
            state.buffer.clear()
            state.live = False
            state.fetching = False

    def on_message(self, raw: str | bytes, recv_ns: int, link: Link) -> None:
        """Depth frames (nearly all traffic) take the typed fast path through the symbol's ``DepthStep``;
        anything else goes through the generic decoder."""
        try:
            data = self._decode_depth(raw).data
        except msgspec.ValidationError:
            self._on_other(raw, recv_ns, link)
            return
        steps = self._steps
        if not steps:  # on_open binds them; a caller that never opened (tests, replays) gets them here
            steps = self._bind_steps(link.health)
        result = steps[data.s](data, recv_ns)
        if result.__class__ is BookDelta:
            link.emit(result)
        else:
            self._depth_slow(result, data, recv_ns, link)  # type: ignore[arg-type]

    def _bind_steps(self, health: FeedHealth) -> dict[str, Step]:
        self._steps = {}
        self._python_steps = {}
        for vs, sym in self.by_venue_symbol.items():
            book = self.books[sym].book
            levels = self._levels[sym]
            h = health.symbols[sym]
            self._steps[vs], self._python_steps[vs] = make_step(
                sym, self.venue, book, self.sync[sym], h, levels, self._depth_type
            )
        return self._steps

    def _depth_slow(self, code: int, data: Any, recv_ns: int, link: Link) -> None:
        """Everything a depth frame can need besides an emitted delta (codes from depth_step)."""
        if code == STALE:
            return
        symbol = self.by_venue_symbol[data.s]
        ts_ns = data.E * MS
        if code in (DECLINED, UNHANDLED):  # the compiled step left this frame to the Python one
            python = self._python_steps[data.s]
            result = python.rest(data, ts_ns) if code == DECLINED else python(data, recv_ns)
            if result.__class__ is BookDelta:
                link.emit(result)
                return
            code = result  # type: ignore[assignment]
            if code == STALE:
                return
        if code == NOT_LIVE:
            self.on_diff(symbol, _Diff(data.U, data.u, ts_ns, *self._levels[symbol](data.b, data.a)), link)
        elif code == GAP:
            local = self.books[symbol].book.seq
            link.resync(symbol, f"sequence gap: expected U <= {local + 1}, got U={data.U}", "gap")
            diff = _Diff(data.U, data.u, ts_ns, *self._levels[symbol](data.b, data.a))
            self._restart(symbol, diff, link)
        elif code == CROSSED:
            link.resync(symbol, f"crossed book at u={data.u}", "crossed")
            self._restart(symbol, None, link)

    def _on_other(self, raw: str | bytes, recv_ns: int, link: Link) -> None:
        msg = decode(raw)
        data = msg["data"] if "stream" in msg else msg
        kind = data.get("e")
        if kind == "depthUpdate":
            symbol = self.by_venue_symbol[data["s"]]
            sb = self.books[symbol]
            pp, ps = sb.parse_price, sb.parse_size
            ts_ns = data["E"] * MS
            diff = _Diff(data["U"], data["u"], ts_ns, parse_levels(data["b"], pp, ps), parse_levels(data["a"], pp, ps))
            link.health.message(symbol, ts_ns, recv_ns)
            self.on_diff(symbol, diff, link)
        elif kind == "trade" or kind == "aggTrade":
            symbol = self.by_venue_symbol[data["s"]]
            sb = self.books[symbol]
            ts_ns = data["T"] * MS
            trade_id = data["t"] if kind == "trade" else data["a"]
            link.health.message(symbol, data["E"] * MS, recv_ns)
            link.emit(
                Trade(
                    symbol,
                    self.venue,
                    ts_ns,
                    sb.parse_price(data["p"]),
                    sb.parse_size(data["q"]),
                    Side.SELL if data["m"] else Side.BUY,  # m: the buyer was the maker, so a seller took
                    str(trade_id),
                )
            )
        elif kind == "serverShutdown":
            link.reconnect("venue announced server shutdown")
        elif "result" in msg or "id" in msg:
            pass  # acknowledgement: the supervisor counted the frame as a sign of life
        elif "code" in msg and "msg" in msg:
            raise ValueError(f"venue error {msg['code']}: {msg['msg']}")

    # --- the documented sync procedure ------------------------------------------------------------
    def on_diff(self, symbol: str, diff: _Diff, link: Link) -> None:
        state = self.sync[symbol]
        if state.live:
            self._apply(symbol, diff, link)
            return
        state.buffer.append(diff)
        if len(state.buffer) > self.max_buffer:
            state.buffer = state.buffer[-1:]  # snapshot far too slow: what we held is useless
        if not state.fetching:
            state.fetching = True
            link.spawn(self._fetch_snapshot(symbol, link))

    def _apply(self, symbol: str, diff: _Diff, link: Link) -> None:
        book = self.books[symbol].book
        local = book.seq
        if diff.last <= local:
            return  # already in the snapshot or applied
        if diff.first > local + 1:
            link.resync(symbol, f"sequence gap: expected U <= {local + 1}, got U={diff.first}", "gap")
            self._restart(symbol, diff, link)
            return
        delta = BookDelta(symbol, self.venue, local + 1, diff.last, diff.ts_ns, diff.bids, diff.asks)
        if book.apply_delta(delta):  # crossed
            link.resync(symbol, f"crossed book at u={diff.last}", "crossed")
            self._restart(symbol, None, link)
            return
        link.emit(delta)

    def _restart(self, symbol: str, diff: _Diff | None, link: Link) -> None:
        state = self.sync[symbol]
        self.books[symbol].book.clear()
        state.live = False
        state.buffer = [diff] if diff is not None else []
        if not state.fetching and diff is not None:
            state.fetching = True
            link.spawn(self._fetch_snapshot(symbol, link))
        # With no diff in hand, the next diff event starts the procedure again (step 1: note its U).

    async def _fetch_snapshot(self, symbol: str, link: Link) -> None:
        state = self.sync[symbol]
        sb = self.books[symbol]
        params = {"symbol": sb.vi.instrument.venue_symbol, "limit": str(self.snapshot_limit)}
        failures = 0
        try:
            while True:
                try:
                    snap = await link.rest.get_json(
                        "/api/v3/depth", params, weight=snapshot_weight(self.snapshot_limit)
                    )
                    last_id = int(snap["lastUpdateId"])
                    bids = parse_levels(snap["bids"], sb.parse_price, sb.parse_size)
                    asks = parse_levels(snap["asks"], sb.parse_price, sb.parse_size)
                except (RestError, ValueError, KeyError, TypeError) as exc:
                    failures += 1
                    link.health.malformed += isinstance(exc, ValueError | KeyError | TypeError)
                    if failures >= 5:
                        link.reconnect(f"depth snapshot failed {failures} times: {exc}")
                        return
                    await asyncio.sleep(self.snapshot_retry_s * failures)
                    continue
                self.snapshots_fetched += 1
                if state.buffer and last_id < state.buffer[0].first:
                    await asyncio.sleep(self.snapshot_retry_s)  # step 4: snapshot older than the stream
                    continue
                break
        finally:
            state.fetching = False
        self._install(symbol, last_id, bids, asks, link)

    def _install(self, symbol: str, last_id: int, bids: tuple[Level, ...], asks: tuple[Level, ...], link: Link) -> None:
        state = self.sync[symbol]
        book = self.books[symbol].book
        snapshot = BookSnapshot(symbol, self.venue, last_id, time.time_ns(), bids, asks)
        book.apply_snapshot(snapshot)
        if book.is_crossed:
            link.resync(symbol, "crossed snapshot", "crossed")
            self._restart(symbol, state.buffer[-1] if state.buffer else None, link)
            return
        link.emit(snapshot)
        pending = [d for d in state.buffer if d.last > last_id]  # step 5
        state.buffer = []
        state.live = True
        link.set_state(symbol, FeedState.LIVE, "")
        for i, diff in enumerate(pending):  # steps 6-7; a gap here restarts through _apply
            self._apply(symbol, diff, link)
            if not state.live:
                # The restart buffered the diff at the gap; the later ones belong in the buffer too, or a next
                # snapshot whose lastUpdateId falls among them would see a second, needless gap.
                state.buffer.extend(pending[i + 1 :])
                break

    # --- reference data ---------------------------------------------------------------------------
    @classmethod
    def venue_symbol(cls, symbol: str) -> str:
        base, _, quote = symbol.upper().partition("-")
        if not base or not quote:
            raise UserError(f"symbol {symbol!r} is not BASE-QUOTE (e.g. BTC-USD)")
        return base + QUOTE_ALIASES.get(quote, quote)

    @classmethod
    def reference_requests(cls, symbols: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
        return [("/api/v3/exchangeInfo", {"symbol": cls.venue_symbol(s)}) for s in symbols]

    @classmethod
    def parse_reference(cls, symbols: Sequence[str], responses: Sequence[Any]) -> dict[str, VenueInstrument]:
        listed: dict[str, dict[str, Any]] = {}
        for response in responses:
            for entry in response.get("symbols", []):
                listed[entry["symbol"]] = entry
        out: dict[str, VenueInstrument] = {}
        for symbol in symbols:
            vs = cls.venue_symbol(symbol)
            entry = listed.get(vs)
            if entry is None:
                raise UserError(f"symbol {symbol!r} ({vs}) is not listed on binance")
            filters = {f["filterType"]: f for f in entry.get("filters", [])}
            tick = Decimal(filters["PRICE_FILTER"]["tickSize"]).normalize()
            lot = Decimal(filters["LOT_SIZE"]["stepSize"]).normalize()
            notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
            inst = Instrument(symbol.upper(), tick, lot, Decimal(notional.get("minNotional", "0")), venue_symbol=vs)
            out[symbol.upper()] = VenueInstrument(inst, inst.price_decimals, inst.size_decimals)
        return out
