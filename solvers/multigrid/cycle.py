r"""The symmetric V-cycle over a hierarchy (:mod:`solvers.multigrid.hierarchy`).

The V-cycle on level ``l`` for ``A_l u = b``:

.. math::

    u \leftarrow S_l^{\nu}(u), \quad
    u \leftarrow u + P\, V_{l+1}(R (b - A_l u)), \quad
    u \leftarrow (S_l^{*})^{\nu}(u)

with ``S`` a forward and ``S^*`` the backward Gauss-Seidel sweep and
``R = P^T / 2^d``, so with a symmetric coarsest solve the cycle is a
symmetric preconditioner (usable inside CG).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from problems import Operator
from solvers.multigrid.transfer import transfer
from solvers.relaxation import relax


def gauss_seidel(op: Operator, u: np.ndarray, rhs: np.ndarray, sweeps: int, direction: str):
    """The cycle's default smoother: ``sweeps`` lexicographic Gauss-Seidel sweeps in place,
    ``direction`` ``"forward"`` or ``"backward"``."""
    relax(op, u, "gauss-seidel", sweeps, rhs=rhs, sweep=direction)


Smoother = Callable[[Operator, np.ndarray, np.ndarray, int, str], None]


class VCycle:
    """A symmetric V-cycle over ``levels`` with ``coarse_solve`` on the last one.

    Parameters
    ----------
    levels : list of Operator
        Fine to coarse (:func:`build_levels`).
    smooth : callable
        ``smooth(op, u, rhs, sweeps, direction)``, in place;
        ``direction`` is ``"forward"`` or ``"backward"``.
    coarse_solve : callable
        ``e = coarse_solve(r)`` on the coarsest level; symmetric and linear
        for the cycle to be a symmetric preconditioner.
    sweeps : int
        Pre- and post-smoothing sweeps on each level but the coarsest.
    """

    def __init__(self, levels, smooth: Smoother, coarse_solve, sweeps: int = 2):
        self.levels = levels
        self.smooth = smooth
        self.coarse_solve = coarse_solve
        self.sweeps = sweeps
        self._scratch = [np.empty(op.shape) for op in levels]
        #: ``transfers[l]`` moves between levels ``l`` and ``l + 1``.
        self.transfers = [transfer(a.shape, b.shape) for a, b in itertools.pairwise(levels)]

    def __call__(self, b: np.ndarray, u: np.ndarray | None = None, level: int = 0) -> np.ndarray:
        """Apply one cycle to ``A_level u = b`` (from ``u``, or zero), returning ``u``."""
        op = self.levels[level]
        if level == len(self.levels) - 1:
            if u is None:
                return self.coarse_solve(b)
            return u + self.coarse_solve(b - op.apply(u))
        u = np.zeros(op.shape) if u is None else u
        self.smooth(op, u, b, self.sweeps, "forward")
        r = op.apply(u, self._scratch[level])
        np.subtract(b, r, out=r)
        t = self.transfers[level]
        t.prolong_add(self(t.restrict(r), None, level + 1), u)
        self.smooth(op, u, b, self.sweeps, "backward")
        return u

    def precondition(self, r: np.ndarray) -> np.ndarray:
        """``B r``: one cycle from zero (the symmetric preconditioner)."""
        return self(r, None, 0)
