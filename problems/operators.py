r"""Discrete operators of ``-div(a grad u) + c u`` on the interior of a box.

Second-order central differences with the diffusion coefficient sampled at
the midpoints between neighbours (the conservative "harmonic-free" form):

.. math::

    (A u)_i = \frac{a_{i-1/2} (u_i - u_{i-1}) - a_{i+1/2} (u_{i+1} - u_i)}{h^2} + c_i u_i

in 1D, and the sum of such terms over both axes in 2D. Values outside the
interior are zero here: non-zero boundary data are lifted into the
right-hand side by :mod:`problems.problem`. ``A`` is symmetric and, for
``a > 0`` and ``c >= 0``, positive definite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numba import prange

from problems._numba import PARALLEL_THRESHOLD, jit


@dataclass(frozen=True, eq=False)
class Operator:
    """Face coefficients and shift of the discrete operator.

    Attributes
    ----------
    faces : tuple of ndarray
        ``faces[d]`` holds ``a`` at the midpoints along axis ``d``: shape
        ``(n + 1,)`` in 1D, ``(nx + 1, ny)`` and ``(nx, ny + 1)`` in 2D.
    c : ndarray
        The shift ``c`` at the interior points, shape ``shape`` (``c < 0``
        somewhere: indefinite Helmholtz, ``c = -k^2``).
    h : tuple of float
        Grid spacing per axis.
    """

    faces: tuple[np.ndarray, ...]
    c: np.ndarray
    h: tuple[float, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.c.shape

    @property
    def dim(self) -> int:
        return self.c.ndim

    def uncached(self) -> Operator:
        """The same arrays in a new operator, without what set-ups cached on this one.

        Caches live with the operator object: its diagonal, and the smoothers'
        plans (inverse diagonals, float32 copies, Chebyshev bounds) in
        :mod:`solvers.relaxation`. Benchmarks time a set-up on ``op.uncached()``
        so that it starts cold, as a new user's first solve does.

        >>> import problems
        >>> op = problems.get("modes1d", n=7).operator
        >>> d = op.diagonal()
        >>> new = op.uncached()
        >>> new.faces is op.faces, "_diagonal" in new.__dict__
        (True, False)
        """
        return Operator(self.faces, self.c, self.h)

    def diagonal(self) -> np.ndarray:
        """Main diagonal of ``A``, shape ``shape`` (computed once, read-only)."""
        d = self.__dict__.get("_diagonal")  # a frozen dataclass: cache outside __setattr__
        if d is None:
            if self.dim == 1:
                (ax,) = self.faces
                d = (ax[:-1] + ax[1:]) / self.h[0] ** 2 + self.c
            else:
                ax, ay = self.faces
                hx, hy = self.h
                d = np.empty(self.c.shape)
                _diagonal_2d(ax, ay, self.c, 1.0 / hx**2, 1.0 / hy**2, d)
            d.flags.writeable = False
            self.__dict__["_diagonal"] = d
        return d

    def apply(self, u: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Matrix-free ``A u`` (numba), ``u`` of shape ``shape``."""
        if out is None:
            out = np.empty_like(u, dtype=np.float64)
        self._apply(u, out)
        return out

    def apply_dot(self, u: np.ndarray, out: np.ndarray) -> float:
        """``out = A u`` and return ``u^T A u``, in one pass (CG's ``p^T A p``).

        >>> import problems
        >>> op = problems.get("varcoef2d", n=15).operator
        >>> u = np.linspace(0, 1, 225).reshape(15, 15)
        >>> out = np.empty_like(u)
        >>> bool(np.isclose(op.apply_dot(u, out), np.vdot(u, op.apply(u))))
        True
        """
        return self._apply(u, out)

    def _apply(self, u, out) -> float:
        if self.dim == 1:
            return _apply_1d(self.faces[0], self.c, 1.0 / self.h[0] ** 2, u, out)
        kernel = _apply_2d_parallel if u.size >= PARALLEL_THRESHOLD else _apply_2d
        return kernel(*self.faces, self.c, 1.0 / self.h[0] ** 2, 1.0 / self.h[1] ** 2, u, out)

    def matrix(self) -> sp.csr_matrix:
        """``A`` as a scipy.sparse CSR matrix of size ``N x N`` (C order of ``shape``)."""
        if self.dim == 1:
            (ax,) = self.faces
            off = -ax[1:-1] / self.h[0] ** 2
            return sp.diags([off, self.diagonal(), off], [-1, 0, 1], format="csr")
        ax, ay = self.faces
        (nx, ny), (hx, hy) = self.shape, self.h
        index = np.arange(nx * ny).reshape(nx, ny)
        # Couplings to the right (i+1, j) and up (i, j+1) neighbours; A is symmetric.
        wx = -ax[1:-1, :] / hx**2
        wy = -ay[:, 1:-1] / hy**2
        rows = np.concatenate([index[:-1, :].ravel(), index[:, :-1].ravel()])
        cols = np.concatenate([index[1:, :].ravel(), index[:, 1:].ravel()])
        vals = np.concatenate([wx.ravel(), wy.ravel()])
        upper = sp.coo_matrix((vals, (rows, cols)), shape=(nx * ny, nx * ny))
        return (upper + upper.T + sp.diags(self.diagonal().ravel())).tocsr()


