r"""A hierarchy of grids: rediscretised coarse operators, nested or with one non-nested step.

Why a hierarchy: a smoother damps frequencies ``k > n/2`` and a small
coarse space (here: a network's features) spans only the lowest ones; the
frequencies in between converge at the smoother's slow rate, and there are
more of them the finer the grid (the two-level neural method of 0.1
needed 4x the iterations for 4x the points per axis). Smoothing on every
grid of the hierarchy ``n -> (n - 1)/2 -> ...`` gives each band of
frequencies a grid on which it is high, so the rate no longer depends on
``n``; the learned space then only has to serve the coarsest grid.

Coarse operators are rediscretised from the fine one: a face coefficient
of the coarse grid is the harmonic mean of the two fine faces it spans in
the direction of the flux (exact for 1D conduction in series), averaged
with weights ``1/4, 1/2, 1/4`` across it (2D), and ``c`` is injected. They
keep the 5-point structure, so the same numba smoothers serve every level.

A grid whose size is not ``2^k - 1`` on some axis first takes one
non-nested step to a ``2^k - 1`` grid (:func:`nesting_size`): its operator
is resampled (``log a`` and ``c`` interpolated linearly to the coarse faces
and points) and the transfer is :class:`solvers.multigrid.transfer.Linear`; below it
every step nests.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from problems import Operator
from problems._numba import jit
from solvers.multigrid.transfer import coarse_shape


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
    cx = np.empty((shape[0] + 1, shape[1]))
    cy = np.empty((shape[0], shape[1] + 1))
    _coarse_faces_2d(np.ascontiguousarray(ax), np.ascontiguousarray(ay), cx, cy)
    return Operator((cx, cy), op.c[1::2, 1::2].copy(), h)


@jit
def _coarse_faces_2d(ax, ay, cx, cy):
    """The coarse faces in one pass (no fine-grid-sized temporaries): series
    (harmonic) means along the flux, then ``1/4, 1/2, 1/4`` across it, in the
    order of operations of :func:`_harmonic` and the weights."""
    for i in range(cx.shape[0]):
        a0, a1 = ax[2 * i], ax[2 * i + 1]
        for j in range(cx.shape[1]):
            h0 = 2.0 * a0[2 * j] * a1[2 * j] / (a0[2 * j] + a1[2 * j])
            h1 = 2.0 * a0[2 * j + 1] * a1[2 * j + 1] / (a0[2 * j + 1] + a1[2 * j + 1])
            h2 = 2.0 * a0[2 * j + 2] * a1[2 * j + 2] / (a0[2 * j + 2] + a1[2 * j + 2])
            cx[i, j] = 0.25 * h0 + 0.5 * h1 + 0.25 * h2
    for i in range(cy.shape[0]):
        r0, r1, r2 = ay[2 * i], ay[2 * i + 1], ay[2 * i + 2]
        for j in range(cy.shape[1]):
            h0 = 2.0 * r0[2 * j] * r0[2 * j + 1] / (r0[2 * j] + r0[2 * j + 1])
            h1 = 2.0 * r1[2 * j] * r1[2 * j + 1] / (r1[2 * j] + r1[2 * j + 1])
            h2 = 2.0 * r2[2 * j] * r2[2 * j + 1] / (r2[2 * j] + r2[2 * j + 1])
            cy[i, j] = 0.25 * h0 + 0.5 * h1 + 0.25 * h2


def _is_nesting(n: int) -> bool:
    return n >= 1 and (n + 1) & n == 0  # n = 2^k - 1


def nesting_size(n: int) -> int:
    """The coarse size for ``n`` points: ``(n - 1) / 2`` if ``n = 2^k - 1``, else the
    ``2^k - 1`` whose ratio ``n / m`` is nearest 2 (in log scale).

    >>> nesting_size(1023), nesting_size(1000), nesting_size(600), nesting_size(100)
    (511, 511, 255, 63)
    """
    if _is_nesting(n):
        return (n - 1) // 2
    below = (1 << (n + 1).bit_length() - 1) - 1  # the largest 2^k - 1 below n
    candidates = [m for m in (below, (below - 1) // 2) if m >= 1]
    return min(candidates, key=lambda m: abs(math.log(n / m / 2.0)))


def _resample_matrix(src: np.ndarray, dst: np.ndarray) -> sp.csr_matrix:
    """Linear interpolation from values at positions ``src`` to ``dst`` (constant beyond)."""
    t = np.interp(dst, src, np.arange(len(src), dtype=np.float64))
    j0 = np.minimum(np.floor(t).astype(np.int64), len(src) - 1)
    w = t - j0
    j1 = np.minimum(j0 + 1, len(src) - 1)
    rows = np.arange(len(dst))
    return sp.csr_matrix(
        (np.concatenate([1.0 - w, w]), (np.concatenate([rows, rows]), np.concatenate([j0, j1]))),
        shape=(len(dst), len(src)),
    )


def resample_operator(op: Operator, shape: tuple[int, ...]) -> Operator:
    """Rediscretise ``op`` on a non-nested grid of ``shape`` interior points (same domain).

    ``log a`` is interpolated linearly from the fine faces to the coarse ones
    (a geometric mean, suited to log-normal coefficients) and ``c`` from the
    fine points to the coarse ones.
    """
    length = [hd * (n + 1) for hd, n in zip(op.h, op.shape, strict=True)]
    h = tuple(L / (m + 1) for L, m in zip(length, shape, strict=True))

    def points(hd, n):  # interior points
        return hd * np.arange(1, n + 1)

    def faces(hd, n):  # the n + 1 faces between them and the boundary
        return hd * (np.arange(n + 1) + 0.5)

    def resample(values, axes):
        out = values
        for axis, (src, dst) in enumerate(axes):
            out = np.moveaxis(_resample_matrix(src, dst) @ np.moveaxis(out, axis, 0), 0, axis)
        return np.ascontiguousarray(out)

    n, m = op.shape, shape
    new_faces = []
    for d in range(op.dim):
        axes = [
            (faces(op.h[k], n[k]), faces(h[k], m[k]))
            if k == d
            else (points(op.h[k], n[k]), points(h[k], m[k]))
            for k in range(op.dim)
        ]
        new_faces.append(np.exp(resample(np.log(op.faces[d]), axes)))
    c = resample(op.c, [(points(op.h[k], n[k]), points(h[k], m[k])) for k in range(op.dim)])
    return Operator(tuple(new_faces), c, h)


def build_levels(op: Operator, coarsest: int = 15, max_levels: int | None = None) -> list[Operator]:
    """Operators from fine to coarse, coarsening while every axis keeps ``>= coarsest`` points.

    Grids of ``2^k - 1`` points per axis nest all the way down; any other
    grid first takes one non-nested step (:func:`nesting_size`,
    :func:`resample_operator`).
    """
    if coarsest < 3:
        raise ValueError(f"coarsest must be >= 3 points per axis, got {coarsest}")
    levels = [op]
    while max_levels is None or len(levels) < max_levels:
        fine = levels[-1]
        nested = all(_is_nesting(n) for n in fine.shape)
        shape = coarse_shape(fine.shape) if nested else tuple(map(nesting_size, fine.shape))
        if shape is None or min(shape) < coarsest:
            break
        levels.append(coarsen_operator(fine) if nested else resample_operator(fine, shape))
    return levels
