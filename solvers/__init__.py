"""Relaxation, the DNN solver and reference solvers behind one ``solve``.

>>> import problems, solvers
>>> "direct" in solvers.methods()
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
    observers=(),
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
    observers : sequence of callable
        Each is called as ``observer(recorder, iteration, u)`` after every
        history record (e.g. to print progress or keep the last iterate).
    **method_options
        The method's own options (``fpsolve methods``); unknown ones and bad
        values raise ``ValueError``, defaults are filled in, and the result's
        ``options`` records the values used.

    Returns
    -------
    SolveResult
        With ``stop_reason`` one of :data:`solvers.driver.STOP_REASONS`.
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
        observers=observers,
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
