"""chan_divergence reacts to the analyzer's divergences on the current move, and only once each."""

from __future__ import annotations

import numpy as np

from desk.chan import ChanAnalyzer, ChanConfig
from desk.domain import Bar
from desk.feeds.sim import SimulatedMarket
from desk.strategies.chan_divergence import ChanDivergence
from desk.strategies.params import resolve_params

from .test_strategies import INST, FakeContext


def bars_from_sim(n: int) -> list[Bar]:
    fine = SimulatedMarket(seed=5).fair_price_path(n * 10, 6.0)[:, 0]  # 6 s closes, 10 per bar
    out = []
    for i in range(n):
        chunk = fine[i * 10 : i * 10 + 11]
        o, h, low, c = chunk[0], chunk.max(), chunk.min(), chunk[-1]
        t = [INST.round_price_to_ticks(float(x)) for x in (o, h, low, c)]
        out.append(Bar("BTC-USD", 60, i * 60_000_000_000, t[0], t[1], t[2], t[3], 100, 10))
    return out


def test_trades_each_current_divergence_once_in_its_direction() -> None:
    bars = bars_from_sim(1500)
    params = resolve_params(ChanDivergence.params, {"allow_short": True}, "chan_divergence")
    ctx = FakeContext(params)
    strategy = ChanDivergence(ctx)  # type: ignore[arg-type]
    reference = ChanAnalyzer(ChanConfig(), instrument=INST)
    expected: list[str] = []
    seen: set[tuple[int, int]] = set()
    for b in bars:
        state = reference.update(b)
        divs = state.pen_divergences
        if divs and divs[-1].later == len(state.pens) - 1 and (divs[-1].earlier, divs[-1].later) not in seen:
            seen.add((divs[-1].earlier, divs[-1].later))
            expected.append("buy" if divs[-1].direction == "down" else "sell")
        before = len(ctx.orders)
        strategy.on_bar(b)
        if expected and len(ctx.orders) > before:
            assert ctx.orders[-1][0] == expected[-1]
    assert len(seen) >= 2, "the series should contain divergences to trade"
    sides = [o[0] for o in ctx.orders]
    assert sides and set(sides) <= {"buy", "sell"}
    # Positions only move between long, flat and short by whole targets: no small re-sizing orders.
    sizes = [o[1] for o in ctx.orders]
    assert min(sizes) >= 0.4 * float(np.median(sizes))
    assert abs(ctx.pos) <= max(sizes)
    assert np.all(np.diff([b.start_ns for b in bars]) > 0)
