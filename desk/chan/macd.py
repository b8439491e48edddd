"""MACD in TA-Lib's convention, batch and streaming with identical arithmetic, and its presets.

Convention (TA-Lib ``TA_MACD``, checked against it in the tests):
- EMA factor k = 2 / (period + 1); update ``ema = (x - ema) * k + ema``.
- The slow EMA is seeded at bar ``slow - 1`` with the simple mean of the first ``slow`` closes. The fast EMA is
  seeded at the same bar with the mean of the ``fast`` closes ending there (TA-Lib aligns both EMAs so DIF starts
  at one bar), then both run on.
- DIF = fast - slow from bar ``slow - 1``; DEA is the EMA of DIF seeded with the mean of the first ``signal`` DIF
  values (valid from bar ``slow + signal - 2``); histogram = DIF - DEA (TA-Lib's scale; Chinese charting software
  draws 2*(DIF - DEA), which changes no area ratio). Values before they exist are NaN.

The batch loop and ``MacdStream.push`` perform the same float operations in the same order, so a stream and a
batch run over the same closes agree bit for bit (tested); the streaming analyzer relies on it.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

NAN = math.nan


@dataclass(frozen=True, slots=True)
class MacdPreset:
    name: str
    fast: int
    slow: int
    signal: int

    def __post_init__(self) -> None:
        if not (1 <= self.fast < self.slow) or self.signal < 1:
            raise ValueError(
                f"MACD preset {self.name!r}: expected 1 <= fast < slow and signal >= 1, "
                f"got {self.fast}/{self.slow}/{self.signal}"
            )

    @property
    def warmup(self) -> int:
        """Index of the first bar with a histogram value."""
        return self.slow + self.signal - 2


def presets_path() -> Path:
    """config/chan.toml: in a checkout at <repo>/config, in the wheel at desk/_data/config."""
    pkg = Path(__file__).resolve().parent.parent
    wheel = pkg / "_data" / "config" / "chan.toml"
    return wheel if wheel.exists() else pkg.parent / "config" / "chan.toml"


@cache
def load_presets(path: Path | None = None) -> dict[str, MacdPreset]:
    """The ``[macd.NAME]`` tables of config/chan.toml."""
    file = path or presets_path()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RuntimeError(f"cannot read MACD presets from {file}: {exc}") from exc
    out: dict[str, MacdPreset] = {}
    for name, table in data.get("macd", {}).items():
        try:
            out[name] = MacdPreset(name, int(table["fast"]), int(table["slow"]), int(table["signal"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise RuntimeError(f"{file}: bad MACD preset [macd.{name}]: {exc}") from exc
    if not out:
        raise RuntimeError(f"{file}: no [macd.NAME] presets")
    return out


def preset(name: str) -> MacdPreset:
    """A named preset; ``ValueError`` names the known ones."""
    known = load_presets()
    if name not in known:
        raise ValueError(f"unknown MACD preset {name!r}; expected one of {', '.join(sorted(known))}")
    return known[name]


class MacdStream:
    """Incremental MACD: ``push(close)`` returns (dif, dea, hist), NaN while warming up."""

    __slots__ = ("_buf", "_dea", "_dif_buf", "_fast", "_kf", "_ks", "_ksig", "_n", "_slow", "preset")

    def __init__(self, p: MacdPreset) -> None:
        self.preset = p
        self._kf = 2.0 / (p.fast + 1)
        self._ks = 2.0 / (p.slow + 1)
        self._ksig = 2.0 / (p.signal + 1)
        self._n = 0
        self._buf: list[float] = []
        self._dif_buf: list[float] = []
        self._fast = NAN
        self._slow = NAN
        self._dea = NAN

    def push(self, x: float) -> tuple[float, float, float]:
        p = self.preset
        n = self._n
        self._n = n + 1
        if n < p.slow - 1:
            self._buf.append(x)
            return NAN, NAN, NAN
        if n == p.slow - 1:
            self._buf.append(x)
            self._slow = _mean(self._buf, 0)
            self._fast = _mean(self._buf, p.slow - p.fast)
            self._buf = []
        else:
            self._fast = (x - self._fast) * self._kf + self._fast
            self._slow = (x - self._slow) * self._ks + self._slow
        dif = self._fast - self._slow
        if n < p.warmup:
            self._dif_buf.append(dif)
            return dif, NAN, NAN
        if n == p.warmup:
            self._dif_buf.append(dif)
            self._dea = _mean(self._dif_buf, 0)
            self._dif_buf = []
        else:
            self._dea = (dif - self._dea) * self._ksig + self._dea
        return dif, self._dea, dif - self._dea

    @classmethod
    def run(cls, p: MacdPreset, closes: list[float]) -> tuple[MacdStream, list[float], list[float]]:
        """Batch over ``closes``: the stream positioned after the last close, and the DIF and histogram lists.

        A tight loop (no per-bar method call) doing exactly ``push``'s arithmetic.
        """
        stream = cls(p)
        n = len(closes)
        dif_out = [NAN] * n
        hist_out = [NAN] * n
        if n < p.slow:
            for x in closes:
                stream.push(x)
            return stream, dif_out, hist_out
        kf, ks, ksig = stream._kf, stream._ks, stream._ksig
        head = closes[: p.slow]
        slow = _mean(head, 0)
        fast = _mean(head, p.slow - p.fast)
        difs: list[float] = []
        dea = NAN
        for i in range(p.slow - 1, n):
            if i > p.slow - 1:
                x = closes[i]
                fast = (x - fast) * kf + fast
                slow = (x - slow) * ks + slow
            dif = fast - slow
            dif_out[i] = dif
            if i < p.warmup:
                difs.append(dif)
                continue
            if i == p.warmup:
                difs.append(dif)
                dea = _mean(difs, 0)
                difs = []
            else:
                dea = (dif - dea) * ksig + dea
            hist_out[i] = dif - dea
        stream._n = n
        stream._buf = []
        stream._fast, stream._slow = fast, slow
        stream._dif_buf = difs
        stream._dea = dea
        return stream, dif_out, hist_out


def _mean(values: list[float], start: int) -> float:
    """Left-to-right sum then divide, as TA-Lib seeds (``sum()`` may compensate on newer Pythons)."""
    total = 0.0
    for v in values[start:]:
        total += v
    return total / (len(values) - start)
