"""Recording a run's per-frequency history at a cadence.

The :class:`Recorder` owns the solver's clock: time spent measuring
(a residual, one DST, band sums) is excluded from the ``seconds`` it
reports, so a history plotted against seconds shows the solver's own speed.

Cadence (``record_every``):

* ``None`` (default): geometric, so a run records about ``points`` (200)
  times whatever its length: every step at first, then ever sparser
  (``next = max(it + 1, ceil(it * ratio))``). With a known ``maxiter`` the
  ratio is fitted to it; otherwise ``ratio = 1.07`` (about 200 records for
  a million steps).
* ``k > 0``: every ``k`` steps.
* ``0``: only the first and the last state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from problems.spectrum import BANDS, error_spectrum
from solvers.result import History

DEFAULT_POINTS = 200
DEFAULT_RATIO = 1.07


def geometric_ratio(maxiter: int | None, points: int = DEFAULT_POINTS) -> float:
    """Ratio of a geometric schedule that reaches ``maxiter`` in about ``points`` records."""
    if not maxiter or maxiter <= points:
        return DEFAULT_RATIO if not maxiter else 1.0
    # About `linear` records at every step before the geometric part takes over.
    for ratio in np.linspace(1.001, 2.0, 2000):
        linear = min(math.ceil(1 / (ratio - 1)), maxiter)
        if linear + math.log(maxiter / linear) / math.log(ratio) <= points:
            return float(ratio)
    return 2.0


class Recorder:
    """Collects a :class:`~solvers.result.History` while a solver runs.

    Parameters
    ----------
    problem : Problem
    record_every : int or None
        Cadence (module docstring).
    maxiter : int, optional
        Used to fit the default geometric cadence.
    phase : str
        Label stored with each record.
    spectrum : ErrorSpectrum, optional
        Reuse one across phases of a hybrid.
    observers : sequence of callable
        Called as ``observer(recorder, iteration, u)`` after every record (the
        command line prints ``--verbose`` lines and keeps the last iterate for
        Ctrl-C with them); their time counts as measurement, not solver time.
    """

    def __init__(
        self,
        problem,
        record_every=None,
        maxiter=None,
        phase="solve",
        spectrum=None,
        observers: tuple[Callable, ...] = (),
    ):
        if record_every is not None and (int(record_every) != record_every or record_every < 0):
            raise ValueError(f"record_every must be None or an integer >= 0, got {record_every!r}")
        self.problem = problem
        self.record_every = record_every
        self.ratio = geometric_ratio(maxiter)
        self.phase = phase
        self.observers = tuple(observers)
        self.spectrum = spectrum if spectrum is not None else error_spectrum(problem)
        self.f_norm = float(np.linalg.norm(problem.f)) or 1.0
        self._rows: list[tuple] = []
        self._phases: list[str] = []
        self.events: list[dict] = []
        self.overhead = 0.0
        self._start = time.perf_counter()
        self._last = -1

    # -- clock ---------------------------------------------------------------
    def restart_clock(self, offset: float = 0.0) -> None:
        """Start the solver clock now, at ``offset`` seconds (to continue a time axis).

        Rows recorded before (e.g. the initial iterate) describe the state at
        the start, so their times are capped at ``offset``: the time axis
        never runs backwards.
        """
        self._start = time.perf_counter() - offset
        self.overhead = 0.0
        self._rows = [(r[0], min(r[1], offset), *r[2:]) for r in self._rows]

    def elapsed(self) -> float:
        """Solver seconds so far, measurement overhead excluded."""
        return time.perf_counter() - self._start - self.overhead

    # -- cadence -------------------------------------------------------------
    def next_due(self, iteration: int) -> int:
        """The first iteration after ``iteration`` at which a record is due."""
        if self.record_every == 0:
            return np.iinfo(np.int64).max
        if self.record_every:
            k = int(self.record_every)
            return (iteration // k + 1) * k
        return max(iteration + 1, math.ceil(iteration * self.ratio))

    def due(self, iteration: int) -> bool:
        return iteration >= self.next_due(self._last) if self._last >= 0 else True

    # -- recording -----------------------------------------------------------
    def record(self, iteration: int, u: np.ndarray, residual: np.ndarray | None = None) -> float:
        """Measure ``u`` and store a row; returns the relative residual.

        ``residual`` (``f - A u``), when the solver has it, saves one operator
        application.
        """
        seconds = self.elapsed()
        t0 = time.perf_counter()
        if iteration == self._last and self._rows:
            self._rows.pop()
            self._phases.pop()
        r = self.problem.residual(u) if residual is None else residual
        rel_res = float(np.linalg.norm(r) / self.f_norm)
        m = self.spectrum.measure(u)
        self._rows.append(
            (iteration, seconds, rel_res, m["relative_error"], m["modal_error"], m["band_error"])
        )
        self._phases.append(self.phase)
        self._last = iteration
        for observe in self.observers:
            observe(self, iteration, u)
        self.overhead += time.perf_counter() - t0
        return rel_res

    def mark(self, label: str, iteration: int) -> None:
        """Mark an event (e.g. a hybrid's switch) on the history's axes."""
        self.events.append({"label": label, "iteration": int(iteration), "seconds": self.elapsed()})

    @property
    def last_iteration(self) -> int:
        return self._last

    def last_record(self) -> dict | None:
        """The latest record as a dict (``iteration``, ``seconds``, ``relative_residual``,
        ``relative_error``, ``band_error``, ``phase``), or ``None`` before the first."""
        if not self._rows:
            return None
        it, seconds, res, err, _, bands = self._rows[-1]
        return {
            "iteration": it,
            "seconds": seconds,
            "relative_residual": res,
            "relative_error": err,
            "band_error": dict(bands),
            "phase": self._phases[-1],
        }

    def history(self) -> History:
        modes = self.spectrum.modes
        rows = self._rows
        return History(
            iteration=np.array([r[0] for r in rows], dtype=int),
            seconds=np.array([r[1] for r in rows], dtype=float),
            relative_residual=np.array([r[2] for r in rows], dtype=float),
            relative_error=np.array([r[3] for r in rows], dtype=float),
            modes=np.asarray(modes, dtype=int),
            modal_error=np.array([r[4] for r in rows], dtype=float).reshape(len(rows), len(modes)),
            band_error={b: np.array([r[5][b] for r in rows], dtype=float) for b in BANDS},
            phase=list(self._phases),
            events=list(self.events),
        )
