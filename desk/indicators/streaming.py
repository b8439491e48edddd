"""Streaming indicators: one value in per tick, the same number out as the vectorised function at that index.

Pure Python floats (a numpy scalar costs more than the arithmetic here). A NaN or infinite input raises
ValueError instead of poisoning the state for good (same rule as the vectorised functions). Each class has
``update(...)`` returning the new value (a tuple for multi-output indicators) or None during the warm-up,
``value`` (the last result, None until ready) and ``ready``. Warm-up lengths, seeds and recursions are those of
:mod:`desk.indicators.moving`, :mod:`.momentum` and :mod:`.volatility`; the tests hold every class to 1e-9
relative of its vectorised twin on long random series.
"""

from __future__ import annotations

import math
import sys
from collections import deque

from desk.indicators import _validate
from desk.indicators.momentum import RSI_FLAT

_INF = math.inf


def _refuse(value: float) -> None:
    raise ValueError(f"indicator input must be finite, got {value!r}")


class SMA:
    """Simple moving average over ``period`` values (running sum, re-added exactly every ``period`` ticks so that
    rounding cannot accumulate)."""

    __slots__ = ("_buf", "_since", "_sum", "period", "value")

    def __init__(self, period: int = 20) -> None:
        self.period = _validate.period(period)
        self._buf: deque[float] = deque(maxlen=self.period)
        self._sum = 0.0
        self._since = 0
        self.value: float | None = None

    @property
    def ready(self) -> bool:
        return self.value is not None

    def update(self, x: float) -> float | None:
        if not -_INF < x < _INF:
            _refuse(x)
        buf = self._buf
        if len(buf) == self.period:
            self._sum -= buf[0]
        buf.append(x)
        self._since += 1
        if self._since >= self.period:
            self._sum = math.fsum(buf)
            self._since = 0
        else:
            self._sum += x
        if len(buf) == self.period:
            self.value = self._sum / self.period
        return self.value


class EMA:
    """Exponential moving average, alpha = 2 / (period + 1), seeded with the SMA of the first ``period`` values."""

    __slots__ = ("_alpha", "_count", "_decay", "_seed", "period", "value")

    def __init__(self, period: int = 20) -> None:
        self.period = _validate.period(period)
        self._alpha = 2.0 / (self.period + 1)
        self._decay = 1.0 - self._alpha
        self._seed: list[float] = []
        self._count = 0
        self.value: float | None = None

    @property
    def ready(self) -> bool:
        return self.value is not None

    def update(self, x: float) -> float | None:
        if not -_INF < x < _INF:
            _refuse(x)
        if self.value is not None:
            self.value = self._decay * self.value + self._alpha * x
            return self.value
        self._seed.append(x)
        if len(self._seed) == self.period:
            self.value = math.fsum(self._seed) / self.period
            self._seed = []
        return self.value


class RSI:
    """Wilder's RSI; 50 when there has been no movement at all (see :mod:`desk.indicators.momentum`)."""

    __slots__ = ("_decay", "_moves", "_prev", "_total", "_up", "period", "value")

    def __init__(self, period: int = 14) -> None:
        self.period = _validate.period(period)
        self._decay = (self.period - 1) / self.period
        self._prev: float | None = None
        self._moves: list[float] = []
        self._up = 0.0  # average gain
        self._total = 0.0  # average |move| = average gain + average loss
        self.value: float | None = None

    @property
    def ready(self) -> bool:
        return self.value is not None

    def update(self, x: float) -> float | None:
        if not -_INF < x < _INF:
            _refuse(x)
        prev = self._prev
        self._prev = x
        if prev is None:
            return None
        move = x - prev
        n = self.period
        if self.value is None:
            self._moves.append(move)
            if len(self._moves) < n:
                return None
            self._up = math.fsum(m for m in self._moves if m > 0.0) / n
            self._total = math.fsum(abs(m) for m in self._moves) / n
            self._moves = []
        else:
            self._up = self._decay * self._up + (move if move > 0.0 else 0.0) / n
            self._total = self._decay * self._total + abs(move) / n
        self.value = 100.0 * self._up / self._total if self._total != 0.0 else RSI_FLAT
        return self.value


class MACD:
    """(macd, signal, histogram) with TA-Lib's alignment: both EMAs start at index ``slow - 1``, the fast one
    seeded with the SMA of the ``fast`` values ending there."""

    __slots__ = ("_buf", "_fast", "_lines", "_signal", "_slow", "fast", "signal", "slow", "value")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast = _validate.period(fast, "fast")
        self.slow = _validate.period(slow, "slow")
        self.signal = _validate.period(signal, "signal")
        if self.fast >= self.slow:
            raise ValueError(f"fast period must be < slow period, got fast={self.fast}, slow={self.slow}")
        self._buf: list[float] = []
        self._fast = EMA(self.fast)
        self._slow = EMA(self.slow)
        self._signal = EMA(self.signal)
        self._lines = 0
        self.value: tuple[float, float, float] | None = None

    @property
    def ready(self) -> bool:
        return self.value is not None

    def update(self, x: float) -> tuple[float, float, float] | None:
        if not -_INF < x < _INF:
            _refuse(x)
        if self._slow.value is None:
            self._buf.append(x)
            if len(self._buf) < self.slow:
                return None
            # Seed both EMAs at index slow - 1 (TA-Lib): the fast one from the last ``fast`` values only.
            for v in self._buf:
                self._slow.update(v)
            for v in self._buf[-self.fast :]:
                self._fast.update(v)
            self._buf = []
        else:
            self._slow.update(x)
            self._fast.update(x)
        fast_v, slow_v = self._fast.value, self._slow.value
        assert fast_v is not None and slow_v is not None
        line = fast_v - slow_v
        sig = self._signal.update(line)
        if sig is None:
            return None
        self.value = (line, sig, line - sig)
        return self.value


