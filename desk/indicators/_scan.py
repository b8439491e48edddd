"""First-order linear recurrences ``y[t] = c * y[t-1] + g * u[t]`` without a Python loop per element.

EMA, Wilder smoothing (RSI, ATR) and running sums are all this recurrence. It is sequential, and numpy has no
fast primitive for it: ``np.cumsum`` runs at ~3 ns an element, and the textbook trick of dividing by ``c**t``
and taking a cumulative sum overflows or loses precision on long series. Instead the series is cut into blocks
of ``BLOCK`` values:

1. each block's own contribution to its last value is one matrix-vector product with ``g * c**(b-1-j)``;
2. those block-end values obey the same recurrence with decay ``c**b`` over ``n/b`` points: solved recursively;
3. the value carried in from before each block is added to the block's first input (as ``c * y_prev / g``),
   which makes the blocks independent, and one matrix product with the upper-triangular Toeplitz matrix
   ``T[j, i] = g * c**(i-j)`` gives every output.

Every weight is a power of ``c`` in [0, 1] (positive), so the sums are as well conditioned as the plain loop.
The work is BLAS calls of ~2*b flops an element, on cache-sized chunks. :func:`filters` runs recurrences over a
stored input and writes a weighted sum of them (EMA; MACD's line = fast EMA - slow EMA in one product);
:func:`smooth` takes inputs computed chunk by chunk (RSI's gains, ATR's true range), never stored whole.

Cost, measured (benchmarks/bench_indicators.py): ~1.5-2 ns an element per series, against ~0.6-1.8 for TA-Lib's
compiled loops. That is enough for an EMA at TA-Lib's speed but not for RSI and MACD within 2x: with numba
installed the indicators use the compiled loops of :mod:`._kernels` instead, and this is the fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# 16 balances BLAS efficiency (wider blocks cost 2*b flops an element) against recursion depth.
BLOCK = 16
# Values per chunk: 1024 rows of 16. Besides keeping a chunk in L2, this keeps every BLAS call below OpenBLAS's
# multithreading threshold (M*N*K <= 262144 for gemm): its threads stall for milliseconds on a loaded machine.
CHUNK = 16384
_GEMM_ROWS = CHUNK // BLOCK
_GEMV_ROWS = 16384  # matrix-vector products stay single-threaded well beyond this
# Powers of c below this are flushed to zero: they cannot change a float64 sum of values of similar size, and
# subnormal operands slow BLAS down by orders of magnitude.
_FLUSH = 1e-290


Params = tuple[tuple[float, float], ...]  # (c, g) for each series, or one pair shared by all


class _Plan:
    """Matrices for one set of (c, g) pairs: built once and cached, as indicators reuse a few decays. Arrays have
    a leading axis with one entry per pair (broadcast over the series when there is a single pair)."""

    __slots__ = ("carry", "child", "decay_b", "ends", "powers", "toeplitz")

    def __init__(self, params: Params) -> None:
        c = np.array([pair[0] for pair in params], dtype=np.float64)
        g = np.array([pair[1] for pair in params], dtype=np.float64)
        with np.errstate(under="ignore"):
            p = np.power(c[:, None], np.arange(BLOCK + 1, dtype=np.float64)[None, :])
        p[p < _FLUSH] = 0.0
        self.powers: FloatArray = p  # c**0 .. c**BLOCK per pair
        k = np.arange(BLOCK)
        lag = k[None, :] - k[:, None]
        self.toeplitz: FloatArray = np.where(lag >= 0, g[:, None, None] * p[:, np.maximum(lag, 0)], 0.0)
        self.ends: FloatArray = np.ascontiguousarray(self.toeplitz[:, :, -1:])  # (pairs, b, 1)
        self.carry: FloatArray = (c / g)[:, None]  # injected at a block start, times the previous value
        self.decay_b: FloatArray = p[:, BLOCK].copy()
        self.child: Params = tuple((float(cb), 1.0) for cb in self.decay_b)
        for arr in (self.powers, self.toeplitz, self.ends, self.carry, self.decay_b):
            arr.flags.writeable = False

    def run(self, u: FloatArray, init: FloatArray, out: FloatArray) -> None:
        """Recurrence along the last axis of ``u`` (m x n, C-contiguous, overwritten) into ``out`` (m x n,
        rows C-contiguous), starting from ``init`` (m values: the outputs just before ``u[:, 0]``)."""
        m, n = u.shape
        b = BLOCK
        nb = n // b
        full = nb * b
        if nb:
            z = u[:, :full].reshape(m, nb, b)
            prev = np.empty((m, nb), dtype=np.float64)
            prev[:, 0] = init
            if nb > 1:
                ends = block_ends(z[:, :-1], self.ends)
                ends[:, 0] += self.decay_b * init
                child_out = np.empty_like(ends)
                plan(self.child).run(ends, np.zeros(m), child_out)
                prev[:, 1:] = child_out
            prev *= self.carry
            z[:, :, 0] += prev
            blocks_out = out[:, :full].reshape(m, nb, b)
            for r0 in range(0, nb, _GEMM_ROWS):
                np.matmul(z[:, r0 : r0 + _GEMM_ROWS], self.toeplitz, out=blocks_out[:, r0 : r0 + _GEMM_ROWS])
            last = out[:, full - 1]
        else:
            last = init
        tail = n - full
        if tail:
            own = (u[:, None, full:] @ self.toeplitz[:, :tail, :tail])[:, 0, :]
            out[:, full:] = own + last[:, None] * self.powers[:, 1 : tail + 1]


def block_ends(z: FloatArray, weights: FloatArray) -> FloatArray:
    """``(z @ weights)[..., 0]`` for blocks ``z`` (m x rows x b), in slices small enough to stay single-threaded."""
    m, rows, _ = z.shape
    out = np.empty((m, rows), dtype=np.float64)
    for r0 in range(0, rows, _GEMV_ROWS):
        out[:, r0 : r0 + _GEMV_ROWS] = (z[:, r0 : r0 + _GEMV_ROWS] @ weights)[:, :, 0]
    return out


@lru_cache(maxsize=256)
def plan(params: Params) -> _Plan:
    """The cached plan for the (decay ``c`` in [0, 1], gain ``g`` > 0) pairs."""
    for c, g in params:
        if not 0.0 <= c <= 1.0:
            raise ValueError(f"decay {c} must be in [0, 1]")
        if not g > 0.0:
            raise ValueError(f"gain {g} must be > 0")
    return _Plan(params)


# produce(start, stop, buf): write inputs ``start:stop`` of each of the m series into ``buf`` (m x (stop-start)).
Producer = Callable[[int, int, FloatArray], None]
# consume(start, stop, y): outputs ``start:stop`` of each series are in ``y`` (m x (stop-start), reused after).
Consumer = Callable[[int, int, FloatArray], None]


def smooth(
    n: int,
    params: Params,
    init: Sequence[float],
    produce: Producer,
    consume: Consumer | None = None,
    out: FloatArray | None = None,
) -> None:
    """Runs ``y[t] = c * y[t-1] + g * u[t]`` (``y[-1] = init``) over ``len(init)`` series of length ``n``.

    ``params`` holds one (c, g) pair per series, or one pair for all. Inputs are produced chunk by chunk; outputs
    go to ``consume`` chunk by chunk, or straight into ``out`` (m x n, rows C-contiguous) when it is given.

    Two sweeps: the first takes each chunk's block sums (one matrix-vector product per chunk), then the values
    carried into every block are solved at once, and the second sweep produces the chunk again and finishes it
    with one matrix product. Inputs are produced twice but never stored whole, so an input computed from the
    data (RSI's gains, ATR's true range) costs no memory traffic beyond reading the data.
    """
    pl = plan(tuple((float(c), float(g)) for c, g in params))
    m = len(init)
    if n == 0:
        return
    b = BLOCK
    nb = n // b
    size = min(n, CHUNK)
    buf = np.empty((m, size), dtype=np.float64)
    y = np.empty((m, size), dtype=np.float64) if out is None else buf
    # Block sums, and from them the value just before every block (scaled for injection at the block start).
    prev = np.empty((m, max(nb, 1)), dtype=np.float64)
    prev[:, 0] = init
    if nb > 1:
        ends = np.empty((m, nb), dtype=np.float64)
        for start, stop in chunks(n):
            full = (stop - start) // b * b
            if full == 0:
                break
            sc = buf[:, : stop - start]
            produce(start, stop, sc)
            ends[:, start // b : (start + full) // b] = block_ends(sc[:, :full].reshape(m, -1, b), pl.ends)
        head = np.ascontiguousarray(ends[:, :-1])
        head[:, 0] += pl.decay_b * prev[:, 0]
        carried = np.empty_like(head)
        plan(pl.child).run(head, np.zeros(m), carried)
        prev[:, 1:] = carried
    prev_in = prev * pl.carry
    last = np.array(init, dtype=np.float64)
    for start, stop in chunks(n):
        k = stop - start
        full = k // b * b
        sc = buf[:, :k]
        yc = y[:, :k] if out is None else out[:, start:stop]
        produce(start, stop, sc)
        if full:
            z = sc[:, :full].reshape(m, -1, b)
            z[:, :, 0] += prev_in[:, start // b : (start + full) // b]
            np.matmul(z, pl.toeplitz, out=yc[:, :full].reshape(m, -1, b))
            last = yc[:, full - 1].copy()
        if full < k:
            t = k - full
            own = (sc[:, None, full:] @ pl.toeplitz[:, :t, :t])[:, 0, :]
            yc[:, full:] = own + last[:, None] * pl.powers[:, 1 : t + 1]
        if consume is not None:
            consume(start, stop, yc)


def chunks(n: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive chunks of ``CHUNK`` values (a multiple of ``BLOCK``) covering ``n``."""
    for start in range(0, n, CHUNK):
        yield start, min(n, start + CHUNK)


