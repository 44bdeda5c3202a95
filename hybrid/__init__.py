"""Hybrids of DNNs and relaxation, the one ``solve`` entry, comparisons, figures and the CLI.

>>> import hybrid
>>> {"jacobi", "direct", "dnn", "dnn-jacobi", "neural-pcg"} <= set(hybrid.methods())
True
"""

import solvers
from solvers.registry import Registry

REGISTRY = Registry(parent=solvers.REGISTRY)


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
        **method_options,
    )


__all__ = ["REGISTRY", "methods", "solve"]

# Importing the hybrid modules registers their methods.
from hybrid import neural  # noqa: E402
from hybrid.neural import HybridSolver  # noqa: E402

__all__ += ["HybridSolver", "neural"]
from hybrid import dnn_relax  # noqa: E402, F401
