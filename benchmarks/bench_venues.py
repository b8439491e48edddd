"""Binance depthUpdate throughput: decode + normalise + book apply, against decoding alone.

Messages come from the recorded Binance session when ../shared/exchange-recordings is present (the real
level counts and number formats), else synthetic ones of the same shape. The machine is shared, so the decoders
and the pipeline run interleaved, round after round over the same frames, timed in process CPU time; each figure
is the best round, and the ratio is also given as the median of the per-round ratios (both halves of a ratio
measured seconds apart, under the same load). All in this process:
- json.loads alone, msgspec.json.decode alone (the decoders),
- the full adapter path (BinanceAdapter.on_message: typed msgspec decode into a depthUpdate Struct, then the
  symbol's DepthStep: health counters, sequence checks, level texts -> integer ticks/lots, BookDelta, apply to the
  adapter's OrderBook with the crossed check), with the receive stamps a live feed passes,
- and its parts alone over the same frames (the decode; the step, compiled and in Python), plus the whole
  pipeline with the Python step (what runs where desk._native could not be built).
Frames are compact JSON, as Binance sends them. Sizes are made unique per cycle (a cycled recording would otherwise
let the parsers' small text cache hit on every size); prices and the removal size "0.00000000" repeat, as they do
on a live stream.
Target (issue 5): the full pipeline at least half the rate of decoding alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from desk import native
from desk.domain.events import BookDelta, BookSnapshot
from desk.domain.instruments import Instrument
from desk.feeds.health import FeedHealth
from desk.feeds.venues.base import VenueInstrument
from desk.feeds.venues.binance import BinanceAdapter

RECORDING = Path(__file__).resolve().parents[1] / "../shared/exchange-recordings/binance_spot_depth_2021-10-12.jsonl"
TARGET = 100_000
ROUNDS = 7


class _Link:
    def __init__(self) -> None:
        self.health = FeedHealth("binance", ["NKN-USDT"])
        self.n = 0

    def emit(self, event: Any) -> None:
        self.n += 1

    def send(self, payload: Any) -> None: ...
    def spawn(self, coro: Any) -> None:
        coro.close()

    def set_state(self, *a: Any) -> None: ...
    def resync(self, *a: Any) -> None:
        raise AssertionError("the benchmark stream must not gap")

    def reconnect(self, reason: str) -> None: ...


def _fresh(size: str, cycle: int) -> str:
    """``"6195.00000000"`` -> ``"6195007.00000000"`` in cycle 7; zero stays zero."""
    whole, frac = size.split(".")
    return size if float(size) == 0 else f"{whole}{cycle:03d}.{frac}"


def _frames() -> tuple[list[bytes], str, int]:
    """A contiguous NKNUSDT-shaped stream of combined depthUpdate frames (renumbered to stay contiguous)."""
    templates: list[dict[str, Any]] = []
    source = "synthetic"
    if RECORDING.exists():
        for line in RECORDING.read_text().splitlines():
            row = json.loads(line)
            if row["kind"] == "ws_depth@100ms" and row["msg"]["data"]["s"] == "NKNUSDT":
                templates.append(row["msg"]["data"])
        source = f"recording ({len(templates)} NKNUSDT frames, cycled)"
    if not templates:
        for i in range(100):
            px = f"0.35{i % 50:02d}0000"
            asks = [[f"0.36{i % 50:02d}0000", "12.00000000"], [f"0.37{i % 50:02d}0000", "0.00000000"]]
            templates.append(
                {"e": "depthUpdate", "E": 1, "s": "NKNUSDT", "b": [[px, f"{100 + i}.00000000"]], "a": asks}
            )
    frames = []
    u = 1000
    for i in range(TARGET):
        data = dict(templates[i % len(templates)])
        data["U"], data["u"] = u + 1, u + 2
        k = i // len(templates)  # each cycle gets fresh size strings (no cache can remember them); prices repeat
        for side in ("b", "a"):
            data[side] = [[p, _fresh(q, k)] for p, q in data[side]]
        u += 2
        # compact, as Binance sends them (json.dumps would add a space after every comma and colon)
        frames.append(json.dumps({"stream": "nknusdt@depth@100ms", "data": data}, separators=(",", ":")).encode())
    return frames, source, len(templates)


def _adapter() -> tuple[BinanceAdapter, _Link]:
    inst = Instrument("NKN-USDT", Decimal("0.0001"), Decimal("1"), venue_symbol="NKNUSDT")
    adapter = BinanceAdapter({"NKN-USDT": VenueInstrument(inst, 4, 0)}, ws_url="ws://x", rest_url="http://x")
    adapter.sync["NKN-USDT"].live = True
    return adapter, _Link()


def _reset(adapter: BinanceAdapter, seq: int) -> None:
    """Start a cycle of the recorded frames from a near-empty book: the levels a cycle touches are then a
    subset of the real (uncrossed) book, so replaying the cycle again never crosses."""
    book = adapter.books["NKN-USDT"].book
    book.apply_snapshot(BookSnapshot("NKN-USDT", "binance", seq, 0, ((1000, 5),), ((9000, 5),)))


def _interleaved(cases: dict[str, Callable[[], None]], rounds: int) -> dict[str, list[float]]:
    """CPU seconds of every case in every round; the cases of one round run back to back."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            start = time.process_time()
            fn()
            times[name].append(time.process_time() - start)
    return times