@jit
def _diagonal_2d(ax, ay, c, ihx2, ihy2, out):
    """``out = (ax_W + ax_E) / hx^2 + (ay_S + ay_N) / hy^2 + c`` in one pass (no
    grid-sized temporaries: at 4095^2 each one costs its page faults)."""
    nx, ny = c.shape
    for i in range(nx):
        for j in range(ny):
            out[i, j] = (
                (ax[i, j] + ax[i + 1, j]) * ihx2 + (ay[i, j] + ay[i, j + 1]) * ihy2 + c[i, j]
            )


@jit
def _apply_1d(ax, c, inv_h2, u, out):
    """``out = A u``; returns ``u^T A u``."""
    n = u.shape[0]
    s = 0.0
    for i in range(n):
        left = u[i - 1] if i > 0 else 0.0
        right = u[i + 1] if i < n - 1 else 0.0
        v = (ax[i] * (u[i] - left) - ax[i + 1] * (right - u[i])) * inv_h2 + c[i] * u[i]
        out[i] = v
        s += u[i] * v
    return s


def _make_apply_2d(parallel):
    loop = prange if parallel else range

    def apply(ax, ay, c, inv_hx2, inv_hy2, u, out):
        """``out = A u``; returns ``u^T A u`` (summed by rows)."""
        nx, ny = u.shape
        s = 0.0
        for i in loop(nx):
            t = 0.0
            for j in range(ny):
                uc = u[i, j]
                west = u[i - 1, j] if i > 0 else 0.0
                east = u[i + 1, j] if i < nx - 1 else 0.0
                south = u[i, j - 1] if j > 0 else 0.0
                north = u[i, j + 1] if j < ny - 1 else 0.0
                v = (
                    (ax[i, j] * (uc - west) - ax[i + 1, j] * (east - uc)) * inv_hx2
                    + (ay[i, j] * (uc - south) - ay[i, j + 1] * (north - uc)) * inv_hy2
                    + c[i, j] * uc
                )
                out[i, j] = v
                t += uc * v
            s += t
        return s

    return jit(apply, parallel=parallel)


_apply_2d = _make_apply_2d(parallel=False)
_apply_2d_parallel = _make_apply_2d(parallel=True)


def constant_eigenvalues(shape, h, a: float = 1.0, c: float = 0.0) -> np.ndarray:
    r"""Eigenvalues of the constant-coefficient operator on the sine modes.

    .. math::

        \lambda_k = \sum_d \frac{4a}{h_d^2} \sin^2\!\Big(\frac{\pi k_d}{2 (n_d + 1)}\Big) + c,
        \qquad k_d = 1..n_d

    Returned with shape ``shape`` (entry ``k - 1`` for frequency ``k``), the
    layout of :func:`problems.spectrum.coefficients`.

    Examples
    --------
    >>> lam = constant_eigenvalues((3,), (0.25,))
    >>> np.allclose(lam, 64 * np.sin(np.pi * np.arange(1, 4) / 8) ** 2)
    True
    """
    parts = [
        4.0 * a / hd**2 * np.sin(np.pi * np.arange(1, n + 1) / (2 * (n + 1))) ** 2
        for n, hd in zip(shape, h, strict=True)
    ]
    if len(parts) == 1:
        return parts[0] + c
    return parts[0][:, None] + parts[1][None, :] + c
