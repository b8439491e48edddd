"""Monte Carlo VaR/ES: lands within 3 standard errors of closed forms (scipy.stats as the reference), reports
honest standard errors, and its contributions sum to the totals."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy import integrate, stats

from desk.risk import VarCancelled, VarInputError, compute_var
from desk.risk.montecarlo import batch_sizes, student_t_quantile


def _portfolio(n: int = 5, seed: int = 21) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    corr = a @ a.T
    d = np.sqrt(np.diag(corr))
    corr = corr / d[:, None] / d[None, :]
    vol = rng.uniform(0.01, 0.04, n)
    return rng.uniform(-1e5, 1e5, n), corr * vol[:, None] * vol[None, :]


def _normal_closed_form(w: np.ndarray, cov: np.ndarray, c: float, h: float = 1.0) -> tuple[float, float]:
    sigma = float(np.sqrt(w @ cov @ w * h))
    z = stats.norm.ppf(c)
    return z * sigma, stats.norm.pdf(z) / (1 - c) * sigma


@pytest.mark.parametrize("confidence", [0.95, 0.99, 0.999])
@pytest.mark.parametrize(
    "options",
    [{}, {"importance_sampling": False}, {"antithetic": False, "importance_sampling": False}],
    ids=["is+antithetic", "antithetic", "plain"],
)
def test_normal_mc_within_three_standard_errors(confidence: float, options: dict[str, bool]) -> None:
    w, cov = _portfolio()
    var, es = _normal_closed_form(w, cov, confidence, 10.0)
    r = compute_var(
        w, covariance=cov, method="mc", confidence=confidence, horizon_periods=10.0, paths=100_000, seed=3, **options
    )
    assert r.stderr is not None and r.es_stderr is not None
    assert abs(r.var - var) <= 3 * r.stderr
    assert abs(r.es - es) <= 3 * r.es_stderr
    assert 0 < r.stderr < 0.02 * var
    assert r.paths == 100_000


def test_importance_sampling_cuts_the_standard_error() -> None:
    w, cov = _portfolio()
    with_is = compute_var(w, covariance=cov, method="mc", confidence=0.99, paths=100_000, seed=4)
    without = compute_var(
        w, covariance=cov, method="mc", confidence=0.99, paths=100_000, seed=4, importance_sampling=False
    )
    assert with_is.stderr is not None and without.stderr is not None
    assert with_is.stderr < without.stderr / 3


def test_standard_error_matches_the_spread_across_seeds() -> None:
    """The reported SE must describe the estimator's actual spread (what a user reads it as)."""
    w, cov = _portfolio()
    runs = [compute_var(w, covariance=cov, method="mc", confidence=0.99, paths=16_000, seed=s) for s in range(100, 160)]
    spread = np.std([r.var for r in runs], ddof=1)
    reported = np.sqrt(np.mean([r.stderr**2 for r in runs if r.stderr is not None]))
    assert 0.7 < reported / spread < 1.45
    es_spread = np.std([r.es for r in runs], ddof=1)
    es_reported = np.sqrt(np.mean([r.es_stderr**2 for r in runs if r.es_stderr is not None]))
    assert 0.7 < es_reported / es_spread < 1.45


@pytest.mark.parametrize(("dof", "c"), [(4.0, 0.99), (8.0, 0.99), (4.0, 0.999), (30.0, 0.95)])
def test_student_t_mc_matches_t_closed_form(dof: float, c: float) -> None:
    w, cov = _portfolio(4, seed=8)
    # P&L = sqrt((dof - 2) / dof) * sigma * T_dof: the t is scaled to the covariance.
    scale = float(np.sqrt(w @ cov @ w)) * np.sqrt((dof - 2) / dof)
    q = stats.t.ppf(c, dof)
    var = scale * q
    tail, _ = integrate.quad(lambda x: x * stats.t.pdf(x, dof), q, np.inf)
    es = scale * tail / (1 - c)
    r = compute_var(w, covariance=cov, method="mc", confidence=c, paths=200_000, seed=9, student_t_dof=dof)
    assert r.stderr is not None and r.es_stderr is not None
    assert abs(r.var - var) <= 3 * r.stderr
    assert abs(r.es - es) <= 3 * r.es_stderr
    assert any("Student-t" in n for n in r.notes)
    assert r.stderr < 0.005 * var  # the t-aware importance sampling keeps the error small even at 99.9%
    if c >= 0.99:
        normal_var, _ = _normal_closed_form(w, cov, c)
        assert r.var > normal_var  # fat tails at 99% with the same variance


