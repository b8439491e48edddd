"""Monte Carlo VaR/ES: simulate joint returns, value the portfolio, estimate the loss tail with a standard error.

The simulation really draws the joint horizon returns ``X = s * A (Y)`` of every asset (``A`` the Cholesky factor
of the horizon covariance, ``Y`` standard normal, ``s`` the Student-t mixing factor when a dof is given) and
values the portfolio on each scenario; nothing is short-cut to the closed form, so fat tails (and, later,
non-linear positions) are measured as they are.

Variance reduction (docs/risk.md has the derivations):
- **Importance sampling** by a mean shift of ``Y`` by ``theta`` along the direction in which the portfolio loses
  (``-A' w``), with ``theta`` the normal quantile of the confidence: about half the scenarios land in the tail
  instead of 1%. Each scenario carries the likelihood ratio ``exp(-mu.Y + |mu|^2/2)``; tail masses are
  estimated as ``sum(weights of losses >= x) / N`` (unbiased; only tail weights enter, and those are bounded).
  For Student-t returns the chi2 mixing variable is importance-sampled as well (``student_t_tilt``).
- **Antithetic pairs** ``mu + Z`` and ``mu - Z`` (sharing the Student-t mixing draw): half the random numbers per
  scenario, and the pair's tail indicators are negatively correlated.

Standard errors come from independent batches (each with its own child seed): the pooled estimate's standard
error is the spread of the batch estimates over sqrt(batches). Batches are also the unit of work for the thread
pool (numpy releases the GIL inside RNG fills, ufunc loops, matmul and argsort, so two threads use two cores)
and the points where a cancel request is honoured. Results do not depend on the number of threads.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from desk.risk.errors import VarCancelled
from desk.risk.normals import standard_normals

MIN_PATHS = 1000
MAX_BATCHES = 32
MIN_BATCH_PATHS = 500


@dataclass(frozen=True, slots=True)
class McEstimate:
    var: float
    es: float
    var_stderr: float
    es_stderr: float
    contributions: np.ndarray
    es_contributions: np.ndarray
    paths: int
    batches: int


@dataclass(slots=True)
class _Batch:
    """One batch's scenarios and its sorted loss tail.

    Scenario ``j`` has horizon returns ``s_j * (mu_x + sign_j * xbt[:, j mod rows])``: ``xbt`` holds the
    correlated draws ``A Z`` (one row per asset), ``sign_j`` is -1 for the antithetic half, ``s_j`` the Student-t
    mixing factor (1 for normal). Keeping ``xbt`` instead of the full scenario matrix halves the memory and the
    work of an antithetic batch.
    """

    xbt: np.ndarray  # (N, rows) float32
    s: np.ndarray | None  # (rows,) float32 Student-t factors, or None
    loss: np.ndarray  # (n,) float32 losses in scenario order
    weights: np.ndarray  # (n,) float64 likelihood ratios in scenario order
    order: np.ndarray  # scenario indices by descending loss
    losses: np.ndarray  # losses sorted descending (float64)
    neg: np.ndarray  # -losses, ascending (for searchsorted)
    wsorted: np.ndarray  # weights in sorted order
    cumw: np.ndarray  # cumulative sorted weights
    var: float
    es: float

    def mass(self, count: int) -> tuple[float, float]:
        """Weight and weight * loss of the ``count`` largest losses."""
        if count <= 0:
            return 0.0, 0.0
        return float(self.cumw[count - 1]), _dot(self.wsorted[:count], self.losses[:count])


def default_workers() -> int:
    """Two threads at most: the second core pays (see benchmarks/bench_var.py); more would oversubscribe."""
    return max(1, min(2, os.cpu_count() or 1))


def batch_sizes(paths: int, antithetic: bool) -> list[int]:
    """Split ``paths`` (rounded up to whole antithetic pairs) into 2..32 nearly equal batches."""
    count = max(2, min(MAX_BATCHES, paths // MIN_BATCH_PATHS))
    unit = 2 if antithetic else 1
    units = -(-paths // unit)
    base, extra = divmod(units, count)
    return [(base + (1 if i < extra else 0)) * unit for i in range(count)]


def tail_from_sorted(
    losses: np.ndarray, weights: np.ndarray, cumw: np.ndarray, target: float, mass0: float = 0.0, wl0: float = 0.0
) -> tuple[int, float, float, float] | None:
    """VaR and ES from losses sorted descending with their weights; ``target`` = (1 - c) * N.

    VaR is the first loss at which the cumulative tail weight reaches the target (with unit weights: the loss
    of rank ceil(N (1 - c)), the historical rule). ES averages the losses above VaR plus VaR itself for the
    remaining fraction of the target mass, so it is exact for a tail mass that falls between two scenarios.
    ``mass0``/``wl0`` carry weight and weight * loss of scenarios above ``losses[0]`` (pooling bands).
    Returns (index, VaR, ES, mass strictly above VaR), or None if the weights never reach the target.
    """
    k = int(np.searchsorted(cumw, target - mass0, side="left"))
    if k >= len(losses):
        return None
    var = float(losses[k])
    mass_above = mass0 + (float(cumw[k - 1]) if k else 0.0)
    wl_above = wl0 + _dot(weights[:k], losses[:k])
    es = (wl_above + (target - mass_above) * var) / target
    return k, var, es, mass_above


def simulate(
    exposures: np.ndarray,
    factor: np.ndarray,
    confidence: float,
    *,
    paths: int,
    seed: int | None,
    dof: float | None,
    antithetic: bool = True,
    importance_sampling: bool = True,
    workers: int | None = None,
    cancel: threading.Event | None = None,
) -> McEstimate:
    """Monte Carlo VaR/ES of a linear portfolio; ``factor`` is a Cholesky factor of the horizon covariance.

    Losses are positive numbers in the exposures' currency; contributions sum to VaR (resp. ES).
    """
    w = np.asarray(exposures, dtype=np.float64)
    n_assets = len(w)
    a_mat = np.asarray(factor, dtype=np.float64)
    v = a_mat.T @ w  # portfolio P&L = v . Z: the direction of steepest loss in the space of the draws
    norm_v = float(np.linalg.norm(v))
    theta, chi2_scale = 0.0, 1.0
    if importance_sampling and norm_v > 0:
        z = max(NormalDist().inv_cdf(confidence), 0.0)
        theta, chi2_scale = (z, 1.0) if dof is None else student_t_tilt(z, dof)
    direction = -v / norm_v if norm_v > 0 else np.zeros(n_assets)
    mu_x = a_mat @ (theta * direction)  # the shift, in return space

    sizes = batch_sizes(paths, antithetic)
    children = np.random.SeedSequence(seed).spawn(len(sizes))
    tail_frac = 1.0 - confidence
    params = _BatchParams(
        a=a_mat.astype(np.float32),
        mu_x=mu_x.astype(np.float32),
        direction=direction.astype(np.float32),
        theta=theta,
        chi2_scale=chi2_scale,
        w=w.astype(np.float32),
        shift_loss=float(-(mu_x @ w)),
        dof=dof,
        antithetic=antithetic,
        tail_frac=tail_frac,
        cancel=cancel,
    )
    n_workers = workers if workers is not None else default_workers()
    pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="desk-var") if n_workers > 1 else None
    try:

        def run(i: int) -> _Batch:
            return _run_batch(np.random.default_rng(children[i]), sizes[i], params)

        batches = list(pool.map(run, range(len(sizes)))) if pool else [run(i) for i in range(len(sizes))]
        total = sum(sizes)
        target = tail_frac * total
        var, es, var_pos = _pooled_tail(batches, target)

        def tail_sum(b: _Batch) -> tuple[np.ndarray, float]:
            return _tail_return_sum(b, var, params)

        sums = list(pool.map(tail_sum, batches)) if pool else [tail_sum(b) for b in batches]
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    b_var = np.array([b.var for b in batches])
    b_es = np.array([b.es for b in batches])
    var_se = float(np.std(b_var, ddof=1) / math.sqrt(len(batches)))
    es_se = float(np.std(b_es, ddof=1) / math.sqrt(len(batches)))
    at_var = _scenario(batches, var_pos, params)
    contributions = _var_contributions(batches, var, at_var, w, total, params)
    # Euler allocation of ES: each asset's weighted loss over the tail, plus the scenario at VaR for the part of
    # the tail mass that falls between scenarios. Sums to ES exactly (up to float32 rounding, absorbed).
    tail_x = sum((x for x, _ in sums), start=np.zeros(n_assets))
    mass_above = sum(m for _, m in sums)
    es_contributions = _sum_to(-(tail_x + (target - mass_above) * at_var) * w / target, es)
    return McEstimate(var, es, var_se, es_se, contributions, es_contributions, total, len(batches))


@dataclass(frozen=True, slots=True)
class _BatchParams:
    a: np.ndarray  # factor of the horizon covariance (lower triangular for Cholesky)
    mu_x: np.ndarray
    direction: np.ndarray
    theta: float
    chi2_scale: float  # importance sampling of the t mixing variable: V drawn as chi2 * chi2_scale
    w: np.ndarray
    shift_loss: float  # loss of the shifted mean scenario, -w . mu_x
    dof: float | None
    antithetic: bool
    tail_frac: float
    cancel: threading.Event | None


def student_t_quantile(z: float, dof: float) -> float:
    """Approximate Student-t quantile from the normal quantile ``z`` (Cornish-Fisher, A&S 26.7.5, 4 terms)."""
    return (
        z
        + (z**3 + z) / (4 * dof)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * dof**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * dof**4)
    )


def student_t_tilt(z: float, dof: float) -> tuple[float, float]:
    """Importance-sampling parameters for Student-t returns: the shift of Z and the scale of the chi2 draw.

    A t loss beyond VaR happens mostly through a small mixing variable V (a volatile period), so shifting Z alone
    barely helps (measured: no gain at 99.9% with 4 dof). With g = -v.Z/|v| ~ N(0, 1) and V ~ chi2(dof), the
    loss exceeds q when g > q' sqrt(V) (q' = t_c / sqrt(dof) for the t quantile t_c). The most likely such point
    maximises -g^2/2 + (dof/2 - 1) log V - V/2 on g = q' sqrt(V): V* = (dof - 2) / (1 + q'^2),
    g* = q' sqrt(V*). Sampling Z shifted by g* and V from a gamma with its mode at V* (scale 2 beta,
    beta = 1 / (1 + q'^2)) puts the draws around that point. t_c comes from the Cornish-Fisher expansion of
    the t quantile (Abramowitz & Stegun 26.7.5): a few percent off for small dof, which costs some efficiency,
    never correctness (the likelihood ratios are exact).
    """
    q = student_t_quantile(z, dof) / math.sqrt(dof)
    beta = 1.0 / (1.0 + q * q)
    return q * math.sqrt((dof - 2.0) * beta), beta


def _run_batch(rng: np.random.Generator, n: int, p: _BatchParams) -> _Batch:
    if p.cancel is not None and p.cancel.is_set():
        raise VarCancelled("Monte Carlo VaR cancelled")
    n_assets = len(p.w)
    rows = n // 2 if p.antithetic else n
    zt = standard_normals(rng, rows * n_assets).reshape(n_assets, rows)
    xbt = _combine(p.a, zt)  # the correlated draws: joint horizon returns before the shift and the t mixing
    # Valuation of the linear portfolio: loss = -w . s (mu_x + sign xb) = s (shift_loss - sign (w . xb)).
    base = _weighted_rows(p.w, xbt)
    s: np.ndarray | None = None
    log_wv: np.ndarray | None = None
    if p.dof is not None:
        # Multivariate Student-t with the same covariance: X = sqrt((dof - 2) / V) * A Y, V ~ chi2(dof).
        k = p.dof / 2.0
        chi2 = rng.standard_gamma(k, size=rows, dtype=np.float32) * np.float32(2.0 * p.chi2_scale)
        s = np.sqrt(np.float32(p.dof - 2.0) / chi2)
        if p.chi2_scale != 1.0:
            # Likelihood ratio of Gamma(k, scale 2) to Gamma(k, scale 2 beta): beta^k exp(V (1/beta - 1) / 2).
            beta = p.chi2_scale
            log_wv = k * math.log(beta) + chi2.astype(np.float64) * ((1.0 / beta - 1.0) / 2.0)
    loss = np.empty(n, dtype=np.float32)
    shift = np.float32(p.shift_loss)
    np.subtract(shift, base, out=loss[:rows])
    if p.antithetic:
        np.add(shift, base, out=loss[rows:])
    if s is not None:
        loss[:rows] *= s
        if p.antithetic:
            loss[rows:] *= s
    if p.theta:
        proj = _weighted_rows(p.direction, zt).astype(np.float64) * p.theta
        if log_wv is not None:
            proj -= log_wv  # the pair shares V: its weight factor goes into both halves
            log_w = np.concatenate((-proj, proj + 2.0 * log_wv)) if p.antithetic else -proj
        else:
            log_w = np.concatenate((-proj, proj)) if p.antithetic else -proj
        log_w -= 0.5 * p.theta * p.theta
        weights = np.exp(log_w)
    else:
        weights = np.ones(n)
    order = np.argsort(loss)[::-1]
    losses = loss[order].astype(np.float64)
    wsorted = weights[order]
    cumw = np.cumsum(wsorted)
    found = tail_from_sorted(losses, wsorted, cumw, p.tail_frac * n)
    if found is None:  # the weights of this batch never reach the tail mass: its smallest loss bounds VaR
        var = es = float(losses[-1])
    else:
        _, var, es, _ = found
    return _Batch(xbt, s, loss, weights, order, losses, -losses, wsorted, cumw, var, es)


# Below this many assets the small products are done with numpy ufuncs instead of BLAS. OpenBLAS threads a
# (rows x 10) @ (10 x 10) product; when the other core is busy (another process, or our second batch thread) its
# helper thread waits for a time slice and one 1 ms product takes 10-40 ms (benchmarks/bench_var.py). Ufunc loops
# never spawn threads, so the cost is the same on a loaded machine.
_UFUNC_MAX_ASSETS = 32


def _combine(a: np.ndarray, zt: np.ndarray) -> np.ndarray:
    """``a @ zt`` for a small (N x N) factor and (N x rows) draws, skipping a triangular factor's zeros."""
    n = a.shape[0]
    if n > _UFUNC_MAX_ASSETS:
        big: np.ndarray = a @ zt
        return big
    out = np.empty_like(zt)
    tmp = np.empty_like(zt[0])
    for j in range(n):
        row = out[j]
        first = True
        for k in range(n):
            coef = a[j, k]
            if coef == 0.0:
                continue
            if first:
                np.multiply(zt[k], coef, out=row)
                first = False
            else:
                np.multiply(zt[k], coef, out=tmp)
                row += tmp
        if first:
            row[:] = 0.0
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Dot product of long vectors without BLAS (OpenBLAS threads ``ddot`` too; see ``_combine``)."""
    return float(np.einsum("i,i->", a, b))


def _weighted_rows(v: np.ndarray, mt: np.ndarray) -> np.ndarray:
    """``v @ mt`` (a weighted sum of the rows of ``mt``) without BLAS, for the reason given at ``_combine``."""
    if len(v) > _UFUNC_MAX_ASSETS:
        big: np.ndarray = v @ mt
        return big
    out: np.ndarray = mt[0] * v[0]
    tmp = np.empty_like(out)
    for k in range(1, len(v)):
        np.multiply(mt[k], v[k], out=tmp)
        out += tmp
    return out


def _pooled_tail(batches: list[_Batch], target: float) -> tuple[float, float, tuple[int, int]]:
    """VaR/ES of all batches pooled, as if one sorted sample, without sorting the whole sample again.

    The pooled VaR lies between the smallest and largest batch VaR (each batch has at least its share of the
    target mass at or above its own VaR, and less strictly above it), so only scenarios in that band need
    merging; the mass above the band comes from each batch's prefix sums.
    Returns VaR, ES and the (batch, scenario index) at VaR.
    """
    lo = min(b.var for b in batches)
    hi = max(b.var for b in batches)
    mass0 = wl0 = 0.0
    parts_l, parts_w, parts_b, parts_j = [], [], [], []
    for bi, b in enumerate(batches):
        i_hi = int(np.searchsorted(b.neg, -hi, side="left"))  # scenarios with loss > hi
        i_lo = int(np.searchsorted(b.neg, -lo, side="right"))  # scenarios with loss >= lo
        m, wl = b.mass(i_hi)
        mass0 += m
        wl0 += wl
        parts_l.append(b.losses[i_hi:i_lo])
        parts_w.append(b.wsorted[i_hi:i_lo])
        parts_b.append(np.full(i_lo - i_hi, bi))
        parts_j.append(b.order[i_hi:i_lo])
    cand_l = np.concatenate(parts_l)
    order = np.argsort(cand_l, kind="stable")[::-1]
    cand_l = cand_l[order]
    cand_w = np.concatenate(parts_w)[order]
    found = tail_from_sorted(cand_l, cand_w, np.cumsum(cand_w), target, mass0, wl0)
    if found is not None:
        k, var, es, _ = found
        return var, es, (int(np.concatenate(parts_b)[order][k]), int(np.concatenate(parts_j)[order][k]))
    # Only when a batch's weights fell short of the tail mass: pool everything.
    all_l = np.concatenate([b.losses for b in batches])
    all_w = np.concatenate([b.wsorted for b in batches])
    all_b = np.concatenate([np.full(len(b.losses), i) for i, b in enumerate(batches)])
    all_j = np.concatenate([b.order for b in batches])
    order = np.argsort(all_l, kind="stable")[::-1]
    all_l, all_w = all_l[order], all_w[order]
    found = tail_from_sorted(all_l, all_w, np.cumsum(all_w), target)
    k = len(all_l) - 1 if found is None else found[0]
    var = float(all_l[k])
    es = var if found is None else found[2]
    return var, es, (int(all_b[order][k]), int(all_j[order][k]))


def _scenario(batches: list[_Batch], pos: tuple[int, int], p: _BatchParams) -> np.ndarray:
    """Horizon returns of one scenario (batch, scenario index), float64."""
    row: np.ndarray = _scenarios(batches[pos[0]], np.array([pos[1]]), p)[0]
    return row


def _tail_return_sum(b: _Batch, var: float, p: _BatchParams) -> tuple[np.ndarray, float]:
    """Weighted sum of the horizon returns of this batch's scenarios with loss > VaR, and their weight.

    Uses the structure of ``_Batch`` (one masked matrix-vector product over ``xbt``, no gather of rows).
    """
    rows = b.xbt.shape[1]
    coef = np.where(b.loss > var, b.weights, 0.0)
    if b.s is not None:
        s = b.s.astype(np.float64)
        coef = coef * (np.concatenate((s, s)) if p.antithetic else s)
    plus = coef[:rows]
    minus = coef[rows:] if p.antithetic else np.zeros(0)
    signed = plus - minus if p.antithetic else plus
    # einsum, not BLAS gemv: see _combine.
    xsum = np.einsum("ij,j->i", b.xbt, signed.astype(np.float32)).astype(np.float64)
    total = float(coef.sum()) * p.mu_x.astype(np.float64) + xsum
    count = int(np.searchsorted(b.neg, -var, side="left"))
    return total, b.mass(count)[0]


def _var_contributions(
    batches: list[_Batch], var: float, at_var: np.ndarray, w: np.ndarray, total: int, p: _BatchParams
) -> np.ndarray:
    """Euler allocation E[loss_i | L = VaR], estimated over the scenarios nearest VaR and scaled to sum to VaR.

    The window is the ``nearest_count(N)`` scenarios closest to VaR in loss (IS-weighted mean); for a linear
    portfolio under a normal or t law the conditional mean is linear in L, so a symmetric window adds no bias
    once scaled. Falls back to the single scenario at VaR (which sums exactly) if the scaling is unsafe.
    """
    m = nearest_count(total)
    per_batch = 2 * m // len(batches) + 64
    near_d, near_x, near_w = [], [], []
    for b in batches:
        at = int(np.searchsorted(b.neg, -var, side="left"))
        lo, hi = max(0, at - per_batch), min(len(b.losses), at + per_batch)
        near_d.append(np.abs(b.losses[lo:hi] - var))
        near_x.append(_scenarios(b, b.order[lo:hi], p))
        near_w.append(b.wsorted[lo:hi])
    d = np.concatenate(near_d)
    keep = np.argpartition(d, m - 1)[:m] if len(d) > m else np.arange(len(d))
    rows = np.concatenate(near_x)[keep]
    wts = np.concatenate(near_w)[keep]
    raw: np.ndarray = -np.einsum("i,ij->j", wts, rows) / wts.sum() * w
    mean_loss = float(raw.sum())
    if var != 0.0 and mean_loss * var > 0.0 and abs(mean_loss - var) <= 0.5 * abs(var):
        return raw * (var / mean_loss)
    return _sum_to(-at_var * w, var)


def nearest_count(total: int) -> int:
    """Scenarios averaged for component VaR: 1% of the paths, at least 50, at most 20,000."""
    return max(50, min(total // 100, 20_000))


def _scenarios(b: _Batch, idx: np.ndarray, p: _BatchParams) -> np.ndarray:
    """Horizon returns (float64) of scenarios ``idx`` of batch ``b``."""
    rows = b.xbt.shape[1]
    r = idx % rows
    sign = np.where(idx >= rows, -1.0, 1.0)
    x: np.ndarray = p.mu_x.astype(np.float64) + sign[:, None] * b.xbt[:, r].T.astype(np.float64)
    if b.s is not None:
        x *= b.s[r].astype(np.float64)[:, None]
    return x


def _sum_to(parts: np.ndarray, total: float) -> np.ndarray:
    """Absorb the float32 rounding of the simulated losses (a relative 1e-7) so the parts add up to ``total``."""
    s = float(parts.sum())
    if s != 0.0 and abs(s - total) <= 1e-4 * abs(total):
        out: np.ndarray = parts * (total / s)
        return out
    return parts
