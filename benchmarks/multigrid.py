"""The multigrid solve at the floor: ``mg-pcg`` to 1e-8, its smoothers, precision and scale.

Measures, in one run (every variant once per round, rounds interleaved, medians
reported; the machine is shared, so single timings are noisy):

* ``mg-pcg`` at 1023^2 on ``varcoef2d`` (contrast 19) and ``randcoef2d``
  (contrast 100) to ``rtol = 1e-8``, for every smoother of the cycle
  (:data:`solvers.multigrid.cycle.SMOOTHERS`), sweeps, and float32 cycles:
  set-up and solver seconds, CG iterations, the final relative residual
  (float64, the true residual). The fastest variant is the methods' default
  smoother (``solvers.multigrid.solver.DEFAULT_SMOOTHER``);
* PyAMG (Ruge-Stuben, set-up + solve to the same tolerance) in the same run;
* the cycle's cost in work units: one V-cycle (``precondition``) over one
  Jacobi sweep of the fine grid;
* the smoothers' smoothing factors: by local Fourier analysis (constant
  coefficients, 2D Poisson) and measured (the high-frequency error's
  reduction per sweep on a 255^2 Poisson grid, geometric mean of 4 sweeps);
* batched right-hand sides: 8 at once (the loop and the interleaved one-pass
  path) against 8 one by one, both cases (``--batch``; alone: ``--only-batch``);
* ``--large``: 4095^2 (16.8 M unknowns) ``mg-pcg`` to 1e-8, its time against
  1023^2 and its peak memory (tracemalloc and the process's peak RSS).

The timed solves are ``Multigrid.solve`` (``mg-pcg``'s CG and cycle without
the recorder's error history: building it needs a direct reference solve,
7-10 s at 1023^2, impossible at 4095^2); CG's own residual test is unchanged
and the final true residual is reported.

Run: ``.venv/bin/python benchmarks/multigrid.py`` (a few minutes; ``--quick``
is a smoke test at 255^2). Writes ``benchmarks/results/multigrid.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numba
import numpy as np
import scipy.fft

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import problems
from solvers.multigrid import Multigrid
from solvers.relaxation import relax

RESULTS = Path(__file__).resolve().parent / "results"
RTOL = 1e-8
CASES = [("varcoef2d", {"contrast": 19.0}), ("randcoef2d", {"contrast": 100.0})]
#: (label, Multigrid options)
VARIANTS = [
    ("gauss-seidel x2", {"smoother": "gauss-seidel", "sweeps": 2}),
    ("gauss-seidel x1", {"smoother": "gauss-seidel", "sweeps": 1}),
    ("gauss-seidel x2 float32", {"smoother": "gauss-seidel", "sweeps": 2, "precision": "float32"}),
    ("red-black x1", {"smoother": "red-black", "sweeps": 1}),
    ("red-black x2", {"smoother": "red-black", "sweeps": 2}),
    ("chebyshev 2", {"smoother": "chebyshev", "sweeps": 2}),
    ("chebyshev 3", {"smoother": "chebyshev", "sweeps": 3}),
    ("l1-jacobi x2", {"smoother": "l1-jacobi", "sweeps": 2}),
    ("red-black x1 float32", {"smoother": "red-black", "sweeps": 1, "precision": "float32"}),
    ("chebyshev 2 float32", {"smoother": "chebyshev", "sweeps": 2, "precision": "float32"}),
]
TARGETS = {"mg_pcg_seconds": 0.12, "vs_pyamg": 12.0, "large_vs_1023": 20.0, "batch_speedup": 2.0}


def mg_pcg(p, options) -> dict:
    """Set up and solve; seconds of each, iterations, the final true relative residual."""
    op = p.operator.uncached()
    t0 = time.perf_counter()
    mg = Multigrid(op, **options)
    setup = time.perf_counter() - t0 - mg.warm_seconds
    t1 = time.perf_counter()
    u, info = mg.solve(p.f, rtol=RTOL)  # mg-pcg's CG and cycle, no history
    solve = time.perf_counter() - t1
    (it,), (converged,) = info["iterations"], info["converged"]
    return {
        "setup": setup,
        "solve": solve,
        "total": setup + solve,
        "iterations": it,
        "converged": bool(converged),
        "residual": float(p.relative_residual(u)),
    }


def pyamg_solve(p) -> dict:
    import pyamg

    A, b = p.matrix().tocsr(), p.f.ravel()
    t0 = time.perf_counter()
    ml = pyamg.ruge_stuben_solver(A)
    setup = time.perf_counter() - t0
    res = []
    x = ml.solve(b, tol=RTOL, maxiter=200, residuals=res)
    total = time.perf_counter() - t0
    return {
        "setup": setup,
        "total": total,
        "iterations": len(res) - 1,
        "residual": float(np.linalg.norm(b - A @ x) / np.linalg.norm(b)),
    }


def median(rows, key):
    return float(np.median([r[key] for r in rows]))


def measure_cases(n: int, rounds: int, with_pyamg: bool) -> dict:
    out = {}
    for name, params in CASES:
        p = problems.get(name, n=n, **params)
        for _, options in VARIANTS:  # compile and load everything before the clocks
            mg_pcg(p, options)
        runs = {label: [] for label, _ in VARIANTS}
        amg = []
        for _ in range(rounds):
            for label, options in VARIANTS:
                runs[label].append(mg_pcg(p, options))
            if with_pyamg:
                amg.append(pyamg_solve(p))
        case = {}
        for label, rows in runs.items():
            case[label] = {
                key: median(rows, key) for key in ("setup", "solve", "total", "residual")
            } | {"iterations": rows[0]["iterations"], "solve_all": [r["solve"] for r in rows]}
        best = min(
            (lbl for lbl in case if "float32" not in lbl), key=lambda lbl: case[lbl]["solve"]
        )
        entry = {"variants": case, "fastest_float64": best}
        if amg:
            entry["pyamg"] = {key: median(amg, key) for key in ("setup", "total", "residual")}
            entry["pyamg"]["iterations"] = amg[0]["iterations"]
            entry["vs_pyamg"] = {lbl: entry["pyamg"]["total"] / case[lbl]["total"] for lbl in case}
        out[f"{name} {params}"] = entry
        print(f"{name} {params} n={n}: fastest float64 {best}", flush=True)
        for lbl, v in case.items():
            extra = f"  vs PyAMG {entry['vs_pyamg'][lbl]:.1f}x" if amg else ""
            print(
                f"  {lbl:22s} setup {v['setup']:.3f} s  solve {v['solve']:.3f} s"
                f"  its {v['iterations']:2d}  res {v['residual']:.1e}{extra}",
                flush=True,
            )
        if amg:
            print(f"  pyamg RS total {entry['pyamg']['total']:.3f} s", flush=True)
    return out


def work_units(n: int, rounds: int) -> dict:
    """One V-cycle over one Jacobi sweep of the fine grid (medians of interleaved runs)."""
    p = problems.get("randcoef2d", n=n, contrast=100.0)
    u = np.zeros(p.shape)
    mgs = {lbl: Multigrid(p.operator, **o) for lbl, o in VARIANTS}
    z = np.empty(p.shape)
    times = {"jacobi sweep": []} | {lbl: [] for lbl in mgs}
    r = p.residual(u)
    for _ in range(rounds):
        t0 = time.perf_counter()
        relax(p, u, "jacobi", 1)
        times["jacobi sweep"].append(time.perf_counter() - t0)
        for lbl, mg in mgs.items():
            t0 = time.perf_counter()
            mg.precondition(r, z)
            times[lbl].append(time.perf_counter() - t0)
    jac = float(np.median(times["jacobi sweep"]))
    out = {"jacobi_sweep_seconds": jac}
    for lbl in mgs:
        cyc = float(np.median(times[lbl]))
        out[lbl] = {"cycle_seconds": cyc, "work_units": cyc / jac}
        print(f"  V-cycle {lbl:22s} {cyc * 1e3:6.1f} ms = {cyc / jac:5.1f} Jacobi sweeps")
    return out


def lfa_smoothing_factors(m: int = 256) -> dict:
    r"""Smoothing factors by local Fourier analysis, 2D Poisson, constant coefficients.

    ``max`` over the high frequencies (``max |theta_d| >= pi/2``) of the
    amplification symbol of one sweep: weighted Jacobi
    ``1 - omega (1 - (cos t1 + cos t2)/2)``; lexicographic Gauss-Seidel
    ``|e^{i t1} + e^{i t2}| / |4 - e^{-i t1} - e^{-i t2}|``; l1-Jacobi (interior)
    is Jacobi with ``omega = 1/2``; Chebyshev of degree ``k`` on ``[1/2, 2]`` (the
    high-frequency range of the Jacobi symbol) ``1 / T_k(5/3)`` per polynomial,
    its ``k``-th root per step. Red-black: 1/4 per sweep (Trottenberg et al.,
    *Multigrid*, 2001, Sec. 4.5; its two-colour analysis is not a one-symbol max).
    """
    t = np.linspace(-np.pi, np.pi, m, endpoint=False)
    t1, t2 = np.meshgrid(t, t, indexing="ij")
    high = np.maximum(abs(t1), abs(t2)) >= np.pi / 2
    lam = 1 - (np.cos(t1) + np.cos(t2)) / 2
    gs = abs(np.exp(1j * t1) + np.exp(1j * t2)) / abs(4 - np.exp(-1j * t1) - np.exp(-1j * t2))
    out = {
        "weighted-jacobi 4/5": float(abs(1 - 0.8 * lam)[high].max()),
        "l1-jacobi": float(abs(1 - 0.5 * lam)[high].max()),
        "gauss-seidel": float(gs[high].max()),
        "red-black": 0.25,
    }
    for k in (2, 3, 4):
        x = 5.0 / 3.0
        out[f"chebyshev {k} (per step)"] = float((1.0 / math.cosh(k * math.acosh(x))) ** (1 / k))
    return out


def measured_smoothing_factors(n: int = 255, sweeps: int = 4) -> dict:
    """Reduction per sweep of the high-frequency error (sine modes with ``max k > n/2``)."""
    p = problems.get("modes2d", n=n)
    op, zero = p.operator, np.zeros(p.shape)
    k = np.arange(1, n + 1)
    high = np.maximum(k[:, None], k[None, :]) > n / 2

    def high_norm(e):
        return float(np.linalg.norm(scipy.fft.dstn(e, type=1)[high]))

    out = {}
    variants = [
        ("weighted-jacobi 4/5", "weighted-jacobi", {}, 1),
        ("l1-jacobi", "l1-jacobi", {}, 1),
        ("gauss-seidel", "gauss-seidel", {}, 1),
        ("red-black", "red-black", {}, 1),
    ] + [(f"chebyshev {d} (per step)", "chebyshev", {}, d) for d in (2, 3, 4)]
    for label, method, options, degree in variants:
        e = np.random.default_rng(0).standard_normal(p.shape)
        relax(op, e, method, degree, rhs=zero, **options)  # a first sweep: past transients
        before = high_norm(e)
        for _ in range(sweeps):
            relax(op, e, method, degree, rhs=zero, **options)
        out[label] = (high_norm(e) / before) ** (1.0 / (sweeps * degree))
    return out


def smoother_costs(n: int, rounds: int) -> dict:
    """Seconds per sweep (Chebyshev: per step) over Jacobi's, constant and variable.

    ``chebyshev 2`` is the cycle's default (degree 2, one pass over the grid for
    both steps); ``chebyshev 4`` runs its steps one pass each.
    """
    out = {}
    for label, params in (("constant", None), ("variable", {"contrast": 19.0})):
        p = problems.get("modes2d", n=n) if params is None else problems.get("varcoef2d", n=n)
        u = np.zeros(p.shape)
        kinds = [  # (label, method, sweeps or degree)
            ("jacobi", "jacobi", 4),
            ("gauss-seidel", "gauss-seidel", 4),
            ("red-black", "red-black", 4),
            ("l1-jacobi", "l1-jacobi", 4),
            ("chebyshev 2", "chebyshev", 2),
            ("chebyshev 4", "chebyshev", 4),
        ]
        for _, m, s in kinds:
            relax(p, u, m, s)
        times = {k: [] for k, _, _ in kinds}
        for _ in range(rounds):
            for k, m, s in kinds:
                t0 = time.perf_counter()
                relax(p, u, m, s)
                times[k].append((time.perf_counter() - t0) / s)
        jac = float(np.median(times["jacobi"]))
        out[label] = {k: jac / float(np.median(t)) for k, t in times.items()}
        print(f"  points/s vs Jacobi ({label}):", {k: round(v, 2) for k, v in out[label].items()})
    return out


def _batch_variants(op, F, warm) -> dict:
    return {
        "one_by_one": lambda: [Multigrid(op.uncached()).solve(f, rtol=RTOL) for f in F],
        "loop": lambda: Multigrid(op.uncached()).solve(F, rtol=RTOL),
        "interleaved": lambda: Multigrid(op.uncached()).solve(F, rtol=RTOL, batched=True),
        "loop_solve": lambda: warm.solve(F, rtol=RTOL),
        "interleaved_solve": lambda: warm.solve(F, rtol=RTOL, batched=True),
    }


def batch(n: int, m: int, rounds: int) -> dict:
    """``m`` right-hand sides with the default cycle, per case of :data:`CASES`, three ways.

    * ``one_by_one``: ``m`` times a :class:`Multigrid` set-up and a solve (the
      issue's baseline);
    * ``loop``: one set-up, ``Multigrid.solve(F)`` (the right-hand sides one
      after another, the set-up and buffers shared);
    * ``interleaved``: one set-up, ``Multigrid.solve(F, batched=True)`` (one pass
      for all, :mod:`solvers.multigrid.batch`; its buffers are allocated in the
      call).

    Also the solves alone on a warm :class:`Multigrid` (set-up and buffers
    reused): ``loop_solve`` and ``interleaved_solve``. Every variant once per
    round, rounds interleaved, medians; speed-ups are per right-hand side
    against ``one_by_one`` (and ``interleaved_solve`` against ``loop_solve``).
    """
    out = {"m": m, "n": n, "rounds": rounds}
    for name, params in CASES:
        p = problems.get(name, n=n, **params)
        F = np.random.default_rng(1).standard_normal((m, *p.shape))
        warm = Multigrid(p.operator)
        warm.solve(F, rtol=RTOL)  # compile, and the warm buffers
        warm.solve(F, rtol=RTOL, batched=True)
        variants = _batch_variants(p.operator, F, warm)
        times = {key: [] for key in variants}
        for _ in range(rounds):
            for key, run in variants.items():
                t0 = time.perf_counter()
                run()
                times[key].append(time.perf_counter() - t0)
        med = {key: float(np.median(t)) for key, t in times.items()}
        U, info = warm.solve(F, rtol=RTOL, batched=True)
        alone = [warm.solve(f, rtol=RTOL)[0] for f in F]
        diff = max(
            float(np.linalg.norm(u - a) / np.linalg.norm(a)) for u, a in zip(U, alone, strict=True)
        )
        row = {
            "seconds": med,
            "ms_per_rhs": {key: 1e3 * t / m for key, t in med.items()},
            "speedup_loop": med["one_by_one"] / med["loop"],
            "speedup_interleaved": med["one_by_one"] / med["interleaved"],
            "speedup_interleaved_solve_vs_loop_solve": med["loop_solve"] / med["interleaved_solve"],
            "iterations": info["iterations"],
            "max_relative_difference_to_one_by_one": diff,
        }
        out[name] = row
        per = ", ".join(f"{k} {v:.1f}" for k, v in row["ms_per_rhs"].items())
        print(
            f"  batch of {m}, {name} {n}^2 (ms per rhs): {per}; interleaved"
            f" {row['speedup_interleaved']:.2f}x, loop {row['speedup_loop']:.2f}x of one by one;"
            f" solve alone interleaved/loop {row['speedup_interleaved_solve_vs_loop_solve']:.2f}x;"
            f" max diff {diff:.1e}",
            flush=True,
        )
    return out


def large(n_small: int, n_large: int, options: dict, rounds=(9, 3)) -> dict:
    """``mg-pcg`` on ``randcoef2d`` at ``n_small`` and ``n_large``: a first run (it also
    takes fresh memory from the system; reported apart), then ``rounds`` timed runs
    each (medians; the small case's single runs scatter by 30%, so it gets more),
    the same number of solves on one warm ``Multigrid`` (the solve's own scaling,
    without first-touch costs), and one more run under tracemalloc for the memory."""
    out = {}
    # kernels compiled (or loaded from numba's cache) once per process, off both clocks
    mg_pcg(problems.get("randcoef2d", n=63, contrast=100.0), options)
    for n, count in zip((n_small, n_large), rounds, strict=True):
        p = problems.get("randcoef2d", n=n, contrast=100.0)
        first = mg_pcg(p, options)
        runs = [mg_pcg(p, options) for _ in range(count)]
        # the same solve on one warm Multigrid: its buffers, plans and the memory
        # under them reused (no first-touch page faults)
        mg = Multigrid(p.operator.uncached(), **options)
        mg.solve(p.f, rtol=RTOL)
        warm = []
        for _ in range(count):
            t0 = time.perf_counter()
            mg.solve(p.f, rtol=RTOL)
            warm.append(time.perf_counter() - t0)
        del mg
        tracemalloc.start()
        mg_pcg(p, options)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux: KiB)
        med = {key: median(runs, key) for key in ("setup", "solve", "total")}
        out[n] = {
            **runs[-1],
            **med,
            "warm_solve": float(np.median(warm)),
            "first_run": first,
            "rounds": count,
            "tracemalloc_peak_mib": peak / 2**20,
            "peak_rss_mib": rss,
        }
        print(
            f"  {n}^2 (median of {count}): setup {med['setup']:.3f} s solve {med['solve']:.3f} s"
            f" its {runs[-1]['iterations']} res {runs[-1]['residual']:.1e}; warm solve"
            f" {np.median(warm):.3f} s; first run {first['total']:.3f} s;"
            f" tracemalloc peak {peak / 2**20:.0f} MiB,"
            f" process peak RSS {rss:.0f} MiB",
            flush=True,
        )
        del p
    out["ratio"] = out[n_large]["total"] / out[n_small]["total"]
    out["solve_ratio"] = out[n_large]["solve"] / out[n_small]["solve"]
    out["first_run_ratio"] = out[n_large]["first_run"]["total"] / out[n_small]["first_run"]["total"]
    out["warm_solve_ratio"] = out[n_large]["warm_solve"] / out[n_small]["warm_solve"]
    print(
        f"  {n_large}^2 / {n_small}^2 time (medians): {out['ratio']:.1f}x"
        f" (solve only {out['solve_ratio']:.1f}x; first runs {out['first_run_ratio']:.1f}x;"
        f" solves on a warm Multigrid {out['warm_solve_ratio']:.1f}x)"
    )
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test at 255^2")
    parser.add_argument("--large", action="store_true", help="also 4095^2 (about 3 GiB)")
    parser.add_argument("--batch", action="store_true", help="also 8 right-hand sides at once")
    parser.add_argument("--only-large", action="store_true", help="just the 4095^2 comparison")
    parser.add_argument(
        "--only-batch", action="store_true", help="just the batches (multigrid-batch.json)"
    )
    parser.add_argument("--m", type=int, default=8, help="right-hand sides per batch")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    n = 255 if args.quick else 1023
    rounds = 2 if args.quick else args.rounds
    result = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "numba_threads": numba.get_num_threads(),
            "load_average": os.getloadavg(),
        },
        "n": n,
        "rtol": RTOL,
        "targets": TARGETS,
    }
    if args.only_large:
        result["large"] = large(n, 4 * n + 3, {})
        out = RESULTS / "multigrid-large.json"
        out.write_text(json.dumps(result, indent=1, default=float) + "\n")
        print("wrote", out)
        return result
    if args.only_batch:
        result["batch"] = batch(n, args.m, args.rounds)
        out = RESULTS / ("multigrid-batch-quick.json" if args.quick else "multigrid-batch.json")
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=1, default=float) + "\n")
        print("wrote", out)
        return result
    print("smoothing factors (LFA):", lfa_smoothing_factors())
    result["lfa_smoothing_factors"] = lfa_smoothing_factors()
    result["measured_smoothing_factors"] = measured_smoothing_factors(63 if args.quick else 255)
    print("smoothing factors (measured):", result["measured_smoothing_factors"])
    result["smoother_cost_vs_jacobi"] = smoother_costs(n, 3 if args.quick else 7)
    result["cases"] = measure_cases(n, rounds, with_pyamg=True)
    print("work units at", n)
    result["work_units"] = work_units(n, 3 if args.quick else 9)
    if args.batch:
        result["batch"] = batch(n, args.m, 1 if args.quick else 3)
    if args.large:
        result["large"] = large(n, 4 * n + 3, {})
    out = RESULTS / ("multigrid-quick.json" if args.quick else "multigrid.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float) + "\n")
    print("wrote", out)
    return result


if __name__ == "__main__":
    main()
