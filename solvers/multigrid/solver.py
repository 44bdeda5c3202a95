r"""Classical geometric multigrid: the methods ``multigrid`` and ``mg-pcg``.

:class:`Multigrid` builds the hierarchy (:func:`~solvers.multigrid.hierarchy.build_levels`:
rediscretised coarse operators down to about ``coarsest`` points per axis), a
symmetric V(``sweeps``, ``sweeps``) cycle (:mod:`~solvers.multigrid.cycle`; the
option ``smoother``: lexicographic Gauss-Seidel by default, forward before the
coarse correction and backward after; red-black, Chebyshev or l1-Jacobi; the
option ``precision``: float64 or float32 cycles) and, on the coarsest grid, a
direct solve: Cholesky for SPD operators, LU otherwise. The coarsest
solve is pluggable: the neural methods of :mod:`hybrid.neural` replace it by
a learned space and keep everything else, so ``mg-pcg`` is their ablation.

* ``multigrid``: the stationary iteration ``u <- u + V(f - A u)``; its error
  falls by the cycle's convergence factor (about 0.1 for Poisson) per cycle,
  independently of the grid.
* ``mg-pcg``: conjugate gradients preconditioned by one cycle from zero,
  ``B r = V(r)``, which is symmetric positive definite for SPD ``A`` (the
  cycle is symmetric and its coarsest solve exact).

One iteration is one cycle (``multigrid``) or one CG step (``mg-pcg``); the
result's ``info`` reports ``cycles``, ``sweeps`` (fine-grid smoothing sweeps)
and the hierarchy.

Examples
--------
>>> import problems, solvers
>>> p = problems.get("varcoef2d", n=63)
>>> r = solvers.solve(p, "mg-pcg", rtol=1e-10, maxiter=50)
>>> r.converged, r.iterations <= 12
(True, True)
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import scipy.linalg as sla
import scipy.sparse.linalg as spla

from problems._numba import warm_up
from solvers.krylov import compile_kernels, pcg
from solvers.multigrid.cycle import PRECISIONS, SMOOTHERS, VCycle, check_choice
from solvers.multigrid.hierarchy import build_levels
from solvers.recording import Recorder, Stagnation, make_result, out_of_budget
from solvers.registry import method
from solvers.relaxation import _readonly

#: Cycles of ``multigrid`` when ``maxiter`` is not given.
MAXITER = 500
#: The cycle's smoother unless told otherwise, chosen by measured time to 1e-8
#: (``benchmarks/multigrid.py``, 1023^2): V(2,2) Gauss-Seidel was fastest on
#: varcoef2d and V(1,1) Gauss-Seidel on randcoef2d, red-black and Chebyshev within
#: 10-40% (one V-cycle costs 7.6-13.6 Jacobi sweeps whichever it is; fewer
#: sweeps take more CG steps). V(2,2) Gauss-Seidel also keeps ``mg-pcg`` the
#: exact ablation of the neural methods' defaults.
DEFAULT_SMOOTHER = "gauss-seidel"

OPTIONS = {
    "levels": "'auto' (default: coarsen to about `coarsest` points per axis) or the number of"
    " grids; 1 is a direct solve",
    "coarsest": "smallest points per axis of the hierarchy (default 15)",
    "sweeps": "smoothing sweeps before and after each coarse correction (Chebyshev: its"
    " degree; default 2)",
    "smoother": f"one of {', '.join(SMOOTHERS)} (default {DEFAULT_SMOOTHER!r}, the fastest to 1e-8"
    " measured by benchmarks/multigrid.py)",
    "precision": "'float64' (default) or 'float32': the precision of the V-cycle (CG and the"
    " residuals stay float64)",
}


def positive_int(name, value) -> int:
    """``value`` as an int >= 1, else ``ValueError`` naming ``name``."""
    try:
        ok = not isinstance(value, bool) and int(value) == value and value >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


class DirectCoarseSolve:
    """``e = A_c^{-1} r`` on the coarsest grid: Cholesky when ``A_c`` is SPD, else LU."""

    def __init__(self, op):
        self.shape = op.shape
        A = op.matrix()
        try:
            self._cholesky = sla.cho_factor(A.toarray()) if A.shape[0] <= 4096 else None
        except sla.LinAlgError:  # not positive definite (indefinite Helmholtz)
            self._cholesky = None
        self._lu = None if self._cholesky is not None else spla.splu(A.tocsc())

    def __call__(self, r: np.ndarray) -> np.ndarray:
        if self._cholesky is not None:
            return sla.cho_solve(self._cholesky, r.ravel(), check_finite=False).reshape(self.shape)
        return self._lu.solve(np.ascontiguousarray(r).ravel()).reshape(self.shape)


class Multigrid:
    """A grid hierarchy and its symmetric V-cycle, set up once for an operator.

    Parameters
    ----------
    operator : problems.Operator
    levels : "auto" or int
        Number of grids (``"auto"``: down to about ``coarsest`` points per axis).
    coarsest : int
        Smallest points per axis.
    sweeps : int
        Smoothing sweeps before and after each coarse correction (Chebyshev: degree).
    smoother : str
        One of :data:`~solvers.multigrid.cycle.SMOOTHERS`.
    precision : "float64" or "float32"
        The precision of the cycle (its input and output stay float64).
    coarse_solve : callable, optional
        ``e = coarse_solve(r)`` on the coarsest grid (default :class:`DirectCoarseSolve`);
        it may also be set later with :meth:`set_coarse_solve`.

    Examples
    --------
    >>> import numpy as np, problems
    >>> p = problems.get("random2d", n=31)
    >>> mg = Multigrid(p.operator)
    >>> [op.shape for op in mg.levels]
    [(31, 31), (15, 15)]
    >>> u = np.zeros(p.shape)
    >>> for _ in range(8):
    ...     u = mg.cycle(p.f, u)
    >>> bool(p.relative_residual(u) < 1e-6)
    True
    """

    def __init__(
        self,
        operator,
        *,
        levels="auto",
        coarsest=15,
        sweeps=2,
        coarse_solve=None,
        smoother=DEFAULT_SMOOTHER,
        precision="float64",
    ):
        if levels != "auto":
            levels = positive_int("levels", levels)
        self.sweeps = positive_int("sweeps", sweeps)
        self.smoother = check_choice("smoother", smoother, SMOOTHERS)
        self.precision = check_choice("precision", precision, PRECISIONS)
        self.levels = build_levels(
            operator,
            coarsest=positive_int("coarsest", coarsest),
            max_levels=None if levels == "auto" else levels,
        )
        # compile (or load) the smoother, operator and transfer kernels: a one-time
        # cost per process, kept off every clock
        self.cycle = VCycle(
            self.levels, smoother, np.zeros_like, sweeps=self.sweeps, dtype=precision
        )
        self.warm_seconds = warm_up(
            lambda: (
                self.cycle.precondition(np.zeros(operator.shape)),
                # `multigrid` passes the problem's read-only f: another specialisation
                self.cycle(_readonly(np.zeros(operator.shape)), np.zeros(operator.shape)),
                compile_kernels(operator.shape),
            )
        )
        self.set_coarse_solve(coarse_solve or DirectCoarseSolve(self.levels[-1]))

    def set_coarse_solve(self, coarse_solve) -> None:
        """Use ``e = coarse_solve(r)`` on the coarsest grid from now on."""
        self.cycle.coarse_solve = coarse_solve

    def precondition(self, r: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``B r``: one cycle from zero (a symmetric preconditioner); ``out`` avoids the
        allocation."""
        return self.cycle.precondition(r, out)

    def solve(self, f, *, rtol: float = 1e-8, maxiter: int | None = None):
        """``mg-pcg`` for one right-hand side (``shape``) or a batch ``(m, *shape)``.

        The hierarchy, coarsest factorisation, plans and buffers are set up once
        and serve every right-hand side; each runs its own CG (the same
        iterations as alone), with no history recorded.

        Returns
        -------
        u : ndarray
            The solutions, shaped like ``f``.
        info : dict
            ``iterations`` and ``converged``, one entry per right-hand side.

        Examples
        --------
        >>> import problems
        >>> p = problems.get("varcoef2d", n=31)
        >>> mg = Multigrid(p.operator)
        >>> F = np.stack([p.f, 2 * p.f])
        >>> U, info = mg.solve(F, rtol=1e-10)
        >>> U.shape, info["converged"], bool(np.allclose(U[1], 2 * U[0]))
        ((2, 31, 31), [True, True], True)
        """
        shape = self.levels[0].shape
        F = np.asarray(f, dtype=np.float64)
        single = F.shape == tuple(shape)
        if not single and F.shape[1:] != tuple(shape):
            raise ValueError(
                f"f must have shape {tuple(shape)} or (m, *{tuple(shape)}), got {F.shape}"
            )
        F = F.reshape(-1, *shape)
        U = np.empty_like(F)
        settings = SimpleNamespace(rtol=float(rtol), maxiter=maxiter, max_seconds=None)
        z = np.empty(shape)
        problem = _OperatorSystem(self.levels[0])
        its, conv = [], []
        for k in range(F.shape[0]):
            problem.f = np.ascontiguousarray(F[k])
            u, converged, it, _ = pcg(
                problem, settings, lambda r: self.precondition(r, z), _NO_HISTORY
            )
            U[k] = u
            its.append(it)
            conv.append(bool(converged))
        return (U[0] if single else U), {"iterations": its, "converged": conv}

    @property
    def transfers(self):
        """``transfers[l]`` moves between levels ``l`` and ``l + 1``."""
        return self.cycle.transfers

    def info(self) -> dict:
        return {
            "levels": len(self.levels),
            "coarsest_shape": list(self.levels[-1].shape),
            "smoother": self.smoother,
            "precision": self.precision,
        }


