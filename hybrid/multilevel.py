r"""A hierarchy of nested grids with a symmetric V-cycle and a pluggable coarsest solve.

Why a hierarchy: a smoother damps frequencies ``k > n/2`` and a small
coarse space (here: a network's features) spans only the lowest ones; the
frequencies in between converge at the smoother's slow rate, and there are
more of them the finer the grid (NOTES.md: the two-level neural method
needed 4x the iterations for 4x the points per axis). Smoothing on every
grid of the hierarchy ``n -> (n - 1)/2 -> ...`` gives each band of
frequencies a grid on which it is high, so the rate no longer depends on
``n``; the learned space then only has to serve the coarsest grid.

Coarse operators are rediscretised from the fine one: a face coefficient
of the coarse grid is the harmonic mean of the two fine faces it spans in
the direction of the flux (exact for 1D conduction in series), averaged
with weights ``1/4, 1/2, 1/4`` across it (2D), and ``c`` is injected. They
keep the 5-point structure, so the same numba smoothers serve every level.

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

from collections.abc import Callable

import numpy as np

from hybrid.transfer import coarse_shape, prolong_add, restrict
from problems import Operator


def _harmonic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 2.0 * a * b / (a + b)


def coarsen_operator(op: Operator) -> Operator:
    """Rediscretise ``op`` on the next coarser nested grid (module docstring)."""
    shape = coarse_shape(op.shape)
    if shape is None:
        raise ValueError(f"grid {op.shape} has an even axis: it has no nested coarse grid")
    h = tuple(2 * hd for hd in op.h)
    if op.dim == 1:
        (ax,) = op.faces
        return Operator((_harmonic(ax[0::2], ax[1::2]),), op.c[1::2].copy(), h)
    ax, ay = op.faces
    # Series (harmonic) along the flux, then 1/4, 1/2, 1/4 across it.
    hx = _harmonic(ax[0::2, :], ax[1::2, :])  # (mx + 1, ny)
    hy = _harmonic(ay[:, 0::2], ay[:, 1::2])  # (nx, my + 1)
    cx = 0.25 * hx[:, 0:-2:2] + 0.5 * hx[:, 1::2] + 0.25 * hx[:, 2::2]
    cy = 0.25 * hy[0:-2:2, :] + 0.5 * hy[1::2, :] + 0.25 * hy[2::2, :]
    return Operator(
        (np.ascontiguousarray(cx), np.ascontiguousarray(cy)), op.c[1::2, 1::2].copy(), h
    )


def build_levels(op: Operator, coarsest: int = 15, max_levels: int | None = None) -> list[Operator]:
    """Operators from fine to coarse, coarsening while every axis keeps ``>= coarsest`` points."""
    if coarsest < 3:
        raise ValueError(f"coarsest must be >= 3 points per axis, got {coarsest}")
    levels = [op]
    while max_levels is None or len(levels) < max_levels:
        shape = coarse_shape(levels[-1].shape)
        if shape is None or min(shape) < coarsest:
            break
        levels.append(coarsen_operator(levels[-1]))
    return levels


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
        prolong_add(self(restrict(r), None, level + 1), u)
        self.smooth(op, u, b, self.sweeps, "backward")
        return u

    def precondition(self, r: np.ndarray) -> np.ndarray:
        """``B r``: one cycle from zero (the symmetric preconditioner)."""
        return self(r, None, 0)
