"""Reference solvers: sparse direct, DST fast Poisson, DST-preconditioned CG, PyAMG.

These are the peers every comparison includes: ``direct`` and ``dst`` give
the discrete solution in one step, ``dst-pcg`` is the classical
frequency-space iterative method for smooth coefficients, and ``amg`` is
algebraic multigrid from PyAMG (optional dependency).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse.linalg as spla

from problems._numba import warm_up
from solvers.krylov import compile_kernels, pcg
from solvers.recording import Recorder, make_result
from solvers.registry import method


@method("sparse direct solve (SuperLU) of A u = f")
def direct(problem, settings):
    rec = Recorder(problem, settings.record_every, phase="direct")
    rec.record(0, np.zeros(problem.shape) if settings.x0 is None else settings.x0)
    rec.restart_clock()
    u = spla.spsolve(problem.matrix().tocsc(), problem.f.ravel(), permc_spec="MMD_AT_PLUS_A")
    u = np.asarray(u).reshape(problem.shape)
    return make_result(
        problem, "direct", {}, settings, u, converged=True, iterations=1, recorder=rec
    )


@method("fast Poisson solver by the sine transform (constant a and c only)")
def dst(problem, settings):
    if not problem.is_constant_coefficient:
        raise ValueError(
            f"method 'dst' needs constant coefficients, but {problem.name} has variable a or c;"
            " use 'dst-pcg' (DST-preconditioned CG) or 'direct'"
        )
    rec = Recorder(problem, settings.record_every, phase="dst")
    rec.record(0, np.zeros(problem.shape) if settings.x0 is None else settings.x0)
    rec.restart_clock()
    u = problem.dst_solve(problem.f)
    return make_result(problem, "dst", {}, settings, u, converged=True, iterations=1, recorder=rec)


def reference_coefficients(problem, reference="mean") -> tuple[float, float]:
    """Constants ``(a_ref, c_ref)`` for the DST preconditioner.

    ``reference`` is ``"mean"`` (arithmetic mean of ``a`` over the faces),
    ``"geometric"`` (geometric mean, better for log-normal ``a``) or a
    number. ``c_ref`` is the mean of ``c``.
    """
    faces = np.concatenate([f.ravel() for f in problem.operator.faces])
    if reference == "mean":
        a_ref = float(faces.mean())
    elif reference == "geometric":
        a_ref = float(np.exp(np.log(faces).mean()))
    else:
        try:
            a_ref = float(reference)
        except (TypeError, ValueError):
            raise ValueError(
                f"reference must be 'mean', 'geometric' or a number > 0, got {reference!r}"
            ) from None
        if not a_ref > 0:
            raise ValueError(f"reference coefficient must be > 0, got {a_ref}")
    return a_ref, float(problem.operator.c.mean())


@method(
    "CG preconditioned by the constant-coefficient DST solve",
    {"reference": "reference coefficient: 'mean' (default), 'geometric' or a number"},
)
def dst_pcg(problem, settings, reference="mean"):
    a_ref, c_ref = reference_coefficients(problem, reference)
    rec = Recorder(problem, settings.record_every, settings.maxiter, phase="dst-pcg")
    zero = np.zeros(problem.shape)
    warm_up(lambda: (problem.dst_solve(zero, a_ref, c_ref), compile_kernels(problem.shape)))
    rec.restart_clock()
    u, converged, it, message = pcg(
        problem, settings, lambda r: problem.dst_solve(r, a_ref, c_ref), rec, settings.x0
    )
    return make_result(
        problem,
        "dst-pcg",
        {"reference": reference},
        settings,
        u,
        converged=converged,
        iterations=it,
        recorder=rec,
        message=message,
        info={"a_ref": a_ref, "c_ref": c_ref},
    )


AMG_KINDS = ("rs", "sa")


@method(
    "algebraic multigrid from PyAMG (Ruge-Stuben V-cycles by default)",
    {
        "kind": "'rs' (Ruge-Stuben, default) or 'sa' (smoothed aggregation)",
        "accel": "None (stand-alone cycles, default) or 'cg'",
    },
)
def amg(problem, settings, kind="rs", accel=None):
    try:
        import pyamg
    except ImportError:  # pragma: no cover - pyamg is a test dependency
        raise ValueError("method 'amg' needs PyAMG: pip install 'fpsolve[amg]'") from None
    if kind not in AMG_KINDS:
        raise ValueError(f"kind must be one of {', '.join(AMG_KINDS)}; got {kind!r}")
    if accel not in (None, "cg"):
        raise ValueError(f"accel must be None or 'cg'; got {accel!r}")
    rec = Recorder(problem, settings.record_every, settings.maxiter, phase="amg")
    x0 = np.zeros(problem.shape) if settings.x0 is None else settings.x0
    rec.record(0, x0)
    rec.restart_clock()
    t0 = time.perf_counter()
    A = problem.matrix()
    ml = pyamg.ruge_stuben_solver(A) if kind == "rs" else pyamg.smoothed_aggregation_solver(A)
    setup = time.perf_counter() - t0
    count = [0]

    def callback(x):
        count[0] += 1
        if rec.due(count[0]):
            rec.record(count[0], x.reshape(problem.shape))

    maxiter = settings.maxiter or 500
    rtol = settings.rtol if settings.rtol > 0 else 1e-300
    residuals: list[float] = []
    u = ml.solve(
        problem.f.ravel(),
        x0=x0.ravel().copy(),
        tol=rtol,
        maxiter=maxiter,
        accel=accel,
        callback=callback,
        residuals=residuals,
    ).reshape(problem.shape)
    converged = problem.relative_residual(u) <= settings.rtol
    return make_result(
        problem,
        "amg",
        {"kind": kind, "accel": accel},
        settings,
        u,
        converged=converged,
        iterations=count[0],
        recorder=rec,
        message="" if converged else "budget exhausted (maxiter)",
        info={
            "setup_seconds": setup,
            "levels": len(ml.levels),
            "operator_complexity": float(ml.operator_complexity()),
        },
    )
