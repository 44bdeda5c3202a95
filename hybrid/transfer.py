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

from hybrid import _transfer_kernels as _k
from problems._numba import PARALLEL_THRESHOLD


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


def prolong_reference(e: np.ndarray) -> np.ndarray:
    """:func:`prolong` by array slicing, one axis at a time (the kernels' gold reference)."""
    for axis in range(e.ndim):
        e = _prolong_axis(e, axis)
    return np.ascontiguousarray(e)


def restrict_reference(r: np.ndarray) -> np.ndarray:
    """:func:`restrict` by array slicing, one axis at a time (the kernels' gold reference)."""
    for axis in range(r.ndim):
        r = _restrict_axis(r, axis)
    return np.ascontiguousarray(r)


def prolong_add(e: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``u += P e`` in place (numba, one pass); ``u`` has the next finer shape."""
    if tuple(2 * m + 1 for m in e.shape) != u.shape:
        raise ValueError(f"cannot prolong a {e.shape} grid onto {u.shape}")
    if e.ndim == 1:
        _k.prolong_add_1d(e, u)
    elif u.size >= PARALLEL_THRESHOLD:
        _k.prolong_add_2d_parallel(e, u)
    else:
        _k.prolong_add_2d(e, u)
    return u


def prolong(e: np.ndarray) -> np.ndarray:
    """Linear (1D) or bilinear (2D) interpolation to the next finer grid."""
    return prolong_add(
        np.ascontiguousarray(e, dtype=np.float64), np.zeros(tuple(2 * m + 1 for m in e.shape))
    )


def restrict(r: np.ndarray) -> np.ndarray:
    """Full weighting ``P^T / 2^d`` to the next coarser grid."""
    shape = coarse_shape(r.shape)
    if shape is None:
        raise ValueError(f"grid {r.shape} has an even axis: it has no nested coarse grid")
    r = np.ascontiguousarray(r, dtype=np.float64)
    out = np.empty(shape)
    if r.ndim == 1:
        _k.restrict_1d(r, out)
    elif r.size >= PARALLEL_THRESHOLD:
        _k.restrict_2d_parallel(r, out)
    else:
        _k.restrict_2d(r, out)
    return out