class _OperatorSystem:
    """``A u = f`` with the interface :func:`~solvers.krylov.pcg` needs."""

    def __init__(self, op):
        self.op, self.shape, self.f = op, op.shape, None

    def apply(self, u, out=None):
        return self.op.apply(u, out)

    def residual(self, u):
        return self.f - self.op.apply(u)


class _NoHistory:
    """A recorder that records nothing (:meth:`Multigrid.solve`)."""

    @staticmethod
    def record(*args):
        pass

    @staticmethod
    def due(iteration):
        return False

    @staticmethod
    def elapsed():
        return 0.0


_NO_HISTORY = _NoHistory()


def stationary(problem, settings, rec: Recorder, u: np.ndarray, step, maxiter=MAXITER, after=None):
    """Iterate ``step(u, f)`` (in place) to ``settings.rtol``.

    Returns ``(u, converged, iterations, message)``; stops on the budget, on a
    residual that stopped falling (:class:`~solvers.recording.Stagnation`) and
    on divergence (a residual above ``1e6`` times ``||f||`` or not finite).
    ``after(res_before, res_after)``, if given, sees each step's relative residuals.
    """
    f = problem.f
    f_norm = float(np.linalg.norm(f)) or 1.0
    res = float(np.linalg.norm(problem.residual(u))) / f_norm
    it = 0
    stagnation = Stagnation(window=10)
    while True:
        if res <= settings.rtol:
            return u, True, it, ""
        if stagnation.stalled(res):
            return u, False, it, stagnation.message()
        if out_of_budget(settings, it, rec, default_maxiter=maxiter):
            return u, False, it, "budget exhausted (maxiter or max_seconds)"
        if not np.isfinite(res) or res > 1e6:
            return u, False, it, f"diverged at cycle {it}: relative residual {res:.3g}"
        step(u, f)
        r = problem.residual(u)
        res, res_before = float(np.linalg.norm(r)) / f_norm, res
        it += 1
        if after is not None:
            after(res_before, res)
        if rec.due(it):
            rec.record(it, u, r)


