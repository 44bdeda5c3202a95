r"""Classical geometric multigrid: the methods ``multigrid`` and ``mg-pcg``.

:class:`Multigrid` builds the hierarchy (:func:`~solvers.multigrid.hierarchy.build_levels`:
rediscretised coarse operators down to about ``coarsest`` points per axis), a
symmetric V(``sweeps``, ``sweeps``) cycle (:mod:`~solvers.multigrid.cycle`; the
option ``smoother``: by default a Chebyshev polynomial of degree ``sweeps`` in
``D^{-1} A``, the same before and after the coarse correction; lexicographic
Gauss-Seidel (forward before, backward after), red-black or l1-Jacobi; the
option ``precision``: float32 cycles by default, or float64) and, on the coarsest grid, a
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

import math
import time
from types import SimpleNamespace

import numpy as np
import scipy.linalg as sla

from problems._numba import warm_up
from problems.parameters import Parameter, Parameters, choice, either, integer
from problems.problem import sparse_lu
from solvers import krylov, relaxation
from solvers.driver import Driver
from solvers.krylov import compile_kernels
from solvers.multigrid import batch
from solvers.multigrid.cycle import PRECISIONS, SMOOTHERS, VCycle
from solvers.multigrid.hierarchy import build_levels
from solvers.reference import require_definite
from solvers.registry import method
from solvers.relaxation import _readonly

#: Cycles of ``multigrid`` when ``maxiter`` is not given.
MAXITER = 500
#: Cycles without a 10% lower residual after which ``multigrid`` stops as stagnated.
STAGNATION = 10

#: The cycle's smoother and precision unless told otherwise, chosen by measured
#: time to 1e-8 (``benchmarks/multigrid.py``, 1023^2, quiet machine, medians of 5,
#: cold set-ups, 2026-12-01): Chebyshev degree 2 (both steps in one pass) took
#: 0.085-0.090 s to solve (0.10-0.11 s with its set-up) on varcoef2d (contrast 19)
#: and randcoef2d (contrast 100), in float32 and float64 alike (float32 was up to
#: 1.3x faster in earlier runs and halves the cycle's memory); red-black V(1,1)
#: 0.11-0.12 s; V(2,2) Gauss-Seidel 0.16-0.19 s. The float32 cycle gives the same
#: CG iterations and the same attainable float64 accuracy (the residuals and CG
#: stay float64; checked to the 1e-12 floor). Methods whose design is Gauss-Seidel
#: (``hints``, ``mg-gmres``: Chebyshev's bounds assume a positive spectrum) pin
#: their own smoother.
DEFAULT_SMOOTHER = "chebyshev"
#: See :data:`DEFAULT_SMOOTHER`.
DEFAULT_PRECISION = "float32"

#: The options of ``multigrid`` and ``mg-pcg`` (and of :class:`Multigrid`).
OPTIONS = Parameters(
    Parameter(
        "levels",
        "auto",
        either(choice("auto"), integer(low=1)),
        "'auto' (default: coarsen to about `coarsest` points per axis) or the number of"
        " grids; 1 is a direct solve",
    ),
    Parameter("coarsest", 15, integer(low=1), "smallest points per axis of the hierarchy"),
    Parameter(
        "sweeps",
        2,
        integer(low=1),
        "smoothing sweeps before and after each coarse correction (Chebyshev: its degree)",
    ),
    Parameter(
        "smoother",
        DEFAULT_SMOOTHER,
        choice(*SMOOTHERS),
        f"one of {', '.join(SMOOTHERS)} (the fastest to 1e-8 measured by benchmarks/multigrid.py)",
    ),
    Parameter(
        "precision",
        DEFAULT_PRECISION,
        choice(*PRECISIONS),
        "'float64' or 'float32': the precision of the V-cycle (CG and the residuals stay float64)",
    ),
)


#: The warm-up (:func:`warm_cycle`) runs on the first grid of the hierarchy with at
#: most this many points.
WARM_UP_SIZE = 128 * 128


def warm_cycle(levels, smoother, sweeps, precision) -> None:
    """Compile (or load) every kernel a cycle over ``levels`` and CG call, on a small grid.

    The cycle is built on the tail of the hierarchy that starts at the first
    grid with at most :data:`WARM_UP_SIZE` points: the same kernels (with more
    than ``PARALLEL_THRESHOLD`` points it still takes the parallel ones) without
    touching the fine grid's buffers, whose allocation and first use belong to
    the timed set-up and solve. Gauss-Seidel on grids of more than
    ``WAVEFRONT_MIN_SIZE`` points runs another kernel (a parallel wavefront): then
    the tail starts at the smallest such grid.
    """
    sizes = [math.prod(op.shape) for op in levels]
    start = next((k for k, size in enumerate(sizes) if size <= WARM_UP_SIZE), len(levels) - 1)
    if smoother == "gauss-seidel":
        wavefront = [k for k, op in enumerate(levels) if relaxation._plan(op).wavefront]
        start = min(start, max(wavefront, default=start))
    tail = levels[start:]
    cycle = VCycle(tail, smoother, np.zeros_like, sweeps=sweeps, dtype=precision)
    shape = tail[0].shape
    cycle.precondition(np.zeros(shape))
    # `multigrid` passes the problem's read-only f: another specialisation
    cycle(_readonly(np.zeros(shape)), np.zeros(shape))
    compile_kernels(shape)


class DirectCoarseSolve:
    """``e = A_c^{-1} r`` on the coarsest grid: Cholesky when ``A_c`` is SPD, else LU."""

    def __init__(self, op):
        self.shape = op.shape
        A = op.matrix()
        self._cholesky = None
        # c >= 0 makes A SPD (diagonally dominant M-matrix); with c < 0 a dense Cholesky
        # would only fail after its O(N^3) work, so indefinite grids go straight to LU
        if A.shape[0] <= 4096 and (op.c >= 0).all():
            self._cholesky = sla.cho_factor(A.toarray())
        self._lu = None if self._cholesky is not None else sparse_lu(A)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        if self._cholesky is not None:
            return sla.cho_solve(self._cholesky, r.ravel(), check_finite=False).reshape(self.shape)
        return self._lu.solve(np.ascontiguousarray(r).ravel()).reshape(self.shape)

    def columns(self, R: np.ndarray) -> np.ndarray:
        """``A_c^{-1} R`` for the columns of ``R`` (``N x m``, float64), one solve."""
        if self._cholesky is not None:
            return sla.cho_solve(self._cholesky, R, check_finite=False)
        return self._lu.solve(np.ascontiguousarray(R))


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
        precision=DEFAULT_PRECISION,
    ):
        o = OPTIONS.resolve(
            {
                "levels": levels,
                "coarsest": coarsest,
                "sweeps": sweeps,
                "smoother": smoother,
                "precision": precision,
            },
            "Multigrid",
        )
        self.sweeps = o["sweeps"]
        self.smoother = smoother = o["smoother"]
        self.precision = precision = o["precision"]
        self.levels = build_levels(
            operator,
            coarsest=o["coarsest"],
            max_levels=None if o["levels"] == "auto" else o["levels"],
        )
        self.cycle = VCycle(
            self.levels, smoother, np.zeros_like, sweeps=self.sweeps, dtype=precision
        )
        # compile (or load) the smoother, operator and transfer kernels: a one-time
        # cost per process, kept off every clock
        self.warm_seconds = warm_up(
            lambda: warm_cycle(self.levels, smoother, self.sweeps, precision)
        )
        self.set_coarse_solve(coarse_solve or DirectCoarseSolve(self.levels[-1]))
        self._batch = None  # batch.BatchPCG of the last batch solved (its buffers)

    def set_coarse_solve(self, coarse_solve) -> None:
        """Use ``e = coarse_solve(r)`` on the coarsest grid from now on."""
        self.cycle.coarse_solve = coarse_solve

    def precondition(self, r: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``B r``: one cycle from zero (a symmetric preconditioner); ``out`` avoids the
        allocation."""
        return self.cycle.precondition(r, out)

    def solve(self, f, *, rtol: float = 1e-8, maxiter: int | None = None, batched: bool = False):
        """``mg-pcg`` for one right-hand side (``shape``) or a batch ``(m, *shape)``.

        The hierarchy, coarsest factorisation, plans and buffers are set up once
        and serve every right-hand side; each runs its own CG (the same
        iterations as alone), with no history recorded.

        ``batched=True`` sweeps a batch in one pass (:mod:`solvers.multigrid.batch`:
        right-hand sides interleaved, one CG with per-column scalars); it needs
        the Chebyshev smoother on nested 2D grids (the default cycle) and raises
        otherwise. By default the right-hand sides run one after another: on
        the machine this was built on, the interleaved solve was 0.71-0.87x
        as fast per right-hand side as the loop at 1023^2 (m = 8, several
        runs), and 0.86x to 1.5x at 255^2: the interleaved grids no longer
        fit in the cache, and numba does not vectorise the 8-wide loop over
        right-hand sides (``benchmarks/multigrid.py --only-batch``).

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
        if batched and not batch.supports(self.cycle):
            batch.BatchCycle(self.cycle, 1)  # raises, naming what the batched path needs
        if batched and not single:
            if self._batch is None or self._batch.m != F.shape[0]:
                self._batch = batch.BatchPCG(self.cycle, F.shape[0])  # kept for the next batch
            U, its, why = batch.pcg(self.cycle, F, rtol=rtol, maxiter=maxiter, buffers=self._batch)
            return U, {"iterations": its, "converged": [w == "converged" for w in why]}
        settings = SimpleNamespace(rtol=float(rtol), maxiter=maxiter, max_seconds=None)
        problem = _OperatorSystem(self.levels[0])
        # one right-hand side: CG's own iterate is returned, not copied (at 4095^2 a
        # fresh array costs its page faults)
        U = None if single else np.empty_like(F)
        its, conv = [], []
        for k in range(F.shape[0]):
            problem.f = np.ascontiguousarray(F[k])
            drv = krylov.driver(
                problem, settings, "mg-pcg", recorder=_NoHistory(np.linalg.norm(problem.f))
            )
            u = krylov.pcg(problem, settings, self.cycle.precondition_in_place, drv)
            if not single:
                U[k] = u
            its.append(drv.iterations)
            conv.append(drv.reason == "converged")
        return (u if single else U), {"iterations": its, "converged": conv}

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

    def apply_dot(self, u, out):
        return self.op.apply_dot(u, out)

    def residual(self, u):
        return self.f - self.op.apply(u)


class _NoHistory:
    """A recorder that records nothing (:meth:`Multigrid.solve`)."""

    record_every = 0
    last_iteration = -1

    def __init__(self, f_norm: float):
        self.f_norm = float(f_norm) or 1.0

    def record(self, *args):
        return math.nan

    def due(self, iteration):
        return False

    def next_stop(self):
        return None

    def elapsed(self):
        return 0.0


def stationary(driver: Driver, u: np.ndarray, step, after=None, record_start=True) -> np.ndarray:
    """Iterate ``step(u, f)`` (in place) under ``driver``; return ``u``.

    The driver (:func:`driver`) stops on ``rtol``, the budget, a residual
    that stopped falling and divergence. ``after(res_before, res_after)``, if
    given, sees each step's relative residuals.
    """
    problem = driver.problem
    f = problem.f
    last = {}

    def advance(it, target):
        step(u, f)
        return it + 1

    def measure(it, record):
        r = problem.residual(u)
        rel = float(np.linalg.norm(r)) / driver.f_norm
        if after is not None and "rel" in last:
            after(last["rel"], rel)
        last["rel"] = rel
        return rel, r

    driver.run(u, advance, measure, record_start=record_start)
    return u


def driver(problem, settings, method: str, **kwargs) -> Driver:
    """The :class:`~solvers.driver.Driver` of stationary cycles: at most :data:`MAXITER`
    unless ``maxiter`` says otherwise, stagnation after :data:`STAGNATION` cycles."""
    kwargs.setdefault("default_maxiter", MAXITER)
    kwargs.setdefault("stagnation", STAGNATION)
    return Driver(problem, settings, method=method, unit="cycles", **kwargs)


def _solve(name, problem, settings, options):
    t0 = time.perf_counter()
    mg = Multigrid(problem.operator, **options)
    setup = time.perf_counter() - t0 - mg.warm_seconds
    if name == "mg-pcg":
        drv = krylov.driver(problem, settings, name)
    else:
        drv = driver(problem, settings, name)
    u = np.zeros(problem.shape) if settings.x0 is None else settings.x0.copy()
    drv.record(0, u)
    drv.recorder.restart_clock(setup)  # the set-up (hierarchy, factorisation) is on the clock
    if name == "mg-pcg":
        u = krylov.pcg(
            problem, settings, mg.cycle.precondition_in_place, drv, u, record_start=False
        )
    else:
        u = stationary(drv, u, lambda u, f: mg.cycle(f, u), record_start=False)
    it = drv.iterations
    info = {"cycles": it, "sweeps": 2 * mg.sweeps * it, "setup_seconds": setup, **mg.info()}
    return drv.result(u, options, info=info)


@method("geometric multigrid V-cycles (Chebyshev 2 by default), direct coarsest solve", OPTIONS)
def multigrid(problem, settings, **options):
    return _solve("multigrid", problem, settings, options)


@method("CG preconditioned by the symmetric geometric multigrid V-cycle", OPTIONS, spd=True)
def mg_pcg(problem, settings, **options):
    require_definite(problem, "mg-pcg")
    return _solve("mg-pcg", problem, settings, options)
