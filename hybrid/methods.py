"""The method table of :mod:`hybrid`: the hybrids, on top of :mod:`solvers.methods`.

Every name :func:`hybrid.solve` accepts is either here or in the solvers'
table; a name in both is an error.
"""

import solvers
from hybrid import dnn_relax, neural
from solvers.registry import Registry

REGISTRY = Registry(
    {
        # the paper's scheme: train the network, then relax from its prediction
        "dnn-jacobi": dnn_relax.dnn_jacobi,
        "dnn-gauss-seidel": dnn_relax.dnn_gauss_seidel,
        # multilevel cycles with a learned coarsest space (ablation: mg-pcg)
        "neural-twolevel": neural.neural_twolevel,
        "neural-pcg": neural.neural_pcg,
    },
    parent=solvers.REGISTRY,
)
