r"""Krylov peers for indefinite problems: ``minres``, ``gmres``, ``mg-gmres``, ``sl-gmres``.

The indefinite Helmholtz operator ``A = -div(a grad) - k^2`` is symmetric but
not positive definite, so conjugate gradients (and every energy argument)
fails on it. These methods do not need definiteness:

* ``minres``: SciPy's MINRES (symmetric ``A``, unpreconditioned).
* ``gmres``: restarted GMRES(``restart``), unpreconditioned; written here as
  :func:`fgmres` with the identity preconditioner (identical in exact
  arithmetic to SciPy's ``gmres``, and it records the iterate every step).
* ``mg-gmres``: flexible GMRES preconditioned by one V-cycle of
  :mod:`solvers.multigrid` (Gauss-Seidel smoothing, LU on the coarsest grid).
  **Coarsest-grid rule:** the hierarchy is truncated at the coarsest grid on
  which ``k_max H <= kh_max`` (default ``0.5``, i.e. at least about 12 points
  per wavelength on every grid). Coarse grids with ``k H > 1`` misrepresent
  the waves (their eigenvalues near ``k^2`` shift by about
  ``mu^2 H^2 / 12``) and make the cycle diverge; so the coarsest grid, and
  its LU, grow like ``k^d``.
* ``sl-gmres``: flexible GMRES preconditioned by the shifted Laplacian
  ``M = -div(a grad) - (1 - 0.5 i) k^2`` (Erlangga, Vuik and Oosterlee),
  inverted approximately by one complex V-cycle (:class:`ShiftedLaplacian`).
  The damping ``0.5 i k^2`` makes ``M`` easy for multigrid at every ``k``; the
  price is iteration counts that grow about linearly in ``k``.

One iteration is one Krylov step (one application of ``A`` and, for the
preconditioned ones, one cycle).
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import prange

from problems._numba import PARALLEL_THRESHOLD, jit, warm_up
from problems.parameters import Parameter, Parameters, integer, number
from problems.problem import sparse_lu
from solvers.driver import Driver
from solvers.multigrid import Multigrid, build_levels
from solvers.multigrid.transfer import interpolation_matrix
from solvers.registry import method

#: Krylov steps when ``maxiter`` is not given.
MAXITER = 5000
#: MINRES tests the true residual every this many steps.
CHECK_EVERY = 10


# Vector kernels (numba): BLAS level-1 calls from numpy were 100x slower than these
# on the shared 2-core machine (a multithreaded OpenBLAS vdot of 16k entries took
# 0.3 ms against 3 us on one thread), and Arnoldi is made of them.
def _make_kernels(parallel: bool):
    loop = prange if parallel else range

    def orthogonalize(V, j, w, hcol):
        """Modified Gram-Schmidt of ``w`` against ``V[0..j]`` in place; returns ``||w||``."""
        for i in range(j + 1):
            h = V[0, 0] * 0.0
            for t in loop(w.size):
                h += np.conj(V[i, t]) * w[t]
            hcol[i] = h
            for t in loop(w.size):
                w[t] -= h * V[i, t]
        s = 0.0
        for t in loop(w.size):
            s += abs(w[t]) ** 2
        return np.sqrt(s)

    def combine(x, Z, y, out):
        """``out = x + sum_i y_i Z[i]`` (``len(y)`` rows of ``Z``)."""
        for t in loop(out.size):
            acc = x[t] + y[0] * 0.0
            for i in range(y.size):
                acc += y[i] * Z[i, t]
            out[t] = acc

    return jit(orthogonalize, parallel=parallel), jit(combine, parallel=parallel)


_SERIAL = _make_kernels(False)
_PARALLEL = _make_kernels(True)


def compile_kernels(size: int, dtype=np.float64) -> None:
    """Compile (or load) :func:`fgmres`'s kernels for vectors of ``size`` entries of ``dtype``
    (for callers to run under :func:`problems._numba.warm_up`, before their clock)."""
    orthogonalize, combine = _PARALLEL if size >= PARALLEL_THRESHOLD else _SERIAL
    V = np.zeros((2, size), dtype=dtype)
    orthogonalize(V, 0, V[1].copy(), np.zeros(3, dtype=dtype))
    combine(V[0], V, np.zeros(1, dtype=dtype), V[1].copy())


# -- flexible GMRES --------------------------------------------------------------------
def fgmres(
    problem,
    settings,
    precondition,
    driver: Driver,
    x0=None,
    restart: int = 50,
    record_start: bool = True,
    dtype=np.float64,
    iteration: int = 0,
):
    r"""Flexible GMRES(``restart``) on ``A u = f`` under ``driver``; returns the final iterate.

    Right-preconditioned Arnoldi with the preconditioned vectors kept
    (Saad 1993): with ``z_j = B_j(v_j)`` (``B_j`` may change from step to step,
    e.g. a multigrid cycle or a network),

    .. math::

        A Z_m = V_{m+1} \bar H_m, \qquad u_m = u_0 + Z_m y_m, \qquad
        y_m = \arg\min_y \| \beta e_1 - \bar H_m y \|_2,

    the least-squares problem solved by Givens rotations, so ``|g_{j+1}|`` is
    the residual norm after step ``j`` without forming ``u``. ``precondition``
    may return complex vectors (``sl-gmres``): the iteration then runs in
    complex arithmetic and the iterate is its real part (``A`` and ``f`` are
    real, so ``||f - A Re u|| <= ||f - A u||``); pass ``dtype=complex`` for
    that. ``precondition=None`` is plain GMRES(``restart``).

    The driver (:class:`~solvers.driver.Driver`, see :func:`driver`) owns the
    stopping tests and holds the outcome (``reason``, ``message``,
    ``iterations``). A cycle ends after ``restart`` steps, when the estimate
    reaches ``rtol`` or when the Krylov space is invariant; the iterate is then
    formed and the true residual measured (convergence is confirmed on it).
    A run the driver stops mid-cycle (budget, stagnation) ends with the
    iterate formed there, and counts as converged if its true residual is
    below ``rtol``. ``record_start=False`` leaves the record of iteration 0 to
    the caller. Iterations are counted from ``iteration`` (a continuation on
    the same history: :func:`continue_with_mg_gmres`).
    """
    shape = problem.shape
    f = problem.f.ravel()
    f_norm = float(np.linalg.norm(f)) or 1.0
    u = np.zeros(shape) if x0 is None else np.array(x0, dtype=np.float64).reshape(shape)
    m = int(restart)
    rtol = settings.rtol

    def apply_A(v):
        if np.iscomplexobj(v):
            if not v.imag.any():
                return problem.apply(np.ascontiguousarray(v.real).reshape(shape)).ravel()
            return (
                problem.apply(np.ascontiguousarray(v.real).reshape(shape)).ravel()
                + 1j * problem.apply(np.ascontiguousarray(v.imag).reshape(shape)).ravel()
            )
        return problem.apply(v.reshape(shape)).ravel()

    orthogonalize, combine = _PARALLEL if f.size >= PARALLEL_THRESHOLD else _SERIAL
    V = np.empty((m + 1, f.size), dtype=dtype)
    Z = np.empty((m, f.size), dtype=dtype)
    H = np.zeros((m + 1, m), dtype=dtype)
    cs, sn = np.zeros(m, dtype=dtype), np.zeros(m, dtype=dtype)
    g = np.zeros(m + 1, dtype=dtype)
    # the cycle's state: the base iterate x, steps taken j, the last step's w and h
    state = {"x": u.ravel().copy(), "j": 0, "w": None, "h": 1.0}

    def update(j):
        """``x + Z y`` with ``y`` from the rotated triangular system (real part kept)."""
        y = _back_substitute(H[:j, :j], g[:j])
        out = np.empty(f.size, dtype=dtype)
        combine(state["x"].astype(dtype), Z[:j], y, out)
        return np.ascontiguousarray(out.real)

    def begin(r):
        """Start a cycle from the residual ``r`` of the base iterate."""
        beta = float(np.sqrt(np.sum(r * r)))
        V[0] = r / beta
        H[:] = 0.0
        cs[:] = 0.0
        sn[:] = 0.0
        g[:] = 0.0
        g[0] = beta
        state["j"] = 0

    def finish_cycle():
        """Form the iterate of the cycle so far; returns its true residual and norm."""
        x = update(state["j"])
        state["x"] = x
        u[...] = x.reshape(shape)
        r = f - apply_A(x)
        return r, float(np.sqrt(np.sum(r * r))) / f_norm

    def step(it, target):
        for _ in range(target - it):  # one Arnoldi step each
            j = state["j"]
            Z[j] = V[j] if precondition is None else precondition(V[j].reshape(shape)).ravel()
            w = apply_A(Z[j]).astype(dtype)
            h = float(orthogonalize(V, j, w, H[:, j]))
            H[j + 1, j] = h
            for i in range(j):  # the earlier Givens rotations
                a, b = H[i, j], H[i + 1, j]
                H[i, j] = np.conj(cs[i]) * a + np.conj(sn[i]) * b
                H[i + 1, j] = -sn[i] * a + cs[i] * b
            a, b = H[j, j], H[j + 1, j]
            d = math.hypot(abs(a), abs(b)) or 1.0
            cs[j], sn[j] = a / d, b / d
            H[j, j], H[j + 1, j] = d, 0.0
            g[j + 1] = -sn[j] * g[j]
            g[j] = np.conj(cs[j]) * g[j]
            state["j"], state["w"], state["h"] = j + 1, w, h
        return target

    def measure(it, record):
        if it == iteration:  # tested only if it ends the run: stagnation counts the steps' ones
            res = state["res"]
            return (None if rtol < res < math.inf else res), state["r"].reshape(shape)
        j, h = state["j"], state["h"]
        res = abs(g[j]) / f_norm
        if res <= rtol or h == 0.0 or j == m:  # the cycle ends: restart from the true residual
            r, res = finish_cycle()
            if res > rtol and math.isfinite(res):
                begin(r)
            return res, r.reshape(shape)
        V[j] = state["w"] / h
        if record:
            u[...] = update(j).reshape(shape)
        return res, None

    r = f - apply_A(state["x"])
    state["r"], state["res"] = r, float(np.linalg.norm(r)) / f_norm
    if state["res"] > rtol and math.isfinite(state["res"]):
        begin(r)
    elif state["res"] == 0.0:  # f = A x0 exactly (converged even for rtol = 0)
        driver.stop("converged", iteration, "the residual is zero")
    driver.run(u, step, measure, iteration=iteration, record_start=record_start)
    if state["j"] > 0 and driver.reason != "converged":  # stopped mid-cycle
        _, res = finish_cycle()
        if res <= rtol and driver.reason != "interrupted":
            driver.stop("converged", driver.iterations, f"relative residual {res:.3e} <= rtol")
    return u


def driver(problem, settings, method: str, restart: int, **kwargs) -> Driver:
    """The :class:`~solvers.driver.Driver` of a GMRES run: at most :data:`MAXITER`
    steps unless ``maxiter`` says otherwise, stagnation after ``4 * restart``
    steps without a 10% lower residual, no growth test (a restarted cycle may
    start above the residual it ended with)."""
    kwargs.setdefault("default_maxiter", MAXITER)
    kwargs.setdefault("stagnation", 4 * int(restart))
    return Driver(problem, settings, method=method, divergence=None, **kwargs)


def _back_substitute(R, g):
    y = np.zeros(len(g), dtype=g.dtype)
    for i in range(len(g) - 1, -1, -1):
        y[i] = (g[i] - R[i, i + 1 :] @ y[i + 1 :]) / R[i, i]
    return y


# -- the kh rule -----------------------------------------------------------------------
def resolving_levels(operator, kh_max: float = 0.5, coarsest: int = 3) -> int:
    r"""Number of grids of the hierarchy whose coarsest still has ``k_max H <= kh_max``.

    ``k_max = sqrt(max(-c))``; a definite operator (``k = 0``) coarsens down to
    ``coarsest`` points per axis. At least 1 (the fine grid alone: a direct solve).

    >>> import problems
    >>> p = problems.get("helmholtz2d", n=255, k=40.3)
    >>> resolving_levels(p.operator, 0.5)  # 255 (kh 0.16), 127 (0.31); 63 has kh 0.63
    2
    """
    levels = build_levels(operator, coarsest=coarsest)
    k = math.sqrt(max(-float(operator.c.min()), 0.0))
    count = 0
    for op in levels:
        if count > 0 and k * max(op.h) > kh_max:
            break
        count += 1
    return count


def resolving_multigrid(operator, kh_max: float, sweeps: int) -> Multigrid:
    """The V-cycle of ``mg-gmres`` and ``neural-fgmres``: Gauss-Seidel (``sweeps``) on
    the grids down to the coarsest with ``k_max H <= kh_max`` (:func:`resolving_levels`),
    whose solve is left to :meth:`~solvers.multigrid.Multigrid.set_coarse_solve`."""
    levels = resolving_levels(operator, kh_max)
    return Multigrid(
        operator,
        levels=levels,
        coarsest=3,
        sweeps=sweeps,
        coarse_solve=np.zeros_like,
        smoother="gauss-seidel",
        precision="float64",
    )


def mg_gmres_cycle(operator, kh_max: float, sweeps: int) -> Multigrid:
    """``mg-gmres``'s preconditioner: :func:`resolving_multigrid` with an LU
    (:class:`SparseLU`) on its coarsest grid."""
    mg = resolving_multigrid(operator, kh_max, sweeps)
    mg.set_coarse_solve(SparseLU(mg.levels[-1]))
    return mg


class SparseLU:
    """``e = A_c^{-1} r`` by SuperLU (any nonsingular operator; no dense Cholesky attempt)."""

    def __init__(self, op):
        self.shape = op.shape
        self._lu = sparse_lu(op.matrix())

    def __call__(self, r: np.ndarray) -> np.ndarray:
        return self._lu.solve(np.ascontiguousarray(r, dtype=np.float64).ravel()).reshape(self.shape)


#: A paced run (``slow_window``) must cut its residual this many times per window.
SLOW_FACTOR = 10.0


def continue_with_mg_gmres(slow: Driver, u, what: str, budget: int) -> tuple[Driver, str]:
    """Continue the run that the paced driver ``slow`` stopped as too slow: flexible
    GMRES from ``u`` (updated in place) preconditioned by ``mg-gmres``'s default V-cycle.

    The same problem, settings, history and clock (the cycle's kernel compilation is
    kept off the clock, as in every set-up); a ``fallback:mg-gmres`` event marks the
    hand-over at ``slow.iterations``. ``budget`` caps the continuation's iteration
    count when ``settings.maxiter`` does not. Returns the continuation's driver
    (``reason``, ``message``, ``iterations``) and the message part that says when and
    why ``what`` (the slow method, for the message) handed over.
    """
    problem, settings, recorder, iteration = (
        slow.problem,
        slow.settings,
        slow.recorder,
        slow.iterations,
    )
    window, factor = slow.pace
    note = (
        f"at iteration {iteration} {what} had cut the residual less than {factor:g}x in"
        f" {window} steps; mg-gmres's V-cycle (k H <= 0.5, LU there) preconditioned the rest"
    )
    recorder.mark("fallback:mg-gmres", iteration)
    t0 = time.perf_counter()
    mg = mg_gmres_cycle(
        problem.operator, MG_OPTIONS["kh_max"].default, MG_OPTIONS["sweeps"].default
    )
    recorder.overhead += min(mg.warm_seconds, time.perf_counter() - t0)
    restart = MG_OPTIONS["restart"].default
    drv = driver(problem, settings, slow.method, restart, recorder=recorder, default_maxiter=budget)
    u[...] = fgmres(
        problem,
        settings,
        mg.precondition,
        drv,
        x0=u,
        restart=restart,
        record_start=False,
        iteration=iteration,
    )
    return drv, note


#: ``restart``: the options every GMRES method shares.
RESTART = Parameter("restart", 50, integer(low=1), "Krylov vectors kept before a restart")

#: The options of ``gmres``.
GMRES_OPTIONS = Parameters(RESTART)

#: The options of ``mg-gmres``.
MG_OPTIONS = Parameters(
    RESTART,
    Parameter(
        "kh_max",
        0.5,
        number(low=0, strict_low=True),
        "coarsest grid of the hierarchy: the coarsest with k_max H <= kh_max",
    ),
    Parameter(
        "sweeps", 2, integer(low=1), "Gauss-Seidel sweeps before and after each coarse correction"
    ),
)

#: The options of ``sl-gmres``.
SL_OPTIONS = Parameters(
    RESTART,
    Parameter(
        "beta",
        0.5,
        number(low=0, strict_low=True),
        "imaginary shift: M = -lap - (1 - beta i) k^2",
    ),
    Parameter(
        "sweeps",
        1,
        integer(low=1),
        "damped-Jacobi sweeps before and after each coarse correction",
    ),
)


def run_krylov(
    name, problem, settings, precondition, setup, options, info, dtype=np.float64, slow_window=0
):
    """Run :func:`fgmres` for the method ``name`` (set-up of ``setup`` seconds on the
    clock, ``options["restart"]`` vectors) and build its result, with ``options`` and
    ``info`` recorded. ``slow_window > 0``: a run that cuts its residual less than
    :data:`SLOW_FACTOR` times within that many steps continues by
    :func:`continue_with_mg_gmres` (``info["handover_iteration"]``)."""
    restart = options["restart"]
    pace = (slow_window, SLOW_FACTOR) if slow_window else None
    drv = driver(problem, settings, name, restart, pace=pace)
    u0 = np.zeros(problem.shape) if settings.x0 is None else settings.x0.copy()
    warm_up(lambda: compile_kernels(problem.size, dtype))
    drv.record(0, u0)
    drv.recorder.restart_clock(setup)  # the set-up (hierarchy, factorisations) is on the clock
    u = fgmres(
        problem, settings, precondition, drv, u0, restart=restart, record_start=False, dtype=dtype
    )
    info = {**info, "setup_seconds": setup, "points_per_wavelength": problem.points_per_wavelength}
    if drv.slow:
        switch = info["handover_iteration"] = drv.iterations
        drv, note = continue_with_mg_gmres(drv, u, name, switch + MAXITER)
        drv.message = f"{drv.message}; {note}"
    return drv.result(u, options, info=info)


@method("restarted GMRES(restart), unpreconditioned (any nonsingular A)", GMRES_OPTIONS)
def gmres(problem, settings, **options):
    options = GMRES_OPTIONS.resolve(options, "method 'gmres'")
    return run_krylov("gmres", problem, settings, None, 0.0, options, dict(options))


@method("MINRES (SciPy), unpreconditioned (symmetric A, definite or not)")
def minres(problem, settings):
    maxiter = settings.maxiter or 20 * MAXITER
    drv = Driver(problem, settings, method="minres", default_maxiter=maxiter, divergence=None)
    x0 = np.zeros(problem.shape) if settings.x0 is None else settings.x0.copy()
    drv.record(0, x0)
    drv.recorder.restart_clock()
    A = spla.LinearOperator(
        (problem.size, problem.size),
        matvec=lambda v: problem.apply(np.ascontiguousarray(v).reshape(problem.shape)).ravel(),
        dtype=np.float64,
    )
    count = [0]
    state = {"x": None, "last": None}

    class _Stop(Exception):
        pass

    def callback(x):
        # SciPy's own test (||r|| / (||A|| ||x|| + ||f||) <= rtol) stops long before the
        # relative residual does: ask it for far less and let the driver test the true
        # residual every CHECK_EVERY steps (and the time budget every step).
        count[0] += 1
        state["last"] = x
        if drv.recorder.due(count[0]):
            drv.record(count[0], x.reshape(problem.shape))
        rel = None
        if count[0] % CHECK_EVERY == 0 or count[0] >= maxiter:
            rel = problem.relative_residual(x.reshape(problem.shape))
        if drv.test(count[0], rel):
            state["x"] = x.copy()
            raise _Stop

    try:
        u, _ = spla.minres(
            A, problem.f.ravel(), x0=x0.ravel(), rtol=1e-300, maxiter=maxiter, callback=callback
        )
    except _Stop:
        u = state["x"]
    except KeyboardInterrupt:
        drv.stop("interrupted", count[0], "Ctrl-C")
        u = x0.ravel() if state["last"] is None else state["last"].copy()
    u = u.reshape(problem.shape)
    drv.iterations = count[0]
    res = problem.relative_residual(u)
    if res <= settings.rtol and drv.reason != "interrupted":
        if drv.reason != "converged":
            drv.stop("converged", count[0], f"relative residual {res:.3e} <= rtol")
    elif drv.reason is None:  # SciPy stopped by itself
        drv.stop(
            "stagnated",
            count[0],
            f"stopped by SciPy at relative residual {res:.2e} (rounding floor?)",
        )
    return drv.result(u, {}, info={"points_per_wavelength": problem.points_per_wavelength})


@method(
    "flexible GMRES preconditioned by a multigrid V-cycle whose coarsest grid resolves k"
    " (k H <= kh_max)",
    MG_OPTIONS,
)
def mg_gmres(problem, settings, **options):
    options = MG_OPTIONS.resolve(options, "method 'mg-gmres'")
    t0 = time.perf_counter()
    mg = mg_gmres_cycle(problem.operator, options["kh_max"], options["sweeps"])
    setup = time.perf_counter() - t0 - mg.warm_seconds
    return run_krylov("mg-gmres", problem, settings, mg.precondition, setup, options, mg.info())


# -- the shifted Laplacian ---------------------------------------------------------------
class ShiftedLaplacian:
    r"""One complex V-cycle for ``M = L + (1 - beta i) c`` (``c = -k^2``), a preconditioner.

    Galerkin coarse operators ``M_H = R M_h P`` (``P`` (bi)linear interpolation,
    ``R = P^T / 2^d``) down to ``coarsest`` points per axis, LU there;
    ``sweeps`` damped-Jacobi sweeps (weight ``omega``) before and after each
    coarse correction. Sparse-matrix kernels (SciPy) in complex arithmetic.

    Examples
    --------
    >>> import problems
    >>> p = problems.get("helmholtz2d", n=31, k=10.3)
    >>> sl = ShiftedLaplacian(p.operator)
    >>> e = sl(np.ones(p.shape))
    >>> e.dtype, e.shape
    (dtype('complex128'), (31, 31))
    """

    def __init__(self, operator, beta=0.5, coarsest=15, sweeps=1, omega=0.6):
        self.shape = operator.shape
        L = operator.matrix()
        c = operator.c.ravel()
        # A = L_0 + diag(c) with L_0 the -div(a grad) part; M = L_0 + (1 - beta i) diag(c)
        M = (L - sp.diags(c) + sp.diags((1 - 1j * beta) * c)).tocsr()
        self.matrices, self.P, self.shapes = [M], [], [operator.shape]
        shape = operator.shape
        while all(n % 2 == 1 and (n - 1) // 2 >= coarsest for n in shape):
            coarse = tuple((n - 1) // 2 for n in shape)
            Ps = [interpolation_matrix(n, m) for n, m in zip(shape, coarse, strict=True)]
            P = Ps[0] if len(Ps) == 1 else sp.kron(Ps[0], Ps[1], format="csr")
            R = (P.T / 2 ** len(shape)).tocsr()
            self.P.append((P.tocsr(), R))
            self.matrices.append((R @ self.matrices[-1] @ P).tocsr())
            self.shapes.append(coarse)
            shape = coarse
        self.inv_diag = [omega / M_l.diagonal() for M_l in self.matrices]
        self.sweeps = sweeps
        self.lu = sparse_lu(self.matrices[-1])

    def _cycle(self, level, b):
        M = self.matrices[level]
        if level == len(self.matrices) - 1:
            return self.lu.solve(b)
        d = self.inv_diag[level]
        x = d * b
        for _ in range(self.sweeps - 1):
            x += d * (b - M @ x)
        P, R = self.P[level]
        x += P @ self._cycle(level + 1, R @ (b - M @ x))
        for _ in range(self.sweeps):
            x += d * (b - M @ x)
        return x

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """Approximately ``M^{-1} r`` (complex), shape ``shape``."""
        return self._cycle(0, np.asarray(r, dtype=complex).ravel()).reshape(self.shape)


@method(
    "flexible GMRES preconditioned by the shifted Laplacian -lap - (1 - 0.5i) k^2, inverted by one"
    " complex multigrid V-cycle",
    SL_OPTIONS,
)
def sl_gmres(problem, settings, **options):
    options = SL_OPTIONS.resolve(options, "method 'sl-gmres'")
    t0 = time.perf_counter()
    sl = ShiftedLaplacian(problem.operator, beta=options["beta"], sweeps=options["sweeps"])
    setup = time.perf_counter() - t0
    info = {"levels": len(sl.matrices), "coarsest_shape": list(sl.shapes[-1])}
    return run_krylov("sl-gmres", problem, settings, sl, setup, options, info, dtype=complex)
