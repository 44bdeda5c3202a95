"""Relaxation, the DNN solver and reference solvers behind one ``solve``.

>>> import problems, solvers
>>> {"jacobi", "sor", "direct", "dst-pcg", "dnn"} <= set(solvers.methods())
True

Torch is imported only when a DNN method runs.
"""

from solvers.methods import REGISTRY
from solvers.registry import Registry, Settings, solve_function
from solvers.relaxation import relax
from solvers.result import History, SolveResult


def methods() -> list[str]:
    """Names of the methods :func:`solve` accepts."""
    return REGISTRY.names()


solve = solve_function(REGISTRY, "solvers")


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
