"""
The hybrid on a random coefficient, against multigrid and AMG
=============================================================

``randcoef2d`` has a log-normal coefficient ``a`` with contrast 100, the case
where a constant-coefficient preconditioner (``dst-pcg``) struggles. The
neural multilevel method ``neural-pcg`` (CG preconditioned by a V-cycle whose
coarsest space is a trained network's features) is compared with its
ablation ``mg-pcg`` (the same V-cycle with a direct coarsest solve) and with
PyAMG (``amg``, Ruge-Stuben, as CG's preconditioner). The figure shows the
relative residual against the solver's seconds (set-up included) and against
iterations.

Run: ``python examples/hybrid_random_coefficient.py [--n 255] [--quick]``
"""

import argparse

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import hybrid
import problems

parser = argparse.ArgumentParser(description="The hybrid on a random coefficient")
parser.add_argument("--n", type=int, default=255, help="interior points per axis")
parser.add_argument("--quick", action="store_true", help="a small grid (n = 63)")
parser.add_argument("--out", default=None, help="also save the figure as this PNG")
args = parser.parse_args()
n = 63 if args.quick else args.n

# %%
# Solve with each method to the same tolerance.
p = problems.get("randcoef2d", n=n, contrast=100.0)
runs = {
    "neural-pcg": {},
    "mg-pcg": {},
    "amg": {"accel": "cg"},
    "dst-pcg": {"reference": "geometric"},
}
results = {}
for name, options in runs.items():
    r = hybrid.solve(p, name, rtol=1e-10, maxiter=500, **options)
    results[name] = r
    print(
        f"{name:11s} {r.iterations:4d} iterations {r.seconds:7.3f} s"
        f"  relative error {r.relative_error:.1e}  ({r.stop_reason})"
    )

# %%
# Relative residual against seconds and against iterations.
figure = Figure(figsize=(9, 3.6))
FigureCanvasAgg(figure)
by_time, by_step = figure.subplots(1, 2, sharey=True)
for name, r in results.items():
    h = r.history
    by_time.semilogy(h.seconds, h.relative_residual, marker=".", label=name)
    by_step.semilogy(h.iteration, h.relative_residual, marker=".", label=name)
by_time.set_xlabel("solver seconds")
by_step.set_xlabel("iteration (CG step)")
by_time.set_ylabel("relative residual")
by_step.legend()
figure.suptitle(f"randcoef2d, {n}x{n}, contrast 100")
figure.tight_layout()
if args.out:
    figure.savefig(args.out, dpi=100)
    print(f"figure saved to {args.out}")