class _Window:
    """Mean and population variance of the last ``period`` values from sums of deviations from a reference
    that is moved to the current mean every ``period`` ticks (sums then re-added exactly), so the variance
    never suffers the cancellation of raw sums of squares."""

    __slots__ = ("_buf", "_noise", "_ref", "_s1", "_s2", "_since", "period")

    def __init__(self, period: int) -> None:
        self.period = _validate.period(period)
        self._buf: deque[float] = deque(maxlen=self.period)
        self._ref = 0.0
        self._s1 = 0.0
        self._s2 = 0.0
        self._since = 0
        self._noise = 8.0 * sys.float_info.epsilon * (self.period + 2)

    def push(self, x: float) -> tuple[float, float] | None:
        buf = self._buf
        ref = self._ref
        if len(buf) == self.period:
            d = buf[0] - ref
            self._s1 -= d
            self._s2 -= d * d
        buf.append(x)
        d = x - ref
        self._s1 += d
        self._s2 += d * d
        self._since += 1
        if len(buf) < self.period:
            return None
        n = self.period
        if self._since >= n:
            self._ref = ref = math.fsum(buf) / n
            self._s1 = math.fsum(v - ref for v in buf)
            self._s2 = math.fsum((v - ref) * (v - ref) for v in buf)
            self._since = 0
        mean_dev = self._s1 / n
        msq = self._s2 / n
        var = msq - mean_dev * mean_dev
        # Rounding noise of the sums (at most ~n updates since they were re-added) is below this: a flat window.
        if var <= self._noise * msq:
            var = 0.0
        return ref + mean_dev, var


class Bollinger:
    """(upper, middle, lower): SMA plus/minus ``num_std`` population standard deviations."""

    __slots__ = ("_window", "num_std", "period", "value")

    def __init__(self, period: int = 20, num_std: float = 2.0) -> None:
        self._window = _Window(period)
        self.period = self._window.period
        if not math.isfinite(num_std) or num_std < 0:
            raise ValueError(f"num_std must be a finite number >= 0, got {num_std!r}")
        self.num_std = float(num_std)
        self.value: tuple[float, float, float] | None = None

    @property
    def ready(self) -> bool:
        return self.value is not None

    def update(self, x: float) -> tuple[float, float, float] | None:
        if not -_INF < x < _INF:
            _refuse(x)
        moments = self._window.push(x)
        if moments is None:
            return None
        mean, var = moments
        width = self.num_std * math.sqrt(var)
        self.value = (mean + width, mean, mean - width)
        return self.value


class ZScore:
    """``(x - mean) / std`` over the last ``period`` values (ddof=0); 0 when the window is flat."""

    __slots__ = ("_window", "period", "value")

    def __init__(self, period: int = 20) -> None:
        self._window = _Window(period)
        self.period = self._window.period
        self.value: float | None = None

    @property
    def ready(self) -> bool:
        return self.value is not None

    def update(self, x: float) -> float | None:
        if not -_INF < x < _INF:
            _refuse(x)
        moments = self._window.push(x)
        if moments is None:
            return None
        mean, var = moments
        self.value = 0.0 if var == 0.0 else (x - mean) / math.sqrt(var)
        return self.value


class ATR:
    """Wilder's Average True Range; ``update(high, low, close)``."""

    __slots__ = ("_decay", "_prev_close", "_ranges", "period", "value")

    def __init__(self, period: int = 14) -> None:
        self.period = _validate.period(period)
        self._decay = (self.period - 1) / self.period
        self._prev_close: float | None = None
        self._ranges: list[float] = []
        self.value: float | None = None

    @property
    def ready(self) -> bool:
        return self.value is not None

    def update(self, high: float, low: float, close: float) -> float | None:
        if not (-_INF < high < _INF and -_INF < low < _INF and -_INF < close < _INF):
            _refuse(next(v for v in (high, low, close) if not -_INF < v < _INF))
        prev = self._prev_close
        self._prev_close = close
        if prev is None:
            return None
        tr = max(high - low, abs(high - prev), abs(low - prev))
        if self.value is None:
            self._ranges.append(tr)
            if len(self._ranges) == self.period:
                self.value = math.fsum(self._ranges) / self.period
                self._ranges = []
            return self.value
        self.value = self._decay * self.value + tr / self.period
        return self.value
