r"""Preconditioned conjugate gradients, matrix-free, with a per-frequency history.

Standard PCG for SPD ``A`` and SPD preconditioner ``M^{-1}``:

.. math::

    \alpha_j = \frac{r_j^T z_j}{p_j^T A p_j}, \quad x_{j+1} = x_j + \alpha_j p_j, \quad
    r_{j+1} = r_j - \alpha_j A p_j, \quad z_{j+1} = M^{-1} r_{j+1}, \quad
    p_{j+1} = z_{j+1} + \frac{r_{j+1}^T z_{j+1}}{r_j^T z_j} p_j.

One iteration is one application of ``A`` and one of ``M^{-1}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import prange

from problems._numba import PARALLEL_THRESHOLD, jit
from solvers.recording import Recorder, Stagnation, out_of_budget

#: Iterations when ``maxiter`` is not given: a preconditioned CG that needs more is
#: not converging usefully (exact arithmetic would need at most N).
MAXITER = 2000


# Fused vector updates: numpy's ``u += alpha * d`` and friends make a temporary and
# one pass per operation, about 13 ms of every iteration at 1023^2 against 20 ms for
# a multilevel preconditioner; these make one pass, on every core above the threshold.
def _make_kernels(parallel: bool):
    loop = prange if parallel else range

    def update(u, r, d, ad, alpha):
        """``u += alpha d``, ``r -= alpha A d``; returns ``||r||^2``."""
        s = 0.0
        for i in loop(u.size):
            u[i] += alpha * d[i]
            ri = r[i] - alpha * ad[i]
            r[i] = ri
            s += ri * ri
        return s

    def direction(d, z, beta):
        """``d = z + beta d``."""
        for i in loop(d.size):
            d[i] = z[i] + beta * d[i]

    def dot(a, b):
        s = 0.0
        for i in loop(a.size):
            s += a[i] * b[i]
        return s

    return tuple(jit(k, parallel=parallel) for k in (update, direction, dot))


_SERIAL = _make_kernels(parallel=False)
_PARALLEL = _make_kernels(parallel=True)


def _kernels(size: int):
    """``(update, direction, dot)`` for vectors of ``size`` entries."""
    return _PARALLEL if size >= PARALLEL_THRESHOLD else _SERIAL


def compile_kernels(shape) -> None:
    """Compile (or load) the vector kernels :func:`pcg` uses on grids of ``shape``.

    For callers to run under :func:`problems._numba.warm_up` before their clock.
    """
    a = np.zeros(math.prod(shape))
    update, direction, dot = _kernels(a.size)
    update(a, a.copy(), a.copy(), a.copy(), 0.0)
    direction(a, a.copy(), 0.0)
    dot(a, a)


def pcg(
    problem,
    settings,
    precondition: Callable[[np.ndarray], np.ndarray],
    recorder: Recorder,
    x0: np.ndarray | None = None,
    record_start: bool = True,
):
    """Run PCG to ``settings.rtol``; return ``(u, converged, iterations, message)``.

    Without ``maxiter`` it stops after :data:`MAXITER` iterations, and after 50
    iterations without a 10% lower residual (:class:`~solvers.recording.Stagnation`).
    ``record_start=False`` leaves the record of iteration 0 to the caller.
    The residual is updated recursively; convergence is confirmed on the true
    residual (and CG restarted from it if the two disagree).
    """
    u = np.zeros(problem.shape) if x0 is None else np.array(x0, dtype=np.float64)
    update, direction, dot = _kernels(u.size)
    flat = u.reshape(-1)  # the kernels see flat views of the (contiguous) iterates
    f_norm = float(np.linalg.norm(problem.f)) or 1.0
    r = problem.residual(u)
    if record_start:
        recorder.record(0, u, r)
    z = np.ascontiguousarray(precondition(r))
    d = z.copy()
    rz = dot(r.reshape(-1), z.reshape(-1))
    rr = dot(r.reshape(-1), r.reshape(-1))
    Ad = np.empty_like(u)
    it = 0
    stagnation = Stagnation(window=50)
    while True:
        rel = math.sqrt(rr) / f_norm
        if rel <= settings.rtol:
            # The recursive residual drifts from the true one near rounding level:
            # confirm, else restart from the true residual.
            r = problem.residual(u)
            rel = float(np.linalg.norm(r)) / f_norm
            if rel <= settings.rtol:
                return u, True, it, ""
            z = np.ascontiguousarray(precondition(r))
            d = z.copy()
            rz = dot(r.reshape(-1), z.reshape(-1))
        if stagnation.stalled(rel):
            return u, False, it, stagnation.message()
        if out_of_budget(settings, it, recorder, default_maxiter=MAXITER):
            return u, False, it, "budget exhausted (maxiter or max_seconds)"
        if not math.isfinite(rel):
            return u, False, it, "diverged: the residual is not finite"
        problem.apply(d, Ad)
        dAd = dot(d.reshape(-1), Ad.reshape(-1))
        if dAd <= 0:
            return u, False, it, "breakdown: p^T A p <= 0 (operator or preconditioner not SPD)"
        alpha = rz / dAd
        rr = update(flat, r.reshape(-1), d.reshape(-1), Ad.reshape(-1), alpha)
        it += 1
        if recorder.due(it):
            recorder.record(it, u, r)
        z = np.ascontiguousarray(precondition(r))
        rz_new = dot(r.reshape(-1), z.reshape(-1))
        direction(d.reshape(-1), z.reshape(-1), rz_new / rz)
        rz = rz_new
