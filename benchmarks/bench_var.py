"""Monte Carlo VaR: desk's engine against a naive numpy version, in one run, plus the event-loop cost.

Portfolio: 10 assets, a random correlation and vols (seeded), long/short exposures; 99% one-period VaR + ES.
- naive: draw the full (1M x 10) float64 normal matrix, multiply by the Cholesky factor, portfolio P&L,
  np.quantile of the losses, ES = mean of the losses at or beyond it.
- desk: desk.risk.compute_var(method="mc"): float32 Box-Muller, antithetic pairs, importance sampling,
  batches (standard error from their spread) on 1 or 2 threads, no BLAS threads in the hot loop.
Both are compared with the closed form z * sigma (exact for normal returns). Runs are interleaved and the
median (and min) of several is reported, because the machine is shared. Also measured: the paths (and time)
needed for a standard error <= 0.2% of VaR, the event-loop lag while the engine runs in a worker thread, and the
random number generator alone.

Usage: python benchmarks/bench_var.py [--quick]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desk.risk import VarResult, compute_var
from desk.risk.normals import standard_normals

N_ASSETS = 10
PATHS = 1_000_000
CONFIDENCE = 0.99


def portfolio() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2026)
    a = rng.standard_normal((N_ASSETS, N_ASSETS + 5))
    corr = a @ a.T
    d = np.sqrt(np.diag(corr))
    corr = corr / d[:, None] / d[None, :]
    vol = rng.uniform(0.01, 0.05, N_ASSETS)
    cov = corr * vol[:, None] * vol[None, :]
    exposures = rng.uniform(-2e5, 5e5, N_ASSETS)
    return exposures, cov


def naive(exposures: np.ndarray, cov: np.ndarray, paths: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(cov)
    z = rng.standard_normal((paths, len(exposures)))
    returns = z @ chol.T
    loss = -(returns @ exposures)
    var = float(np.quantile(loss, CONFIDENCE))
    es = float(loss[loss >= var].mean())
    return var, es


def desk_mc(w: np.ndarray, cov: np.ndarray, paths: int, seed: int, workers: int | None = None) -> VarResult:
    return compute_var(w, covariance=cov, method="mc", confidence=CONFIDENCE, paths=paths, seed=seed, workers=workers)


def pct(x: float, ref: float) -> str:
    return f"{(x / ref - 1) * 100:+.3f}%"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:6.1f} ms"


def q(values: list[float], p: float) -> float:
    return float(np.percentile(values, p))


def compare(w: np.ndarray, cov: np.ndarray, reps: int, var_cf: float, es_cf: float) -> VarResult:
    t_naive: list[float] = []
    t_desk: dict[int, list[float]] = {1: [], 2: []}
    res: dict[int, VarResult] = {}
    nv = ne = 0.0
    for i in range(reps):
        t0 = time.perf_counter()
        nv, ne = naive(w, cov, PATHS, i)
        t_naive.append(time.perf_counter() - t0)
        for workers in (1, 2):
            t0 = time.perf_counter()
            res[workers] = desk_mc(w, cov, PATHS, i, workers)
            t_desk[workers].append(time.perf_counter() - t0)
    med_naive = statistics.median(t_naive)
    print(f"naive numpy   : median {ms(med_naive)}, min {ms(min(t_naive))}  VaR {nv:,.2f} ({pct(nv, var_cf)})  "
          f"ES {ne:,.2f} ({pct(ne, es_cf)})")  # fmt: skip
    for workers, r in res.items():
        med = statistics.median(t_desk[workers])
        assert r.stderr is not None and r.es_stderr is not None
        print(
            f"desk {workers} thread{'s' if workers > 1 else ' '}: median {ms(med)}, min {ms(min(t_desk[workers]))}  "
            f"VaR {r.var:,.2f} ({pct(r.var, var_cf)}) SE {r.stderr:,.2f} ({r.stderr / r.var:.4%})  "
            f"ES {r.es:,.2f} ({pct(r.es, es_cf)}) SE {r.es_stderr:,.2f}  "
            f"speed-up x{med_naive / med:.1f} (median), x{min(t_naive) / min(t_desk[workers]):.1f} (min)"
        )
    one, two = statistics.median(t_desk[1]), statistics.median(t_desk[2])
    print(f"second thread : x{one / two:.2f} (median 1 thread / median 2 threads)")
    return res[1]


def se_target(w: np.ndarray, cov: np.ndarray) -> None:
    print("SE target (<= 0.2% of VaR): median time and SE over 5 seeds per size")
    for paths in (2_000, 4_000, 8_000, 16_000, 32_000, 64_000):
        times, ses = [], []
        for s in range(5):
            t0 = time.perf_counter()
            r = desk_mc(w, cov, paths, 100 + s)
            times.append(time.perf_counter() - t0)
            assert r.stderr is not None
            ses.append(r.stderr / r.var)
        print(f"  {paths:>7,} paths: {ms(statistics.median(times))}  SE mean {np.mean(ses):.3%}, worst {max(ses):.3%}")
        if max(ses) <= 0.002:
            print(f"  -> SE <= 0.2% of VaR (all 5 seeds) with {paths:,} paths in {ms(statistics.median(times))} "
                  "(target <= 50 ms)")  # fmt: skip
            return


async def loop_lag(w: np.ndarray, cov: np.ndarray, workers: int, runs: int) -> tuple[list[float], list[float]]:
    """Lateness (ms) of a 10 ms asyncio.sleep, idle and while compute_var runs via asyncio.to_thread."""

    async def probe(stop: asyncio.Event, out: list[float]) -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.01)
            out.append((time.perf_counter() - t0 - 0.01) * 1e3)

    idle: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(probe(stop, idle))
    await asyncio.sleep(0.5)
    stop.set()
    await task
    busy: list[float] = []
    stop = asyncio.Event()
    task = asyncio.create_task(probe(stop, busy))
    for seed in range(runs):
        await asyncio.to_thread(desk_mc, w, cov, PATHS, seed, workers)
    stop.set()
    await task
    return idle, busy


def main() -> None:
    quick = "--quick" in sys.argv
    child = "--child" in sys.argv
    reps = 3 if quick else 7
    w, cov = portfolio()
    sigma = float(np.sqrt(w @ cov @ w))
    nd = NormalDist()
    z = nd.inv_cdf(CONFIDENCE)
    var_cf, es_cf = z * sigma, nd.pdf(z) / (1 - CONFIDENCE) * sigma
    env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")}
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"env {env or '(no OPENBLAS_* set)'}")  # fmt: skip
    print(f"{N_ASSETS} assets, {PATHS:,} paths, {CONFIDENCE:.0%} VaR; closed form VaR {var_cf:,.2f}  ES {es_cf:,.2f}")

    desk_mc(w, cov, PATHS, 0)  # warm up: imports, page faults, thread pool
    naive(w, cov, 100_000, 0)
    best = compare(w, cov, reps, var_cf, es_cf)
    if child:
        return

    plain = compute_var(
        w, covariance=cov, method="mc", confidence=CONFIDENCE, paths=PATHS, seed=0, antithetic=False,
        importance_sampling=False, workers=1,
    )  # fmt: skip
    assert plain.stderr is not None and best.stderr is not None
    print(f"variance reduction (same engine, 1M paths): SE {plain.stderr:,.2f} plain, {best.stderr:,.2f} with IS + "
          f"antithetic: variance / {(plain.stderr / best.stderr) ** 2:.0f}")  # fmt: skip

    rng = np.random.default_rng(1)
    timings = {}
    for label, fn in (
        ("numpy ziggurat float64", lambda: rng.standard_normal(5_000_000)),
        ("numpy ziggurat float32", lambda: rng.standard_normal(5_000_000, dtype=np.float32)),
        ("desk Box-Muller float32", lambda: standard_normals(rng, 5_000_000)),
    ):
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
        timings[label] = min(runs)
    print("5M normals (one antithetic 1M x 10 run): " + ", ".join(f"{k} {ms(v)}" for k, v in timings.items()))

    se_target(w, cov)

    for workers in (1, 2):
        idle, busy = asyncio.run(loop_lag(w, cov, workers, 3 if quick else 5))
        print(
            f"event-loop lag (10 ms sleep probe) while 1M-path VaR runs in a worker thread, {workers} pool "
            f"thread(s): p50 {q(busy, 50):.2f} ms, p99 {q(busy, 99):.2f} ms, max {max(busy):.2f} ms over "
            f"{len(busy)} probes; idle p50 {q(idle, 50):.2f}, p99 {q(idle, 99):.2f}, max {max(idle):.2f} ms"
        )

    if env:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS")}
        print("--- the comparison again with OPENBLAS_* unset (this command only):", flush=True)
        subprocess.run([sys.executable, __file__, "--child", "--quick"], env=clean, check=False)


if __name__ == "__main__":
    main()
