"""Covariance estimators (EWMA against a plain loop) and the nearest-correlation repair."""

from __future__ import annotations

import numpy as np
import pytest

from desk.risk import CovarianceError, compute_var
from desk.risk.covariance import ewma_covariance, nearest_correlation, prepare_covariance, sample_covariance


def _loop_ewma(returns: np.ndarray, lam: float) -> np.ndarray:
    """The RiskMetrics recursion written out: S_t = lam S_{t-1} + (1 - lam) r_t r_t', from S_0 = 0, then divided
    by the total weight 1 - lam**T so the weights sum to one."""
    n = returns.shape[1]
    s = [[0.0] * n for _ in range(n)]
    for row in returns:
        for i in range(n):
            for j in range(n):
                s[i][j] = lam * s[i][j] + (1 - lam) * float(row[i]) * float(row[j])
    total = 1 - lam ** len(returns)
    return np.array(s) / total


@pytest.mark.parametrize("lam", [0.94, 0.97, 0.5])
def test_ewma_matches_loop(lam: float) -> None:
    rng = np.random.default_rng(1)
    r = rng.standard_normal((250, 4)) * 0.01
    assert np.allclose(ewma_covariance(r, lam), _loop_ewma(r, lam), rtol=1e-12, atol=0)


def test_sample_covariance_matches_numpy() -> None:
    r = np.random.default_rng(2).standard_normal((100, 3))
    assert np.allclose(sample_covariance(r), np.cov(r, rowvar=False), rtol=1e-12)


def test_nearest_correlation_reproduces_higham_example() -> None:
    # Higham (2002), section 4: the nearest correlation matrix to this indefinite "correlation" matrix.
    a = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    expected = np.array([[1.0, 0.7607, 0.1573], [0.7607, 1.0, 0.7607], [0.1573, 0.7607, 1.0]])
    assert np.allclose(nearest_correlation(a), expected, atol=5e-5)


def test_repair_of_indefinite_covariance_keeps_variances_and_says_so() -> None:
    corr = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])  # indefinite
    assert np.linalg.eigvalsh(corr)[0] < 0
    sd = np.array([0.02, 0.01, 0.03])
    cov = corr * sd[:, None] * sd[None, :]
    prepared = prepare_covariance(cov)
    assert prepared.repaired
    assert np.allclose(np.diag(prepared.matrix), sd**2, rtol=1e-12)
    assert np.linalg.eigvalsh(prepared.matrix)[0] > 0
    assert np.allclose(prepared.cholesky @ prepared.cholesky.T, prepared.matrix, rtol=1e-10, atol=1e-18)
    assert "repaired" in prepared.notes[0]
    w = np.array([1000.0, 2000.0, 500.0])
    for method in ("parametric", "mc"):
        r = compute_var(w, covariance=cov, method=method, paths=20_000, seed=1)  # type: ignore[arg-type]
        assert any("repaired" in n for n in r.notes)


def test_singular_sample_covariance_is_repaired() -> None:
    rng = np.random.default_rng(3)
    base = rng.standard_normal((50, 2)) * 0.01
    returns = np.column_stack([base, base[:, 0]])  # third asset duplicates the first: singular
    r = compute_var([100.0, 200.0, 300.0], returns, method="mc", paths=10_000, seed=2)
    assert any("repaired" in n for n in r.notes)
    # The repair moves the correlation by ~1e-8: the risk is that of 400 in asset 0 plus 200 in asset 1.
    p = compute_var([400.0, 200.0], returns[:, :2], method="parametric")
    assert r.var == pytest.approx(p.var, rel=0.01)


def test_positive_definite_covariance_is_left_alone() -> None:
    cov = np.array([[4.0, 1.0], [1.0, 9.0]])
    prepared = prepare_covariance(cov)
    assert not prepared.repaired and prepared.notes == ()
    assert np.array_equal(prepared.matrix, cov)


@pytest.mark.parametrize(
    ("cov", "message"),
    [
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), "non-finite"),
        (np.array([[1.0, 0.5], [0.2, 1.0]]), "not symmetric"),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), "variance 0"),
        (np.array([[-1.0, 0.0], [0.0, 1.0]]), "variance -1"),
        (np.ones((2, 3)), "square"),
    ],
)
def test_unrepairable_covariance_is_refused(cov: np.ndarray, message: str) -> None:
    with pytest.raises(CovarianceError, match=message):
        prepare_covariance(cov)


def test_constant_return_series_is_refused_by_name() -> None:
    rng = np.random.default_rng(4)
    returns = np.column_stack([rng.standard_normal(40) * 0.01, np.zeros(40)])
    with pytest.raises(CovarianceError, match="USDC-USD has variance 0"):
        compute_var([1.0, 1.0], returns, method="parametric", names=("BTC-USD", "USDC-USD"))
