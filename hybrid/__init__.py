"""Hybrids of DNNs and relaxation, and the one ``solve`` entry that knows every method.

The command-line application (``fpsolve``: CLI, compare, demo, result files,
figures) lives in :mod:`hybrid.app`, above the algorithms; importing
``hybrid`` loads neither it nor matplotlib.

>>> import hybrid
>>> {"jacobi", "direct", "dnn", "dnn-jacobi", "mg-pcg", "neural-pcg"} <= set(hybrid.methods())
True
"""

from hybrid.methods import REGISTRY
from hybrid.neural import HybridSolver
from solvers.registry import solve_function


def methods() -> list[str]:
    """Every method name :func:`solve` accepts: the solvers' and the hybrids'."""
    return REGISTRY.names()


#: Same signature and behaviour as :func:`solvers.solve`, extended with the hybrids.
solve = solve_function(REGISTRY, "hybrid")


__all__ = ["REGISTRY", "HybridSolver", "methods", "solve"]
