"""HINTS on the indefinite Helmholtz family (``helmholtz1d-wave``) against its peers.

One run (``benchmarks/operator.py --helmholtz`` runs this file) measures, to a
relative residual of 1e-8, on ``wave1d`` (``k = k0 (1 + 0.25 G)``, the
shipped model's family; seeds 3 and 4, unseen in training) and
``helmholtz1d`` (constant ``k``, random ``f``):

* the scaling target: ``k0 = 8, 16, 32`` at a fixed 201 points per (mean)
  wavelength, ``n = 32 k0 - 1`` (255, 511, 1023): fine-grid sweeps to 1e-8
  must not grow more than 2x from ``k0 = 8`` to ``32``;
* out of distribution: ``k0 = 48`` (1.5x the training range ``[8, 32]``),
  ``n = 1535``;
* every method: ``hints`` (single grid, the anchor's scheme, and
  ``levels=auto``), ``hints-krylov`` (FGMRES; both), the ablations
  ``operator=False``, ``jacobi`` (diverges), ``gmres``, ``mg-gmres``,
  ``sl-gmres`` and ``direct``: iterations, fine-grid sweeps, wall seconds,
  and for ``hints`` whether the operator or the fallback finished.

``--dim 2`` runs the 2D part instead (``helmholtz2d-wave``, the shipped 2D
model), on ``wave2d`` (seed 3, unseen in training) and ``helmholtz2d``
(constant ``k`` nudged off resonance, random ``f``) at ``n = 32 k0 - 1``
(255^2, 511^2, 1023^2 for ``k0 = 8, 16, 32``; ``k0 = 48`` at 1535^2 out of
distribution), with ``levels="auto"`` only (the single-grid scheme does not
scale) and the two ablations of the network: ``operator=False`` (no coarse
correction) and ``coarse="direct"`` (the same cycle with an exact LU solve on
the same 31^2 grid in place of the network, the classical counterpart); peers
``mg-gmres``, ``sl-gmres``, ``direct``. Each method is capped at
:data:`CAP_2D` seconds; ``direct`` is not run at 1535^2. Writes
``benchmarks/results/operator_helmholtz2d.{json,md}``.

``hints`` and ``hints-krylov`` run as shipped: on these indefinite problems a
HINTS-preconditioned flexible GMRES that does not cut the residual 10x within
``slow_window`` (60) steps hands over to ``mg-gmres``'s V-cycle, and the cell
names the iteration. The ablations run with ``slow_window=0``: the cycle alone.

Run: ``.venv/bin/python benchmarks/operator_helmholtz.py`` (a few minutes;
``--quick``: a smoke run; ``--dim 2``: ~12 minutes). Writes
``benchmarks/results/operator_helmholtz.{json,md}``.
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

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import hybrid  # noqa: E402
import problems  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 1e-8
CAP = 20.0

#: The ablations measure the cycle itself: no hand-over to mg-gmres's cycle when it is slow.
PURE = {"slow_window": 0}

METHODS = [
    ("hints", "hints", {}),
    ("hints auto", "hints", {"levels": "auto"}),
    ("hints-krylov", "hints-krylov", {}),
    ("hints-krylov auto", "hints-krylov", {"levels": "auto"}),
    (
        "ablation: hints auto, operator=False",
        "hints",
        {"levels": "auto", "operator": False, **PURE},
    ),
    (
        "ablation: hints-krylov auto, operator=False",
        "hints-krylov",
        {"levels": "auto", "operator": False, **PURE},
    ),
    ("jacobi", "weighted-jacobi", {}),
    ("gmres", "gmres", {}),
    ("mg-gmres", "mg-gmres", {}),
    ("sl-gmres", "sl-gmres", {}),
    ("direct", "direct", {}),
]


#: Wall-time cap per 2D run (seconds).
CAP_2D = 20.0

METHODS_2D = [
    ("hints auto", "hints", {"levels": "auto"}),
    ("hints-krylov auto", "hints-krylov", {"levels": "auto"}),
    (
        "ablation: hints auto, coarse=direct",
        "hints",
        {"levels": "auto", "coarse": "direct", **PURE},
    ),
    (
        "ablation: hints-krylov auto, coarse=direct",
        "hints-krylov",
        {"levels": "auto", "coarse": "direct", **PURE},
    ),
    (
        "ablation: hints auto, operator=False",
        "hints",
        {"levels": "auto", "operator": False, **PURE},
    ),
    (
        "ablation: hints-krylov auto, operator=False",
        "hints-krylov",
        {"levels": "auto", "operator": False, **PURE},
    ),
    ("mg-gmres", "mg-gmres", {}),
    ("sl-gmres", "sl-gmres", {}),
    ("direct", "direct", {}),
]


def cases_2d(quick: bool):
    """(label, problem, n, params) of the 2D part: fixed points per wavelength."""
    k0s = (4, 8) if quick else (8, 16, 32, 48)
    out = []
    for k0 in k0s:
        n = 32 * k0 - 1
        tag = "OOD 1.5x" if k0 > 32 else "in distribution"
        out.append((f"wave2d k0={k0} n={n}^2 ({tag})", "wave2d", n, {"k0": k0, "seed": 3}))
    for k in () if quick else (8.3, 16.3, 32.3):
        n = 32 * round(k) - 1
        out.append((f"helmholtz2d k={k} n={n}^2", "helmholtz2d", n, {"k": k, "rhs": "random"}))
    return out


def cases(quick: bool):
    k0s = (8, 16) if quick else (8, 16, 32, 48)
    out = []
    for k0 in k0s:
        n = 32 * k0 - 1
        tag = "OOD 1.5x" if k0 > 32 else "in distribution"
        out.append((f"wave1d k0={k0} n={n} ({tag})", "wave1d", n, {"k0": k0, "seed": 3}))
    if not quick:
        out.append(("wave1d k0=20 n=1023 (in distribution)", "wave1d", 1023, {"k0": 20, "seed": 4}))
        out.append(("helmholtz1d k=20.3 n=1023", "helmholtz1d", 1023, {"k": 20.3, "rhs": "random"}))
        out.append(("helmholtz1d k=31.3 n=1023", "helmholtz1d", 1023, {"k": 31.3, "rhs": "random"}))
    return out


def run_case(p, quick: bool, methods=None, cap_seconds=None):
    rows = []
    for label, method, options in methods or METHODS:
        cap = min(CAP, 5.0) if method == "weighted-jacobi" or quick else CAP
        if cap_seconds is not None:
            cap = cap_seconds
        if method == "direct" and math.prod(p.shape) > 2_000_000:
            rows.append({"method": label, "error": "not run (a 1535^2 LU: minutes, GBs)"})
            continue
        t0 = time.perf_counter()
        try:
            r = hybrid.solve(p, method, rtol=TARGET, max_seconds=cap, **options)
        except ValueError as err:
            rows.append({"method": label, "error": str(err)})
            continue
        info = r.info or {}
        labels = [e["label"] for e in r.history.events]
        finished_by = None
        switch = next(
            (e["iteration"] for e in r.history.events if e["label"] == "fallback:mg-gmres"), None
        )
        if method.startswith("hints") and options.get("operator", True):
            if switch is not None:
                finished_by = f"mg-gmres's cycle after {switch}"
            elif info.get("diverging"):
                finished_by = "FGMRES with the operator (stationary cycle diverged)"
            elif info.get("stalled"):
                finished_by = "fallback without the operator (stall)"
            else:
                finished_by = "operator"
        rows.append(
            {
                "method": label,
                "converged": bool(r.converged),
                "iterations": int(r.iterations),
                "sweeps": info.get("sweeps"),
                "operator_steps": info.get("operator_steps"),
                "seconds": float(r.seconds),
                "wall": time.perf_counter() - t0,
                "relative_residual": float(r.relative_residual),
                "events": labels,
                "finished_by": finished_by,
                "message": r.message,
            }
        )
    return rows


def cell(row):
    if "error" in row:
        return "not run" if row["error"].startswith("not run") else "refused"
    if not row["converged"]:
        why = row["message"].split(":")[0].split("(")[0].strip() or "not converged"
        return f"{why} ({row['iterations']} its, res {row['relative_residual']:.0e})"
    sw = f" / {row['sweeps']} sw" if row.get("sweeps") is not None else ""
    mark = ""
    by = row.get("finished_by")
    if by and by.startswith("mg-gmres"):
        mark = f" ({by})"
    elif by and by != "operator":
        mark = " (FGMRES fallback)" if "diverged" in by else " (stall)"
    return f"{row['iterations']}{sw} / {row['seconds']:.2f} s{mark}"


def markdown(results, methods=None) -> str:
    labels = [m[0] for m in methods or METHODS]
    head = "| case | ppw | " + " | ".join(labels) + " |"
    lines = [
        "Iterations / fine-grid sweeps (hints) / seconds to a relative residual of 1e-8;"
        " otherwise why not.",
        "",
        head,
        "|" + "---|" * (len(labels) + 2),
    ]
    for case in results:
        by = {r["method"]: r for r in case["rows"]}
        cells = [cell(by[m]) if m in by else "-" for m in labels]
        lines.append(f"| {case['case']} | {case['ppw']:.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; a smoke test")
    parser.add_argument("--dim", type=int, choices=(1, 2), default=1, help="1D (default) or 2D")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    results = []
    t_all = time.perf_counter()
    two = args.dim == 2
    methods = METHODS_2D if two else METHODS
    for label, name, n, params in cases_2d(args.quick) if two else cases(args.quick):
        p = problems.get(name, n=n, **params)
        print(f"== {label}", flush=True)
        rows = run_case(p, args.quick, methods, CAP_2D if two else None)
        for r in rows:
            print(f"   {r['method']:44s} {cell(r)}", flush=True)
        ppw = float(p.points_per_wavelength)
        results.append(
            {"case": label, "problem": name, "n": n, "params": params, "ppw": ppw, "rows": rows}
        )
    suffix = ("2d" if two else "") + ("-quick" if args.quick else "")
    meta = {
        "quick": args.quick,
        "seconds": time.perf_counter() - t_all,
        "load_average": os.getloadavg(),
        "machine": platform.platform(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"operator_helmholtz{suffix}.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=1, default=str)
    )
    (RESULTS / f"operator_helmholtz{suffix}.md").write_text(markdown(results, methods))
    print(markdown(results, methods))


if __name__ == "__main__":
    main()
