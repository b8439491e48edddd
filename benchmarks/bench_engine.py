"""Engine throughput: events/s through the whole trading desk with three strategies on the simulated market.

The event stream is pre-generated from the seeded simulated market (so the generator's own cost is not
counted), then fed in batches of 100 events, as a feed would, through ``TradingDesk.engine.on_events``:
book apply, tape, bars, paper broker (queue position, resting fills), strategy runner (three strategies on
BTC-USD, ETH-USD, SOL-USD), portfolio and equity sampling. No journal (its writes happen on a thread).
"""

from __future__ import annotations

import time

from desk.feeds.sim import NS, SimulatedMarket
from desk.trading import TradingDesk


def main() -> None:
    market = SimulatedMarket(seed=9, rate=5000)
    snapshots = market.snapshots()
    events = market.events_until(market.now_ns + 200 * NS)
    levels = sum(len(getattr(e, "bids", ())) + len(getattr(e, "asks", ())) for e in events)
    batches = [events[i : i + 100] for i in range(0, len(events), 100)]

    def run(with_strategies: bool) -> tuple[float, TradingDesk]:
        desk = TradingDesk(market.instruments, id_prefix="b")
        desk.engine.on_events(snapshots)
        if with_strategies:
            for name, symbol, params in (
                ("mean_reversion", "BTC-USD", {"lookback_period": 20}),
                ("ma_crossover", "ETH-USD", {"fast": 5, "slow": 20}),
                ("market_maker", "SOL-USD", {"spread_bps": 2.0, "refresh_interval": 0.5}),
            ):
                inst = desk.runner.add(name, symbol, params, bar_seconds=5)
                desk.runner.start(inst.key)
        start = time.perf_counter()
        for batch in batches:
            desk.engine.on_events(batch)
        return time.perf_counter() - start, desk

    best_plain = min(run(False)[0] for _ in range(3))
    timings = [run(True) for _ in range(3)]
    best, desk = min(timings, key=lambda t: t[0])
    print(f"stream: {len(events):,} events ({levels:,} level updates) over 200 simulated seconds, batches of 100")
    for label, seconds in (("engine, no strategies", best_plain), ("desk with 3 strategies", best)):
        print(f"{label:<24}: {len(events) / seconds / 1e3:8.1f} k events/s ({levels / seconds / 1e6:.2f} M levels/s)")
    print(f"  fills {desk.fills_seen}, orders {len(desk.broker.orders)}, strategies {desk.summary()['strategies']}")
    per_event = best / len(events) * 1e6
    print(f"  per event: {per_event:.2f} us with strategies, {best_plain / len(events) * 1e6:.2f} us without")


if __name__ == "__main__":
    main()
