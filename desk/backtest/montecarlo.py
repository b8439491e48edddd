"""Monte Carlo resampling of trade returns: how lucky was the order of the trades?

The backtest's trade returns (fractions of the capital each trade used, net of fees) are drawn with replacement
into ``n_sims`` sequences of ``n_trades`` trades, and each sequence is compounded from an equity of 1: returns,
not absolute P&L, so that a trade taken with a larger account weighs the same as one taken early. For every
sequence we keep the final return and the maximum drawdown (depth below the running peak, the starting equity
included); the result gives their 5th, 50th and 95th percentiles (numpy's linear interpolation) and the risk of
ruin: the share of sequences whose drawdown reaches ``ruin_drawdown`` (0.5 = the equity halves from a peak).
A trade return at or below -100% wipes the account out; equity then stays at 0 (drawdown 1).

Deterministic: the same returns, seed, ``n_sims`` and ``n_trades`` give the same result on every machine (the
batch size that bounds memory is a constant, and numpy's PCG64 stream is platform-independent).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_BATCH_ELEMENTS = 1 << 21  # sequences x trades per batch (16 MiB of float64) whatever n_sims is


@dataclass(frozen=True, slots=True)
class Bands:
    p5: float
    p50: float
    p95: float


@dataclass(frozen=True, slots=True)
class MonteCarloResult:
    n_sims: int
    n_trades: int
    seed: int
    ruin_drawdown: float
    final_return: Bands
    max_drawdown: Bands
    risk_of_ruin: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _bands(values: FloatArray) -> Bands:
    p5, p50, p95 = np.percentile(values, [5.0, 50.0, 95.0])
    return Bands(float(p5), float(p50), float(p95))


def resample_trades(
    trade_returns: npt.ArrayLike,
    n_sims: int = 10_000,
    seed: int = 0,
    n_trades: int | None = None,
    ruin_drawdown: float = 0.5,
) -> MonteCarloResult:
    """Bootstrap the trade sequence ``n_sims`` times (with replacement, ``n_trades`` trades each, default as many
    as there were) and summarise final return and maximum drawdown."""
    r = np.asarray(trade_returns, dtype=np.float64)
    if r.ndim != 1 or not np.all(np.isfinite(r)):
        raise ValueError("trade returns must be a 1-D series of finite numbers")
    if isinstance(n_sims, bool) or not isinstance(n_sims, int) or n_sims < 1:
        raise ValueError(f"n_sims must be a positive integer, got {n_sims!r}")
    k = r.size if n_trades is None else n_trades
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"n_trades must be a non-negative integer, got {n_trades!r}")
    if not 0.0 < ruin_drawdown <= 1.0:
        raise ValueError(f"ruin_drawdown must be in (0, 1], got {ruin_drawdown}")
    if r.size == 0 or k == 0:
        zero = Bands(0.0, 0.0, 0.0)
        return MonteCarloResult(n_sims, 0, seed, ruin_drawdown, zero, zero, 0.0)

    rng = np.random.default_rng(seed)
    growth_of = np.maximum(1.0 + r, 0.0)  # per-trade equity multiplier; <= 0 means the account is gone
    finals = np.empty(n_sims, dtype=np.float64)
    drawdowns = np.empty(n_sims, dtype=np.float64)
    per_batch = max(1, _BATCH_ELEMENTS // k)
    for start in range(0, n_sims, per_batch):
        stop = min(n_sims, start + per_batch)
        picks = rng.integers(0, r.size, size=(stop - start, k))
        equity = np.cumprod(growth_of[picks], axis=1)
        finals[start:stop] = equity[:, -1] - 1.0
        peak = np.maximum.accumulate(equity, axis=1)
        np.maximum(peak, 1.0, out=peak)  # the starting equity is the first peak
        np.divide(equity, peak, out=equity)
        drawdowns[start:stop] = 1.0 - np.min(equity, axis=1)
    return MonteCarloResult(
        n_sims=n_sims,
        n_trades=k,
        seed=seed,
        ruin_drawdown=ruin_drawdown,
        final_return=_bands(finals),
        max_drawdown=_bands(drawdowns),
        risk_of_ruin=float(np.count_nonzero(drawdowns >= ruin_drawdown) / n_sims),
    )
