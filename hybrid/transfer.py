r"""Grid transfer between nested grids: linear interpolation and full weighting.

A coarse grid with ``m`` interior points per axis nests in the fine grid with
``n = 2m + 1``: coarse point ``i`` is fine point ``2i + 1`` (0-based). In 1D

.. math::

    (P e)_{2i+1} = e_i, \qquad (P e)_{2i} = \tfrac12 (e_{i-1} + e_i)

with zero beyond the boundary, and the tensor product in 2D. Restriction is
full weighting, ``R = P^T / 2^d``, so ``R`` maps a residual of the operator
scaled by ``1/h^2`` to the coarse grid's scaling, and ``R = c P^T`` keeps a
V-cycle symmetric.
"""

from __future__ import annotations

import numpy as np


def coarse_shape(shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Shape of the next coarser nested grid, or ``None`` if ``shape`` has an even axis.

    >>> coarse_shape((1023,)), coarse_shape((63, 31)), coarse_shape((64, 63))
    ((511,), (31, 15), None)
    """
    if any(n % 2 == 0 or n < 3 for n in shape):
        return None
    return tuple((n - 1) // 2 for n in shape)


def _prolong_axis(e: np.ndarray, axis: int) -> np.ndarray:
    e = np.moveaxis(e, axis, 0)
    m = e.shape[0]
    out = np.zeros((2 * m + 1, *e.shape[1:]))
    out[1::2] = e
    out[2:-1:2] = 0.5 * (e[:-1] + e[1:])
    out[0] = 0.5 * e[0]
    out[-1] = 0.5 * e[-1]
    return np.moveaxis(out, 0, axis)


def _restrict_axis(r: np.ndarray, axis: int) -> np.ndarray:
    r = np.moveaxis(r, axis, 0)
    out = 0.5 * r[1::2] + 0.25 * (r[0:-1:2] + r[2::2])
    return np.moveaxis(out, 0, axis)


def prolong(e: np.ndarray) -> np.ndarray:
    """Linear (1D) or bilinear (2D) interpolation to the next finer grid."""
    for axis in range(e.ndim):
        e = _prolong_axis(e, axis)
    return np.ascontiguousarray(e)


def restrict(r: np.ndarray) -> np.ndarray:
    """Full weighting ``P^T / 2^d`` to the next coarser grid."""
    for axis in range(r.ndim):
        r = _restrict_axis(r, axis)
    return np.ascontiguousarray(r)