def _solve(name, problem, settings, options):
    t0 = time.perf_counter()
    mg = Multigrid(problem.operator, **options)
    setup = time.perf_counter() - t0 - mg.warm_seconds
    rec = Recorder(problem, settings.record_every, settings.maxiter, phase=name)
    u = np.zeros(problem.shape) if settings.x0 is None else settings.x0.copy()
    rec.record(0, u)
    rec.restart_clock(setup)  # the set-up (hierarchy, coarsest factorisation) is on the clock
    if name == "mg-pcg":
        z = np.empty(problem.shape)  # the preconditioned residual, reused every step
        u, converged, it, message = pcg(
            problem, settings, lambda r: mg.precondition(r, z), rec, u, False
        )
    else:
        u, converged, it, message = stationary(
            problem, settings, rec, u, lambda u, f: mg.cycle(f, u)
        )
    info = {"cycles": it, "sweeps": 2 * mg.sweeps * it, "setup_seconds": setup, **mg.info()}
    return make_result(
        problem,
        name,
        options,
        settings,
        u,
        converged=converged,
        iterations=it,
        recorder=rec,
        message=message,
        info=info,
    )


@method("geometric multigrid V(2,2)-cycles (smoother by option), direct coarsest solve", OPTIONS)
def multigrid(problem, settings, **options):
    return _solve("multigrid", problem, settings, options)


@method("CG preconditioned by the symmetric geometric multigrid V-cycle", OPTIONS)
def mg_pcg(problem, settings, **options):
    if not getattr(problem, "definite", True):
        raise ValueError(
            f"method 'mg-pcg' needs a symmetric positive definite operator, but {problem.name}"
            " is indefinite; use 'mg-gmres', 'gmres', 'minres' or 'direct'"
        )
    return _solve("mg-pcg", problem, settings, options)
