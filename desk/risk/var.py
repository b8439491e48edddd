"""Value at risk and expected shortfall of a portfolio of linear positions: historical, parametric, Monte Carlo.

One pure entry point, ``compute_var``, safe to call from a worker thread (no globals, no I/O; a Monte Carlo run
can be cancelled through a ``threading.Event``). Conventions (docs/risk.md has the full notes):

- **Inputs.** ``exposures``: quote-currency value of each position (quantity * price, signed: short < 0).
  ``returns``: T x N simple per-period returns, oldest first, columns in the order of ``exposures``.
  The P&L of a scenario is ``exposures . r``; its loss is ``-P&L``.
- **Outputs.** VaR and ES are losses, positive numbers in the quote currency (a VaR below zero would mean the
  portfolio makes money even in the tail). ES >= VaR. ``contributions`` (component VaR) sum to VaR and
  ``es_contributions`` sum to ES; positive means the position adds to the loss.
- **Horizon.** ``horizon_periods`` is in units of the returns' period (1440 for one day of one-minute returns).
  Every method scales by sqrt-time: the parametric and Monte Carlo covariance is multiplied by h, the historical
  one-period quantile by sqrt(h). Overlapping h-period sums were rejected: a day of minute bars needs far more
  history than a rolling window holds, and would leave almost no independent tail scenarios.
- **Mean.** Parametric and Monte Carlo use zero-mean returns (standard at short horizons; the mean is far below
  its estimation error). Historical uses the scenarios as they are.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np

from desk.risk.covariance import RISKMETRICS_LAMBDA, ewma_covariance, prepare_covariance, sample_covariance
from desk.risk.errors import VarInputError
from desk.risk.montecarlo import MIN_PATHS, simulate

Method = Literal["historical", "parametric", "mc"]
CovarianceKind = Literal["sample", "ewma"]
METHODS: tuple[Method, ...] = ("historical", "parametric", "mc")
MIN_OBSERVATIONS = 10
DEFAULT_PATHS = 200_000


@dataclass(frozen=True, slots=True)
class VarResult:
    """One VaR/ES estimate. Money in the exposures' currency; per-asset tuples in the exposures' order."""

    method: Method
    confidence: float
    horizon_periods: float
    var: float
    es: float
    stderr: float | None  # Monte Carlo standard error of ``var``; None for exact (parametric) or historical
    es_stderr: float | None
    contributions: tuple[float, ...]  # component VaR, sums to ``var``
    es_contributions: tuple[float, ...]  # component ES, sums to ``es``
    names: tuple[str, ...]
    covariance: str | None  # "sample", "ewma" or "given"; None for historical
    paths: int | None
    observations: int | None  # returns used (historical window, or the covariance's history)
    notes: tuple[str, ...]

    def contributions_by_name(self) -> dict[str, float]:
        return dict(zip(self.names, self.contributions, strict=True))


def compute_var(
    exposures: np.ndarray | list[float] | tuple[float, ...],
    returns: np.ndarray | None = None,
    *,
    method: Method = "parametric",
    confidence: float = 0.99,
    horizon_periods: float = 1.0,
    covariance: CovarianceKind | np.ndarray = "sample",
    ewma_lambda: float = RISKMETRICS_LAMBDA,
    window: int | None = None,
    paths: int = DEFAULT_PATHS,
    seed: int | None = None,
    student_t_dof: float | None = None,
    antithetic: bool = True,
    importance_sampling: bool = True,
    workers: int | None = None,
    cancel: threading.Event | None = None,
    names: tuple[str, ...] | None = None,
) -> VarResult:
    """VaR and ES of ``exposures`` at ``confidence`` over ``horizon_periods`` periods.

    ``covariance`` (parametric, mc): "sample", "ewma" (RiskMetrics, ``ewma_lambda``) estimated from ``returns``
    (the last ``window`` rows if given), or an N x N matrix per period. ``window`` also limits historical
    scenarios. ``paths``, ``seed``, ``student_t_dof`` (None = normal), ``antithetic``, ``importance_sampling``
    and ``workers`` (threads; default two) tune Monte Carlo. Raises ``VarInputError`` on unusable input and
    ``VarCancelled`` if ``cancel`` is set during a simulation.
    """
    w = _exposures(exposures)
    n = len(w)
    labels = names if names is not None else tuple(f"asset {i}" for i in range(n))
    if len(labels) != n:
        raise VarInputError(f"{len(labels)} names for {n} exposures; expected one name per exposure")
    if method not in METHODS:
        raise VarInputError(f"method {method!r} is not one of {', '.join(METHODS)}")
    if not (isinstance(confidence, float | int) and math.isfinite(confidence) and 0.0 < confidence < 1.0):
        raise VarInputError(f"confidence {confidence!r} must be a number in (0, 1), e.g. 0.99")
    if not (math.isfinite(horizon_periods) and horizon_periods > 0):
        raise VarInputError(f"horizon {horizon_periods!r} periods must be a positive number")
    r = _returns(returns, n, window, labels)
    if method == "historical":
        if r is None:
            raise VarInputError("historical VaR needs a returns history; none given")
        return _historical(w, r, confidence, horizon_periods, labels)
    cov, cov_kind = _covariance(covariance, r, n, ewma_lambda)
    prepared = prepare_covariance(cov, labels)
    observations = None if r is None else r.shape[0]
    if method == "parametric":
        return _parametric(
            w, prepared.matrix, confidence, horizon_periods, labels, cov_kind, observations, prepared.notes
        )
    if not (isinstance(paths, int) and paths >= MIN_PATHS):
        raise VarInputError(f"paths {paths!r} must be an integer >= {MIN_PATHS}")
    if student_t_dof is not None and not (math.isfinite(student_t_dof) and student_t_dof > 2.0):
        raise VarInputError(f"Student-t dof {student_t_dof!r} must be > 2 (the variance is infinite below)")
    est = simulate(
        w,
        prepared.cholesky * math.sqrt(horizon_periods),
        confidence,
        paths=paths,
        seed=seed,
        dof=student_t_dof,
        antithetic=antithetic,
        importance_sampling=importance_sampling,
        workers=workers,
        cancel=cancel,
    )
    notes = list(prepared.notes)
    if student_t_dof is not None:
        notes.append(f"Monte Carlo with multivariate Student-t returns, {student_t_dof:g} degrees of freedom")
    return VarResult(
        "mc",
        float(confidence),
        float(horizon_periods),
        est.var,
        est.es,
        est.var_stderr,
        est.es_stderr,
        tuple(float(c) for c in est.contributions),
        tuple(float(c) for c in est.es_contributions),
        labels,
        cov_kind,
        est.paths,
        observations,
        tuple(notes),
    )


def historical_tail_rank(n: int, confidence: float) -> int:
    """Rank (1 = worst) of the loss that is the historical VaR: ceil(n (1 - c)).

    The product is nudged down by 1e-9 so that binary rounding (1000 * (1 - 0.99) = 10.000000000000009) does
    not push the rank to the next integer.
    """
    return max(1, math.ceil(n * (1.0 - confidence) - 1e-9))


def _historical(w: np.ndarray, r: np.ndarray, c: float, h: float, labels: tuple[str, ...]) -> VarResult:
    n = r.shape[0]
    if n * (1.0 - c) < 1.0 - 1e-9:
        need = math.ceil((1.0 - 1e-9) / (1.0 - c))
        raise VarInputError(f"historical VaR at {c:g} needs at least {need} returns for one tail scenario, got {n}")
    per_asset = -(r * w)  # loss of each position in each scenario
    loss = per_asset.sum(axis=1)
    order = np.argsort(-loss, kind="stable")
    k = historical_tail_rank(n, c)
    scale = math.sqrt(h)
    var1 = float(loss[order[k - 1]])
    es1 = float(loss[order[:k]].mean())
    es_contrib = per_asset[order[:k]].mean(axis=0) * scale
    # Component VaR: mean position losses over ranks k-b..k+b (b ~ sqrt(n)/4), scaled to sum to VaR; the single
    # scenario at rank k (which sums exactly) if that mean is not a usable scale.
    b = max(1, round(math.sqrt(n) / 4))
    near = order[max(0, k - 1 - b) : min(n, k + b)]
    raw = per_asset[near].mean(axis=0)
    mean_loss = float(raw.sum())
    if var1 != 0.0 and mean_loss * var1 > 0.0 and abs(mean_loss - var1) <= 0.5 * abs(var1):
        contrib = raw * (var1 / mean_loss) * scale
    else:
        contrib = per_asset[order[k - 1]] * scale
    return VarResult(
        "historical",
        float(c),
        float(h),
        var1 * scale,
        es1 * scale,
        None,
        None,
        tuple(float(x) for x in contrib),
        tuple(float(x) for x in es_contrib),
        labels,
        None,
        None,
        n,
        (),
    )


def _parametric(
    w: np.ndarray,
    cov: np.ndarray,
    c: float,
    h: float,
    labels: tuple[str, ...],
    cov_kind: str,
    observations: int | None,
    notes: tuple[str, ...],
) -> VarResult:
    nd = NormalDist()
    z = nd.inv_cdf(c)
    sw = cov @ w
    sigma = math.sqrt(max(float(w @ sw), 0.0)) * math.sqrt(h)
    var = z * sigma
    es = nd.pdf(z) / (1.0 - c) * sigma
    if sigma > 0.0:
        # Euler: d sigma / d w_i = (S w)_i / sigma_1, so w_i (S w)_i sqrt(h) / sigma_1 sums to sigma (per unit z).
        marginal = w * sw * h / sigma
        contrib = z * marginal
        es_contrib = nd.pdf(z) / (1.0 - c) * marginal
    else:
        contrib = es_contrib = np.zeros_like(w)
    return VarResult(
        "parametric",
        float(c),
        float(h),
        var,
        es,
        None,
        None,
        tuple(float(x) for x in contrib),
        tuple(float(x) for x in es_contrib),
        labels,
        cov_kind,
        None,
        observations,
        notes,
    )


def _exposures(exposures: np.ndarray | list[float] | tuple[float, ...]) -> np.ndarray:
    w = np.asarray(exposures, dtype=np.float64)
    if w.ndim != 1 or len(w) == 0:
        raise VarInputError(f"exposures must be a non-empty 1-D array, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise VarInputError(f"exposure {w[~np.isfinite(w)][0]} is not a finite number")
    return w


def _returns(returns: np.ndarray | None, n: int, window: int | None, labels: tuple[str, ...]) -> np.ndarray | None:
    if returns is None:
        return None
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != n:
        raise VarInputError(f"returns must be T x {n} (one column per exposure), got shape {r.shape}")
    bad = ~np.isfinite(r)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise VarInputError(f"return {r[row, col]} of {labels[col]} at row {row} is not a finite number")
    if window is not None:
        if not (isinstance(window, int) and window >= MIN_OBSERVATIONS):
            raise VarInputError(f"window {window!r} must be an integer >= {MIN_OBSERVATIONS}")
        if window > r.shape[0]:
            raise VarInputError(f"window {window} is longer than the {r.shape[0]} returns available")
        r = r[-window:]
    if r.shape[0] < MIN_OBSERVATIONS:
        raise VarInputError(f"{r.shape[0]} returns is too few; expected at least {MIN_OBSERVATIONS}")
    return r


def _covariance(
    covariance: CovarianceKind | np.ndarray, r: np.ndarray | None, n: int, lam: float
) -> tuple[np.ndarray, str]:
    if isinstance(covariance, str):
        if covariance not in ("sample", "ewma"):
            raise VarInputError(f"covariance {covariance!r} is not one of sample, ewma (or a matrix)")
        if r is None:
            raise VarInputError(f"a {covariance} covariance needs a returns history; none given")
        return (sample_covariance(r) if covariance == "sample" else ewma_covariance(r, lam)), covariance
    cov = np.asarray(covariance, dtype=np.float64)
    if cov.shape != (n, n):
        raise VarInputError(f"covariance must be {n} x {n} (one row per exposure), got shape {cov.shape}")
    return cov, "given"
