"""Run several methods on one problem, and survive Ctrl-C with what was recorded.

:func:`compare` runs each method through :func:`hybrid.solve` with the same
common settings and returns the list of ``SolveResult`` (the CLI writes it
to ``compare.json``). While a method runs, every history record it makes is
observed (an observer passed to ``solve``), which serves two purposes:

* ``on_record`` callbacks (the CLI's ``--verbose`` lines);
* a clean stop on ``KeyboardInterrupt``. A method run by the iteration
  driver (:mod:`solvers.driver`) stops itself with the iterate it has and
  returns a result with ``stop_reason="interrupted"``. A method outside the
  driver (a direct solve, PyAMG's own loop) is abandoned and a partial
  ``SolveResult`` is built from the records made so far and the last
  *recorded* iterate (or ``x0``, zeros, when none was made; counters in
  ``info`` are not available for it). Either way :class:`Interrupted` then
  carries every result (finished ones and the interrupted one) to the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import hybrid
from problems.spectrum import BANDS, bins
from solvers.result import History, SolveResult


class Interrupted(Exception):
    """Raised by :func:`compare` on Ctrl-C; ``results`` ends with the partial one."""

    def __init__(self, results: list[SolveResult]):
        super().__init__("interrupted")
        self.results = results


class _Observer:
    """Keeps the recorders a run uses and a copy of the last recorded iterate."""

    def __init__(self, on_record: Callable | None):
        self.on_record = on_record
        self.recorders: list = []
        self.u: np.ndarray | None = None
        self.iteration = 0

    def __call__(self, recorder, iteration, u) -> None:
        if not any(r is recorder for r in self.recorders):
            self.recorders.append(recorder)
        self.u = np.array(u, dtype=np.float64, copy=True)
        self.iteration = int(iteration)
        if self.on_record is not None:
            self.on_record(recorder.last_record())


def _empty_history(problem) -> History:
    # No records: no modes either (finding them would need the reference solution).
    empty = np.zeros(0)
    return History(
        iteration=np.zeros(0, dtype=int),
        seconds=empty,
        relative_residual=empty,
        relative_error=empty,
        modes=np.zeros((0,) if problem.dim == 1 else (0, 2), dtype=int),
        modal_error=np.zeros((0, 0)),
        band_error={"low": empty, "mid": empty, "high": empty},
        spectrum_k=np.array(bins(problem).centres),
    )


def partial_result(problem, method: str, options: dict, seed: int, observer, x0=None):
    """The ``SolveResult`` of a run stopped before it returned (``interrupted=True``)."""
    histories = [r.history() for r in observer.recorders]
    histories = [h for h in histories if len(h)]
    if histories and all(
        np.array_equal(h.modes, histories[0].modes)
        and np.array_equal(h.spectrum_k, histories[0].spectrum_k)
        for h in histories
    ):
        history = History.concatenate(histories)
    else:
        history = histories[-1] if histories else _empty_history(problem)
    if observer.u is not None:
        u = observer.u
    else:
        u = np.zeros(problem.shape) if x0 is None else np.array(x0, dtype=float)
    seconds = float(history.seconds[-1]) if len(history) else 0.0
    return SolveResult(
        problem=problem,
        method=method,
        options=dict(options),
        u=u,
        converged=False,
        iterations=int(history.iteration[-1]) if len(history) else 0,
        seconds=seconds,
        history=history,
        message="interrupted (Ctrl-C); u is the last recorded iterate",
        seed=seed,
        interrupted=True,
        stop_reason="interrupted",
    )


def compare(
    problem,
    methods: Sequence[str | tuple[str, dict]],
    *,
    on_start: Callable[[str], None] | None = None,
    on_record: Callable[[dict], None] | None = None,
    **common,
) -> list[SolveResult]:
    """Run each method on ``problem`` with the same common settings.

    Parameters
    ----------
    problem : problems.Problem
    methods : sequence of str or (str, dict)
        Method names, or ``(name, options)`` pairs.
    on_start : callable, optional
        Called with the method name before it runs.
    on_record : callable, optional
        Called with ``Recorder.last_record()`` after every history record.
    **common
        ``hybrid.solve``'s common arguments (``rtol``, ``maxiter``, ...);
        ``errors`` defaults to True here (a comparison shows errors; pass
        ``errors="auto"`` or False to skip the reference solve).

    Returns
    -------
    list of SolveResult, in the order given.

    Raises
    ------
    Interrupted
        On ``KeyboardInterrupt``; its ``results`` hold the finished runs and
        the partial one (see the module docstring).
    ValueError
        An unknown method or option (before anything runs), or a method's
        own check.

    Examples
    --------
    >>> import problems
    >>> p = problems.get("modes1d", n=31)
    >>> [r.converged for r in compare(p, ["direct", ("dst-pcg", {"reference": "mean"})])]
    [True, True]
    """
    common.setdefault("errors", True)
    plan = [(m, {}) if isinstance(m, str) else (m[0], dict(m[1])) for m in methods]
    for name, options in plan:  # fail before running anything
        hybrid.REGISTRY.check(problem, name, options)
    results: list[SolveResult] = []
    for name, options in plan:
        observer = _Observer(on_record)
        try:  # on_start inside: a Ctrl-C right after "running ..." still writes its result
            if on_start is not None:
                on_start(name)
            result = hybrid.solve(problem, name, observers=(observer,), **common, **options)
        except KeyboardInterrupt:  # a method outside the driver (e.g. amg, direct)
            seed = int(common.get("seed", 0))
            partial = partial_result(problem, name, options, seed, observer, common.get("x0"))
            raise Interrupted([*results, partial]) from None
        results.append(result)
        if result.interrupted:  # the driver stopped the run with the iterate it had
            raise Interrupted(results)
    return results


def first_below(history: History, threshold: float = 0.1) -> list[int | None]:
    """For each tracked mode, the first recorded iteration with error below ``threshold``.

    ``None`` where the mode never got there. This is the F-Principle reading
    of a run: which frequencies converge first.

    Examples
    --------
    >>> h = History.from_dict({"iteration": [0, 5, 9], "seconds": [0, 1, 2],
    ...     "relative_residual": [1, 1, 1], "relative_error": [1, 1, 1], "modes": [1, 9],
    ...     "modal_error": [[1, 1], [0.5, 0.01], [0.05, 0.001]],
    ...     "band_error": {"low": [1, 1, 1], "mid": [1, 1, 1], "high": [1, 1, 1]}})
    >>> first_below(h)
    [9, 5]
    """
    out: list[int | None] = []
    for j in range(len(history.modes)):
        below = np.flatnonzero(history.modal_error[:, j] < threshold)
        out.append(int(history.iteration[below[0]]) if below.size else None)
    return out


def mode_label(mode) -> str:
    """``"k=3"`` in 1D, ``"(2,5)"`` in 2D."""
    m = np.atleast_1d(mode)
    return f"k={int(m[0])}" if m.size == 1 else "(" + ",".join(str(int(v)) for v in m) + ")"


def convergence_order(history: History, threshold: float = 0.1) -> str:
    """One line: the tracked modes in the order their error fell below ``threshold``.

    Examples
    --------
    >>> h = History.from_dict({"iteration": [0, 5, 9], "seconds": [0, 1, 2],
    ...     "relative_residual": [1, 1, 1], "relative_error": [1, 1, 1], "modes": [1, 9, 20],
    ...     "modal_error": [[1, 1, 1], [0.5, 0.01, 1], [0.05, 0.001, 1]],
    ...     "band_error": {"low": [1, 1, 1], "mid": [1, 1, 1], "high": [1, 1, 1]}})
    >>> convergence_order(h)
    'k=9 (step 5), k=1 (step 9); not reached: k=20'
    """
    steps = first_below(history, threshold)
    reached = sorted(
        (s, j) for j, s in enumerate(steps) if s is not None
    )  # by step, then by frequency
    text = ", ".join(f"{mode_label(history.modes[j])} (step {s})" for s, j in reached)
    missing = [mode_label(history.modes[j]) for j, s in enumerate(steps) if s is None]
    if missing:
        text = (text + "; " if text else "") + "not reached: " + ", ".join(missing)
    return text


def spectrum_bands(k: np.ndarray, count: int = 6) -> list[np.ndarray]:
    """Split the bins' centres ``k`` into ``count`` contiguous bands of equal width in
    ``log k`` (index arrays, low to high; empty bands dropped)."""
    k = np.asarray(k, dtype=float)
    if k.size == 0:
        return []
    edges = np.geomspace(k[0], k[-1] * (1 + 1e-12), count + 1)
    which = np.clip(np.searchsorted(edges, k, side="right") - 1, 0, count - 1)
    return [np.flatnonzero(which == b) for b in range(count) if (which == b).any()]


def residual_order(history: History, factor: float = 10.0, count: int = 6) -> str:
    """One line: the residual's frequency bands in the order they fell ``factor`` times.

    The bins of ``history.residual_spectrum`` are grouped into ``count``
    bands (:func:`spectrum_bands`); a band has fallen when its norm is at
    most ``1/factor`` of its value at the first record. Bands that held no
    more than rounding noise at the start (``1e-10`` of the whole residual)
    are left out: they have nothing to lose. Measured from the history, so it
    needs no reference solution.

    Examples
    --------
    >>> h = History.from_dict({"iteration": [0, 5, 9], "seconds": [0, 1, 2],
    ...     "relative_residual": [1, 1, 1], "relative_error": [1, 1, 1], "modes": [],
    ...     "modal_error": [[], [], []],
    ...     "band_error": {"low": [1, 1, 1], "mid": [1, 1, 1], "high": [1, 1, 1]},
    ...     "spectrum_k": [1, 10], "residual_spectrum": [[1, 1], [1, 0.01], [0.05, 0]]})
    >>> residual_order(h, count=2)
    'k 10 (it 5), k 1 (it 9)'
    >>> h = History.from_dict({**h.to_dict(), "residual_spectrum": [[1, 1e-17], [0.5, 1e-17],
    ...     [0.05, 1e-17]]})
    >>> residual_order(h, count=2)
    'k 1 (it 9)'
    """
    spec = np.asarray(history.residual_spectrum, dtype=float)
    if len(history) == 0 or spec.shape[1] == 0:
        return ""
    reached, missing = [], []
    start = float(np.sqrt((spec[0] ** 2).sum()))
    for band in spectrum_bands(history.spectrum_k, count):
        norm = np.sqrt((spec[:, band] ** 2).sum(axis=1))
        if not norm[0] > 1e-10 * start:
            continue
        k = history.spectrum_k[band]
        name = f"k {k[0]:.0f}" if len(band) == 1 else f"k {k[0]:.0f}-{k[-1]:.0f}"
        hit = np.flatnonzero(norm <= norm[0] / factor)
        if hit.size:
            reached.append((int(history.iteration[hit[0]]), float(k[0]), name))
        else:
            missing.append(name)
    text = ", ".join(f"{name} (it {it})" for it, _, name in sorted(reached))
    if missing:
        text = (text + "; " if text else "") + "not yet: " + ", ".join(missing)
    return text


def _fmt(value, spec: str = ".2e") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return format(value, spec)


def _state(r) -> str:
    """The table's state column: converged, interrupted, budget (maxiter or
    max_seconds) or the stop reason (diverged, stagnated, breakdown, ...). A run
    that handed over to ``mg-gmres``'s cycle (a neural Helmholtz method too slow
    on its own) says from which iteration that cycle did the work."""
    if r.interrupted:
        return "interrupted"
    handover = next(
        (e["iteration"] for e in r.history.events if e["label"] == "fallback:mg-gmres"), None
    )
    if r.converged:
        return "converged" if handover is None else f"converged:mg-gmres-from-{handover}"
    return "budget" if r.stop_reason in ("maxiter", "max_seconds", "") else r.stop_reason


def table(results: Sequence[SolveResult]) -> str:
    """A plain-text table: method, state, iterations, seconds, errors and band errors.

    The errors are those of the final iterate; the bands are the final
    history record's (low / mid / high thirds of the frequencies).
    """
    head = (
        "method",
        "state",
        "iterations",
        "seconds",
        "rel. residual",
        "rel. error",
        "low",
        "mid",
        "high",
    )
    rows = []
    for r in results:
        h = r.history
        bands = [_fmt(float(h.band_error[b][-1])) if len(h) else "-" for b in BANDS]
        state = _state(r)
        rows.append(
            (
                r.method,
                state,
                str(r.iterations),
                _fmt(r.seconds, ".3g"),
                _fmt(r.relative_residual),
                _fmt(r.relative_error),
                *bands,
            )
        )
    widths = [max(len(head[i]), *(len(row[i]) for row in rows)) for i in range(len(head))]
    lines = [
        "  ".join(
            h.ljust(w) if i < 2 else h.rjust(w)
            for i, (h, w) in enumerate(zip(head, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)