def _stages(
    frames: list[bytes], chunks: list[tuple[int, list[bytes]]], recv_chunks: list[list[int]]
) -> list[tuple[str, float]]:
    """The pipeline's two halves alone, over the same frames (microseconds per message): the typed decode, and the
    per-frame DepthStep (health count, sequence checks, level texts -> integers, BookDelta, book update), compiled
    and in Python; plus the whole pipeline with the Python step, the fallback when desk._native is not built."""
    n = len(frames)
    decode = _adapter()[0]._decode_depth  # the adapters' own frame type (its symbols as a Literal)
    decoded = [decode(f).data for f in frames]
    data_chunks = []
    i = 0
    for _, chunk in chunks:
        data_chunks.append(decoded[i : i + len(chunk)])
        i += len(chunk)

    def typed_decode() -> None:
        dec = decode
        for f in frames:
            dec(f)

    def run_steps(python: bool) -> None:
        adapter, link = _adapter()
        adapter._bind_steps(link.health)
        step = (adapter._python_steps if python else adapter._steps)["NKNUSDT"]
        for (seq, _), data, stamps in zip(chunks, data_chunks, recv_chunks, strict=True):
            _reset(adapter, seq)
            for d, recv_ns in zip(data, stamps, strict=True):
                if step(d, recv_ns).__class__ is not BookDelta:
                    raise AssertionError("every benchmark frame must produce a delta")

    def python_pipeline() -> None:
        adapter, link = _adapter()
        adapter._bind_steps(link.health)
        adapter._steps = dict(adapter._python_steps)  # type: ignore[arg-type]
        on_message = adapter.on_message
        for (seq, chunk), stamps in zip(chunks, recv_chunks, strict=True):
            _reset(adapter, seq)
            for f, recv_ns in zip(chunk, stamps, strict=True):
                on_message(f, recv_ns, link)

    cases = {
        "typed msgspec decode (depthUpdate Struct)": typed_decode,
        "DepthStep, compiled (desk._native)": lambda: run_steps(python=False),
        "DepthStep, Python": lambda: run_steps(python=True),
        "whole pipeline with the Python step": python_pipeline,
    }
    times = _interleaved(cases, ROUNDS)
    return [(name, 1e6 * min(times[name]) / n) for name in cases]


def main() -> None:
    frames, source, cycle = _frames()
    chunks = [(1000 + 2 * i, frames[i : i + cycle]) for i in range(0, len(frames), cycle)]
    n = len(frames)
    print(f"bench_venues: {n} Binance depthUpdate frames from {source}")

    def decode_json() -> None:
        loads = json.loads
        for f in frames:
            loads(f)

    decoder = msgspec.json.Decoder()

    def decode_msgspec() -> None:
        dec = decoder.decode
        for f in frames:
            dec(f)

    # receive stamps as a live feed has them: the frame's event time plus a few milliseconds
    recv = [json.loads(f)["data"]["E"] * 1_000_000 + 4_000_000 + i % 1000 for i, f in enumerate(frames)]
    recv_chunks = [recv[i : i + cycle] for i in range(0, len(frames), cycle)]

    def pipeline() -> None:
        adapter, link = _adapter()
        on_message = adapter.on_message
        for (seq, chunk), stamps in zip(chunks, recv_chunks, strict=True):
            _reset(adapter, seq)
            for f, recv_ns in zip(chunk, stamps, strict=True):
                on_message(f, recv_ns, link)
        assert link.n == n, "every frame must produce one BookDelta"

    times = _interleaved({"json": decode_json, "msgspec": decode_msgspec, "pipeline": pipeline}, ROUNDS)
    r_json, r_msgspec, r_pipe = (n / min(times[k]) for k in ("json", "msgspec", "pipeline"))
    per_round = sorted(m / p for m, p in zip(times["msgspec"], times["pipeline"], strict=True))
    median = per_round[len(per_round) // 2]
    print(f"  json.loads alone               {r_json / 1e3:8.0f} k msg/s   {1e6 / r_json:5.2f} us/msg")
    print(f"  msgspec.json.decode alone      {r_msgspec / 1e3:8.0f} k msg/s   {1e6 / r_msgspec:5.2f} us/msg")
    print(f"  full pipeline                  {r_pipe / 1e3:8.0f} k msg/s   {1e6 / r_pipe:5.2f} us/msg"
          f"   = {r_pipe / r_msgspec:.2f} x msgspec decode, {r_pipe / r_json:.2f} x json.loads")  # fmt: skip
    print(f"  pipeline / msgspec decode, median of {ROUNDS} rounds: {median:.2f} x"
          f" (range {per_round[0]:.2f}-{per_round[-1]:.2f})")  # fmt: skip
    print(f"  compiled depth step in use: {native.DepthStep is not None} (desk._native; DESK_NO_NATIVE=1 disables it)")
    print("  parts alone (us/msg):")
    for name, us in _stages(frames, chunks, recv_chunks):
        print(f"    {name:<44} {us:5.2f}")
    verdict = "met" if median >= 0.5 else "NOT met"
    print(f"  target pipeline >= 0.5 x msgspec decode alone: {verdict}")


if __name__ == "__main__":
    main()
