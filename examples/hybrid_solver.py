"""Train once, solve many right-hand sides: ``hybrid.HybridSolver`` as a library.

A log-normal random coefficient (contrast 100) is the hard case for
Fourier-based solvers. The solver learns its coarse space and initial guess
once; each further right-hand side costs only the preconditioned CG
iterations.

Run: ``python examples/hybrid_solver.py [--n 255] [--quick]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import problems
from hybrid import HybridSolver


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=255, help="interior points per axis (odd)")
    parser.add_argument("--quick", action="store_true", help="a small grid (n = 63)")
    args = parser.parse_args(argv)
    n = 63 if args.quick else args.n

    p = problems.get("randcoef2d", n=n, contrast=100.0)
    t0 = time.perf_counter()
    solver = HybridSolver(p)
    print(
        f"set-up on {n}x{n}: {time.perf_counter() - t0:.2f} s"
        f" ({solver.train_seconds:.2f} s training, {len(solver.levels)} grids,"
        f" coarsest {solver.levels[-1].shape})"
    )

    rng = np.random.default_rng(0)
    x, y = p.x
    right_hand_sides = {
        "f = 1": np.ones(p.shape),
        "point-like source": np.exp(-((x - 0.3) ** 2 + (y - 0.7) ** 2) / 1e-3),
        "white noise": rng.standard_normal(p.shape),
    }
    for label, f in right_hand_sides.items():
        r = solver.solve(f, rtol=1e-10, record_every=0)
        print(
            f"{label:18s} {r.iterations:3d} CG iterations, {r.seconds:.3f} s,"
            f" relative residual {r.relative_residual:.1e}"
        )


if __name__ == "__main__":
    main()
