"""Covariance estimates for VaR and the repair that makes them usable for simulation.

Why a repair step: Monte Carlo needs a Cholesky factor, which exists only for a positive-definite matrix. Sample
covariances of short or collinear histories are singular, and matrices assembled from pairwise estimates (or
typed in by a user) can be indefinite. The repair keeps every variance and moves the correlation matrix to the
nearest valid one (Higham 2002, alternating projections with Dykstra's correction), so the change is as small as
possible in the Frobenius norm. Matrices whose defects are not a matter of correlation (non-finite entries,
asymmetry, non-positive variances) are refused: any "repair" of those would invent risk numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from desk.risk.errors import CovarianceError

RISKMETRICS_LAMBDA = 0.94
# Smallest eigenvalue allowed in a repaired correlation matrix: keeps the Cholesky factor well conditioned while
# changing the matrix by far less than any estimation error.
MIN_EIGENVALUE = 1e-8
_SYMMETRY_TOL = 1e-10


def sample_covariance(returns: np.ndarray) -> np.ndarray:
    """Unbiased (ddof=1) covariance of demeaned returns, shape (N, N)."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] < 2:
        raise CovarianceError(f"need a T x N returns matrix with T >= 2 to estimate a covariance, got {r.shape}")
    centred = r - r.mean(axis=0)
    out: np.ndarray = centred.T @ centred / (r.shape[0] - 1)
    return out


def ewma_weights(t: int, lam: float = RISKMETRICS_LAMBDA) -> np.ndarray:
    """Weights of observations 0..t-1 (oldest first) in the normalised EWMA: lam**age * (1 - lam) / (1 - lam**t).

    Normalising by ``1 - lam**t`` makes the weights sum to one, so a short history is not biased low (the plain
    recursion started from zero would be).
    """
    if not 0.0 < lam < 1.0:
        raise CovarianceError(f"EWMA lambda {lam} must be in (0, 1)")
    ages = np.arange(t - 1, -1, -1, dtype=np.float64)
    out: np.ndarray = lam**ages * (1.0 - lam) / (1.0 - lam**t)
    return out


def ewma_covariance(returns: np.ndarray, lam: float = RISKMETRICS_LAMBDA) -> np.ndarray:
    """RiskMetrics EWMA covariance: zero-mean, newest observation weighted most.

    Zero mean is the RiskMetrics convention: at one-period horizons the mean is far below its estimation error.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] < 2:
        raise CovarianceError(f"need a T x N returns matrix with T >= 2 to estimate a covariance, got {r.shape}")
    w = ewma_weights(r.shape[0], lam)
    out: np.ndarray = (r * w[:, None]).T @ r
    return out


@dataclass(frozen=True, slots=True)
class PreparedCovariance:
    """A covariance ready for use: the matrix actually used, its Cholesky factor and what was done to it."""

    matrix: np.ndarray
    cholesky: np.ndarray
    repaired: bool
    notes: tuple[str, ...]


def nearest_correlation(corr: np.ndarray, *, min_eigenvalue: float = MIN_EIGENVALUE, max_iter: int = 200) -> np.ndarray:
    """Nearest correlation matrix (unit diagonal, eigenvalues >= ``min_eigenvalue``) in the Frobenius norm.

    Higham (2002), "Computing the nearest correlation matrix", algorithm 3.3: alternate the projection onto the
    positive semidefinite cone (clip eigenvalues) with the projection onto unit-diagonal matrices, with
    Dykstra's correction so the limit is the nearest point of the intersection, not just some point of it.
    """
    c = np.asarray(corr, dtype=np.float64)
    y = c.copy()
    ds = np.zeros_like(c)
    x = c
    for _ in range(max_iter):
        r = y - ds
        x = _clip_eigenvalues(r, min_eigenvalue)
        ds = x - r
        y_next = x.copy()
        np.fill_diagonal(y_next, 1.0)
        change = float(np.linalg.norm(y_next - y)) / max(float(np.linalg.norm(y_next)), 1e-300)
        y = y_next
        if change < 1e-12 and float(np.linalg.norm(y - x)) < 1e-10 * float(np.linalg.norm(y)):
            break
    # The last unit-diagonal projection can dip an eigenvalue below the floor by rounding; clip once more and
    # rescale to an exact unit diagonal (congruence by a positive diagonal keeps positive definiteness).
    final = _clip_eigenvalues(y, min_eigenvalue)
    d = 1.0 / np.sqrt(np.diag(final))
    out: np.ndarray = final * d[:, None] * d[None, :]
    out = (out + out.T) / 2.0
    np.fill_diagonal(out, 1.0)
    return out


def _clip_eigenvalues(m: np.ndarray, floor: float) -> np.ndarray:
    vals, vecs = np.linalg.eigh((m + m.T) / 2.0)
    out: np.ndarray = (vecs * np.maximum(vals, floor)) @ vecs.T
    sym: np.ndarray = (out + out.T) / 2.0
    return sym


def prepare_covariance(cov: np.ndarray, names: tuple[str, ...] | None = None) -> PreparedCovariance:
    """Validate ``cov``, repair it if it is not positive definite, and factor it.

    Raises ``CovarianceError`` for a matrix that cannot be repaired: not square, non-finite, asymmetric, a
    variance that is zero or negative, or a repair that still does not factor.
    """
    s = np.asarray(cov, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != s.shape[1] or s.shape[0] == 0:
        raise CovarianceError(f"covariance must be a non-empty square matrix, got shape {s.shape}")
    n = s.shape[0]
    labels = names if names is not None and len(names) == n else tuple(f"asset {i}" for i in range(n))
    if not np.all(np.isfinite(s)):
        raise CovarianceError("covariance has non-finite entries (NaN or inf); expected finite numbers")
    scale = max(float(np.max(np.abs(s))), 1e-300)
    asym = float(np.max(np.abs(s - s.T)))
    if asym > _SYMMETRY_TOL * scale:
        raise CovarianceError(
            f"covariance is not symmetric (largest |S - S'| = {asym:.3g}); expected a symmetric matrix"
        )
    s = (s + s.T) / 2.0
    diag = np.diag(s)
    for i in range(n):
        if not diag[i] > 0.0:
            raise CovarianceError(
                f"{labels[i]} has variance {diag[i]:.3g}; expected a positive variance (a constant return series "
                "carries no risk to correlate: drop it)"
            )
    try:
        chol = np.linalg.cholesky(s)
        return PreparedCovariance(s, chol, False, ())
    except np.linalg.LinAlgError:
        pass
    sd = np.sqrt(diag)
    corr = s / sd[:, None] / sd[None, :]
    min_before = float(np.linalg.eigvalsh(corr)[0])
    fixed = nearest_correlation(corr)
    repaired = fixed * sd[:, None] * sd[None, :]
    try:
        chol = np.linalg.cholesky(repaired)
    except np.linalg.LinAlgError as exc:
        raise CovarianceError(
            "covariance is not positive definite and the nearest-correlation repair failed; expected a valid "
            "covariance (check for duplicated or constant return series)"
        ) from exc
    change = float(np.linalg.norm(fixed - corr))
    note = (
        f"covariance repaired: not positive definite (smallest correlation eigenvalue {min_before:.3g}); "
        f"replaced by the nearest correlation matrix (Higham 2002), Frobenius change {change:.3g}, variances kept"
    )
    return PreparedCovariance(repaired, chol, True, (note,))
