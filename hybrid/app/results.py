"""Result files on disk: writing a run's files and reading them back for figures.

A ``solve`` run writes ``result.json`` (the contract of ``DESIGN.md``, plus a
``run`` record: command line, options, seed, version, wall time) and
``result.npz`` beside it. A ``compare`` run writes ``compare.json``, a list of
such result dicts in run order, and ``compare.npz`` with the final iterates
``u_0, u_1, ...`` (same order), ``u_ref`` and, when known, ``u_exact``.

:func:`load_result` and :func:`load_dir` read either back into
:class:`SavedResult`, a light object holding what the figures need, so that
``fpsolve plot DIR`` redraws every figure without re-running anything.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from solvers.result import History, write_json_atomic, write_npz_atomic

RESULT_JSON = "result.json"
COMPARE_JSON = "compare.json"


@dataclass
class SavedResult:
    """One method's run as the figures see it (from memory or from disk).

    Attributes
    ----------
    method : str
    options : dict
    problem : dict
        ``name``, ``dim``, ``shape``, ``params`` as in ``result.json``.
    converged, interrupted : bool
    iterations : int
    seconds : float
        Solver time (measurement excluded).
    relative_error, relative_residual : float or None
    history : History
    u, u_ref, u_exact : ndarray or None
        Final iterate, discrete solution, continuous solution on the grid.
    info, run : dict
        Method counters and the run record (command line, wall time, ...).
    """

    method: str
    options: dict
    problem: dict
    converged: bool
    iterations: int
    seconds: float
    relative_error: float | None
    relative_residual: float | None
    history: History
    u: np.ndarray | None = None
    u_ref: np.ndarray | None = None
    u_exact: np.ndarray | None = None
    info: dict = field(default_factory=dict)
    run: dict = field(default_factory=dict)
    message: str = ""
    interrupted: bool = False

    @property
    def title(self) -> str:
        """``"paper1d, n=1023"``: the problem and its size, for figure titles."""
        shape = self.problem.get("shape", [])
        size = "x".join(map(str, shape))
        return f"{self.problem.get('name', '?')}, n={size}"

    def axes(self) -> tuple[np.ndarray, ...]:
        """Interior grid coordinates per axis (rebuilt from the catalogue), or indices."""
        shape = tuple(self.problem.get("shape", ()))
        try:
            import problems

            p = problems.get(self.problem["name"], n=shape, **self.problem.get("params", {}))
            return tuple(p.grid.axes)
        except Exception:  # a problem outside the catalogue: fall back to indices
            return tuple(np.arange(1, n + 1, dtype=float) for n in shape)


def from_solve_result(r, run: dict | None = None) -> SavedResult:
    """A :class:`SavedResult` view of an in-memory ``SolveResult``."""
    d = r.to_dict()
    return SavedResult(
        method=r.method,
        options=d["method"]["options"],
        problem=d["problem"],
        converged=r.converged,
        iterations=r.iterations,
        seconds=r.seconds,
        relative_error=d["relative_error"],
        relative_residual=d["relative_residual"],
        history=r.history,
        u=np.asarray(r.u),
        u_ref=np.asarray(r.problem.reference()),
        u_exact=r.problem.exact(),
        info=d["info"],
        run=dict(run or {}),
        message=r.message,
        interrupted=r.interrupted,
    )


def result_dict(r, run: dict | None = None) -> dict[str, Any]:
    """``r.to_dict()`` with the run record added under ``"run"``."""
    d = r.to_dict()
    if run is not None:
        d["run"] = run
    return d


def write_result(out: str | os.PathLike, r, run: dict | None = None) -> list[Path]:
    """Write ``out/result.json`` and ``out/result.npz`` (atomically); return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = r.to_json(out / RESULT_JSON)  # the arrays, and the contract's JSON
    write_json_atomic(path, result_dict(r, run))  # the same JSON plus the run record
    return [path, path.with_suffix(".npz")]


def write_compare(out: str | os.PathLike, results: list, run: dict | None = None) -> list[Path]:
    """Write ``out/compare.json`` (a list of result dicts) and ``out/compare.npz``."""
    if not results:
        raise ValueError("no results to write")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    p = results[0].problem
    arrays = {f"u_{i}": np.asarray(r.u) for i, r in enumerate(results)}
    arrays["u_ref"] = p.reference()
    exact = p.exact()
    if exact is not None:
        arrays["u_exact"] = exact
    npz = out / "compare.npz"
    write_npz_atomic(npz, arrays)
    path = out / COMPARE_JSON
    write_json_atomic(path, [result_dict(r, run) for r in results])
    return [path, npz]


def _from_dict(d: dict, u=None, u_ref=None, u_exact=None) -> SavedResult:
    return SavedResult(
        method=d["method"]["name"],
        options=d["method"].get("options", {}),
        problem=d["problem"],
        converged=bool(d["converged"]),
        iterations=int(d["iterations"]),
        seconds=float(d["seconds"]),
        relative_error=d.get("relative_error"),
        relative_residual=d.get("relative_residual"),
        history=History.from_dict(d["history"]),
        u=u,
        u_ref=u_ref,
        u_exact=u_exact,
        info=d.get("info", {}),
        run=d.get("run", {}),
        message=d.get("message", ""),
        interrupted=bool(d.get("interrupted", False)),
    )


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def load_result(path: str | os.PathLike) -> list[SavedResult]:
    """Read a ``result.json`` or ``compare.json`` (and its ``.npz``) into SavedResults.

    Raises
    ------
    ValueError
        The file is missing, not JSON, or not a result file.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"no result file at {path}") from None
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read {path} as JSON: {err}") from None
    arrays = _load_npz(path.with_suffix(".npz"))
    try:
        if isinstance(data, list):
            return [
                _from_dict(d, arrays.get(f"u_{i}"), arrays.get("u_ref"), arrays.get("u_exact"))
                for i, d in enumerate(data)
            ]
        return [_from_dict(data, arrays.get("u"), arrays.get("u_ref"), arrays.get("u_exact"))]
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path} is not an fpsolve result file ({err!r} missing or bad)") from None


def load_dir(directory: str | os.PathLike) -> list[SavedResult]:
    """The results in ``directory``: its ``compare.json`` if any, else its ``result.json``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory")
    for name in (COMPARE_JSON, RESULT_JSON):
        if (directory / name).exists():
            return load_result(directory / name)
    raise ValueError(f"{directory} holds neither {COMPARE_JSON} nor {RESULT_JSON}")
