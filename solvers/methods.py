"""The method table of :mod:`solvers`: every name :func:`solvers.solve` accepts, in one place.

Each entry maps a public name to a :class:`~solvers.registry.Method` defined
in its own module; a name given twice is an error. :mod:`hybrid.methods`
extends this table with the hybrids.
"""

from solvers import dnn, reference, relaxation
from solvers.multigrid import solver as multigrid
from solvers.registry import Registry

REGISTRY = Registry(
    {
        # relaxation (numba kernels)
        "jacobi": relaxation.jacobi,
        "weighted-jacobi": relaxation.weighted_jacobi,
        "gauss-seidel": relaxation.gauss_seidel,
        "symmetric-gauss-seidel": relaxation.symmetric_gauss_seidel,
        "red-black": relaxation.red_black,
        "sor": relaxation.sor,
        # geometric multigrid
        "multigrid": multigrid.multigrid,
        "mg-pcg": multigrid.mg_pcg,
        # reference solvers
        "direct": reference.direct,
        "dst": reference.dst,
        "dst-pcg": reference.dst_pcg,
        "amg": reference.amg,
        # the network alone (torch is imported when it runs)
        "dnn": dnn.dnn,
    }
)
