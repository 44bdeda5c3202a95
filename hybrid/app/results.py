"""Result files on disk: writing a run's files and reading them back for figures.

A ``solve`` run writes ``result.json`` (the contract of ``DESIGN.md``, plus a
``run`` record: command line, options, seed, version, wall time) and
``result.npz`` beside it. A ``compare`` run writes ``compare.json``, a list of
such result dicts in run order, and ``compare.npz`` with the final iterates
``u_0, u_1, ...`` (same order), ``u_ref`` where errors were tracked and, when
known, ``u_exact``. Every result dict holds the history's residual spectrum
(``spectrum_k``, ``residual_spectrum``) and, where errors were tracked, its
error spectrum (else ``null``).

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
    theory_spectrum : ndarray or None, shape (s, B)
        The residual spectrum local Fourier analysis predicts at the records
        (:func:`predicted_spectrum`), where it applies.
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
    theory_spectrum: np.ndarray | None = None

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


#: Methods whose residual spectrum local Fourier analysis predicts (constant coefficients).
THEORY_METHODS = ("jacobi", "weighted-jacobi")


def predicted_spectrum(r) -> np.ndarray | None:
    r"""The residual spectrum (weighted) Jacobi should have at ``r``'s records, or ``None``.

    On constant coefficients each sweep multiplies the residual's sine
    coefficient at ``k`` by ``1 - omega lambda_k / d``
    (:func:`problems.spectrum.relaxation_spectrum`). The prediction starts
    from ``f`` (the residual of ``x0 = 0``) and is given only when the
    run's first record is that state; ``None`` for other methods, variable
    coefficients or another start.
    """
    cached = r.__dict__.get("_theory_spectrum", False)
    if cached is not False:
        return cached
    from problems import spectrum

    p, h, out = r.problem, r.history, None
    if (
        r.method in THEORY_METHODS
        and p.is_constant_coefficient
        and len(h)
        and len(h.spectrum_k)
        and h.iteration[0] == 0
    ):
        start = spectrum.residual_spectrum(p, np.zeros(p.shape))
        if np.allclose(h.residual_spectrum[0], start, rtol=1e-12, atol=0):
            omega = float(r.info.get("omega", r.options.get("omega", 1.0)))
            out = spectrum.relaxation_spectrum(p, p.f, h.iteration, omega)
    r.__dict__["_theory_spectrum"] = out
    return out


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
        u_ref=None if r.reference() is None else np.asarray(r.reference()),
        u_exact=r.problem.exact(),
        info=d["info"],
        run=dict(run or {}),
        message=r.message,
        interrupted=r.interrupted,
        theory_spectrum=predicted_spectrum(r),
    )


def result_dict(r, run: dict | None = None) -> dict[str, Any]:
    """``r.to_dict()`` with the run record added under ``"run"``, and the predicted
    residual spectrum under ``history.theory_spectrum`` where it applies."""
    d = r.to_dict()
    theory = predicted_spectrum(r)
    if theory is not None:
        d["history"]["theory_spectrum"] = [[float(v) for v in row] for row in theory]
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
    ref = next((r.reference() for r in results if r.errors_tracked), None)
    if ref is not None:  # never a hidden reference solve
        arrays["u_ref"] = ref
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
        theory_spectrum=(
            np.array(d["history"]["theory_spectrum"], dtype=float)
            if d["history"].get("theory_spectrum") is not None
            else None
        ),
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
