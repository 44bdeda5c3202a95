r"""The one iteration driver: stopping tests, budgets, records and the stop reason.

Every iterative method runs through a :class:`Driver`; the method supplies
only its *step* (advance the iterate from one iteration count to another)
and its *measure* (the relative residual, and the residual itself when a
record is due). The driver owns everything else:

* the stopping tests, in this order after each measurement: ``converged``
  (``||f - A u|| / ||f|| <= rtol``), ``diverged`` (the residual is not
  finite, or above ``divergence`` times its initial value), ``stagnated``
  (``stagnation`` measurements in a row without a 10% lower residual; off
  unless asked for), too slow (``pace``: less than ``factor`` times lower than
  ``window`` iterations earlier; reason ``callback`` with :attr:`Driver.slow`
  set, for a method that then hands over; off unless asked for), and before
  each step the budget: ``maxiter``
  (``settings.maxiter``, else the method's own cap) and ``max_seconds``
  (solver time, records excluded);
* the history: it records at the recorder's cadence (whose overhead rule
  may hold records back), stepping no further than the next record;
* interruption: Ctrl-C inside :meth:`Driver.run` stops the run with the
  iterate it has (reason ``interrupted``), and the result says so;
* the stop reason, in one vocabulary for every method (:data:`STOP_REASONS`),
  and its message.

The step may end the run itself by calling :meth:`Driver.stop` (for example
``breakdown`` when CG meets ``p^T A p <= 0``) and the measure may name a
reason other than the tests' (``callback``: a monitor asked to stop).

Examples
--------
A damped Richardson iteration ``u += omega (f - A u)`` on a small problem:

>>> import numpy as np, problems
>>> from solvers.registry import make_settings
>>> p = problems.get("paper1d", n=15)
>>> settings = make_settings(p, rtol=1e-6, maxiter=5000)
>>> drv = Driver(p, settings, method="richardson", record_every=0)
>>> u, omega = np.zeros(p.shape), 0.9 * p.grid.h[0] ** 2 / 4
>>> def step(it, target):
...     for _ in range(target - it):
...         u[:] += omega * p.residual(u)
...     return target
>>> def measure(it, record):
...     r = p.residual(u)
...     return float(np.linalg.norm(r)) / drv.f_norm, r
>>> it = drv.run(u, step, measure)
>>> drv.reason, it == drv.iterations
('converged', True)
>>> r = drv.result(u, {})
>>> r.stop_reason, r.converged, r.relative_residual <= 1e-6
('converged', True, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from solvers.recording import Recorder
from solvers.result import SolveResult

#: Why a run stopped; ``SolveResult.stop_reason`` and ``result.json`` hold one of these.
STOP_REASONS = (
    "converged",  # the relative residual reached rtol (or a direct solve)
    "maxiter",  # the iteration budget is spent
    "max_seconds",  # the time budget is spent
    "diverged",  # the residual (or a network's loss) is not finite, or grew too much
    "stagnated",  # the residual stopped falling (rounding floor, or an optimiser stalled)
    "breakdown",  # the method cannot continue (e.g. CG with p^T A p <= 0)
    "callback",  # a monitor asked to stop (e.g. a hybrid hands over)
    "interrupted",  # Ctrl-C
)

#: Default divergence test: a residual above this factor times the initial one.
DIVERGENCE_FACTOR = 1e6
#: A measurement that fails to bring the residual below this factor of its best
#: counts towards stagnation.
STAGNATION_FACTOR = 0.9


class Driver:
    """Runs one method's iteration to its stopping test (module docstring).

    Parameters
    ----------
    problem : Problem
    settings : Settings
        The common arguments (``rtol``, ``maxiter``, ``max_seconds``,
        ``record_every``, ``observers``).
    method : str
        The method's name (results, messages, the recorder's phase).
    recorder : Recorder, optional
        The history; by default a new one with ``settings.observers``.
    default_maxiter : int, optional
        The iteration cap when ``settings.maxiter`` is not given.
    divergence : float or None
        Stop as ``diverged`` above this factor times the initial residual
        (``None``: only a non-finite residual diverges).
    stagnation : int, optional
        Stop as ``stagnated`` after this many measurements in a row without
        a 10% lower residual.
    pace : (int, float), optional
        ``(window, factor)``: stop (reason ``callback``, :attr:`slow` set) when
        the relative residual measured now is not ``factor`` times below the
        last one measured ``window`` or more iterations earlier. For a
        method that hands over to another when it is too slow.
    unit : str
        What one iteration is, for messages (``"iterations"``, ``"sweeps"``).
    what : str, optional
        The method as messages name it (default ``method``).
    phase, record_every
        Passed to the default recorder.
    """

    def __init__(
        self,
        problem,
        settings,
        *,
        method: str,
        recorder: Recorder | None = None,
        default_maxiter: int | None = None,
        divergence: float | None = DIVERGENCE_FACTOR,
        stagnation: int | None = None,
        pace: tuple[int, float] | None = None,
        unit: str = "iterations",
        what: str | None = None,
        phase: str | None = None,
        record_every="settings",
    ):
        self.problem = problem
        self.settings = settings
        self.method = method
        if recorder is None:
            recorder = make_recorder(
                problem,
                settings,
                phase=phase or method,
                record_every=settings.record_every if record_every == "settings" else record_every,
            )
        self.recorder = recorder
        self.maxiter = settings.maxiter if settings.maxiter is not None else default_maxiter
        self.max_seconds = settings.max_seconds
        self.rtol = settings.rtol
        self.divergence = divergence
        self.stagnation = stagnation
        self.pace = pace
        self.slow = False
        self._paced: list[tuple[int, float]] = []  # (iteration, rel) measured
        self.unit = unit
        self.what = what or method
        self.f_norm = recorder.f_norm
        self.reason: str | None = None
        self.message = ""
        self.iterations = 0
        self.measurements = 0
        self._initial: float | None = None
        self._best = math.inf
        self._since = 0

    # -- stopping ----------------------------------------------------------------
    def stop(self, reason: str, iteration: int, detail: str = "") -> None:
        """End the run at ``iteration`` for ``reason`` (one of :data:`STOP_REASONS`)."""
        if reason not in STOP_REASONS:
            raise ValueError(
                f"stop reason must be one of {', '.join(STOP_REASONS)}; got {reason!r}"
            )
        self.reason = reason
        self.iterations = int(iteration)
        self.message = stop_message(reason, iteration, detail, self.unit)

    def test(self, iteration: int, rel: float | None) -> bool:
        """Apply the stopping tests to the relative residual ``rel`` measured at
        ``iteration`` (``None``: not measured there, budget only); True to stop."""
        if self.reason is not None:
            return True
        if rel is not None:
            if self._initial is None:
                self._initial = rel
            if rel <= self.rtol and self.rtol > 0:
                self.stop("converged", iteration, f"relative residual {rel:.3e} <= rtol")
                return True
            if not math.isfinite(rel):
                self.stop("diverged", iteration, "the relative residual is not finite")
                return True
            if self.divergence is not None and rel > self.divergence * max(self._initial, 1e-12):
                self.stop(
                    "diverged",
                    iteration,
                    f"the relative residual grew from {self._initial:.3e} to {rel:.3e}"
                    f" (more than {self.divergence:.0e} times its initial value);"
                    f" {self.what} does not converge for this problem",
                )
                return True
            if self.stagnation is not None:
                if rel < STAGNATION_FACTOR * self._best:
                    self._best, self._since = rel, 0
                else:
                    self._since += 1
                if self._since >= self.stagnation:
                    self.stop(
                        "stagnated",
                        iteration,
                        f"the relative residual stayed above {self._best:.2e} for"
                        f" {self.stagnation} {self.unit} (rounding floor? raise rtol)",
                    )
                    return True
            if self.pace is not None and self._too_slow(iteration, rel):
                return True
        return self.out_of_budget(iteration)

    def _too_slow(self, iteration: int, rel: float) -> bool:
        window, factor = self.pace
        paced = self._paced
        paced.append((iteration, rel))
        while len(paced) > 1 and paced[1][0] <= iteration - window:
            paced.pop(0)  # keep the last measurement at least `window` back, and later ones
        first, then = paced[0]
        if first <= iteration - window and rel > then / factor:
            self.slow = True
            self.stop(
                "callback",
                iteration,
                f"the relative residual fell less than {factor:g}x in the last {window}"
                f" {self.unit}",
            )
            return True
        return False

    def out_of_budget(self, iteration: int) -> bool:
        """True (and the reason set) when ``maxiter`` or ``max_seconds`` is spent."""
        if self.maxiter is not None and iteration >= self.maxiter:
            self.stop("maxiter", iteration, f"maxiter = {self.maxiter}")
            return True
        if self.max_seconds is not None and self.recorder.elapsed() >= self.max_seconds:
            self.stop("max_seconds", iteration, f"max_seconds = {self.max_seconds:g} s")
            return True
        return False

    # -- records -----------------------------------------------------------------
    def record(self, iteration: int, u: np.ndarray, residual: np.ndarray | None = None) -> float:
        """Record ``u`` at ``iteration``; returns its relative residual."""
        return self.recorder.record(iteration, u, residual)

    def target(self, iteration: int, interval: int = 1) -> int:
        """The iteration to step to next: ``interval`` more, but not past ``maxiter``
        nor past the next record (unless the recorder holds that one back)."""
        stop = iteration + interval
        if self.maxiter is not None:
            stop = min(stop, self.maxiter)
        due = self.recorder.next_stop()
        if due is not None and due > iteration:
            stop = min(stop, due)
        return stop

    # -- the loop ----------------------------------------------------------------
    def run(
        self,
        u: np.ndarray,
        step: Callable[[int, int], int],
        measure: Callable[[int, bool], tuple[float | None, np.ndarray | None]],
        *,
        iteration: int = 0,
        interval: Callable[[int], int] | None = None,
        record_start: bool = True,
        rel: float | None = None,
    ) -> int:
        """Iterate from ``iteration`` until a stopping test fires; return the last iteration.

        Parameters
        ----------
        u : ndarray
            The iterate, updated in place by ``step`` (recorded as it is).
        step : callable
            ``step(iteration, target) -> reached``: advance from ``iteration``
            towards ``target`` (at most that far; it may stop short, or call
            :meth:`stop`).
        measure : callable
            ``measure(iteration, record) -> (rel, residual)``: the relative
            residual (``None`` when not measured) and, when ``record`` is true,
            ``f - A u`` (or ``None`` to let the recorder compute it).
        iteration : int
            The count to start from.
        interval : callable, optional
            ``interval(iteration)``: how many iterations between measurements
            (default 1).
        record_start : bool
            Record the starting iterate (with the measurement of it).
        rel : float, optional
            The starting relative residual, if already known (no measurement then).
        """
        it = iteration
        measurements = 1
        try:
            if rel is None:
                record = record_start and self.recorder.due(it)
                rel, r = measure(it, record)
                if record:
                    self.record(it, u, r)
            elif record_start:
                self.record(it, u)
            # the hot loop, with target() inlined (a check costs ~1 us)
            rec, test, maxiter = self.recorder, self.test, self.maxiter
            record = rec.record
            while not test(it, rel):
                stop = it + (interval(it) if interval else 1)
                if maxiter is not None and stop > maxiter:
                    stop = maxiter
                due = rec.next_stop()  # None while the recorder's overhead rule holds back
                if due is not None and stop > due > it:
                    stop = due
                reached = step(it, stop)
                if self.reason is not None:  # the step stopped the run
                    it = self.iterations = max(it, reached)
                    break
                it = reached
                due = rec.due(it)
                rel, r = measure(it, due)
                measurements += 1
                if due and (rel is None or math.isfinite(rel)):
                    record(it, u, r)
        except KeyboardInterrupt:
            self.stop("interrupted", it, "Ctrl-C")
        self.measurements = measurements
        self.iterations = it
        return it

    # -- the result --------------------------------------------------------------
    def result(self, u, options, *, info=None, method=None) -> SolveResult:
        """Record the final state (if not yet recorded) and build the ``SolveResult``."""
        return finish(
            self.problem,
            method or self.method,
            options,
            self.settings,
            u,
            recorder=self.recorder,
            iterations=self.iterations,
            reason=self.reason or "maxiter",
            message=self.message,
            info=info,
        )


def make_recorder(problem, settings, *, phase: str, maxiter=None, record_every="settings"):
    """A :class:`Recorder` for ``settings`` (cadence, observers)."""
    return Recorder(
        problem,
        settings.record_every if record_every == "settings" else record_every,
        settings.maxiter if maxiter is None else maxiter,
        phase=phase,
        observers=settings.observers,
    )


def stop_message(reason: str, iteration: int, detail: str = "", unit: str = "iterations") -> str:
    """The one message for ``reason``: ``"<reason> after <n> <unit>[: <detail>]"``.

    >>> stop_message("maxiter", 20, "maxiter = 20", "sweeps")
    'maxiter after 20 sweeps: maxiter = 20'
    """
    text = f"{reason} after {iteration} {unit}"
    return f"{text}: {detail}" if detail else text


def finish(
    problem,
    method,
    options,
    settings,
    u,
    *,
    recorder,
    iterations,
    reason,
    message="",
    info=None,
) -> SolveResult:
    """Record the final state (if not yet recorded) and build the ``SolveResult``.

    For methods without an iteration (direct solves) and for the driver."""
    if recorder.last_iteration != iterations:
        recorder.record(iterations, u)
    return SolveResult(
        problem=problem,
        method=method,
        options=dict(options),
        u=u,
        converged=reason == "converged",
        iterations=int(iterations),
        seconds=recorder.elapsed(),
        history=recorder.history(),
        message=message,
        seed=settings.seed,
        info=dict(info or {}),
        interrupted=reason == "interrupted",
        stop_reason=reason,
    )


__all__ = ["STOP_REASONS", "Driver", "finish", "make_recorder", "stop_message"]
