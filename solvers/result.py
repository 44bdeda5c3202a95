"""Results of a solve: the final iterate, a per-frequency history, and the result files.

The file format is fixed by ``DESIGN.md``: ``result.json`` with scalars and
the history as lists, and ``result.npz`` beside it with the arrays. Both are
written atomically (temporary file in the same folder, then rename).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from problems.spectrum import BANDS
from solvers.files import VERSION, jsonable, write_json_atomic, write_npz_atomic


@dataclass(frozen=True)
class History:
    """Arrays over the recorded steps of a run.

    Attributes
    ----------
    iteration : ndarray of int, shape (s,)
        Sweep / optimiser-step / cycle count at each record.
    seconds : ndarray, shape (s,)
        Solver time at each record (measurement overhead excluded).
    relative_residual : ndarray, shape (s,)
        ``||f - A u|| / ||f||``.
    relative_error : ndarray, shape (s,)
        ``||u - u_ref|| / ||u_ref||``; NaN where errors are not tracked.
    modes : ndarray of int, shape (m,) in 1D or (m, 2) in 2D
        The tracked frequencies; empty (``m = 0``) where errors are not tracked.
    modal_error : ndarray, shape (s, m)
        ``|e_hat_k| / |u_ref_hat_k|`` at each tracked mode.
    band_error : dict of str -> ndarray, shape (s,)
        Band errors ``low``, ``mid``, ``high``; NaN where errors are not tracked.
    phase : list of str, length s
        Which part of a method produced the record (e.g. ``"dnn"``,
        ``"relaxation"``); a single phase for plain methods.
    events : list of dict
        Marked moments, e.g. ``{"label": "switch", "iteration": 120, "seconds": 1.3}``.
    spectrum_k : ndarray, shape (B,)
        Centre frequency of each bin (:func:`problems.spectrum.bins`): ``k`` in 1D,
        radial ``|k|`` in 2D; at most 128 bins, log-spaced past about 32.
    residual_spectrum : ndarray, shape (s, B)
        ``||r_hat restricted to bin b|| / ||f||`` with ``r = f - A u``; by Parseval
        ``sqrt(sum_b residual_spectrum[i, b]**2) == relative_residual[i]``.
    error_spectrum : ndarray, shape (s, B)
        The same for ``u - u_ref`` over ``||u_ref||`` (root sum of squares:
        ``relative_error``); NaN where errors are not tracked. In
        ``result.json`` an untracked error spectrum is ``null``.
    """

    iteration: np.ndarray
    seconds: np.ndarray
    relative_residual: np.ndarray
    relative_error: np.ndarray
    modes: np.ndarray
    modal_error: np.ndarray
    band_error: dict[str, np.ndarray]
    phase: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    spectrum_k: np.ndarray = field(default_factory=lambda: np.zeros(0))
    residual_spectrum: np.ndarray | None = None
    error_spectrum: np.ndarray | None = None

    def __post_init__(self) -> None:
        # Histories written before the spectra existed read back with no bins.
        s, b = len(self.iteration), len(self.spectrum_k)
        for name in ("residual_spectrum", "error_spectrum"):
            value = getattr(self, name)
            value = np.full((s, b), np.nan) if value is None else np.asarray(value, dtype=float)
            object.__setattr__(self, name, value.reshape(s, b))

    def __len__(self) -> int:
        return len(self.iteration)

    @property
    def errors_tracked(self) -> bool:
        """Whether the run measured errors against ``u_ref`` (any finite relative error)."""
        return bool(np.isfinite(self.relative_error).any())

    def head(self, count: int) -> History:
        """The first ``count`` records (events up to the last one kept)."""
        last = self.iteration[max(count - 1, 0)] if len(self) else -1
        return History(
            iteration=self.iteration[:count],
            seconds=self.seconds[:count],
            relative_residual=self.relative_residual[:count],
            relative_error=self.relative_error[:count],
            modes=self.modes,
            modal_error=self.modal_error[:count],
            band_error={b: v[:count] for b, v in self.band_error.items()},
            phase=self.phase[:count],
            events=[e for e in self.events if e["iteration"] <= last],
            spectrum_k=self.spectrum_k,
            residual_spectrum=self.residual_spectrum[:count],
            error_spectrum=self.error_spectrum[:count],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration.tolist(),
            "seconds": self.seconds.tolist(),
            "relative_residual": _floats(self.relative_residual),
            "relative_error": _floats(self.relative_error),
            "modes": self.modes.tolist(),
            "modal_error": [_floats(row) for row in self.modal_error],
            "band_error": {b: _floats(self.band_error[b]) for b in BANDS},
            "phase": list(self.phase),
            "events": list(self.events),
            "spectrum_k": _floats(self.spectrum_k),
            "residual_spectrum": [_floats(row) for row in self.residual_spectrum],
            "error_spectrum": (
                [_floats(row) for row in self.error_spectrum]
                if np.isfinite(self.error_spectrum).any()
                else None
            ),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        modes = np.asarray(d["modes"], dtype=int)
        n = len(d["iteration"])
        return cls(
            iteration=np.asarray(d["iteration"], dtype=int),
            seconds=np.asarray(d["seconds"], dtype=float),
            relative_residual=_array(d["relative_residual"]),
            relative_error=_array(d["relative_error"]),
            modes=modes,
            modal_error=_array(d["modal_error"]).reshape(n, len(modes)),
            band_error={b: _array(d["band_error"][b]) for b in BANDS},
            phase=list(d.get("phase", [])),
            events=list(d.get("events", [])),
            spectrum_k=_array(d.get("spectrum_k", [])),
            residual_spectrum=_grid(d.get("residual_spectrum")),
            error_spectrum=_grid(d.get("error_spectrum")),
        )

    @classmethod
    def concatenate(cls, parts: list[History]) -> History:
        """Join histories of consecutive phases (they must track the same modes and bins)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            raise ValueError("nothing to concatenate")
        same_bins = all(np.array_equal(p.spectrum_k, parts[0].spectrum_k) for p in parts)
        if not same_bins:
            raise ValueError("cannot concatenate histories with different frequency bins")
        return cls(
            iteration=np.concatenate([p.iteration for p in parts]),
            seconds=np.concatenate([p.seconds for p in parts]),
            relative_residual=np.concatenate([p.relative_residual for p in parts]),
            relative_error=np.concatenate([p.relative_error for p in parts]),
            modes=parts[0].modes,
            modal_error=np.concatenate([p.modal_error for p in parts]),
            band_error={b: np.concatenate([p.band_error[b] for p in parts]) for b in BANDS},
            phase=[ph for p in parts for ph in p.phase],
            events=[e for p in parts for e in p.events],
            spectrum_k=parts[0].spectrum_k,
            residual_spectrum=np.concatenate([p.residual_spectrum for p in parts]),
            error_spectrum=np.concatenate([p.error_spectrum for p in parts]),
        )


