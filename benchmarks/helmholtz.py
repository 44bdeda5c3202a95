"""Indefinite Helmholtz: every method to a relative residual of 1e-8, in one run.

Cases: ``helmholtz1d`` (f = 1) at n = 1023 and 4095, ``helmholtz2d`` (f = 1) at
255^2 and 1023^2 with k up to 160 (10 or more points per wavelength), and the
heterogeneous ``wave1d`` / ``wave2d`` media. Wavenumbers are nudged off the
round values so that the resonance guard accepts them (their relative gap is
reported). Methods: damped Jacobi (to show the divergence), ``minres``,
``gmres``, ``mg-gmres``, ``sl-gmres``, ``direct`` (SuperLU), ``dst`` (the
sine transform diagonalises a constant-``k`` operator: the exact solve in
``O(N log N)``, the true floor there; not applicable to the wave media), and the neural hybrid
``neural-fgmres`` with its ablation ``coarse="direct"`` (the learned space
replaced by an LU on the same coarsest grid), each under a time cap.

Reported: iterations, seconds (solver clock: set-up and training included,
history measurements excluded), whether it converged or why not (divergence,
stagnation, cap), the growth of iterations with k, a markdown table and a
figure (iterations and seconds against k per method, 2D 1023^2 and 1D 4095).

Run: ``.venv/bin/python benchmarks/helmholtz.py`` (about 15 minutes on two
busy cores; ``--quick`` runs small cases in about a minute as a smoke test).
BLAS is limited to one thread: on the shared two-core machine a multithreaded
OpenBLAS ``vdot`` of 16k entries took 0.3 ms against 3 us single-threaded,
which made SciPy's MINRES 50x slower.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

# This folder holds a file named like the package `hybrid`: keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import hybrid  # noqa: E402
import problems  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
RTOL = 1e-8

# (label, method, options)
METHODS = [
    ("jacobi", "weighted-jacobi", {}),
    ("minres", "minres", {}),
    ("gmres", "gmres", {}),
    ("mg-gmres", "mg-gmres", {}),
    ("sl-gmres", "sl-gmres", {}),
    ("direct", "direct", {}),
    ("dst", "dst", {}),  # the exact fast sine-transform solve: constant k only
    ("neural-fgmres", "neural-fgmres", {}),
    # the classical counterpart of the learned space, alone (no hand-over to mg-gmres's cycle)
    ("ablation: LU coarse", "neural-fgmres", {"coarse": "direct", "slow_window": 0}),
]

# (problem, n, params, cap seconds per method, methods skipped)
FULL = [
    *[("helmholtz1d", 1023, {"k": k, "rhs": "constant"}, 10, ()) for k in (20.3, 50.3, 100.3)],
    *[
        ("helmholtz1d", 4095, {"k": k, "rhs": "constant"}, 10, ())
        for k in (20.3, 50.3, 100.3, 200.3)
    ],
    *[("wave1d", 1023, {"k0": k}, 10, ()) for k in (20.0, 50.0)],
    *[("helmholtz2d", 255, {"k": k, "rhs": "constant"}, 20, ()) for k in (10.3, 20.3, 40.3)],
    ("wave2d", 255, {"k0": 20.0}, 20, ()),
    *[
        ("helmholtz2d", 1023, {"k": k, "rhs": "constant"}, 20, ("gmres",))
        for k in (40.3, 80.3, 160.3)
    ],
    ("wave2d", 1023, {"k0": 40.0}, 20, ("gmres", "minres")),
]
QUICK = [
    ("helmholtz1d", 255, {"k": 20.3, "rhs": "constant"}, 3, ()),
    ("helmholtz2d", 63, {"k": 10.3, "rhs": "constant"}, 3, ()),
]


def run_case(name, n, params, cap, skip):
    p = problems.get(name, n=n, **params)
    p.reference()  # cached: the histories' errors, off every clock
    k = p.wavenumber
    rows = []
    for label, method, options in METHODS:
        if label in skip:
            continue
        if method == "dst" and not p.is_constant_coefficient:
            rows.append({"method": label, "error": "variable k", "not_applicable": True})
            continue
        # relaxation diverges slowly; a short run shows it
        budget = (
            {"max_seconds": min(cap, 5)} if method == "weighted-jacobi" else {"max_seconds": cap}
        )
        t0 = time.perf_counter()
        try:
            r = hybrid.solve(p, method, rtol=RTOL, **budget, **options)
        except ValueError as err:  # e.g. refused
            rows.append({"method": label, "error": str(err)})
            continue
        wall = time.perf_counter() - t0
        res = r.history.relative_residual
        row = {
            "method": label,
            "converged": bool(r.converged),
            "iterations": int(r.iterations),
            "seconds": float(r.seconds),
            "wall": wall,
            "relative_residual": float(r.relative_residual),
            "relative_error": float(r.relative_error),
            "residual_growth": float(np.nanmax(res) / res[0]) if len(res) else None,
            "message": r.message,
            "coarsest": r.info.get("coarsest_shape"),
            "basis_size": r.info.get("basis_size"),
            "seconds_dnn": r.info.get("seconds_dnn"),
            "handover_iteration": r.info.get("handover_iteration"),
        }
        rows.append(row)
        state = "ok" if r.converged else "NOT converged"
        print(
            f"  {label:22s} {state:13s} its {r.iterations:7d}  {r.seconds:8.2f} s"
            f"  res {row['relative_residual']:.1e}  {r.message[:70]}",
            flush=True,
        )
    return {
        "problem": name,
        "n": n,
        "dim": p.dim,
        "params": params,
        "k": k,
        "points_per_wavelength": p.points_per_wavelength,
        "resonance_gap": p.resonance_gap,
        "cap_seconds": cap,
        "rows": rows,
    }


def cell(row):
    if row.get("not_applicable"):
        return "n/a"
    if "error" in row:
        return "refused"
    if row["converged"]:
        handover = row.get("handover_iteration")
        after = f" (mg-gmres after {handover})" if handover is not None else ""
        return f"{row['iterations']} / {row['seconds']:.2f}{after}"
    why = row["message"].split(":")[0]
    if row["residual_growth"] and row["residual_growth"] > 10:
        why = f"diverged (x{row['residual_growth']:.0e})"
    return f"{why} ({row['iterations']} its, res {row['relative_residual']:.0e})"


def table_rows(cases) -> list[dict]:
    """One flat row per case, a cell per method: the table of :func:`markdown`, as data."""
    labels = [m[0] for m in METHODS]
    rows = []
    for c in cases:
        by = {r["method"]: r for r in c["rows"]}
        size = f"{c['n']}" if c["dim"] == 1 else f"{c['n']}^2"
        gap = "-" if c["resonance_gap"] is None else f"{c['resonance_gap']:.1e}"
        rows.append(
            {
                "case": f"{c['problem']} {size}",
                "k": f"{c['k']:.1f}",
                "ppw": round(c["points_per_wavelength"]),
                "gap": gap,
                **{m: cell(by[m]) if m in by else "skipped" for m in labels},
            }
        )
    return rows


def markdown(cases):
    rows = table_rows(cases)
    columns = list(rows[0])
    lines = [
        "Iterations / seconds to a relative residual of 1e-8 (solver clock, set-up and"
        " training included); otherwise why not.",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def figure(cases, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [
        ("helmholtz2d", 1023, "2D 1023^2, f = 1"),
        ("helmholtz1d", 4095, "1D n = 4095, f = 1"),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), constrained_layout=True)
    for col, (name, n, title) in enumerate(groups):
        sel = [c for c in cases if c["problem"] == name and c["n"] == n]
        if not sel:
            continue
        for i, (label, _, _) in enumerate(METHODS):
            colour = plt.cm.tab10(i)  # one colour per method in every panel
            ks, its, secs, ok, handed = [], [], [], [], []
            for c in sel:
                row = next(
                    (r for r in c["rows"] if r["method"] == label and "error" not in r), None
                )
                if row is None:
                    continue
                ks.append(c["k"])
                its.append(row["iterations"])
                secs.append(row["seconds"])
                ok.append(row["converged"] and row.get("handover_iteration") is None)
                handed.append(row["converged"] and row.get("handover_iteration") is not None)
            if not ks:
                continue
            for ax, ys in ((axes[0, col], its), (axes[1, col], secs)):
                ax.plot(ks, ys, "-", label=label, color=colour)
                ax.plot(
                    [k for k, o in zip(ks, ok, strict=True) if o],
                    [y for y, o in zip(ys, ok, strict=True) if o],
                    "o",
                    color=colour,
                )
                ax.plot(
                    [k for k, h in zip(ks, handed, strict=True) if h],
                    [y for y, h in zip(ys, handed, strict=True) if h],
                    "s",
                    color=colour,
                    markerfacecolor="none",
                    markersize=8,
                )
                failed = [not (o or h) for o, h in zip(ok, handed, strict=True)]
                ax.plot(
                    [k for k, f in zip(ks, failed, strict=True) if f],
                    [y for y, f in zip(ys, failed, strict=True) if f],
                    "x",
                    color=colour,
                    markersize=9,
                )
        key = "x: did not converge; open square: after the hand-over to mg-gmres"
        axes[0, col].set_title(f"{title}: iterations\n({key})", fontsize=10)
        axes[1, col].set_title(f"{title}: seconds\n({key})", fontsize=10)
        for ax in axes[:, col]:
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("wavenumber k")
            ax.grid(True, which="both", alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    axes[0, 1].legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small cases only (smoke test)")
    ap.add_argument("--out", default=str(RESULTS), help="folder for helmholtz.{json,md,png}")
    ap.add_argument("--replot", action="store_true", help="redraw md and png from the json")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.replot:
        cases = json.loads((out / "helmholtz.json").read_text())["_cases"]
        (out / "helmholtz.md").write_text(markdown(cases))
        figure(cases, out / "helmholtz.png")
        return
    cases = []
    t0 = time.perf_counter()
    for name, n, params, cap, skip in QUICK if args.quick else FULL:
        print(f"{name} n={n} {params}", flush=True)
        cases.append(run_case(name, n, params, cap, skip))
    doc = {
        "rtol": RTOL,
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "total_seconds": time.perf_counter() - t0,
        "rows": table_rows(cases),
        "_cases": cases,
    }
    stem = "helmholtz_quick" if args.quick else "helmholtz"
    (out / f"{stem}.json").write_text(json.dumps(doc, indent=1, default=str))
    (out / f"{stem}.md").write_text(markdown(cases))
    figure(cases, out / f"{stem}.png")
    print(markdown(cases))
    print(f"total {doc['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
