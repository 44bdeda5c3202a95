"""Reference solvers: sparse direct, DST fast Poisson, DST-preconditioned CG, PyAMG.

These are the peers every comparison includes: ``direct`` and ``dst`` give
the discrete solution in one step, ``dst-pcg`` is the classical
frequency-space iterative method for smooth coefficients, and ``amg`` is
algebraic multigrid from PyAMG (optional dependency).
"""

from __future__ import annotations

import time

import numpy as np

from problems._numba import warm_up
from problems.parameters import Parameter, Parameters, choice, either, number
from problems.problem import sparse_lu
from solvers import krylov
from solvers.driver import finish, make_recorder, stop_message
from solvers.krylov import compile_kernels
from solvers.registry import method, require_definite


@method("sparse direct solve (SuperLU) of A u = f")
def direct(problem, settings):
    rec = make_recorder(problem, settings, phase="direct")
    rec.record(0, np.zeros(problem.shape) if settings.x0 is None else settings.x0)
    rec.restart_clock()
    # diagonal pivots preferred: partial pivoting multiplied the fill of indefinite (Helmholtz)
    # factorisations (problems.problem.sparse_lu)
    u = sparse_lu(problem.matrix()).solve(problem.f.ravel()).reshape(problem.shape)
    return finish(
        problem, "direct", {}, settings, u, recorder=rec, iterations=1, reason="converged"
    )


@method("fast Poisson solver by the sine transform (constant a and c only)")
def dst(problem, settings):
    if not problem.is_constant_coefficient:
        raise ValueError(
            f"method 'dst' needs constant coefficients, but {problem.name} has variable a or c;"
            " use 'dst-pcg' (DST-preconditioned CG) or 'direct'"
        )
    rec = make_recorder(problem, settings, phase="dst")
    rec.record(0, np.zeros(problem.shape) if settings.x0 is None else settings.x0)
    rec.restart_clock()
    u = problem.dst_solve(problem.f)
    return finish(problem, "dst", {}, settings, u, recorder=rec, iterations=1, reason="converged")


def reference_coefficients(problem, reference="mean") -> tuple[float, float]:
    """Constants ``(a_ref, c_ref)`` for the DST preconditioner.

    ``reference`` is ``"mean"`` (arithmetic mean of ``a`` over the faces),
    ``"geometric"`` (geometric mean, better for log-normal ``a``) or a
    number. ``c_ref`` is the mean of ``c``.
    """
    faces = np.concatenate([f.ravel() for f in problem.operator.faces])
    reference = REFERENCE(reference)
    if reference == "mean":
        a_ref = float(faces.mean())
    elif reference == "geometric":
        a_ref = float(np.exp(np.log(faces).mean()))
    else:
        a_ref = reference
    return a_ref, float(problem.operator.c.mean())


REFERENCE = Parameter(
    "reference",
    "mean",
    either(choice("mean", "geometric"), number(low=0, strict_low=True)),
    "reference coefficient: 'mean' (default), 'geometric' or a number > 0",
)


@method("CG preconditioned by the constant-coefficient DST solve", Parameters(REFERENCE), spd=True)
def dst_pcg(problem, settings, reference="mean"):
    require_definite(problem, "dst-pcg")
    a_ref, c_ref = reference_coefficients(problem, reference)
    drv = krylov.driver(problem, settings, "dst-pcg")
    zero = np.zeros(problem.shape)
    warm_up(lambda: (problem.dst_solve(zero, a_ref, c_ref), compile_kernels(problem.shape)))
    drv.recorder.restart_clock()
    u = krylov.pcg(
        problem, settings, lambda r: problem.dst_solve(r, a_ref, c_ref), drv, settings.x0
    )
    return drv.result(u, {"reference": reference}, info={"a_ref": a_ref, "c_ref": c_ref})


AMG_KINDS = ("rs", "sa")
#: Cycles of ``amg`` when ``maxiter`` is not given.
AMG_MAXITER = 500


@method(
    "algebraic multigrid from PyAMG (Ruge-Stuben V-cycles by default)",
    Parameters(
        Parameter(
            "kind",
            "rs",
            choice(*AMG_KINDS),
            "'rs' (Ruge-Stuben, default) or 'sa' (smoothed aggregation)",
        ),
        Parameter("accel", None, choice(None, "cg"), "None (stand-alone cycles, default) or 'cg'"),
    ),
    spd=lambda o: "amg (accel='cg')" if o["accel"] == "cg" else None,
)
def amg(problem, settings, kind="rs", accel=None):
    try:
        import pyamg  # optional dependency, needed only by this method
    except ImportError:  # pragma: no cover - pyamg is a test dependency
        raise ValueError("method 'amg' needs PyAMG: pip install 'fpsolve[amg]'") from None
    if accel == "cg":
        require_definite(problem, "amg (accel='cg')")
    rec = make_recorder(problem, settings, phase="amg")
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

    maxiter = settings.maxiter or AMG_MAXITER
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
    # PyAMG owns this loop (it stops on rtol or maxiter); its outcome in the driver's words
    converged = problem.relative_residual(u) <= settings.rtol
    reason = "converged" if converged else "maxiter"
    return finish(
        problem,
        "amg",
        {"kind": kind, "accel": accel},
        settings,
        u,
        recorder=rec,
        iterations=count[0],
        reason=reason,
        message=stop_message(reason, count[0], "" if converged else f"maxiter = {maxiter}"),
        info={
            "setup_seconds": setup,
            "levels": len(ml.levels),
            "operator_complexity": float(ml.operator_complexity()),
        },
    )
