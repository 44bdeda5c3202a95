"""DeepONet on its fixed sensor grid against an FNO on finer grids (the architecture choice).

Both operators are trained by ``fpsolve train-operator`` on ``poisson1d-varcoef``
(the FNO with ``--arch fno``; the command is recorded in its file). The
DeepONet runs only on its 31-point sensor grid; the FNO, a map between
functions, also runs on finer grids (``grid=N``), so less of the spectrum is
left to the smoother. Measured: ``hints`` (``levels=1``, Gauss-Seidel,
``n_r = 25``, no fallback) on the anchor's case and on ``varcoef1d``
n = 1023, iterations to 1e-8 (anchor: 1e-10), and how much of the error
energy each operator step leaves (the stall monitor, median over steps).

Run: ``.venv/bin/python benchmarks/operator_arch.py --fno FILE`` (a minute; without
``--fno`` it says so and does nothing, so ``make bench`` passes over it).
Writes ``benchmarks/results/operator_arch.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import hybrid  # noqa: E402
import problems  # noqa: E402
from hybrid.hints import HintsCycle  # noqa: E402
from hybrid.operators import load_operator, operator_for  # noqa: E402
from problems.grid import Grid  # noqa: E402
from problems.problem import Problem  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def monitor(p, model, grid, cycles=6):
    hc = HintsCycle(p.operator, model, grid=grid)
    u = np.zeros(p.shape)
    ratios = []
    for _ in range(cycles):
        hc.cycle(u, p.f)
        ratios.append(hc.last_ratio)
    return float(np.median(ratios))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fno", help="an fno model file for poisson1d-varcoef")
    parser.add_argument("--quick", action="store_true", help="(run_all) nothing to do quickly")
    args = parser.parse_args(argv)
    if args.fno is None or args.quick:
        # run_all runs every script: without a trained FNO there is nothing to compare
        print("operator_arch: skipped (needs --fno FILE from fpsolve train-operator --arch fno)")
        return
    fno = load_operator(args.fno)
    anchor = Problem("anchor", Grid((31,), (0.0,), (1.0,)), 1.0, a=lambda x: 1.5 - x)
    big = problems.get("varcoef1d", n=1023, contrast=5.0, wavenumber=3)
    deeponet = operator_for(big)
    rows = []
    for label, model, weights, grids in (
        ("deeponet", deeponet, None, (31,)),
        ("fno", fno, args.fno, (31, 63, 127, 255)),
    ):
        for p, rtol in ((anchor, 1e-10), (big, 1e-8)):
            for grid in grids if p is big else (31,):
                r = hybrid.solve(
                    p,
                    "hints",
                    rtol=rtol,
                    weights=weights,
                    grid=grid,
                    fallback="none",
                    maxiter=200_000,
                    max_seconds=60,
                )
                row = {
                    "arch": label,
                    "problem": p.name,
                    "n": p.shape[0],
                    "grid": grid,
                    "rtol": rtol,
                    "converged": r.converged,
                    "iterations": r.iterations,
                    "seconds": round(r.seconds, 3),
                    "operator_s": round(r.info["seconds_operator"], 3),
                    "median_left_per_step": round(monitor(p, model, grid), 3),
                    "validation_error": round(model.meta.get("validation_relative_error", 0), 4),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "operator_arch.json").write_text(
        json.dumps({"fno": fno.meta, "rows": rows}, indent=1)
    )


if __name__ == "__main__":
    main()
