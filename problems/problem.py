r"""The :class:`Problem`: a boundary-value problem discretised on a grid.

.. math::

    -\nabla\cdot(a \nabla u) + c u = f \ \text{in } \Omega, \qquad u = g \ \text{on } \partial\Omega

on a box ``Omega``, with ``a > 0``. With ``c >= 0`` the discrete operator is
symmetric positive definite; ``c`` may be negative (the indefinite Helmholtz
equation, ``c = -k(x)^2``), and then ``p.definite`` is False and
``p.points_per_wavelength`` says how well the grid resolves the waves.
The unknowns are the interior grid values; boundary values ``g`` are moved to the right-hand side,
so ``p.f`` is the *lifted* right-hand side and the discrete system is
``A u = p.f`` with ``A = p.matrix()``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np
import scipy.fft
import scipy.sparse.linalg as spla

from problems.grid import Grid
from problems.operators import Operator, constant_eigenvalues

#: A coefficient or datum: a number (constant) or a vectorised function of the coordinates.
Field = float | Callable[..., np.ndarray]


def _evaluate(field: Field, coords: tuple[np.ndarray, ...]) -> np.ndarray:
    if callable(field):
        value = np.asarray(field(*coords), dtype=np.float64)
        return np.broadcast_to(value, np.broadcast_shapes(*(c.shape for c in coords))).copy()
    return np.full(np.broadcast_shapes(*(c.shape for c in coords)), float(field))


def sparse_lu(A):
    """SuperLU factors of a symmetric sparse ``A`` (definite or not), fill-reducing order of
    ``A + A^T`` with diagonal pivots preferred.

    SuperLU's default partial pivoting (threshold 1) leaves the diagonal of an
    *indefinite* ``A`` (Helmholtz) often and wrecks the symmetric ordering: at
    255^2, k = 80 it filled 13.5 million entries in 8.7 s against 3.4 million in
    1.05 s here (and a 511^2 factorisation ran for minutes). A pivot leaves the
    diagonal only when it is 1000 times smaller than the column's largest entry.

    >>> import scipy.sparse as sp
    >>> lu = sparse_lu(sp.csc_matrix(np.array([[2.0, 1.0], [1.0, -3.0]])))
    >>> np.allclose(lu.solve(np.array([3.0, -2.0])), [1.0, 1.0])
    True
    """
    return spla.splu(
        A.tocsc(),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=1e-3,
        options={"SymmetricMode": True},
    )


def _check_finite(name: str, what: str, values: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{name}: {what} is not finite at {int(bad.sum())} of {values.size} grid points;"
            " coefficients and data must be finite numbers"
        )


class Problem:
    """A discretised Poisson-type problem (see the module docstring).

    Parameters
    ----------
    name : str
        Catalogue name (or any label).
    grid : Grid
        The interior grid.
    source : float or callable
        ``f(x[, y])`` of the continuous problem.
    a, c : float or callable
        Diffusion coefficient (``> 0``) and shift (any sign; ``c < 0`` somewhere
        makes ``A`` indefinite).
    boundary : float, callable or None
        Dirichlet data ``g``; ``None`` means ``g = 0``.
    exact : callable or None
        The continuous solution, when known.
    params : dict
        The parameters the catalogue built it with (recorded in results).
    description : str
        One line for listings.

    Examples
    --------
    >>> p = Problem("demo", Grid((7,), (0.0,), (1.0,)), source=1.0)
    >>> p.shape, p.dim
    ((7,), 1)
    >>> float(np.linalg.norm(p.residual(p.reference())) / np.linalg.norm(p.f)) < 1e-12
    True
    """

    #: Relative gap of ``k^2`` to the nearest eigenvalue (:mod:`problems.helmholtz`), set by the
    #: catalogue for Helmholtz problems; ``None`` when not computed.
    resonance_gap: float | None = None

    def __init__(
        self,
        name: str,
        grid: Grid,
        source: Field,
        *,
        a: Field = 1.0,
        c: Field = 0.0,
        boundary: Field | None = None,
        exact: Callable[..., np.ndarray] | None = None,
        params: dict[str, Any] | None = None,
        description: str = "",
    ):
        self.name = name
        self.grid = grid
        self.source = source
        self.a = a
        self.c = c
        self.boundary = boundary
        self._exact = exact
        self.params = dict(params or {})
        self.description = description
        # Validate eagerly: a bad coefficient should fail at construction,
        # naming the culprit, not deep inside a solver.
        self.operator  # noqa: B018
        self.f  # noqa: B018

    def __repr__(self) -> str:
        shape = "x".join(map(str, self.shape))
        return f"Problem({self.name!r}, {shape}, params={self.params})"

    # -- geometry ---------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.grid.dim

    @property
    def shape(self) -> tuple[int, ...]:
        return self.grid.shape

    @property
    def size(self) -> int:
        return self.grid.size

    @property
    def h(self) -> float | tuple[float, ...]:
        """Grid spacing: a float in 1D, ``(hx, hy)`` in 2D."""
        return self.grid.h[0] if self.dim == 1 else self.grid.h

    @cached_property
    def x(self) -> tuple[np.ndarray, ...]:
        """Interior coordinates, one array of shape ``shape`` per axis."""
        return self.grid.mesh()

    @property
    def is_constant_coefficient(self) -> bool:
        """True when ``a`` and ``c`` are constants (sine modes diagonalise ``A``)."""
        return not callable(self.a) and not callable(self.c)

    # -- the discrete system ----------------------------------------------------
    @property
    def definite(self) -> bool:
        """Whether ``A`` is symmetric positive definite (``c >= 0`` everywhere)."""
        return bool((self.operator.c >= 0).all())

    @property
    def wavenumber(self) -> float:
        r"""The largest local wavenumber ``k = sqrt(max(-c, 0))`` (0 for definite problems)."""
        return float(np.sqrt(max(-float(self.operator.c.min()), 0.0)))

    @property
    def points_per_wavelength(self) -> float:
        r"""Grid points per shortest wavelength, ``2 pi / (k_max h_max)`` (inf when ``k = 0``).

        About 10 or more resolves the waves to a few per cent of phase error
        per wavelength; below about 6 the discrete waves travel visibly slower.

        >>> p = Problem("w", Grid((63,), (0.0,), (1.0,)), source=1.0, c=-(10.0**2))
        >>> round(p.points_per_wavelength, 2), p.definite
        (40.21, False)
        """
        k = self.wavenumber
        return float("inf") if k == 0 else float(2 * np.pi / (k * max(self.grid.h)))

    @cached_property
    def operator(self) -> Operator:
        faces = []
        for axis in range(self.dim):
            coords = list(self.grid.axes)
            coords[axis] = self.grid.faces(axis)
            values = _evaluate(self.a, tuple(np.meshgrid(*coords, indexing="ij")))
            _check_finite(self.name, "the coefficient a", values)
            if (values <= 0).any():
                raise ValueError(
                    f"{self.name}: the coefficient a must be > 0 everywhere, got min(a) = "
                    f"{values.min():.3g}"
                )
            faces.append(values)
        c = _evaluate(self.c, self.x)
        _check_finite(self.name, "the shift c", c)
        return Operator(tuple(faces), c, self.grid.h)

    @cached_property
    def f(self) -> np.ndarray:
        """Right-hand side on the interior, boundary data lifted in."""
        f = _evaluate(self.source, self.x)
        _check_finite(self.name, "the right-hand side f", f)
        if self.boundary is not None:
            f = f + self._boundary_lift()
            _check_finite(self.name, "the boundary data g", f)
        f.setflags(write=False)
        return f

    def _boundary_lift(self) -> np.ndarray:
        """Boundary values times their stencil weights, for the interior next to them."""
        lift = np.zeros(self.shape)
        lo, hi = self.grid.lower, self.grid.upper
        if self.dim == 1:
            (ax,), (h,) = self.operator.faces, self.grid.h
            g = _evaluate(self.boundary, (np.array([lo[0], hi[0]]),))
            lift[0] += ax[0] * g[0] / h**2
            lift[-1] += ax[-1] * g[1] / h**2
            return lift
        (ax, ay), (hx, hy) = self.operator.faces, self.grid.h
        xs, ys = self.grid.axes
        g_west = _evaluate(self.boundary, (np.full_like(ys, lo[0]), ys))
        g_east = _evaluate(self.boundary, (np.full_like(ys, hi[0]), ys))
        g_south = _evaluate(self.boundary, (xs, np.full_like(xs, lo[1])))
        g_north = _evaluate(self.boundary, (xs, np.full_like(xs, hi[1])))
        lift[0, :] += ax[0, :] * g_west / hx**2
        lift[-1, :] += ax[-1, :] * g_east / hx**2
        lift[:, 0] += ay[:, 0] * g_south / hy**2
        lift[:, -1] += ay[:, -1] * g_north / hy**2
        return lift

    def with_rhs(self, f: np.ndarray, name: str | None = None) -> Problem:
        """The same operator with the discrete right-hand side ``f`` (grid values).

        ``f`` replaces the lifted right-hand side; the exact solution is then
        unknown and ``reference()`` is recomputed. Used to solve many
        right-hand sides with one operator (``hybrid.HybridSolver``).

        Examples
        --------
        >>> p = Problem("demo", Grid((7,), (0.0,), (1.0,)), source=1.0)
        >>> q = p.with_rhs(np.ones(7) * 2)
        >>> bool(np.allclose(q.reference(), 2 * p.reference())), q.exact()
        (True, None)
        """
        f = self._check_field(f).copy()
        _check_finite(self.name, "the right-hand side f", f)
        f.setflags(write=False)
        other = copy.copy(self)
        other.__dict__.pop("_reference", None)
        other.__dict__.pop("_error_spectrum", None)
        other.__dict__["f"] = f
        other._exact = None
        other.source = None
        other.boundary = None
        other.name = name or self.name
        return other

    def matrix(self):
        """``A`` as scipy.sparse CSR, ``N x N`` with ``N = prod(shape)``, C order."""
        return self.operator.matrix()

    def apply(self, u: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Matrix-free ``A u``; ``u`` has shape ``shape``."""
        u = self._check_field(u)
        return self.operator.apply(u, out)

    def apply_dot(self, u: np.ndarray, out: np.ndarray) -> float:
        """``out = A u`` and return ``u^T A u`` in one pass (``out`` float64, C order)."""
        return self.operator.apply_dot(self._check_field(u), out)

    def residual(self, u: np.ndarray) -> np.ndarray:
        """``f - A u``."""
        return self.f - self.apply(u)

    def relative_residual(self, u: np.ndarray) -> float:
        """``||f - A u||_2 / ||f||_2``."""
        return float(np.linalg.norm(self.residual(u)) / np.linalg.norm(self.f))

    def _check_field(self, u) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64)
        if u.shape != self.shape:
            raise ValueError(f"{self.name}: expected an array of shape {self.shape}, got {u.shape}")
        return np.ascontiguousarray(u)

    # -- solutions --------------------------------------------------------------
    def exact(self) -> np.ndarray | None:
        """The continuous solution at the interior points, or ``None`` if unknown."""
        if self._exact is None:
            return None
        return _evaluate(self._exact, self.x)

    def reference(self) -> np.ndarray:
        """The discrete solution ``A^{-1} f`` (cached, read-only).

        Constant coefficients: the sine transform diagonalises ``A``
        (``O(N log N)``). Otherwise a sparse direct solve.
        """
        if "_reference" not in self.__dict__:
            if self.is_constant_coefficient:
                u = self.dst_solve(self.f)
            else:
                u = sparse_lu(self.matrix()).solve(self.f.ravel()).reshape(self.shape)
            u.setflags(write=False)
            self._reference = u
        return self._reference

    def dst_solve(self, rhs: np.ndarray, a: float | None = None, c: float | None = None):
        r"""Solve the constant-coefficient system by the orthonormal DST-I.

        .. math:: u = S \, \mathrm{diag}(\lambda)^{-1} S \, r

        with ``S`` the (self-inverse) orthonormal DST-I and ``lambda`` from
        :func:`problems.operators.constant_eigenvalues`. ``a`` and ``c``
        default to the problem's own constants; pass them to use this as a
        preconditioner for variable coefficients.
        """
        if a is None or c is None:
            if not self.is_constant_coefficient:
                raise ValueError(
                    f"{self.name}: dst_solve needs constant a and c; pass reference values"
                    " a=..., c=... to use it as a preconditioner"
                )
            a = float(self.a) if a is None else a
            c = float(self.c) if c is None else c
        lam = constant_eigenvalues(self.shape, self.grid.h, a, c)
        # workers=-1: the transforms of the rows (columns) run on every core; at 1023^2
        # the pair took 23 ms against 31 ms on one core of two
        rhs_hat = scipy.fft.dstn(rhs, type=1, norm="ortho", workers=-1)
        return scipy.fft.idstn(rhs_hat / lam, type=1, norm="ortho", workers=-1)

    def discretization_error(self) -> float | None:
        """``||u_ref - u_exact||_2 / ||u_exact||_2`` at the grid points, or ``None``."""
        exact = self.exact()
        if exact is None:
            return None
        return float(np.linalg.norm(self.reference() - exact) / np.linalg.norm(exact))

    # -- for mesh-free solvers (the DNN) ---------------------------------------
    def evaluate(self, which: str, *coords: np.ndarray) -> np.ndarray:
        """Evaluate ``"a"``, ``"c"``, ``"source"`` or ``"boundary"`` at any points."""
        fields = {"a": self.a, "c": self.c, "source": self.source, "boundary": self.boundary}
        if which not in fields:
            raise ValueError(f"unknown field {which!r}; expected one of {sorted(fields)}")
        field = fields[which]
        if which == "source" and field is None:
            raise ValueError(
                f"{self.name}: the right-hand side is given only as grid values (with_rhs);"
                " use a grid-based method or loss"
            )
        return _evaluate(0.0 if field is None else field, tuple(map(np.asarray, coords)))

    def distance(self, *coords: np.ndarray) -> np.ndarray:
        r"""A smooth function that vanishes exactly on the boundary, 1 at the centre.

        .. math:: d(x) = \prod_d \frac{(x_d - l_d)(u_d - x_d)}{((u_d - l_d)/2)^2}
        """
        out = np.ones(np.broadcast_shapes(*(np.shape(x) for x in coords)))
        for x, lo, hi in zip(coords, self.grid.lower, self.grid.upper, strict=True):
            out = out * (x - lo) * (hi - x) / ((hi - lo) / 2) ** 2
        return out

    def lift(self, *coords: np.ndarray) -> np.ndarray:
        r"""A function equal to the boundary data ``g`` on the boundary.

        Linear interpolation in 1D; in 2D the transfinite (Coons) interpolant

        .. math::

            G = (1-s) g(l_x, y) + s\, g(u_x, y) + (1-t) g(x, l_y) + t\, g(x, u_y)
                - \text{bilinear interpolant of the corners},

        with ``s, t`` the scaled coordinates. Zero when ``g`` is ``None``.
        """
        coords = tuple(np.asarray(x, dtype=np.float64) for x in coords)
        shape = np.broadcast_shapes(*(x.shape for x in coords))
        if self.boundary is None:
            return np.zeros(shape)
        lo, hi = self.grid.lower, self.grid.upper
        g = self.boundary
        if self.dim == 1:
            (x,) = coords
            s = (x - lo[0]) / (hi[0] - lo[0])
            g0, g1 = _evaluate(g, (np.array([lo[0], hi[0]]),))
            return (1 - s) * g0 + s * g1
        x, y = np.broadcast_arrays(*coords)
        s = (x - lo[0]) / (hi[0] - lo[0])
        t = (y - lo[1]) / (hi[1] - lo[1])

        def at(xv, yv):
            return _evaluate(g, np.broadcast_arrays(np.asarray(xv, float), np.asarray(yv, float)))

        edges = (
            (1 - s) * at(lo[0], y) + s * at(hi[0], y) + (1 - t) * at(x, lo[1]) + t * at(x, hi[1])
        )
        corners = (
            (1 - s) * (1 - t) * at(lo[0], lo[1])
            + s * (1 - t) * at(hi[0], lo[1])
            + (1 - s) * t * at(lo[0], hi[1])
            + s * t * at(hi[0], hi[1])
        )
        return edges - corners
