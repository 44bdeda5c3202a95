r"""Preconditioned conjugate gradients, matrix-free, with a per-frequency history.

Standard PCG for SPD ``A`` and SPD preconditioner ``M^{-1}``:

.. math::

    \alpha_j = \frac{r_j^T z_j}{p_j^T A p_j}, \quad x_{j+1} = x_j + \alpha_j p_j, \quad
    r_{j+1} = r_j - \alpha_j A p_j, \quad z_{j+1} = M^{-1} r_{j+1}, \quad
    p_{j+1} = z_{j+1} + \frac{r_{j+1}^T z_{j+1}}{r_j^T z_j} p_j.

One iteration is one application of ``A`` and one of ``M^{-1}``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from solvers.recording import Recorder, Stagnation, out_of_budget

#: Iterations when ``maxiter`` is not given: a preconditioned CG that needs more is
#: not converging usefully (exact arithmetic would need at most N).
MAXITER = 2000


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
    f_norm = float(np.linalg.norm(problem.f)) or 1.0
    r = problem.residual(u)
    if record_start:
        recorder.record(0, u, r)
    z = precondition(r)
    d = z.copy()
    rz = float(np.vdot(r, z))
    Ad = np.empty_like(u)
    it = 0
    stagnation = Stagnation(window=50)
    while True:
        rel = float(np.linalg.norm(r)) / f_norm
        if rel <= settings.rtol:
            # The recursive residual drifts from the true one near rounding level:
            # confirm, else restart from the true residual.
            r = problem.residual(u)
            rel = float(np.linalg.norm(r)) / f_norm
            if rel <= settings.rtol:
                return u, True, it, ""
            z = precondition(r)
            d = z.copy()
            rz = float(np.vdot(r, z))
        if stagnation.stalled(rel):
            return u, False, it, stagnation.message()
        if out_of_budget(settings, it, recorder, default_maxiter=MAXITER):
            return u, False, it, "budget exhausted (maxiter or max_seconds)"
        if not np.isfinite(rel):
            return u, False, it, "diverged: the residual is not finite"
        problem.apply(d, Ad)
        dAd = float(np.vdot(d, Ad))
        if dAd <= 0:
            return u, False, it, "breakdown: p^T A p <= 0 (operator or preconditioner not SPD)"
        alpha = rz / dAd
        u += alpha * d
        r -= alpha * Ad
        it += 1
        if recorder.due(it):
            recorder.record(it, u, r)
        z = precondition(r)
        rz_new = float(np.vdot(r, z))
        d *= rz_new / rz
        d += z
        rz = rz_new
