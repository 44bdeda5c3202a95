"""HINTS with the shipped pretrained operators against relaxation, multigrid and PyAMG.

One run measures, to a relative residual of 1e-8 (the anchor's case: 1e-10):

* the anchor's case (HINTS paper, public code): 31-point 1D, ``a = 1.5 - x``,
  ``f = 1``; damped Jacobi (``omega = 2/3``) to 1e-3, HINTS with ``n_r = 25``
  to 1e-6 and 1e-10 (target: at most 150 iterations to 1e-10);
* real sizes: 1D ``varcoef1d`` n = 1023, 2D ``randcoef2d`` 255^2 and 1023^2,
  with coefficients from the training distribution but not seen in training
  (other seeds, phases), and out of distribution (contrast 100 = 10x the
  training range; 1.5x the wavenumber);
* every method: ``hints`` (single grid, the anchor's scheme), ``hints``
  with ``levels=auto``, ``hints-krylov`` (both), the ablation
  ``hints operator=False`` (= Gauss-Seidel with the same bookkeeping),
  ``jacobi``, ``gauss-seidel``, ``mg-pcg``, ``neural-pcg`` and PyAMG
  (``amg``): iterations, fine-grid sweeps and wall time.

Relaxation that cannot reach 1e-8 within ``relax_seconds`` is extrapolated
from its last half (a straight line of log residual against sweeps) and
marked ``~``. Wall times on this shared 2-core machine vary with its load
(recorded in the JSON).

Run: ``.venv/bin/python benchmarks/operator.py`` (about 15 minutes;
``--quick``: small sizes, a smoke test; ``--helmholtz``: the indefinite
Helmholtz part, :mod:`operator_helmholtz`). Writes
``benchmarks/results/operator.json``, ``operator.md`` and ``operator.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import hybrid  # noqa: E402
import problems  # noqa: E402
from problems.grid import Grid  # noqa: E402
from problems.problem import Problem  # noqa: E402
from problems.random_fields import RandomField  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 1e-8

METHODS = [
    ("hints", "hints", {}),
    ("hints auto", "hints", {"levels": "auto"}),
    ("hints-krylov", "hints-krylov", {}),
    ("hints-krylov auto", "hints-krylov", {"levels": "auto"}),
    ("ablation (no operator)", "hints", {"operator": False}),
    ("jacobi", "jacobi", {}),
    ("gauss-seidel", "gauss-seidel", {}),
    ("mg-pcg", "mg-pcg", {}),
    ("neural-pcg", "neural-pcg", {}),
    ("amg", "amg", {}),
]
RELAX = ("jacobi", "gauss-seidel", "ablation (no operator)")


def randcoef_stretched(n, seed, stretch, contrast=10.0):
    """``randcoef2d`` with its field at ``stretch`` times the coordinates (higher wavenumber)."""
    field = RandomField(seed, alpha=3.0)
    s = np.linspace(0, 1, 129)
    X, Y = np.meshgrid(s, s, indexing="ij")
    v = field(stretch * X, stretch * Y)
    scale, mid = math.log(contrast) / (v.max() - v.min()), (v.max() + v.min()) / 2

    def a(x, y):
        return np.exp(scale * (field(stretch * x, stretch * y) - mid))

    return Problem(
        "randcoef2d-stretched",
        Grid((n, n), (0.0, 0.0), (1.0, 1.0)),
        1.0,
        a=a,
        params={"seed": seed, "stretch": stretch, "contrast": contrast},
    )


def cases(quick):
    n1, n2, n3 = (255, 63, None) if quick else (1023, 255, 1023)
    out = [
        ("1D in-distribution", problems.get("varcoef1d", n=n1, contrast=5.0, wavenumber=3)),
        ("1D OOD contrast 100", problems.get("varcoef1d", n=n1, contrast=100.0, wavenumber=3)),
        ("1D OOD wavenumber 6", problems.get("varcoef1d", n=n1, contrast=5.0, wavenumber=6)),
        ("2D in-distribution", problems.get("randcoef2d", n=n2, contrast=10.0, seed=1000)),
        ("2D OOD contrast 100", problems.get("randcoef2d", n=n2, contrast=100.0, seed=1000)),
        ("2D OOD wavenumber 1.5x", randcoef_stretched(n2, 1000, 1.5)),
    ]
    if n3:
        out.append(("2D in-distribution", problems.get("randcoef2d", n=n3, seed=1000)))
    return out


def extrapolate(r, target=TARGET):
    """``(sweeps, seconds)`` to ``target`` from the last half of the residual history."""
    h = r.history
    it, res, sec = h.iteration, h.relative_residual, h.seconds
    ok = (it > 0) & (res > 0)
    it, res, sec = it[ok], res[ok], sec[ok]
    half = len(it) // 2
    if len(it) - half < 2:
        return math.inf, math.inf
    slope = np.polyfit(it[half:], np.log(res[half:]), 1)[0]
    if slope >= 0:
        return math.inf, math.inf
    sweeps = it[-1] + (math.log(target) - math.log(res[-1])) / slope
    return float(sweeps), float(sweeps * sec[-1] / it[-1])


def run_case(label, p, relax_seconds, curves):
    rows = []
    for name, method, opts in METHODS:
        kw = {"max_seconds": relax_seconds} if name in RELAX else {}
        if name in ("hints", "hints-krylov"):  # the single-grid schemes stall on big grids
            kw = {"max_seconds": 6 * relax_seconds}
        try:
            r = hybrid.solve(p, method, rtol=TARGET, **kw, **opts)
        except Exception as err:  # report, do not stop the run
            rows.append({"case": label, "n": p.shape[0], "method": name, "error": str(err)})
            continue
        sweeps = r.info.get("sweeps", r.iterations)
        row = {
            "case": label,
            "n": p.shape[0],
            "method": name,
            "converged": r.converged,
            "iterations": r.iterations,
            "sweeps": int(sweeps),
            "seconds": round(r.seconds, 3),
        }
        if "operator_steps" in r.info:
            row["operator_steps"] = r.info["operator_steps"]
            row["operator_s"] = round(r.info["seconds_operator"], 3)
            row["stalled"] = r.info["stalled"]
        if not r.converged and name in RELAX:
            s, t = extrapolate(r)
            row["sweeps"] = f"~{s:.3g}"
            row["seconds"] = f"~{t:.3g}"
            row["sweeps_value"] = s
        rows.append(row)
        # one x-axis for every method: fine-grid smoothing sweeps (a method's iterations
        # times its sweeps per iteration: 1 for relaxation, 2 x sweeps per V-cycle, ...)
        per_iteration = float(sweeps) / max(r.iterations, 1)
        curves.setdefault(label + f" n={p.shape[0]}", {})[name] = (
            (r.history.iteration * per_iteration).tolist(),
            r.history.seconds.tolist(),
            r.history.relative_residual.tolist(),
        )
        print(json.dumps(row), flush=True)
    # the ratios: sweeps of Gauss-Seidel / sweeps of hints; wall time / mg-pcg
    by = {r["method"]: r for r in rows if "error" not in r}
    gs = by.get("gauss-seidel", {})
    gs_sweeps = gs.get("sweeps_value", gs.get("sweeps"))
    for r in rows:
        if r["method"].startswith("hints") and r.get("converged"):
            if isinstance(gs_sweeps, int | float):
                r["gs_sweeps_ratio"] = round(gs_sweeps / max(r["sweeps"], 1), 1)
            if "mg-pcg" in by:
                r["vs_mg_pcg_time"] = round(r["seconds"] / by["mg-pcg"]["seconds"], 2)
    return rows


def anchor():
    """The HINTS paper's case with its public code's settings."""
    p = Problem("anchor", Grid((31,), (0.0,), (1.0,)), 1.0, a=lambda x: 1.5 - x)
    out = []
    r = hybrid.solve(p, "weighted-jacobi", rtol=1e-3, omega=2 / 3)
    out.append({"method": "damped jacobi (omega 2/3)", "to": 1e-3, "iterations": r.iterations})
    for smoother in ("jacobi", "gauss-seidel"):
        for rtol in (1e-6, 1e-10):
            r = hybrid.solve(p, "hints", rtol=rtol, n_r=25, smoother=smoother, fallback="none")
            out.append(
                {
                    "method": f"hints n_r=25 ({smoother})",
                    "to": rtol,
                    "iterations": r.iterations,
                    "operator_steps": r.info["operator_steps"],
                    "converged": r.converged,
                }
            )
    return out


def figure(curves, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in curves if "in-distribution" in k]
    fig, axes = plt.subplots(2, len(keys), figsize=(5 * len(keys), 8), squeeze=False)
    for j, key in enumerate(keys):
        for name, (sweeps, sec, res) in curves[key].items():
            if name in ("neural-pcg", "amg"):
                continue
            style = "-" if name.startswith("hints") else "--"
            axes[0, j].semilogy(sweeps, res, style, label=name)
            axes[1, j].semilogy(sec, res, style, label=name)
        axes[0, j].set_title(key)
        axes[0, j].set_xscale("symlog", linthresh=10)
        axes[0, j].set_xlabel("fine-grid smoothing sweeps")
        axes[1, j].set_xlabel("seconds")
        axes[1, j].set_xscale("log")
        for ax in axes[:, j]:
            ax.axhline(TARGET, color="grey", lw=0.5)
            ax.set_ylabel("relative residual")
            ax.set_ylim(1e-11, 10)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def markdown(anchor_rows, rows):
    lines = ["| anchor (31-pt 1D, a = 1.5 - x, f = 1) | to | iterations | operator steps |"]
    lines.append("|---|---|---|---|")
    for r in anchor_rows:
        lines.append(
            f"| {r['method']} | {r['to']:.0e} | {r['iterations']} | {r.get('operator_steps', '')} |"
        )
    lines += [
        "",
        "| case | n | method | iterations | sweeps | seconds | operator steps | GS sweeps /"
        " sweeps | time / mg-pcg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['case']} | {r['n']} | {r['method']} | error: {r['error']} |")
            continue
        conv = "" if r["converged"] or str(r["sweeps"]).startswith("~") else " (not conv.)"
        lines.append(
            f"| {r['case']} | {r['n']} | {r['method']} | {r['iterations']}{conv} | {r['sweeps']} |"
            f" {r['seconds']} | {r.get('operator_steps', '')} | {r.get('gs_sweeps_ratio', '')} |"
            f" {r.get('vs_mg_pcg_time', '')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; a smoke test")
    parser.add_argument(
        "--helmholtz",
        action="store_true",
        help="the indefinite Helmholtz part instead (benchmarks/operator_helmholtz.py)",
    )
    args = parser.parse_args(argv)
    if args.helmholtz:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import operator_helmholtz

        return operator_helmholtz.main(["--quick"] if args.quick else [])
    relax_seconds = 2.0 if args.quick else 10.0
    # warm up: torch's import, the models' loading, numba's first calls
    for name in ("varcoef1d", "randcoef2d"):
        p = problems.get(name, n=31)
        for _, method, opts in METHODS:
            hybrid.solve(p, method, rtol=1e-6, maxiter=20, **opts)
    t0 = time.perf_counter()
    anchor_rows = anchor()
    for r in anchor_rows:
        print(json.dumps(r), flush=True)
    rows, curves = [], {}
    for label, p in cases(args.quick):
        rows += run_case(label, p, relax_seconds, curves)
    table = markdown(anchor_rows, rows)
    print(table)
    suffix = "-quick" if args.quick else ""
    RESULTS.mkdir(exist_ok=True)
    meta = {
        "machine": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_average": os.getloadavg()[0],
        "target": TARGET,
        "seconds": round(time.perf_counter() - t0),
        "quick": args.quick,
    }
    (RESULTS / f"operator{suffix}.json").write_text(
        json.dumps({"meta": meta, "anchor": anchor_rows, "rows": rows}, indent=1)
    )
    (RESULTS / f"operator{suffix}.md").write_text(table)
    figure(curves, RESULTS / f"operator{suffix}.png")


if __name__ == "__main__":
    main()
