"""Hybrids of DNNs and relaxation, and the one ``solve`` entry that knows every method.

The command-line application (``fpsolve``: CLI, compare, demo, result files,
figures) lives in :mod:`hybrid.app`, above the algorithms; importing
``hybrid`` loads neither it nor matplotlib.

>>> import hybrid
>>> {"jacobi", "direct", "dnn", "dnn-jacobi", "mg-pcg", "neural-pcg"} <= set(hybrid.methods())
True
"""

import solvers
from hybrid.methods import REGISTRY
from hybrid.neural import HybridSolver


def methods() -> list[str]:
    """Every method name :func:`solve` accepts: the solvers' and the hybrids'."""
    return REGISTRY.names()


def solve(
    problem,
    method,
    *,
    x0=None,
    rtol=1e-8,
    maxiter=None,
    max_seconds=None,
    record_every=None,
    seed=0,
    device="auto",
    progress=False,
    errors="auto",
    **method_options,
) -> solvers.SolveResult:
    """Solve ``problem`` with any method of :func:`methods`.

    Same signature and behaviour as :func:`solvers.solve`, which it extends
    with the hybrid methods.
    """
    return REGISTRY.solve(
        problem,
        method,
        x0=x0,
        rtol=rtol,
        maxiter=maxiter,
        max_seconds=max_seconds,
        record_every=record_every,
        seed=seed,
        device=device,
        progress=progress,
        errors=errors,
        **method_options,
    )


__all__ = ["REGISTRY", "HybridSolver", "methods", "solve"]
