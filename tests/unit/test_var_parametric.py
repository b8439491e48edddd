"""Parametric (delta-normal) VaR/ES against the closed form, with scipy.stats as the independent reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from desk.risk import compute_var


def _portfolio(n: int = 4, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    corr = a @ a.T
    d = np.sqrt(np.diag(corr))
    corr = corr / d[:, None] / d[None, :]
    vol = rng.uniform(0.005, 0.03, n)
    cov = corr * vol[:, None] * vol[None, :]
    exposures = rng.uniform(-50_000, 80_000, n)
    return exposures, cov


@pytest.mark.parametrize("confidence", [0.95, 0.99, 0.999])
@pytest.mark.parametrize("horizon", [1.0, 10.0, 1440.0])
def test_parametric_equals_closed_form(confidence: float, horizon: float) -> None:
    w, cov = _portfolio()
    r = compute_var(w, covariance=cov, method="parametric", confidence=confidence, horizon_periods=horizon)
    sigma = np.sqrt(w @ cov @ w) * np.sqrt(horizon)
    z = stats.norm.ppf(confidence)
    assert r.var == pytest.approx(z * sigma, rel=1e-12)
    assert r.es == pytest.approx(stats.norm.pdf(z) / (1 - confidence) * sigma, rel=1e-12)
    # ES as the tail mean of the loss distribution, by numerical integration (a second, independent reference).
    tail, _ = integrate.quad(lambda x: x * stats.norm.pdf(x, scale=sigma), z * sigma, np.inf)
    assert r.es == pytest.approx(tail / (1 - confidence), rel=1e-7)
    assert r.stderr is None


def test_parametric_contributions_are_euler_and_sum_to_total() -> None:
    w, cov = _portfolio(5)
    r = compute_var(w, covariance=cov, method="parametric", confidence=0.99, horizon_periods=4.0)
    assert sum(r.contributions) == pytest.approx(r.var, rel=1e-12)
    assert sum(r.es_contributions) == pytest.approx(r.es, rel=1e-12)
    # Euler: contribution_i = w_i * dVaR/dw_i, checked by central differences on the closed form.
    z = stats.norm.ppf(0.99)

    def var_of(x: np.ndarray) -> float:
        return float(z * np.sqrt(x @ cov @ x) * 2.0)

    for i in range(len(w)):
        h = abs(w[i]) * 1e-6
        up, dn = w.copy(), w.copy()
        up[i] += h
        dn[i] -= h
        assert r.contributions[i] == pytest.approx(w[i] * (var_of(up) - var_of(dn)) / (2 * h), rel=1e-6)


def test_parametric_from_returns_uses_sample_or_ewma_covariance() -> None:
    rng = np.random.default_rng(5)
    returns = rng.standard_normal((400, 3)) * [0.01, 0.02, 0.015]
    w = np.array([1000.0, -2000.0, 500.0])
    z = stats.norm.ppf(0.975)
    sample = compute_var(w, returns, method="parametric", confidence=0.975, covariance="sample")
    assert sample.var == pytest.approx(z * np.sqrt(w @ np.cov(returns, rowvar=False) @ w), rel=1e-10)
    assert sample.covariance == "sample" and sample.observations == 400
    ewma = compute_var(w, returns, method="parametric", confidence=0.975, covariance="ewma")
    lam = 0.94
    ages = np.arange(399, -1, -1)
    wts = (1 - lam) * lam**ages / (1 - lam**400)
    cov = sum(wt * np.outer(x, x) for wt, x in zip(wts, returns, strict=True))
    assert ewma.var == pytest.approx(z * np.sqrt(w @ cov @ w), rel=1e-10)


def test_zero_portfolio_has_zero_risk() -> None:
    _, cov = _portfolio(3)
    r = compute_var(np.zeros(3), covariance=cov, method="parametric")
    assert r.var == 0.0 and r.es == 0.0 and r.contributions == (0.0, 0.0, 0.0)
