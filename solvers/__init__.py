"""Relaxation, the DNN solver and reference solvers behind one ``solve``.

>>> import problems, solvers
>>> {"jacobi", "sor", "direct", "dst-pcg", "dnn"} <= set(solvers.methods())
True

Torch is imported only when a DNN method runs.
"""

from solvers.methods import REGISTRY
from solvers.registry import Registry, Settings
from solvers.relaxation import relax
from solvers.result import History, SolveResult


def methods() -> list[str]:
    """Names of the methods :func:`solve` accepts."""
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
) -> SolveResult:
    """Solve ``problem`` with ``method`` (one of :func:`methods`).

    Parameters
    ----------
    problem : problems.Problem
    method : str
    x0 : ndarray, optional
        Initial iterate of shape ``problem.shape`` (default zero).
    rtol : float
        Stop when ``||f - A u|| / ||f|| <= rtol``; ``0`` runs ``maxiter`` steps.
    maxiter, max_seconds : optional
        Budget in iterations (sweeps, optimiser steps, cycles) and seconds.
    record_every : int, optional
        History cadence (default: about 200 records; 0: first and last only).
    seed : int
    device : {"auto", "cpu", "cuda"}
    progress : bool
        Show a progress bar.
    errors : {"auto", True, False}
        Track the error against ``u_ref = A^{-1} f`` in the history (relative,
        per-mode, band and error spectrum). ``"auto"``: only where ``u_ref``
        is cheap (constant coefficients, at most 2^16 unknowns, or already
        computed); elsewhere the error fields are NaN and no reference is
        computed. The residual history and spectrum are always complete.
    **method_options
        The method's own options; unknown ones raise ``ValueError``.
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


__all__ = [
    "REGISTRY",
    "History",
    "Registry",
    "Settings",
    "SolveResult",
    "methods",
    "relax",
    "solve",
]
