r"""The symmetric V-cycle over a hierarchy (:mod:`solvers.multigrid.hierarchy`).

The V-cycle on level ``l`` for ``A_l u = b``:

.. math::

    u \leftarrow S_l^{\nu}(u), \quad
    u \leftarrow u + P\, V_{l+1}(R (b - A_l u)), \quad
    u \leftarrow (S_l^{*})^{\nu}(u)

with ``R = P^T / 2^d`` and ``S^*`` the adjoint of ``S`` in the energy inner
product, so with a symmetric coarsest solve the cycle is a symmetric
preconditioner (usable inside CG). The smoothers (:data:`SMOOTHERS`):

* ``gauss-seidel``: ``S`` a forward lexicographic sweep, ``S^*`` a backward one;
* ``red-black``: ``S`` red then black, ``S^*`` black then red;
* ``chebyshev``: a Chebyshev polynomial in ``D^{-1} A`` of degree ``nu`` (one
  "sweep" per degree), self-adjoint, the same before and after;
* ``l1-jacobi``: ``nu`` l1-Jacobi sweeps, self-adjoint.

A cycle allocates nothing on nested grids (the per-level iterates and
right-hand sides are kept between calls): the residual is computed and
restricted in one pass (the fine residual is never stored) and the coarse
correction is interpolated and added in one pass. With ``dtype=float32``
the whole cycle runs in single precision (half the memory traffic); it is
meant as a preconditioner inside a float64 Krylov method, whose residuals
stay in float64.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from problems import Operator
from solvers import relaxation
from solvers.multigrid import _transfer_kernels as _tk
from solvers.multigrid.transfer import Nested, transfer
from solvers.relaxation import relax

#: Smoothers a cycle can use by name.
SMOOTHERS = ("gauss-seidel", "red-black", "chebyshev", "l1-jacobi")
PRECISIONS = ("float64", "float32")


def gauss_seidel(op: Operator, u: np.ndarray, rhs: np.ndarray, sweeps: int, direction: str):
    """``sweeps`` lexicographic Gauss-Seidel sweeps in place, ``direction``
    ``"forward"`` or ``"backward"`` (the smoother as a function, for hybrids)."""
    relax(op, u, "gauss-seidel", sweeps, rhs=rhs, sweep=direction)


Smoother = Callable[[Operator, np.ndarray, np.ndarray, int, str], None]


def smooth(plan, smoother: str, u, b, sweeps: int, direction: str, zero: bool = False):
    """The cycle's smoothing by name: ``sweeps`` sweeps (Chebyshev: its degree) of
    ``smoother`` on ``u`` in place, with the level's plan (no checks, no allocation);
    ``zero``: from ``u = 0``, whatever ``u`` holds."""
    relaxation._sweep(plan, smoother, u, b, 1.0, direction, sweeps, zero)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


class VCycle:
    """A symmetric V-cycle over ``levels`` with ``coarse_solve`` on the last one.

    Parameters
    ----------
    levels : list of Operator
        Fine to coarse (:func:`build_levels`).
    smooth : str or callable
        One of :data:`SMOOTHERS`, or ``smooth(op, u, rhs, sweeps, direction)`` in
        place (``direction`` ``"forward"`` or ``"backward"``; float64 only).
    coarse_solve : callable
        ``e = coarse_solve(r)`` on the coarsest level (float64); symmetric and
        linear for the cycle to be a symmetric preconditioner.
    sweeps : int
        Pre- and post-smoothing sweeps (Chebyshev: its degree) on each level but
        the coarsest.
    dtype : "float64" or "float32"
        The precision the cycle computes in.

    Examples
    --------
    >>> import problems
    >>> from solvers.multigrid import build_levels, DirectCoarseSolve
    >>> p = problems.get("varcoef2d", n=63)
    >>> levels = build_levels(p.operator)
    >>> v = VCycle(levels, "red-black", DirectCoarseSolve(levels[-1]))
    >>> u = np.zeros(p.shape)
    >>> for _ in range(6):
    ...     u = v(p.f, u)
    >>> bool(p.relative_residual(u) < 1e-6)
    True
    """

    def __init__(self, levels, smooth, coarse_solve, sweeps: int = 2, dtype="float64"):
        self.levels = levels
        self.dtype = np.dtype(check_choice("precision", str(np.dtype(dtype)), PRECISIONS))
        if isinstance(smooth, str):
            check_choice("smoother", smooth, SMOOTHERS)
        elif self.dtype != np.float64:
            raise ValueError("a float32 cycle needs a smoother by name, one of " + str(SMOOTHERS))
        self.smooth = smooth
        self.coarse_solve = coarse_solve
        self.sweeps = sweeps
        #: ``transfers[l]`` moves between levels ``l`` and ``l + 1``.
        self.transfers = [transfer(a.shape, b.shape) for a, b in itertools.pairwise(levels)]
        self._plans = [relaxation._plan(op).cast(self.dtype) for op in levels]
        if smooth == "chebyshev":  # the eigenvalue estimates are set-up work: do it now
            for plan in self._plans:
                plan.chebyshev_bounds()
        # per level: the iterate and right-hand side of the cycle (level 0: the
        # caller's arrays in float64, so its buffers exist only in float32)
        own = [self.dtype != np.float64] + [True] * (len(levels) - 1)
        self._u = [
            np.zeros(op.shape, self.dtype) if k else None for op, k in zip(levels, own, strict=True)
        ]
        self._b = [
            np.zeros(op.shape, self.dtype) if k else None for op, k in zip(levels, own, strict=True)
        ]
        self._work = [self._restrict_work(op) for op in levels]
        self._z = None  # precondition_in_place's result of a float64 cycle

    def _restrict_work(self, op):
        if op.dim != 2:
            return None
        plan = relaxation._plan(op)
        nb = plan.blocks()
        return np.zeros((1 + 4 * nb, op.shape[1]), self.dtype)

    # -- the pieces -------------------------------------------------------------
    def _smooth(self, level: int, u, b, direction: str, zero: bool = False) -> None:
        if not isinstance(self.smooth, str):
            if zero:
                u.fill(0.0)
            self.smooth(self.levels[level], u, b, self.sweeps, direction)
            return
        smooth(self._plans[level], self.smooth, u, b, self.sweeps, direction, zero)

    def _residual_restrict(self, level: int, u, b, out) -> None:
        """``out = R (b - A u)`` between ``level`` and ``level + 1``."""
        t, plan = self.transfers[level], self._plans[level]
        if isinstance(t, Nested):
            if plan.dim == 1:
                _tk.residual_restrict_1d(u, b, plan.ax, plan.c, plan.ihx2, plan.variable, out)
            else:
                kern = (
                    _tk.residual_restrict_2d_parallel if plan.parallel else _tk.residual_restrict_2d
                )
                args = (plan.ax, plan.ay, plan.c, plan.ihx2, plan.ihy2, plan.variable)
                kern(u, b, *args, out, self._work[level])
            return
        r = b.astype(np.float64) - self.levels[level].apply(u.astype(np.float64))
        out[...] = t.restrict(r)

    def _prolong_add(self, level: int, e, u) -> None:
        """``u += P e`` from ``level + 1`` to ``level``."""
        t = self.transfers[level]
        if isinstance(t, Nested):
            if e.ndim == 1:
                _tk.prolong_add_1d(e, u)
            elif self._plans[level].parallel:
                _tk.prolong_add_2d_parallel(e, u)
            else:
                _tk.prolong_add_2d(e, u)
        elif u.dtype == np.float64:
            t.prolong_add(np.asarray(e, np.float64), u)
        else:
            u += t.prolong(np.asarray(e, np.float64)).astype(u.dtype)

    def _cycle(self, level: int, u, b, zero: bool = False) -> None:
        """One cycle on ``A_level u = b`` in place (``u``, ``b`` in the cycle's dtype);
        ``zero``: from ``u = 0``, whatever ``u`` holds (it is not read)."""
        if level == len(self.levels) - 1:
            e = self.coarse_solve(np.asarray(b, np.float64))
            if zero or not u.any():
                u[...] = e
            else:
                u += self.coarse_solve(
                    np.asarray(b, np.float64) - self.levels[level].apply(u.astype(np.float64))
                )
            return
        self._smooth(level, u, b, "forward", zero)
        cb, cu = self._b[level + 1], self._u[level + 1]
        self._residual_restrict(level, u, b, cb)
        self._cycle(level + 1, cu, cb, zero=True)
        self._prolong_add(level, cu, u)
        self._smooth(level, u, b, "backward")

    # -- entries ------------------------------------------------------------------
    def __call__(self, b: np.ndarray, u: np.ndarray | None = None, level: int = 0) -> np.ndarray:
        """Apply one cycle to ``A_level u = b`` (from ``u``, or zero), returning ``u``.

        ``u`` (float64) is updated in place when given. A float32 cycle from a
        non-zero ``u`` corrects it by a cycle on the float64 residual.
        """
        op = self.levels[level]
        if level == len(self.levels) - 1:
            if u is None:
                return self.coarse_solve(b)
            return u + self.coarse_solve(b - op.apply(u))
        if self.dtype != np.float64:
            if u is None:
                return self._precondition(level, np.asarray(b, np.float64), None)
            u += self._precondition(level, b - op.apply(u), None)
            return u
        b = np.ascontiguousarray(b, dtype=np.float64)
        if u is None:
            u = np.zeros(op.shape)
        self._cycle(level, u, b)
        return u

    def _precondition(self, level, r, out):
        if self.dtype == np.float64:
            out = np.empty(r.shape) if out is None else out
            self._cycle(level, out, np.ascontiguousarray(r), zero=True)
            return out
        u = self._low_precision_cycle(level, r)
        out = np.empty(r.shape) if out is None else out
        np.copyto(out, u)
        return out

    def _low_precision_cycle(self, level, r):
        """One cycle from zero on ``r`` cast to the cycle's dtype; returns its own iterate."""
        b, u = self._b[level], self._u[level]
        np.copyto(b, r, casting="same_kind")
        self._cycle(level, u, b, zero=True)
        return u

    def precondition_in_place(self, r: np.ndarray) -> np.ndarray:
        """``B r`` in the cycle's precision, in the cycle's own buffer: valid until the
        next call (CG reads a float32 ``z`` as is; no float64 copy is written)."""
        if self.dtype == np.float64:
            if self._z is None:
                self._z = np.zeros(r.shape)
            return self._precondition(0, r, self._z)
        return self._low_precision_cycle(0, r)

    def precondition(self, r: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``B r``: one cycle from zero (the symmetric preconditioner), float64.

        ``out`` (C-contiguous float64 of the fine shape) receives it without an
        allocation.
        """
        return self._precondition(0, r, out)