@lru_cache(maxsize=256)
def _combined(params: Params, weights: tuple[float, ...]) -> FloatArray:
    """``M`` for :func:`filters`: rows 0..b-1 map a block of inputs to ``sum_i w_i * (own response of filter i)``,
    row b + i maps the value of filter i just before the block to its share ``w_i * c_i**(j+1)`` of output j."""
    pl = plan(params)
    q = len(weights)
    w = np.asarray(weights, dtype=np.float64)
    m = np.empty((BLOCK + q, BLOCK), dtype=np.float64)
    m[:BLOCK] = np.tensordot(w, np.broadcast_to(pl.toeplitz, (q, BLOCK, BLOCK)), axes=1)
    m[BLOCK:] = w[:, None] * np.broadcast_to(pl.powers[:, 1:], (q, BLOCK))
    m.flags.writeable = False
    return m


def filters(
    u: FloatArray,
    params: Params,
    init: Sequence[float],
    weights: Sequence[float],
    out: FloatArray,
) -> None:
    """Writes into ``out`` (1-D, as long as ``u``) the combination ``sum_i weights[i] * y_i`` of the recurrences
    ``y_i[t] = c_i * y_i[t-1] + g_i * u[t]`` (one per (c, g) pair of ``params``, ``y_i[-1] = init[i]``) over the
    same stored input ``u``. EMA: one pair, weight 1. MACD line: the fast and slow EMAs, weights 1 and -1.

    Block sums are read straight from ``u``; then, chunk by chunk, each block and the filters' values just before
    it go through one matrix product that yields the combination directly: one read of ``u``, one write of
    ``out``, however many filters are combined.
    """
    key = tuple((float(c), float(g)) for c, g in params)
    pl = plan(key)
    q = len(init)
    n = u.shape[0]
    b = BLOCK
    nb = n // b
    full = nb * b
    wts = tuple(float(w) for w in weights)
    last = np.asarray(init, dtype=np.float64)
    if nb:
        z = u[:full].reshape(1, nb, b)
        # Every filter's value at the end of every block: own block sums, then the block-level recurrence.
        end_weights = np.ascontiguousarray(pl.ends[:, :, 0].T)[None]  # (1, b, q)
        ends = np.empty((q, nb), dtype=np.float64)
        step = _GEMV_ROWS if q == 1 else _GEMM_ROWS  # q > 1 is a matrix product: keep it single-threaded
        for r0 in range(0, nb, step):
            r1 = min(nb, r0 + step)
            ends[:, r0:r1] = (z[:, r0:r1] @ end_weights)[0].T
        ends[:, 0] += pl.decay_b * last
        at_end = np.empty_like(ends)
        plan(pl.child).run(ends, np.zeros(q), at_end)
        before = np.empty((nb, q), dtype=np.float64)  # value of each filter just before each block
        before[0] = last
        before[1:] = at_end[:, :-1].T
        last = at_end[:, -1].copy()
        blocks_out = out[:full].reshape(nb, b)
        if q == 1:
            # One filter: the carried value enters as an extra input at the block's start (times c / g, which
            # the Toeplitz matrix turns into c**(j+1)): the cheapest form (a copy, a strided add, one product).
            toeplitz = pl.toeplitz[0] * wts[0]
            carried = before[:, 0] * float(pl.carry[0, 0])
            scratch = np.empty((min(nb, _GEMM_ROWS), b), dtype=np.float64)
            for r0 in range(0, nb, _GEMM_ROWS):
                r1 = min(nb, r0 + _GEMM_ROWS)
                sc = scratch[: r1 - r0]
                sc[:] = z[0, r0:r1]
                sc[:, 0] += carried[r0:r1]
                np.matmul(sc, toeplitz, out=blocks_out[r0:r1])
        else:
            # Several filters: the carried values ride along as extra columns of an augmented block.
            m = _combined(key, wts)
            aug = np.empty((min(nb, _GEMM_ROWS), b + q), dtype=np.float64)
            for r0 in range(0, nb, _GEMM_ROWS):
                r1 = min(nb, r0 + _GEMM_ROWS)
                a = aug[: r1 - r0]
                a[:, :b] = z[0, r0:r1]
                a[:, b:] = before[r0:r1]
                np.matmul(a, m, out=blocks_out[r0:r1])
    tail = n - full
    if tail:
        own = (u[None, None, full:] @ pl.toeplitz[:, :tail, :tail])[:, 0, :]
        each = own + last[:, None] * pl.powers[:, 1 : tail + 1]
        out[full:] = np.asarray(wts) @ each


def linear_filter(
    u: FloatArray, c: float, g: float = 1.0, init: float = 0.0, out: FloatArray | None = None
) -> FloatArray:
    """Fills ``out[t] = c * out[t-1] + g * u[t]`` with ``out[-1] = init``, for 1-D float64 ``u``; returns ``out``.

    ``u`` is only read; ``out`` (same length, may be a view into a larger result, may be ``u`` itself) is
    written, so callers fill their result arrays in place. ``c`` must be in [0, 1] and ``g`` > 0.
    """
    n = u.shape[0]
    result = np.empty(n, dtype=np.float64) if out is None else out
    filters(u, ((c, g),), (init,), (1.0,), result)
    return result