@pytest.mark.parametrize("dof", [3.0, 4.0, 8.0, 30.0])
@pytest.mark.parametrize("c", [0.95, 0.99, 0.999])
def test_student_t_quantile_approximation(dof: float, c: float) -> None:
    """Only steers the importance sampling, so a few percent is enough; scipy is the reference."""
    assert student_t_quantile(stats.norm.ppf(c), dof) == pytest.approx(stats.t.ppf(c, dof), rel=0.05)


def test_contributions_sum_and_agree_with_euler() -> None:
    w, cov = _portfolio()
    r = compute_var(w, covariance=cov, method="mc", confidence=0.99, paths=400_000, seed=5)
    p = compute_var(w, covariance=cov, method="parametric", confidence=0.99)
    assert sum(r.contributions) == pytest.approx(r.var, rel=1e-9)
    assert sum(r.es_contributions) == pytest.approx(r.es, rel=1e-9)
    # Normal returns: E[loss_i | L = VaR] is the parametric Euler allocation; estimated from ~4000 scenarios.
    assert np.allclose(r.contributions, p.contributions, atol=0.02 * p.var)
    assert np.allclose(r.es_contributions, p.es_contributions, atol=0.01 * p.es)


def test_deterministic_for_a_seed_and_independent_of_threads() -> None:
    w, cov = _portfolio()
    a = compute_var(w, covariance=cov, method="mc", paths=50_000, seed=7, workers=1)
    b = compute_var(w, covariance=cov, method="mc", paths=50_000, seed=7, workers=2)
    c = compute_var(w, covariance=cov, method="mc", paths=50_000, seed=8, workers=2)
    assert (a.var, a.es, a.stderr, a.contributions) == (b.var, b.es, b.stderr, b.contributions)
    assert a.var != c.var


def test_mc_from_returns_uses_their_covariance() -> None:
    rng = np.random.default_rng(12)
    returns = rng.standard_normal((500, 3)) @ np.array([[0.01, 0.0, 0.0], [0.005, 0.01, 0.0], [0.0, 0.004, 0.02]])
    w = np.array([2e4, -1e4, 5e3])
    var, es = _normal_closed_form(w, np.cov(returns, rowvar=False), 0.99, 60.0)
    r = compute_var(w, returns, method="mc", confidence=0.99, horizon_periods=60.0, paths=50_000, seed=1)
    assert r.stderr is not None and abs(r.var - var) <= 3 * r.stderr
    assert r.es_stderr is not None and abs(r.es - es) <= 3 * r.es_stderr
    assert r.covariance == "sample" and r.observations == 500


def test_cancel_event_stops_the_simulation() -> None:
    w, cov = _portfolio()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(VarCancelled):
        compute_var(w, covariance=cov, method="mc", paths=50_000, seed=1, cancel=cancel)


def test_zero_portfolio() -> None:
    _, cov = _portfolio(3)
    r = compute_var(np.zeros(3), covariance=cov, method="mc", paths=10_000, seed=1)
    assert r.var == 0.0 and r.es == 0.0 and r.contributions == (0.0, 0.0, 0.0)


def test_batches_cover_the_paths() -> None:
    assert batch_sizes(1_000_000, True) == [31_250] * 32
    assert sum(batch_sizes(1001, True)) == 1002 and len(batch_sizes(1001, True)) == 2
    assert all(s % 2 == 0 for s in batch_sizes(99_999, True))
    assert sum(batch_sizes(99_999, False)) == 99_999


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"paths": 10}, "paths 10"), ({"student_t_dof": 2.0}, "dof 2.0"), ({"covariance": "ledoit"}, "ledoit")],
)
def test_bad_mc_arguments(kwargs: dict[str, object], message: str) -> None:
    w, cov = _portfolio(3)
    kwargs.setdefault("covariance", cov)
    with pytest.raises(VarInputError, match=message):
        compute_var(w, np.zeros((20, 3)) + 0.01 * np.eye(20, 3), method="mc", **kwargs)  # type: ignore[arg-type]
