r"""What training the DNN solver returns (:class:`TrainedNetwork`), without torch.

Shared by :mod:`solvers.dnn` (the checked entry) and :mod:`solvers._dnn_train`
(the loop, which imports torch), so that neither imports the other's module
for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from solvers.result import History

#: Optimiser steps when ``maxiter`` is not given.
DEFAULT_MAXITER = 2000


@dataclass
class TrainedNetwork:
    """A trained network and the record of its training.

    Attributes
    ----------
    problem : Problem
    options : solvers.dnn.DNNOptions
    settings : Settings
    network : torch.nn.Module
        ``network(x)`` for points ``x`` of shape ``(npoints, dim)`` is
        :math:`N_\\theta`; the solution is :meth:`values` (BCs applied).
    history : History
        Per-frequency history, one record per recorded optimiser step.
    steps : int
        Optimiser steps taken in all (a resumed run counts its earlier ones).
    seconds : float
        Training seconds (recording excluded; a resumed run continues the clock).
    converged : bool
        Reached ``rtol`` on the relative residual of the grid values.
    message : str
        Why training stopped.
    stop_reason : str
        The same in the driver's vocabulary (:data:`solvers.driver.STOP_REASONS`).
    loss : ndarray
        The loss at each optimiser step of this run.
    info : dict
        Counters (see :func:`train_network`).
    """

    problem: Any
    options: Any
    settings: Any
    network: Any
    history: History
    steps: int
    seconds: float
    converged: bool
    message: str
    loss: np.ndarray
    info: dict[str, Any]
    ansatz: Any = field(repr=False, default=None)
    stop_reason: str = ""

    def values(self, *coords) -> np.ndarray:
        """The solution :math:`u_\\theta` (boundary conditions applied) at any points.

        ``coords``: ``dim`` coordinate arrays (broadcast together; the result
        has their shape) or one array of points of shape ``(npoints, dim)``
        (the result has shape ``(npoints,)``).
        """
        # lazy: imports torch (loaded already once a network is trained)
        from solvers._dnn_losses import points_of

        pts = points_of(self.problem.dim, coords)
        out = self.ansatz.values(pts)
        if len(coords) == self.problem.dim and not (len(coords) == 1 and np.ndim(coords[0]) == 2):
            return out.reshape(np.broadcast_shapes(*(np.shape(c) for c in coords)))
        return out

    def grid_values(self) -> np.ndarray:
        """:meth:`values` at the problem's interior grid points, shape ``problem.shape``."""
        return self.values(*self.problem.x)

    def hidden_features(self, *coords) -> np.ndarray:
        """Last hidden layer's activations at points, shape ``(npoints, width)``.

        ``coords`` as in :meth:`values` (coordinate arrays are flattened in C
        order). These are the network's learned basis functions *before* the
        output layer and before the boundary factor: multiply by
        ``problem.distance(...)`` for functions that vanish on the boundary.
        """
        # lazy: imports torch (loaded already once a network is trained)
        from solvers._dnn_losses import points_of

        return self.ansatz.hidden(points_of(self.problem.dim, coords))
