r"""Many right-hand sides in one pass: the V-cycle and ``mg-pcg`` on an interleaved batch.

A batch of ``m`` right-hand sides of a 2D operator is stored interleaved,
``U[i, j, k]`` with the right-hand side ``k`` last and contiguous
(:mod:`solvers.multigrid._batch_kernels`). Every sweep then reads the
coefficients of a grid point (faces, ``1 / d``, shift) once for all ``m``
right-hand sides. :meth:`Multigrid.solve(F, batched=True)
<solvers.multigrid.Multigrid.solve>` takes this path.

Measured (``benchmarks/multigrid.py --only-batch``; 2 cores shared, load 1.8-2.6):
per right-hand side, against the same warm :class:`Multigrid` solving them one
after another, 0.84-0.87x at 1023^2 (m = 8; 0.86x to 1.5x at 255^2 in
different runs): the interleaved float32 grids (33 MB each) leave the 32 MB
cache the single right-hand-side grids fit in, and numba does not vectorise
the 8-wide loop over right-hand sides (see the kernels' module). Hence not
the default.

* :class:`BatchCycle`: the symmetric V-cycle of a :class:`~solvers.multigrid.VCycle`
  (Chebyshev smoother, nested 2D grids) applied to all columns at once; its
  coarsest solve is one Cholesky (or LU) solve with ``m`` columns for the
  direct solve, else the cycle's own solve column by column. Column ``k`` of
  ``B R`` is, bit for bit, the single right-hand-side cycle's ``B r_k`` (same
  operations in the same order and precision; the coarsest solve with ``m``
  columns may round differently in the last bit).
* :func:`pcg`: CG in float64 whose scalars (``alpha``, ``beta``, ``r^T z``,
  ``||r||``) are vectors of length ``m``: every column follows its own CG
  (the stopping tests of :func:`solvers.krylov.pcg`, column by column), and a
  column that stops is frozen, its iterate kept as it was when it stopped,
  while the others go on. The dot products sum in a different order than the
  single right-hand-side kernels, so iterates agree with the solves one by
  one to rounding, not bit for bit.

Other smoothers, 1D and non-nested hierarchies keep the loop over right-hand
sides (:meth:`Multigrid.solve <solvers.multigrid.Multigrid.solve>`); :func:`supports`
says which path a cycle takes.

Examples
--------
>>> import numpy as np, problems
>>> from solvers.multigrid import Multigrid
>>> p = problems.get("varcoef2d", n=63)
>>> mg = Multigrid(p.operator)
>>> supports(mg.cycle)
True
>>> F = np.stack([p.f, -p.f, np.zeros(p.shape)])
>>> U, its, reasons = pcg(mg.cycle, F, rtol=1e-10)
>>> its, reasons
([8, 8, 0], ['converged', 'converged', 'converged'])
>>> bool(np.array_equal(U[1], -U[0])), bool(p.relative_residual(U[0]) < 1e-10)
(True, True)
"""

from __future__ import annotations

import math

import numba
import numpy as np

from problems._numba import PARALLEL_THRESHOLD
from solvers import krylov, relaxation
from solvers.multigrid import _batch_kernels as _bk
from solvers.multigrid.transfer import Nested


def supports(cycle) -> bool:
    """True when ``cycle`` has an interleaved batch path: the Chebyshev smoother by
    name, a 2D hierarchy, and nested grids all the way down."""
    return (
        cycle.smooth == "chebyshev"
        and all(op.dim == 2 for op in cycle.levels)
        and all(isinstance(t, Nested) for t in cycle.transfers)
    )


def _blocks(shape, m: int) -> int:
    """Row blocks of the kernels on a grid of ``shape`` with ``m`` columns."""
    threads = numba.get_num_threads()
    if threads > 1 and math.prod(shape) * m >= PARALLEL_THRESHOLD:
        return min(threads, shape[0])
    return 1


