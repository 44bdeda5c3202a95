r"""Grid transfer: linear interpolation and full weighting, nested or not.

A coarse grid with ``m`` interior points per axis nests in the fine grid with
``n = 2m + 1``: coarse point ``i`` is fine point ``2i + 1`` (0-based). In 1D

.. math::

    (P e)_{2i+1} = e_i, \qquad (P e)_{2i} = \tfrac12 (e_{i-1} + e_i)

with zero beyond the boundary, and the tensor product in 2D. Restriction is
full weighting, ``R = P^T / 2^d``, so ``R`` maps a residual of the operator
scaled by ``1/h^2`` to the coarse grid's scaling, and ``R = c P^T`` keeps a
V-cycle symmetric.

Grids whose size is not ``2^k - 1`` do not nest all the way down. For them
:class:`Linear` interpolates linearly between any two vertex grids on the
same domain, with ``R = (h / H)^d P^T`` (which is full weighting when the
grids nest), so the hierarchy can start with one non-nested step to a
``2^k - 1`` grid (:func:`solvers.multigrid.hierarchy.build_levels`).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from problems._numba import PARALLEL_THRESHOLD
from solvers.multigrid import _transfer_kernels as _k


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


def interpolation_matrix(n: int, m: int) -> sp.csr_matrix:
    """Linear interpolation from ``m`` to ``n`` interior points of the same interval (``n x m``).

    Point ``i`` sits at ``(i + 1) / (n + 1)`` of the interval, and the
    boundary values are zero. With ``n = 2m + 1`` this is the nested ``P``.

    >>> interpolation_matrix(3, 1).toarray().ravel().tolist()
    [0.5, 1.0, 0.5]
    """
    t = np.arange(1, n + 1) * (m + 1) / (n + 1) - 1.0  # fine points in coarse index units
    j0 = np.floor(t).astype(np.int64)
    w = t - j0
    rows, cols, vals = [], [], []
    for j, weight in ((j0, 1.0 - w), (j0 + 1, w)):
        keep = (j >= 0) & (j < m) & (weight > 1e-14)
        rows.append(np.flatnonzero(keep))
        cols.append(j[keep])
        vals.append(weight[keep])
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, m)
    )


class Nested:
    """The transfer between a grid and its nested coarse grid (the numba kernels)."""

    def restrict(self, r: np.ndarray) -> np.ndarray:
        return restrict(r)

    def prolong_add(self, e: np.ndarray, u: np.ndarray) -> np.ndarray:
        return prolong_add(e, u)

    def prolong(self, e: np.ndarray) -> np.ndarray:
        return prolong(e)


class Linear:
    """Linear interpolation ``P`` between any two vertex grids; ``R = (h / H)^d P^T``.

    Parameters
    ----------
    fine, coarse : tuple of int
        Interior points per axis of the two grids (same domain).
    """

    def __init__(self, fine: tuple[int, ...], coarse: tuple[int, ...]):
        if len(fine) != len(coarse):
            raise ValueError(f"grids {fine} and {coarse} differ in dimension")
        self.fine, self.coarse = tuple(fine), tuple(coarse)
        self.P = [interpolation_matrix(n, m) for n, m in zip(fine, coarse, strict=True)]
        self.PT = [P.T.tocsr() for P in self.P]
        self.scale = math.prod((m + 1) / (n + 1) for n, m in zip(fine, coarse, strict=True))

    @staticmethod
    def _apply(mats, x: np.ndarray, scale: float, out: np.ndarray) -> np.ndarray:
        """``out += scale (M_0 x M_1^T)`` by two numba passes (``M_0 x`` in 1D)."""
        x2 = x.reshape(x.shape[0], -1)  # 1D: one column
        rows = mats[0]
        if x.ndim == 1:
            _k.csr_along_rows(rows.indptr, rows.indices, rows.data, x2, out.reshape(-1, 1), scale)
            return out
        tmp = np.zeros((rows.shape[0], x.shape[1]))
        _k.csr_along_rows(rows.indptr, rows.indices, rows.data, x2, tmp, 1.0)
        cols = mats[1]
        _k.csr_along_columns(cols.indptr, cols.indices, cols.data, tmp, out, scale)
        return out

    @staticmethod
    def _checked(x: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
        if x.shape != shape:  # the kernels do not bounds-check
            raise ValueError(f"{what} must have shape {shape}, got {x.shape}")
        return np.ascontiguousarray(x, dtype=np.float64)

    def restrict(self, r: np.ndarray) -> np.ndarray:
        r = self._checked(r, self.fine, "the fine-grid residual")
        return self._apply(self.PT, r, self.scale, np.zeros(self.coarse))

    def prolong(self, e: np.ndarray) -> np.ndarray:
        e = self._checked(e, self.coarse, "the coarse-grid correction")
        return self._apply(self.P, e, 1.0, np.zeros(self.fine))

    def prolong_add(self, e: np.ndarray, u: np.ndarray) -> np.ndarray:
        """``u += P e`` in place (``u`` C-contiguous float64 of the fine shape)."""
        e = self._checked(e, self.coarse, "the coarse-grid correction")
        if u.shape != self.fine or u.dtype != np.float64 or not u.flags.c_contiguous:
            raise ValueError(f"u must be C-contiguous float64 of shape {self.fine}")
        return self._apply(self.P, e, 1.0, u)


def transfer(fine: tuple[int, ...], coarse: tuple[int, ...]) -> Nested | Linear:
    """:class:`Nested` where ``coarse`` nests in ``fine``, else :class:`Linear`."""
    return Nested() if coarse_shape(tuple(fine)) == tuple(coarse) else Linear(fine, coarse)
