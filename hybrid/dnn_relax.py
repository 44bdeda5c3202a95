r"""The F-Principle paper's hybrid: train the DNN, then relax from its prediction.

``dnn-jacobi`` and ``dnn-gauss-seidel`` run the ``dnn`` method, hand its grid
values to ``jacobi`` / ``gauss-seidel`` as ``x0``, and join both histories on
one iteration and time axis (``iteration = dnn_steps + sweeps``), with the
hand-over marked as the event ``"switch"``.

When to switch: ``switch_after=N`` optimiser steps, or ``switch="auto"``
(default). The automatic rule compares rates of progress on the *low*
band, the only band where relaxation is slow, using quantities computable
without the solution:

* the DNN's low-band error is estimated from its residual: with
  ``A0`` the constant-coefficient operator of the reference coefficients
  (the DST preconditioner of ``dst-pcg``),
  ``e ~ A0^{-1} r``, so ``E_low = ||e_hat_low|| / ||(A0^{-1} f)_hat||``;
  its rate is ``log(best E_low a window ago / best E_low now) / window``
  (nepers per second; the best so far, since training oscillates);
* relaxation's rate on that band is set by its slowest mode, ``k = 1``:
  ``-log(rho_1) * sweeps per second``, with ``rho_1 = 1 - lambda_1 / d``
  for Jacobi and its square for Gauss-Seidel (``lambda_1`` the smallest
  eigenvalue, ``d`` the diagonal, of ``A0``), and the sweep rate timed on
  this problem before training starts.

The DNN hands over (its best iterate by ``E_low``) as soon as its rate falls
below relaxation's: from then on, relaxation reduces the low band faster
than further training would. It also hands over once it has trained as long
as relaxation would need from its best iterate,
``log(E_low / rtol) / relaxation's rate``: where relaxation alone is fast
(small grids), training cannot pay, and this caps the time lost to at most
the time relaxation needs (the ski-rental argument).
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from problems import constant_eigenvalues, spectrum
from problems._numba import warm_up
from solvers import History, SolveResult
from solvers import solve as solve_base
from solvers.reference import reference_coefficients
from solvers.registry import method
from solvers.relaxation import relax

OPTIONS = {
    "switch": "'auto' (default): hand over when the DNN's low-band progress per second falls"
    " below relaxation's; ignored when switch_after is given",
    "switch_after": "hand over after this many DNN optimiser steps (an integer >= 0)",
    "dnn_maxiter": "most DNN steps under switch='auto' (default 3000)",
    "dnn_options": "dict of options for the dnn method (loss, widths, lr, ...)",
    "relax_options": "dict of options for the relaxation method (omega, sweep)",
}


class LowBandMonitor:
    """The automatic switching rule of the module docstring, as a ``dnn`` callback."""

    def __init__(
        self, problem, relaxation: str, rtol: float = 1e-8, window: float = 0.3, min_steps: int = 20
    ):
        self.problem = problem
        a_ref, c_ref = reference_coefficients(problem)
        self.a_ref, self.c_ref = a_ref, c_ref
        self.low = spectrum.band_masks(problem)["low"]
        scale = np.linalg.norm(
            spectrum.coefficients(problem, problem.dst_solve(problem.f, a_ref, c_ref))
        )
        self.scale = scale if scale > 0 else 1.0
        lam = constant_eigenvalues(problem.shape, problem.grid.h, a_ref, c_ref)
        diag = sum(2 * a_ref / h**2 for h in problem.grid.h) + c_ref
        rho = 1.0 - lam.min() / diag
        if relaxation == "gauss-seidel":
            rho = rho**2
        self.relax_rate = -math.log(rho) * self._sweeps_per_second(relaxation)
        self.window = window
        self.min_steps = min_steps
        self.target = max(rtol, 1e-300)
        self.trace: list[tuple[float, float]] = []  # (seconds, best E_low so far)
        self.best_u = None
        self.best_step = 0
        self.switch_step = None

    def _sweeps_per_second(self, relaxation: str) -> float:
        u = np.zeros(self.problem.shape)
        self.warm_seconds = warm_up(lambda: relax(self.problem, u, relaxation, 1))
        sweeps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 0.05:
            relax(self.problem, u, relaxation, 10)
            sweeps += 10
        return sweeps / (time.perf_counter() - t0)

    def low_band_error(self, u: np.ndarray) -> float:
        """Estimated relative low-band error of ``u`` from its residual alone."""
        e = self.problem.dst_solve(self.problem.residual(u), self.a_ref, self.c_ref)
        e_hat = spectrum.coefficients(self.problem, e)
        return float(np.linalg.norm(e_hat[self.low]) / self.scale)

    def relaxation_seconds(self, low_band_error: float) -> float:
        """Predicted seconds for relaxation to bring ``low_band_error`` down to ``rtol``."""
        return max(math.log(low_band_error / self.target), 0.0) / self.relax_rate

    def dnn_rate(self, seconds: float) -> float:
        """Nepers per second the best low-band error fell over the last window."""
        then = [(t, e) for t, e in self.trace if t <= seconds - self.window]
        if not then:
            return math.inf
        t0, e0 = then[-1]
        return math.log(e0 / self.trace[-1][1]) / (seconds - t0)

    def __call__(self, step: int, u: np.ndarray, seconds: float) -> bool:
        err = self.low_band_error(u)
        best = self.trace[-1][1] if self.trace else math.inf
        if err < best or self.best_u is None:
            best, self.best_u, self.best_step = err, np.array(u, copy=True), step
        self.trace.append((seconds, best))
        if self.switch_step is None:
            slower = step >= self.min_steps and self.dnn_rate(seconds) < self.relax_rate
            if slower or seconds >= self.relaxation_seconds(best):
                self.switch_step = step
        return self.switch_step is not None


def _shifted(history: History, iterations: int, seconds: float) -> History:
    """``history`` moved along its axes by ``iterations`` and ``seconds``."""
    return dataclasses.replace(
        history,
        iteration=history.iteration + iterations,
        seconds=history.seconds + seconds,
        events=[
            {**e, "iteration": e["iteration"] + iterations, "seconds": e["seconds"] + seconds}
            for e in history.events
        ],
    )


def _make(name: str, relaxation: str):
    def run(
        problem,
        settings,
        switch="auto",
        switch_after=None,
        dnn_maxiter=3000,
        dnn_options=None,
        relax_options=None,
    ):
        if switch not in ("auto", "fixed"):
            raise ValueError(f"switch must be 'auto' or 'fixed'; got {switch!r}")
        if switch_after is not None:
            if (
                isinstance(switch_after, bool)
                or int(switch_after) != switch_after
                or switch_after < 0
            ):
                raise ValueError(f"switch_after must be an integer >= 0, got {switch_after!r}")
            switch_after = int(switch_after)
        elif switch == "fixed":
            raise ValueError("switch='fixed' needs switch_after=N (DNN steps before relaxation)")
        if settings.x0 is not None and switch_after != 0:
            raise ValueError(
                f"{name}: x0 cannot start the DNN phase (the network starts from its"
                " initialisation); give switch_after=0 to relax from x0"
            )
        dnn_options = dict(dnn_options or {})
        relax_options = dict(relax_options or {})
        common = {"record_every": settings.record_every, "seed": settings.seed}
        t_start = time.perf_counter()

        monitor, setup = None, 0.0
        if switch_after is None:
            monitor = LowBandMonitor(problem, relaxation, rtol=settings.rtol)
            # timing the sweeps is part of the cost; compiling them is not
            setup = time.perf_counter() - t_start - monitor.warm_seconds
            dnn_options["callback"] = monitor
            if settings.record_every == 0:  # the rule watches the records
                common["record_every"] = None
        dnn_steps = dnn_maxiter if switch_after is None else switch_after
        u0 = np.zeros(problem.shape) if settings.x0 is None else settings.x0
        dnn_seconds, dnn_done, hist1 = setup, 0, None
        if dnn_steps > 0:
            r1 = solve_base(
                problem,
                "dnn",
                rtol=settings.rtol,
                maxiter=dnn_steps,
                max_seconds=settings.max_seconds,
                device=settings.device,
                progress=settings.progress,
                **common,
                **dnn_options,
            )
            u0 = r1.u if monitor is None or monitor.best_u is None else monitor.best_u
            hist1 = _shifted(r1.history, 0, setup)
            dnn_seconds, dnn_done = setup + r1.seconds, r1.iterations
        common["record_every"] = settings.record_every

        remaining = (
            None if settings.max_seconds is None else max(settings.max_seconds - dnn_seconds, 1e-3)
        )
        maxiter = None if settings.maxiter is None else max(settings.maxiter - dnn_done, 1)
        r2 = solve_base(
            problem,
            relaxation,
            x0=u0,
            rtol=settings.rtol,
            maxiter=maxiter,
            max_seconds=remaining,
            progress=settings.progress,
            **common,
            **relax_options,
        )
        hist2 = _shifted(r2.history, dnn_done, dnn_seconds)
        switch_event = {"label": "switch", "iteration": dnn_done, "seconds": dnn_seconds}
        history = History.concatenate([h for h in (hist1, hist2) if h is not None])
        history = dataclasses.replace(history, events=[*history.events, switch_event])
        options = {
            "switch": switch,
            "switch_after": switch_after,
            "dnn_maxiter": dnn_maxiter,
            "dnn_options": {k: v for k, v in dnn_options.items() if k != "callback"},
            "relax_options": relax_options,
        }
        return SolveResult(
            problem=problem,
            method=name,
            options=options,
            u=r2.u,
            converged=r2.converged,
            iterations=dnn_done + r2.iterations,
            seconds=dnn_seconds + r2.seconds,
            history=history,
            message=r2.message,
            seed=settings.seed,
            info={
                "dnn_steps": dnn_done,
                "sweeps": r2.iterations,
                "seconds_dnn": dnn_seconds,
                "seconds_relaxation": r2.seconds,
                "switch_step": dnn_done if monitor is None else monitor.switch_step,
                "handed_over_step": dnn_done if monitor is None else monitor.best_step,
            },
        )

    return run


dnn_jacobi = method("train the DNN, then Jacobi from its prediction", OPTIONS)(
    _make("dnn-jacobi", "jacobi")
)
dnn_gauss_seidel = method("train the DNN, then Gauss-Seidel from its prediction", OPTIONS)(
    _make("dnn-gauss-seidel", "gauss-seidel")
)
