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
    relative_residual, relative_error : ndarray, shape (s,)
    modes : ndarray of int, shape (m,) in 1D or (m, 2) in 2D
        The tracked frequencies.
    modal_error : ndarray, shape (s, m)
        ``|e_hat_k| / |u_ref_hat_k|`` at each tracked mode.
    band_error : dict of str -> ndarray, shape (s,)
        Band errors ``low``, ``mid``, ``high``.
    phase : list of str, length s
        Which part of a method produced the record (e.g. ``"dnn"``,
        ``"relaxation"``); a single phase for plain methods.
    events : list of dict
        Marked moments, e.g. ``{"label": "switch", "iteration": 120, "seconds": 1.3}``.
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

    def __len__(self) -> int:
        return len(self.iteration)

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
        )

    @classmethod
    def concatenate(cls, parts: list[History]) -> History:
        """Join histories of consecutive phases (they must track the same modes)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            raise ValueError("nothing to concatenate")
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
        )


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
    def relative_error(self) -> float:
        ref = self.problem.reference()
        return float(np.linalg.norm(self.u - ref) / np.linalg.norm(ref))

    def summary(self) -> str:
        state = "converged" if self.converged else "did not converge"
        text = (
            f"{self.method} on {self.problem.name} {'x'.join(map(str, self.problem.shape))}:"
            f" {state} after {self.iterations} iterations in {self.seconds:.3g} s;"
            f" relative residual {self.relative_residual:.3e},"
            f" relative error {self.relative_error:.3e}"
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
            "relative_error": self.relative_error,
            "discretization_error": p.discretization_error(),
            "history": self.history.to_dict(),
            "seed": int(self.seed),
            "version": VERSION,
            "message": self.message,
            "info": jsonable(self.info),
            "interrupted": bool(self.interrupted),
        }

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write ``path`` (JSON) and the arrays to ``path`` with suffix ``.npz``."""
        path = Path(path)
        arrays = {
            "u": self.u,
            "u_ref": self.problem.reference(),
            "iteration": self.history.iteration,
            "seconds": self.history.seconds,
            "relative_residual": self.history.relative_residual,
            "relative_error": self.history.relative_error,
            "modes": self.history.modes,
            "modal_error": self.history.modal_error,
            **{f"band_error_{b}": self.history.band_error[b] for b in BANDS},
        }
        exact = self.problem.exact()
        if exact is not None:
            arrays["u_exact"] = exact
        write_npz_atomic(path.with_suffix(".npz"), arrays)
        write_json_atomic(path, self.to_dict())
        return path
