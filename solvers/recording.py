"""Recording a run's per-frequency history at a cadence.

The :class:`Recorder` owns the solver's clock: time spent measuring
(a residual, one DST, bin sums) is excluded from the ``seconds`` it
reports, so a history plotted against seconds shows the solver's own speed.

What a record holds:

* always the relative residual and the *residual spectrum* (the sine
  coefficients of ``f - A u`` in frequency bins, over ``||f||``; see
  :func:`problems.spectrum.residual_spectrum`): no reference solution needed;
* when errors are tracked, also the relative error, the per-mode and band
  errors and the error spectrum, against ``u_ref = A^{-1} f``. Where they are
  not, those entries are NaN and no modes are tracked (``modes`` is empty).

Whether errors are tracked (:func:`track_errors`): ``errors=True`` or
``False``, or ``"auto"``: only where ``u_ref`` is cheap (constant
coefficients, so a fast sine-transform solve; at most :data:`AUTO_SIZE`
unknowns; or the reference already computed). ``solve`` decides once and
holds the decision for every recorder made during the run
(:func:`tracking`); a recorder made outside a ``solve`` tracks no errors
unless told to.

Cadence (``record_every``):

* ``None`` (default): every step up to :data:`FIRST_RECORDS`, then
  geometric, so a run records about ``points`` (200) times whatever its
  length (``next = max(it + 1, ceil(it * ratio))``). With a known
  ``maxiter`` the ratio is fitted to it; otherwise ``ratio = 1.07`` (about
  200 records for a million steps). Past :data:`FIRST_RECORDS` the records
  are thinned while measuring them would cost more than
  :data:`RECORD_BUDGET` of the solver's time and more than
  :data:`RECORD_FREE_SECONDS` (:meth:`Recorder.due`), so that the history
  stays cheap in wall time on fast methods; the first records are never
  thinned.
* ``k > 0``: every ``k`` steps.
* ``0``: only the first and the last state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import scipy.fft

from problems.spectrum import BANDS, bins, error_spectrum
from solvers.result import History

DEFAULT_POINTS = 200
DEFAULT_RATIO = 1.07
#: Iterations ``0..FIRST_RECORDS`` are always recorded under the default cadence.
FIRST_RECORDS = 10
#: Past the first records, measuring them may take at most this share of the solver's time ...
RECORD_BUDGET = 0.25
#: ... or this many seconds, whichever is more (so short runs keep their geometric records).
RECORD_FREE_SECONDS = 0.5
#: ``errors="auto"`` tracks errors on problems with at most this many unknowns (2^16).
AUTO_SIZE = 1 << 16
ERRORS = ("auto", True, False)

#: The current solve's decision on error tracking (see :func:`tracking`).
_TRACK_ERRORS: ContextVar[bool] = ContextVar("fpsolve_track_errors", default=False)


#: "No record is due": an iteration count no run reaches (a module constant, since
#: ``np.iinfo`` costs microseconds per call in the per-check path).
_NEVER = int(np.iinfo(np.int64).max)


def track_errors(problem, errors="auto") -> bool:
    """Whether a solve with ``errors`` (``"auto"``, ``True`` or ``False``) tracks errors.

    ``"auto"`` is True only where the reference ``u_ref = A^{-1} f`` is cheap:
    constant coefficients (a sine-transform solve), at most :data:`AUTO_SIZE`
    unknowns, or a reference that ``problem`` has already computed.

    Examples
    --------
    >>> import problems
    >>> small, large = problems.get("varcoef2d", n=255), problems.get("varcoef2d", n=511)
    >>> track_errors(small), track_errors(large), track_errors(large, True)
    (True, False, True)
    >>> track_errors(problems.get("random2d", n=1023))  # constant coefficients
    True
    """
    if errors is True or errors is False:
        return errors
    if errors != "auto":
        raise ValueError(f"errors must be 'auto', True or False; got {errors!r}")
    return bool(
        problem.is_constant_coefficient
        or problem.size <= AUTO_SIZE
        or "_reference" in problem.__dict__
    )


@contextmanager
def tracking(errors: bool) -> Iterator[None]:
    """Recorders made inside the block track errors if ``errors`` (``solve`` uses it)."""
    token = _TRACK_ERRORS.set(bool(errors))
    try:
        yield
    finally:
        _TRACK_ERRORS.reset(token)


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
        Reuse one across phases of a hybrid (only used when errors are tracked).
    errors : bool, optional
        Track errors against ``u_ref``; default: the current ``solve``'s
        decision (:func:`tracking`), False outside a solve. When False the
        reference is never computed.
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
        errors=None,
        observers: tuple[Callable, ...] = (),
    ):
        if record_every is not None and (int(record_every) != record_every or record_every < 0):
            raise ValueError(f"record_every must be None or an integer >= 0, got {record_every!r}")
        self.problem = problem
        self.record_every = record_every
        self.ratio = geometric_ratio(maxiter)
        self.phase = phase
        self.observers = tuple(observers)
        self.errors = _TRACK_ERRORS.get() if errors is None else bool(errors)
        self._spectrum = spectrum
        self.bins = bins(problem)
        self.f_norm = float(np.linalg.norm(problem.f)) or 1.0
        self._rows: list[tuple] = []
        self._phases: list[str] = []
        self.events: list[dict] = []
        self.overhead = 0.0
        self.cost = 0.0  # of the latest record, for the throttle
        self._later = 0.0  # measuring time of the records past FIRST_RECORDS
        self._start = time.perf_counter()
        self._last = -1

    @property
    def spectrum(self):
        """The :class:`~problems.spectrum.ErrorSpectrum` (built on first use: it needs
        ``u_ref``), or ``None`` when errors are not tracked."""
        if not self.errors:
            return None
        if self._spectrum is None:
            self._spectrum = error_spectrum(self.problem)
        return self._spectrum

    @property
    def modes(self) -> np.ndarray:
        """The tracked modes: shape ``(m,)`` in 1D, ``(m, 2)`` in 2D; none without errors."""
        if not self.errors:
            return np.zeros((0,) if self.problem.dim == 1 else (0, 2), dtype=int)
        return np.asarray(self.spectrum.modes, dtype=int)

    # -- clock ---------------------------------------------------------------
    def restart_clock(self, offset: float = 0.0) -> None:
        """Start the solver clock now, at ``offset`` seconds (to continue a time axis).

        Rows recorded before (e.g. the initial iterate) describe the state at
        the start, so their times are capped at ``offset``: the time axis
        never runs backwards.
        """
        self._start = time.perf_counter() - offset
        self.overhead = self._later = 0.0
        self._rows = [(r[0], min(r[1], offset), *r[2:]) for r in self._rows]

    def elapsed(self) -> float:
        """Solver seconds so far, measurement overhead excluded."""
        return time.perf_counter() - self._start - self.overhead

    # -- cadence -------------------------------------------------------------
    def next_due(self, iteration: int) -> int:
        """The first iteration after ``iteration`` at which the cadence wants a record."""
        if self.record_every == 0:
            return _NEVER
        if self.record_every:
            k = int(self.record_every)
            return (iteration // k + 1) * k
        if iteration < FIRST_RECORDS:
            return iteration + 1
        return max(iteration + 1, math.ceil(iteration * self.ratio))

    def throttled(self, iteration: int) -> bool:
        """True when the overhead rule holds back a record at ``iteration``.

        Only the default cadence is thinned, and only past :data:`FIRST_RECORDS`:
        a record is held back while the measurements of the records past the
        first ones, plus one more, would exceed both :data:`RECORD_BUDGET` of the
        solver's time and :data:`RECORD_FREE_SECONDS`. (The first records are
        not counted: they are always made.)
        """
        if self.record_every is not None or iteration <= FIRST_RECORDS:
            return False
        spent = self._later + self.cost
        return spent > RECORD_FREE_SECONDS and spent > RECORD_BUDGET * self.elapsed()

    def due(self, iteration: int) -> bool:
        """Whether to record at ``iteration``: the cadence wants it and the throttle allows it."""
        if self._last < 0:
            return True
        return iteration >= self.next_due(self._last) and not self.throttled(iteration)

    def next_stop(self) -> int | None:
        """The iteration a loop that runs many steps at once should stop at to record,
        or ``None`` while the throttle would hold that record back."""
        at = self.next_due(self._last) if self._last >= 0 else 0
        return None if self.throttled(at) else at

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
        r_hat = scipy.fft.dstn(r, type=1, norm="ortho", workers=-1)
        res_spec = self.bins.norms(r_hat, self.f_norm)
        rel_res = math.sqrt(float(np.dot(res_spec, res_spec)))  # Parseval: ||r|| / ||f||
        if self.errors:
            m = self.spectrum.measure(u, r_hat)
            err, modal, bands, err_spec = (
                m["relative_error"],
                m["modal_error"],
                m["band_error"],
                m["error_spectrum"],
            )
        else:
            err, modal, err_spec = math.nan, np.zeros(0), np.full(len(self.bins), np.nan)
            bands = dict.fromkeys(BANDS, math.nan)
        self._rows.append((iteration, seconds, rel_res, err, modal, bands, res_spec, err_spec))
        self._phases.append(self.phase)
        self._last = iteration
        for observe in self.observers:
            observe(self, iteration, u)
        self.cost = time.perf_counter() - t0
        self.overhead += self.cost
        if iteration > FIRST_RECORDS:
            self._later += self.cost
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
        it, seconds, res, err, _, bands, _, _ = self._rows[-1]
        return {
            "iteration": it,
            "seconds": seconds,
            "relative_residual": res,
            "relative_error": err,
            "band_error": dict(bands),
            "phase": self._phases[-1],
        }

    def history(self) -> History:
        modes = self.modes
        rows = self._rows
        count = len(self.bins)
        return History(
            iteration=np.array([r[0] for r in rows], dtype=int),
            seconds=np.array([r[1] for r in rows], dtype=float),
            relative_residual=np.array([r[2] for r in rows], dtype=float),
            relative_error=np.array([r[3] for r in rows], dtype=float),
            modes=modes,
            modal_error=np.array([r[4] for r in rows], dtype=float).reshape(len(rows), len(modes)),
            band_error={b: np.array([r[5][b] for r in rows], dtype=float) for b in BANDS},
            phase=list(self._phases),
            events=list(self.events),
            spectrum_k=np.array(self.bins.centres, dtype=float),
            residual_spectrum=np.array([r[6] for r in rows], dtype=float).reshape(len(rows), count),
            error_spectrum=np.array([r[7] for r in rows], dtype=float).reshape(len(rows), count),
        )