def _grid(rows) -> np.ndarray | None:
    # A list of rows (None inside: NaN), or None for "not recorded".
    if rows is None:
        return None
    return np.array(rows, dtype=float)


def _floats(values) -> list:
    # JSON has no NaN/inf; None stands for "not defined" (e.g. a mode with no energy).
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def _array(values) -> np.ndarray:
    return np.array(values, dtype=float)  # None -> nan


@dataclass
class SolveResult:
    """What every method returns (see ``DESIGN.md``).

    ``u`` is the final iterate, ``seconds`` the solver's time (history
    measurements excluded), ``info`` method-specific counters such as
    ``sweeps``, ``dnn_steps`` and the time split of a hybrid.
    """

    problem: Any
    method: str
    options: dict[str, Any]
    u: np.ndarray
    converged: bool
    iterations: int
    seconds: float
    history: History
    message: str = ""
    seed: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def relative_residual(self) -> float:
        return self.problem.relative_residual(self.u)

    @property
    def errors_tracked(self) -> bool:
        """Whether this run tracked errors (then ``u_ref`` is known and cached)."""
        return self.history.errors_tracked

    def reference(self) -> np.ndarray | None:
        """``u_ref`` where errors were tracked, else ``None`` (never a hidden solve)."""
        return self.problem.reference() if self.errors_tracked else None

    @property
    def relative_error(self) -> float:
        """``||u - u_ref|| / ||u_ref||``, or NaN where errors were not tracked."""
        ref = self.reference()
        if ref is None:
            return math.nan
        return float(np.linalg.norm(self.u - ref) / np.linalg.norm(ref))

    def summary(self) -> str:
        state = "converged" if self.converged else "did not converge"
        error = (
            f"relative error {self.relative_error:.3e}"
            if self.errors_tracked
            else "relative error not tracked"
        )
        text = (
            f"{self.method} on {self.problem.name} {'x'.join(map(str, self.problem.shape))}:"
            f" {state} after {self.iterations} iterations in {self.seconds:.3g} s;"
            f" relative residual {self.relative_residual:.3e}, {error}"
        )
        return text + (f" ({self.message})" if self.message else "")

    def to_dict(self) -> dict[str, Any]:
        p = self.problem
        return {
            "problem": {
                "name": p.name,
                "dim": p.dim,
                "shape": list(p.shape),
                "params": jsonable(p.params),
            },
            "method": {"name": self.method, "options": jsonable(self.options)},
            "converged": bool(self.converged),
            "iterations": int(self.iterations),
            "seconds": float(self.seconds),
            "relative_residual": self.relative_residual,
            "relative_error": self.relative_error if self.errors_tracked else None,
            "errors_tracked": self.errors_tracked,
            "discretization_error": p.discretization_error() if self.errors_tracked else None,
            "history": self.history.to_dict(),
            "seed": int(self.seed),
            "version": VERSION,
            "message": self.message,
            "info": jsonable(self.info),
            "interrupted": bool(self.interrupted),
        }

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write ``path`` (JSON) and the arrays to ``path`` with suffix ``.npz``.

        ``u_ref`` (and the untracked error fields) are left out where errors
        were not tracked.
        """
        path = Path(path)
        arrays = {
            "u": self.u,
            "iteration": self.history.iteration,
            "seconds": self.history.seconds,
            "relative_residual": self.history.relative_residual,
            "relative_error": self.history.relative_error,
            "modes": self.history.modes,
            "modal_error": self.history.modal_error,
            **{f"band_error_{b}": self.history.band_error[b] for b in BANDS},
            "spectrum_k": self.history.spectrum_k,
            "residual_spectrum": self.history.residual_spectrum,
        }
        if self.errors_tracked:
            arrays["u_ref"] = self.problem.reference()
            arrays["error_spectrum"] = self.history.error_spectrum
        exact = self.problem.exact()
        if exact is not None:
            arrays["u_exact"] = exact
        write_npz_atomic(path.with_suffix(".npz"), arrays)
        write_json_atomic(path, self.to_dict())
        return path