class BatchCycle:
    """The V-cycle of ``cycle`` on ``m`` interleaved right-hand sides.

    Parameters
    ----------
    cycle : VCycle
        Its levels, plans (in its precision), Chebyshev degree and coarsest solve
        are used as they are (:func:`supports` must hold).
    m : int
        Right-hand sides per call (``>= 1``).

    Examples
    --------
    >>> import numpy as np, problems
    >>> from solvers.multigrid import Multigrid
    >>> p = problems.get("randcoef2d", n=31)
    >>> mg = Multigrid(p.operator, precision="float64")
    >>> R = np.random.default_rng(0).standard_normal((*p.shape, 2))
    >>> Z = BatchCycle(mg.cycle, 2).precondition(R)
    >>> bool(np.array_equal(Z[..., 1], mg.precondition(np.ascontiguousarray(R[..., 1]))))
    True
    """

    def __init__(self, cycle, m: int):
        if not supports(cycle):
            raise ValueError(
                "the batched cycle needs the 'chebyshev' smoother on nested 2D grids; got"
                f" smoother {cycle.smooth!r} on shapes {[op.shape for op in cycle.levels]}"
            )
        if type(m) is not int or m < 1:
            raise ValueError(f"m (right-hand sides) must be an int >= 1, got {m!r}")
        self.cycle, self.m = cycle, m
        dt = cycle.dtype
        levels = cycle.levels
        self._plans = cycle._plans
        self._unit = np.array([0.0, 1.0], dt)  # typed weights of missing / present neighbours
        self._u = [np.zeros((*op.shape, m), dt) for op in levels]
        self._b = [np.zeros((*op.shape, m), dt) for op in levels]
        self._x = [np.zeros((*op.shape, m), dt) for op in levels[:-1]]
        self._nb = [_blocks(op.shape, m) for op in levels]
        self._work = [
            np.zeros((1 + 4 * nb, op.shape[1], m), dt)
            for op, nb in zip(levels, self._nb, strict=True)
        ]
        self._steps = [
            relaxation.chebyshev_coefficients(*plan.chebyshev_bounds(), cycle.sweeps)
            for plan in self._plans[:-1]
        ]

    # -- the pieces -----------------------------------------------------------------
    def _smooth(self, level: int, u, b) -> None:
        plan, nb = self._plans[level], self._nb[level]
        kern = _bk.chebyshev_2d_batch_parallel if nb > 1 else _bk.chebyshev_2d_batch
        work = self._work[level][: 1 + nb]
        x, xo = u, self._x[level]
        for s, (c1, c2) in enumerate(self._steps[level]):
            first = s == 0 or c1 == 0.0
            kern(xo, x, b, plan.ax, plan.ay, plan.dinv, plan.ihx2, plan.ihy2, c1, c2,
                 plan.variable, first, work, self._unit)  # fmt: skip
            x, xo = xo, x
        if x is not u:
            np.copyto(u, x)

    def _coarse(self, u, b) -> None:
        solve = self.cycle.coarse_solve
        rhs = np.asarray(b, np.float64)
        if hasattr(solve, "columns"):  # DirectCoarseSolve: one solve with m columns
            u[...] = solve.columns(rhs.reshape(-1, self.m)).reshape(u.shape)
            return
        for k in range(self.m):
            u[..., k] = solve(np.ascontiguousarray(rhs[..., k]))

    def _cycle(self, level: int, u, b) -> None:
        if level == len(self._u) - 1:
            self._coarse(u, b)
            return
        self._smooth(level, u, b)
        plan, nb = self._plans[level], self._nb[level]
        cb, cu = self._b[level + 1], self._u[level + 1]
        rr = _bk.residual_restrict_2d_batch_parallel if nb > 1 else _bk.residual_restrict_2d_batch
        work = self._work[level][: 1 + 4 * nb]
        args = (plan.ax, plan.ay, plan.c, plan.ihx2, plan.ihy2, plan.variable)
        rr(u, b, *args, cb, work, self._unit)
        cu.fill(0.0)
        self._cycle(level + 1, cu, cb)
        pa = _bk.prolong_add_2d_batch_parallel if nb > 1 else _bk.prolong_add_2d_batch
        pa(cu, u)
        self._smooth(level, u, b)

    def precondition(self, r: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``B r`` for every column of ``r`` (float64, shape ``(*shape, m)``): one cycle
        from zero each; ``out`` (C-contiguous float64 of that shape) avoids the allocation."""
        shape = (*self.cycle.levels[0].shape, self.m)
        if r.shape != shape:
            raise ValueError(
                f"r must have shape {shape} (grid, then right-hand sides), got {r.shape}"
            )
        if out is None:
            out = np.empty(shape)
        if self.cycle.dtype == np.float64:
            out.fill(0.0)
            self._cycle(0, out, np.ascontiguousarray(r))
            return out
        b, u = self._b[0], self._u[0]
        copy = _bk.copy_parallel if self._nb[0] > 1 else _bk.copy
        copy(r.reshape(-1), b.reshape(-1), self._nb[0])
        u.fill(0.0)
        self._cycle(0, u, b)
        copy(u.reshape(-1), out.reshape(-1), self._nb[0])
        return out


class _Operator:
    """``A`` of the fine grid on interleaved float64 batches, with per-column sums."""

    def __init__(self, op, m: int):
        self.plan = relaxation._plan(op)
        nb = _blocks(op.shape, m)
        self.kernel = _bk.apply_2d_batch_parallel if nb > 1 else _bk.apply_2d_batch
        self.update, self.direction, self.dot = _bk.PARALLEL if nb > 1 else _bk.SERIAL
        self.nb = nb
        self.rows = np.empty((op.shape[0], m))
        self.sums = np.empty((nb, m))
        self.zeros = np.zeros((op.shape[1], m))

    def apply_dot(self, d, out) -> np.ndarray:
        """``out = A d``; returns ``d_k^T A d_k`` per column."""
        p = self.plan
        self.kernel(d, d, p.ax, p.ay, p.c, p.ihx2, p.ihy2, out, self.rows, False, self.zeros)
        return self.rows.sum(axis=0)

    def residual(self, u, f, out) -> np.ndarray:
        """``out = f - A u``; returns ``||f_k - A u_k||`` per column."""
        p = self.plan
        self.kernel(u, f, p.ax, p.ay, p.c, p.ihx2, p.ihy2, out, self.rows, True, self.zeros)
        return np.sqrt(self.rows.sum(axis=0))

    def dots(self, a, b) -> np.ndarray:
        self.dot(a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1]), self.sums)
        return self.sums.sum(axis=0)


class BatchPCG:
    """The buffers of :func:`pcg` for ``m`` right-hand sides of ``cycle``'s fine grid, kept
    between calls: fresh pages cost more than the solve's arithmetic on some machines
    (first touch of a 64 MiB array: 0.1-0.3 s here), and arrays this large are not
    recycled by ``malloc``.
    """

    def __init__(self, cycle, m: int):
        self.cycle, self.m = cycle, m
        shape = (*cycle.levels[0].shape, m)
        self.op = _Operator(cycle.levels[0], m)
        self.precondition = BatchCycle(cycle, m).precondition
        self.f, self.u, self.r, self.z, self.d, self.ad = (np.zeros(shape) for _ in range(6))

    def solve(self, F, rtol: float, maxiter: int | None):
        """:func:`pcg` with these buffers."""
        return _pcg(self, F, rtol, maxiter)


def pcg(cycle, F, *, rtol: float = 1e-8, maxiter: int | None = None, buffers=None):
    r"""CG preconditioned by ``cycle`` (one cycle from zero) for every ``F[k]``, in one pass.

    Each column runs the iteration of :func:`solvers.krylov.pcg` with its own
    scalars

    .. math::

        \alpha_k = \frac{r_k^T z_k}{d_k^T A d_k}, \qquad
        \beta_k = \frac{r_{k,new}^T z_{k,new}}{r_k^T z_k},

    and its own stopping tests: ``||r_k|| <= rtol ||f_k||`` (confirmed on the
    true residual, CG restarted from it if they disagree), ``d_k^T A d_k <= 0``
    (breakdown), a residual that is not finite, 50 iterations without a 10%
    lower residual (stagnation) and ``maxiter`` (default
    :data:`solvers.krylov.MAXITER`). A column that stops is frozen: its
    returned iterate is the one it stopped at, and its ``alpha``, ``beta`` are
    zero from then on.

    Parameters
    ----------
    cycle : VCycle
        The preconditioner (:func:`supports` must hold).
    F : ndarray
        ``(m, *shape)`` right-hand sides.

    Returns
    -------
    U : ndarray
        ``(m, *shape)`` solutions.
    iterations, reasons : list
        One entry per right-hand side: its iterations, and why it stopped
        (``"converged"``, ``"maxiter"``, ``"stagnated"``, ``"breakdown"``, ``"diverged"``).
    """
    op = cycle.levels[0]
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 3 or F.shape[1:] != tuple(op.shape) or F.shape[0] < 1:
        raise ValueError(f"F must have shape (m, *{tuple(op.shape)}) with m >= 1, got {F.shape}")
    if buffers is None or buffers.cycle is not cycle or buffers.m != F.shape[0]:
        buffers = BatchPCG(cycle, F.shape[0])
    return buffers.solve(F, rtol, maxiter)


def _pcg(buffers: BatchPCG, F, rtol, maxiter):
    m = buffers.m
    maxiter = krylov.MAXITER if maxiter is None else int(maxiter)
    f_norm = np.array([float(np.linalg.norm(fk)) or 1.0 for fk in F])
    A, precondition = buffers.op, buffers.precondition
    f, u, r, z, d, ad = buffers.f, buffers.u, buffers.r, buffers.z, buffers.d, buffers.ad
    np.copyto(f, np.moveaxis(F, 0, -1))
    u.fill(0.0)
    np.copyto(r, f)  # f - A 0
    flat = lambda a: a.reshape(-1, m)  # noqa: E731
    U = np.empty_like(F)  # every column is written when it stops
    iterations = [0] * m
    reason = [None] * m
    active = np.ones(m, bool)
    best, since = np.full(m, np.inf), np.zeros(m, int)
    rr = A.dots(r, r)

    def stop(k, why, it):
        reason[k], iterations[k], active[k] = why, it, False
        if why != "converged":  # else gathered at the end: alpha = beta = 0 keep it exactly
            U[k] = u[..., k]

    def restart(cols):
        precondition(r, z)
        for k in cols:
            d[..., k] = z[..., k]
        rz[cols] = A.dots(r, z)[cols]

    precondition(r, z)
    np.copyto(d, z)
    rz = A.dots(r, z)

    def measure_and_test(it):
        rel = np.sqrt(rr) / f_norm
        claim = [k for k in np.flatnonzero(active) if rel[k] <= rtol]
        if claim:
            true = ad  # free until the next step recomputes A d
            norms = A.residual(u, f, true)
            redo = []
            for k in claim:
                r[..., k] = true[..., k]
                rel[k] = norms[k] / f_norm[k]
                rr[k] = rel[k] ** 2 * f_norm[k] ** 2
                if rel[k] > rtol:
                    redo.append(k)
            if redo:
                restart(redo)
        for k in np.flatnonzero(active):
            if rel[k] <= rtol and rtol > 0:
                stop(k, "converged", it)
            elif not math.isfinite(rel[k]):
                stop(k, "diverged", it)
            else:
                if rel[k] < 0.9 * best[k]:
                    best[k], since[k] = rel[k], 0
                else:
                    since[k] += 1
                if since[k] >= krylov.STAGNATION:
                    stop(k, "stagnated", it)
                elif it >= maxiter:
                    stop(k, "maxiter", it)

    it = 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        measure_and_test(it)
        while active.any():
            dad = A.apply_dot(d, ad)
            for k in np.flatnonzero(active & (dad <= 0)):
                stop(k, "breakdown", it)
            alpha = np.where(active, rz / dad, 0.0)
            A.update(flat(u), flat(r), flat(d), flat(ad), alpha, A.sums)
            rr = A.sums.sum(axis=0)
            precondition(r, z)
            rz_new = A.dots(r, z)
            beta = np.where(active, rz_new / rz, 0.0)
            A.direction(flat(d), flat(z), beta, A.nb)
            rz = np.where(active, rz_new, rz)
            it += 1
            measure_and_test(it)
    done = [k for k in range(m) if reason[k] == "converged"]
    if len(done) == m:
        np.copyto(U, np.moveaxis(u, -1, 0))
    else:
        for k in done:
            U[k] = u[..., k]
    return U, iterations, reason
