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
from problems.problem import sparse_lu
from solvers.multigrid import Multigrid, build_levels
from solvers.multigrid.transfer import interpolation_matrix
from solvers.recording import Recorder, Stagnation, make_result, out_of_budget
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
    recorder: Recorder,
    x0=None,
    restart: int = 50,
    record_start: bool = True,
    maxiter: int = MAXITER,
    stall_window: int | None = None,
    dtype=np.float64,
):
    r"""Flexible GMRES(``restart``) on ``A u = f``; returns ``(u, converged, iterations, message)``.

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

    Stops at ``settings.rtol`` (confirmed on the true residual), on the budget,
    or when the residual has not fallen 10% in ``stall_window`` steps
    (default ``4 * restart``).
    """
    shape = problem.shape
    f = problem.f.ravel()
    f_norm = float(np.linalg.norm(f)) or 1.0
    x = np.zeros(f.size) if x0 is None else np.array(x0, dtype=np.float64).ravel()
    m = int(restart)

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

    def update(j):
        """``x + Z y`` with ``y`` from the rotated triangular system (real part kept)."""
        y = _back_substitute(H[:j, :j], g[:j])
        out = np.empty(f.size, dtype=dtype)
        combine(x.astype(dtype), Z[:j], y, out)
        return np.ascontiguousarray(out.real)

    r = f - apply_A(x)
    if record_start:
        recorder.record(0, x.reshape(shape), r.reshape(shape))
    it = 0
    stagnation = Stagnation(window=stall_window or 4 * m)
    res = float(np.linalg.norm(r)) / f_norm
    while True:
        if res <= settings.rtol:
            return x.reshape(shape), True, it, ""
        if not math.isfinite(res):
            return x.reshape(shape), False, it, "diverged: the residual is not finite"
        beta = float(np.sqrt(np.sum(r * r)))
        V[0] = r / beta
        H = np.zeros((m + 1, m), dtype=dtype)
        cs, sn = np.zeros(m, dtype=dtype), np.zeros(m, dtype=dtype)
        g = np.zeros(m + 1, dtype=dtype)
        g[0] = beta
        j = 0
        stop = ""
        while j < m:
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
            j += 1
            it += 1
            res = abs(g[j]) / f_norm
            if recorder.due(it):
                recorder.record(it, update(j).reshape(shape))
            if res <= settings.rtol or h == 0.0:  # converged, or the space is invariant
                break
            V[j] = w / h
            if stagnation.stalled(res):
                stop = stagnation.message()
                break
            if out_of_budget(settings, it, recorder, default_maxiter=maxiter):
                stop = "budget exhausted (maxiter or max_seconds)"
                break
            if not math.isfinite(res):
                stop = "diverged: the residual is not finite"
                break
        x = update(j)
        r = f - apply_A(x)
        res = float(np.sqrt(np.sum(r * r))) / f_norm
        if stop and res > settings.rtol:
            return x.reshape(shape), False, it, stop


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


def _noop(r):
    return np.zeros_like(r)


class SparseLU:
    """``e = A_c^{-1} r`` by SuperLU (any nonsingular operator; no dense Cholesky attempt)."""

    def __init__(self, op):
        self.shape = op.shape
        self._lu = sparse_lu(op.matrix())

    def __call__(self, r: np.ndarray) -> np.ndarray:
        return self._lu.solve(np.ascontiguousarray(r, dtype=np.float64).ravel()).reshape(self.shape)


MG_OPTIONS = {
    "restart": "Krylov vectors kept before a restart (default 50)",
    "kh_max": "coarsest grid of the hierarchy: the coarsest with k_max H <= kh_max (default 0.5)",
    "sweeps": "Gauss-Seidel sweeps before and after each coarse correction (default 2)",
}


def _positive(name, value, kind=float):
    try:
        ok = not isinstance(value, bool) and kind(value) == value and value > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        what = "an integer >= 1" if kind is int else "a number > 0"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return kind(value)


def _run_krylov(
    name, problem, settings, precondition, setup, restart, options, info, dtype=np.float64
):
    rec = Recorder(problem, settings.record_every, settings.maxiter, phase=name)
    u0 = np.zeros(problem.shape) if settings.x0 is None else settings.x0.copy()
    warm_up(lambda: compile_kernels(problem.size, dtype))
    rec.record(0, u0)
    rec.restart_clock(setup)  # the set-up (hierarchy, factorisations) is on the clock
    u, converged, it, message = fgmres(
        problem, settings, precondition, rec, u0, restart=restart, record_start=False, dtype=dtype
    )
    info = {**info, "setup_seconds": setup, "points_per_wavelength": problem.points_per_wavelength}
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


