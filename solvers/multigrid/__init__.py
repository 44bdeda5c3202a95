"""Geometric multigrid: grid hierarchy, transfers, the V-cycle, ``multigrid`` and ``mg-pcg``.

* :mod:`~solvers.multigrid.transfer`: prolongation and restriction (numba kernels),
  nested and non-nested;
* :mod:`~solvers.multigrid.hierarchy`: rediscretised coarse operators;
* :mod:`~solvers.multigrid.cycle`: the symmetric V-cycle with a pluggable coarsest solve;
* :mod:`~solvers.multigrid.solver`: :class:`Multigrid` and the two classical methods.

Imports neither torch nor matplotlib.
"""

from solvers.multigrid.cycle import VCycle
from solvers.multigrid.hierarchy import build_levels, coarsen_operator, resample_operator
from solvers.multigrid.solver import DirectCoarseSolve, Multigrid
from solvers.multigrid.transfer import coarse_shape, transfer

__all__ = [
    "DirectCoarseSolve",
    "Multigrid",
    "VCycle",
    "build_levels",
    "coarse_shape",
    "coarsen_operator",
    "resample_operator",
    "transfer",
]
