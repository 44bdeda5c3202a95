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
from solvers.driver import Driver

#: Iterations when ``maxiter`` is not given: a preconditioned CG that needs more is
#: not converging usefully (exact arithmetic would need at most N).
MAXITER = 2000
#: Iterations without a 10% lower residual after which PCG stops as stagnated.
STAGNATION = 50


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
    for z in (a.copy(), a.astype(np.float32)):  # z from a float64 or float32 cycle
        direction(a, z, 0.0)
        dot(a, z)


def pcg(
    problem,
    settings,
    precondition: Callable[[np.ndarray], np.ndarray],
    driver: Driver,
    x0: np.ndarray | None = None,
    record_start: bool = True,
) -> np.ndarray:
    """Run PCG to ``settings.rtol`` under ``driver``; return the final iterate.

    The driver (:class:`~solvers.driver.Driver`) holds the outcome
    (``reason``, ``message``, ``iterations``). Without ``maxiter`` it should
    cap the run at :data:`MAXITER` iterations and stop after
    :data:`STAGNATION` iterations without a 10% lower residual (see
    :func:`driver`). ``record_start=False`` leaves the record of iteration 0 to
    the caller. The residual is updated recursively; convergence is confirmed
    on the true residual (and CG restarted from it if the two disagree).
    ``p^T A p <= 0`` stops the run as ``breakdown``.

    ``problem`` needs ``shape``, ``f`` and ``apply(u, out)``; with an
    ``apply_dot(u, out)`` (``A u`` and ``u^T A u`` in one pass) each step reads
    the search direction once less. ``precondition(r)`` may return ``z`` in
    float32 (a float32 multigrid cycle's own buffer, valid until its next call):
    CG reads it as is, and its vectors stay float64. Besides the iterate, a run
    allocates three grid vectors (the residual, ``A d`` and ``d``) and no more:
    on large grids every fresh array costs its page faults.
    """
    u = np.zeros(problem.shape) if x0 is None else np.array(x0, dtype=np.float64)
    update, direction, dot = _kernels(u.size)
    apply_dot = getattr(problem, "apply_dot", None)
    flat = u.reshape(-1)  # the kernels see flat views of the (contiguous) iterates
    f_norm = driver.f_norm
    Ad = np.empty_like(u)
    r = np.empty_like(u)
    state = {}

    def true_residual():
        """``r = f - A u``, in place (``Ad`` as scratch); returns ``||r||^2``."""
        problem.apply(u, Ad)
        np.subtract(problem.f, Ad, out=r)
        return dot(r.reshape(-1), r.reshape(-1))

    def restart():
        z = np.ascontiguousarray(precondition(r))
        if "d" in state:
            np.copyto(state["d"], z)
        else:
            state["d"] = z.astype(np.float64)  # a copy, float64 whatever z's precision
        state["rz"] = dot(r.reshape(-1), z.reshape(-1))

    def step(it, target):
        d = state["d"]
        if apply_dot is not None:  # A d and d^T A d in one pass
            dAd = apply_dot(d, Ad)
        else:
            problem.apply(d, Ad)
            dAd = dot(d.reshape(-1), Ad.reshape(-1))
        if dAd <= 0:
            driver.stop("breakdown", it, "p^T A p <= 0 (operator or preconditioner not SPD)")
            return it
        alpha = state["rz"] / dAd
        state["rr"] = update(flat, r.reshape(-1), d.reshape(-1), Ad.reshape(-1), alpha)
        z = np.ascontiguousarray(precondition(r))
        rz_new = dot(r.reshape(-1), z.reshape(-1))
        direction(d.reshape(-1), z.reshape(-1), rz_new / state["rz"])
        state["rz"] = rz_new
        return it + 1

    def measure(it, record):
        rel = math.sqrt(state["rr"]) / f_norm
        if rel <= settings.rtol:
            # The recursive residual drifts from the true one near rounding level:
            # confirm, else restart from the true residual.
            state["rr"] = true_residual()
            rel = math.sqrt(state["rr"]) / f_norm
            if rel > settings.rtol:
                restart()
        return rel, r

    state["rr"] = true_residual()
    restart()
    driver.run(u, step, measure, record_start=record_start)
    return u


def driver(problem, settings, method: str, **kwargs) -> Driver:
    """The :class:`~solvers.driver.Driver` of a PCG run: at most :data:`MAXITER`
    iterations unless ``maxiter`` says otherwise, stagnation after
    :data:`STAGNATION`, no growth test (CG's residual may rise on the way)."""
    kwargs.setdefault("default_maxiter", MAXITER)
    kwargs.setdefault("stagnation", STAGNATION)
    return Driver(problem, settings, method=method, divergence=None, **kwargs)