@method(
    "restarted GMRES(restart), unpreconditioned (any nonsingular A)",
    {"restart": "Krylov vectors kept before a restart (default 50)"},
)
def gmres(problem, settings, restart=50):
    restart = _positive("restart", restart, int)
    return _run_krylov(
        "gmres", problem, settings, None, 0.0, restart, {"restart": restart}, {"restart": restart}
    )


@method("MINRES (SciPy), unpreconditioned (symmetric A, definite or not)")
def minres(problem, settings):
    rec = Recorder(problem, settings.record_every, settings.maxiter, phase="minres")
    x0 = np.zeros(problem.shape) if settings.x0 is None else settings.x0.copy()
    rec.record(0, x0)
    rec.restart_clock()
    A = spla.LinearOperator(
        (problem.size, problem.size),
        matvec=lambda v: problem.apply(np.ascontiguousarray(v).reshape(problem.shape)).ravel(),
        dtype=np.float64,
    )
    count = [0]
    state = {"stop": "", "x": None}

    class _Stop(Exception):
        pass

    def callback(x):
        # SciPy's own test (||r|| / (||A|| ||x|| + ||f||) <= rtol) stops long before the
        # relative residual does: ask it for far less and test the true residual here.
        count[0] += 1
        if rec.due(count[0]):
            rec.record(count[0], x.reshape(problem.shape))
        if count[0] % CHECK_EVERY == 0 or count[0] >= maxiter:
            res = problem.relative_residual(x.reshape(problem.shape))
            if res <= settings.rtol:
                state["x"] = x.copy()
                raise _Stop
            if not np.isfinite(res):
                state["stop"] = "diverged: the residual is not finite"
                state["x"] = x.copy()
                raise _Stop
        if settings.max_seconds is not None and rec.elapsed() >= settings.max_seconds:
            state["stop"] = "budget exhausted (maxiter or max_seconds)"
            state["x"] = x.copy()
            raise _Stop

    maxiter = settings.maxiter or 20 * MAXITER
    try:
        u, _ = spla.minres(
            A, problem.f.ravel(), x0=x0.ravel(), rtol=1e-300, maxiter=maxiter, callback=callback
        )
    except _Stop:
        u = state["x"]
    u = u.reshape(problem.shape)
    res = problem.relative_residual(u)
    converged = res <= settings.rtol
    message = ""
    if not converged:
        message = state["stop"] or (
            "budget exhausted (maxiter or max_seconds)"
            if count[0] >= maxiter
            else f"stopped by SciPy at relative residual {res:.2e} (rounding floor?)"
        )
    return make_result(
        problem,
        "minres",
        {},
        settings,
        u,
        converged=converged,
        iterations=count[0],
        recorder=rec,
        message=message,
        info={"points_per_wavelength": problem.points_per_wavelength},
    )


@method(
    "flexible GMRES preconditioned by a multigrid V-cycle whose coarsest grid resolves k"
    " (k H <= kh_max)",
    MG_OPTIONS,
)
def mg_gmres(problem, settings, restart=50, kh_max=0.5, sweeps=2):
    restart = _positive("restart", restart, int)
    kh_max = _positive("kh_max", kh_max)
    t0 = time.perf_counter()
    levels = resolving_levels(problem.operator, kh_max)
    mg = Multigrid(problem.operator, levels=levels, coarsest=3, sweeps=sweeps, coarse_solve=_noop)
    mg.set_coarse_solve(SparseLU(mg.levels[-1]))
    setup = time.perf_counter() - t0 - mg.warm_seconds
    options = {"restart": restart, "kh_max": kh_max, "sweeps": sweeps}
    return _run_krylov(
        "mg-gmres", problem, settings, mg.precondition, setup, restart, options, mg.info()
    )


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
    {
        "restart": "Krylov vectors kept before a restart (default 50)",
        "beta": "imaginary shift: M = -lap - (1 - beta i) k^2 (default 0.5)",
        "sweeps": "damped-Jacobi sweeps before and after each coarse correction (default 1)",
    },
)
def sl_gmres(problem, settings, restart=50, beta=0.5, sweeps=1):
    restart = _positive("restart", restart, int)
    beta = _positive("beta", beta)
    sweeps = _positive("sweeps", sweeps, int)
    t0 = time.perf_counter()
    sl = ShiftedLaplacian(problem.operator, beta=beta, sweeps=sweeps)
    setup = time.perf_counter() - t0
    options = {"restart": restart, "beta": beta, "sweeps": sweeps}
    info = {"levels": len(sl.matrices), "coarsest_shape": list(sl.shapes[-1])}
    return _run_krylov(
        "sl-gmres", problem, settings, sl, setup, restart, options, info, dtype=complex
    )
