r"""Parameter studies: problems x sizes x methods x option grids x seeds (``fpsolve sweep``).

A study file (TOML) names the problems with their sizes, the methods with
their option grids, the seeds and the per-cell budget; every combination is
one *cell*, one :func:`hybrid.solve` run. Example::

    name = "tiny"              # optional: a label for the figures
    seeds = [0, 1]             # optional, default [0]
    rtol = 1e-8                # the per-cell defaults (optional)
    max_seconds = 20
    # maxiter, record_every, device: as for `fpsolve solve`

    [[problem]]
    name = "paper1d"
    n = [63, 255]              # sizes: N, "NXxNY" or [NX, NY] (2D: N means N x N)
    # param = { ... }          # fixed problem parameters
    # sweep = { ... }          # problem parameter grids (each a non-empty list)

    [[method]]
    name = "sor"
    option = { omega = 1.5 }   # fixed options
    sweep = { omega = [1.2, 1.5, 1.8] }   # option grids: every combination is a cell
    max_seconds = 5            # rtol, maxiter, max_seconds, record_every: per method

Cells are identified by a content hash of their definition (problem, shape,
parameters, method, options, seed and budget), so the same cell always has the
same id: :func:`run_study` skips cells whose ``result.json`` exists (resume)
unless ``force`` is given, and a changed definition is a new cell.

Files under ``DIR``:

``cells/<cell-id>/result.json``, ``result.npz``
    the cell's result, written by :func:`hybrid.app.results.write_result` (the
    result-file format, with a ``run`` record holding the cell's definition
    and wall time); the JSON is written last, so its presence means the cell
    is complete.
``cells/<cell-id>/error.json``
    a failed cell: its definition, the error message and the traceback
    (failed cells run again on the next run).
``summary.csv``
    one row per cell (:data:`SUMMARY_COLUMNS`).
``study.json``
    the study's definition, each cell's id and status, and the run record.

A cell *fails* when its run raises (an unknown method or option, a method that
refuses the problem, a crash of its worker); a cell that stops on its budget
(``max_seconds``, ``maxiter``) without converging has timed out: it is a
complete result with ``converged = false`` and its stop message, like
``fpsolve solve``.

Execution: a local pool of ``workers`` processes (spawned; numba, OpenMP and
BLAS threads are set so the workers together use the cores once), or a Dask
distributed cluster (``scheduler``: an address, or ``"local"`` for a
``LocalCluster``). The workers send each result's files back to this process,
which writes them, so a cluster needs no shared file system.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import math
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hybrid
import problems
from hybrid.app.config import read_toml
from hybrid.app.console import run_record
from problems.parameters import integer
from solvers.files import jsonable, write_atomic, write_json_atomic
from solvers.registry import SETTINGS

_AT_LEAST_1, _AT_LEAST_3 = integer(low=1), integer(low=3)

CELLS = "cells"
SUMMARY_CSV = "summary.csv"
STUDY_JSON = "study.json"
ERROR_JSON = "error.json"

#: Columns of ``summary.csv``, one row per cell.
SUMMARY_COLUMNS = (
    "cell_id",
    "status",  # converged | not-converged | failed | missing (not run yet)
    "problem",
    "dim",
    "n",  # "255" or "63x63"
    "unknowns",
    "params",  # JSON
    "method",
    "options",  # JSON
    "seed",
    "rtol",
    "max_seconds",
    "maxiter",
    "converged",
    "iterations",
    "seconds",  # solver seconds (measurement excluded)
    "wall_seconds",  # the whole cell on its worker: set-up, reference, measurement
    "relative_residual",
    "relative_error",
    "band_low",
    "band_mid",
    "band_high",
    "message",
)

TOP_KEYS = {
    "name": "a label for the study",
    "description": "free text",
    "seeds": "list of integer seeds (default [0])",
    "rtol": "relative residual target per cell (default 1e-8)",
    "maxiter": "most iterations per cell",
    "max_seconds": "most solver seconds per cell",
    "record_every": "history cadence",
    "device": "torch device: auto, cpu or cuda",
    "problem": "[[problem]] tables: name, n, param, sweep",
    "method": "[[method]] tables: name, option, sweep and budget overrides",
}
PROBLEM_KEYS = ("name", "n", "param", "sweep")
BUDGET_KEYS = ("rtol", "maxiter", "max_seconds", "record_every")
METHOD_KEYS = ("name", "option", "sweep", *BUDGET_KEYS)
DEVICES = ("auto", "cpu", "cuda")

EXIT_OK = 0
EXIT_FAILED_CELLS = 1


class StudyError(ValueError):
    """A malformed study file (reported as one line naming the key)."""


# -- the study file ------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """One run of a study: everything that decides its result, and its id."""

    problem: str
    shape: tuple[int, ...]
    params: dict
    method: str
    options: dict
    seed: int
    rtol: float
    maxiter: int | None
    max_seconds: float | None
    record_every: int | None
    device: str

    def definition(self) -> dict[str, Any]:
        """The cell as plain JSON data (what its id hashes)."""
        return {
            "problem": self.problem,
            "shape": list(self.shape),
            "params": jsonable(self.params),
            "method": self.method,
            "options": jsonable(self.options),
            "seed": self.seed,
            "rtol": self.rtol,
            "maxiter": self.maxiter,
            "max_seconds": self.max_seconds,
            "record_every": self.record_every,
            "device": self.device,
        }

    @property
    def id(self) -> str:
        """``<problem>-<n>-<method>-s<seed>-<hash>``: readable, and unique by content.

        >>> c = Cell("paper1d", (63,), {}, "jacobi", {}, 0, 1e-8, None, 1.0, None, "auto")
        >>> c.id.startswith("paper1d-63-jacobi-s0-"), len(c.id.rsplit("-", 1)[1])
        (True, 12)
        """
        text = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        size = "x".join(map(str, self.shape))
        return f"{self.problem}-{size}-{self.method}-s{self.seed}-{digest}"

    @property
    def unknowns(self) -> int:
        return math.prod(self.shape)

    @property
    def size(self) -> str:
        return "x".join(map(str, self.shape))


@dataclass(frozen=True)
class Study:
    """A parsed study file: its cells in a fixed order, and the file's data."""

    name: str
    cells: tuple[Cell, ...]
    data: dict = field(default_factory=dict)
    unknown_methods: tuple[str, ...] = ()


def _where(path: str) -> str:
    return f"study key {path}"


def _check_keys(table: dict, allowed: Iterable[str], path: str) -> None:
    allowed = list(allowed)
    for key in table:
        if key.replace("-", "_") not in allowed:
            raise StudyError(
                f"unknown {_where(path + '.' + key if path else key)};"
                f" accepted keys{' in ' + path if path else ''}: {', '.join(allowed)}"
            )


def _norm(table: dict) -> dict:
    return {k.replace("-", "_"): v for k, v in table.items()}


def _setting(v, key: str, path: str):
    """``v`` converted by the common argument ``key`` of ``solve`` (its one declaration,
    :data:`solvers.registry.SETTINGS`); the error names the study key ``path``."""
    try:
        return SETTINGS[key].convert(v)
    except ValueError as err:
        raise StudyError(f"{_where(path)} {err}") from None


def _nonempty_list(v, path: str) -> list:
    if not isinstance(v, list):
        raise StudyError(f"{_where(path)} must be a list, got {v!r}")
    if not v:
        raise StudyError(f"{_where(path)} is an empty list; give at least one value")
    return v


def _table(v, path: str) -> dict:
    if not isinstance(v, dict):
        raise StudyError(f"{_where(path)} must be a table, got {v!r}")
    return v


def _budget(table: dict, path: str, base: dict) -> dict:
    out = dict(base)
    for key in ("rtol", "maxiter", "max_seconds", "record_every"):
        if key in table:
            out[key] = _setting(table[key], key, f"{path}{key}")
    if out["rtol"] == 0 and out["maxiter"] is None and out["max_seconds"] is None:
        where = path.rstrip(".") or "the study"
        raise StudyError(f"{_where(path + 'rtol')} = 0 in {where} needs maxiter or max_seconds")
    return out


def _size(v, dim: int, path: str) -> tuple[int, ...]:
    if isinstance(v, str):
        parts = v.replace("x", ",").split(",")
        try:
            v = [int(p) for p in parts]
        except ValueError:
            raise StudyError(f"{_where(path)}: {v!r} is not a size (N or NXxNY)") from None
    sizes = list(v) if isinstance(v, list) else [v] * dim
    if len(sizes) != dim:
        raise StudyError(f"{_where(path)}: {v!r} gives {len(sizes)} sizes for a {dim}D problem")
    try:
        return tuple(_AT_LEAST_3(s) for s in sizes)
    except ValueError:
        raise StudyError(f"{_where(path)} must hold integers >= 3, got {v!r}") from None


def _grid(fixed: dict, sweep: dict, path: str) -> list[dict]:
    """Every combination of the swept values over the fixed ones, in file order."""
    combos = [dict(fixed)]
    for key, values in sweep.items():
        values = _nonempty_list(values, f"{path}.sweep.{key}")
        if key in fixed:
            raise StudyError(
                f"{_where(path + '.sweep.' + key)} is also fixed in {path}; give it in one place"
            )
        combos = [{**c, key: _value(v, f"{path}.sweep.{key}")} for c in combos for v in values]
    return combos


def _value(v, path: str):
    """A parameter or option value: TOML scalars, lists become tuples (``widths = [64, 64]``)."""
    if isinstance(v, list):
        return tuple(_value(x, path) for x in v)
    if isinstance(v, dict):
        raise StudyError(f"{_where(path)} must be a value or a list, got a table")
    if isinstance(v, float) and not math.isfinite(v):
        raise StudyError(f"{_where(path)} must be finite, got {v!r}")
    if isinstance(v, datetime.date | datetime.time):
        raise StudyError(f"{_where(path)} must be a number, string or boolean, got {v!r}")
    return v


def parse_study(data: dict, source: str = "study") -> Study:
    """Check a study's data (a parsed TOML document) and expand it into cells.

    Raises
    ------
    StudyError
        One line naming the bad key: an unknown key, an empty grid, a value
        of the wrong type, an unknown problem or problem parameter.

    Examples
    --------
    >>> s = parse_study({"problem": [{"name": "paper1d", "n": [31, 63]}],
    ...                  "method": [{"name": "sor", "sweep": {"omega": [1.5, 1.8]}}],
    ...                  "seeds": [0, 1]})
    >>> len(s.cells), s.cells[0].options
    (8, {'omega': 1.5})
    """
    data = _norm(_table(data, "(top level)"))
    _check_keys(data, TOP_KEYS, "")
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        raise StudyError(f"{_where('name')} must be a non-empty string, got {name!r}")
    if "description" in data and not isinstance(data["description"], str):
        raise StudyError(f"{_where('description')} must be a string")
    seeds = [_setting(s, "seed", "seeds") for s in _nonempty_list(data.get("seeds", [0]), "seeds")]
    if len(set(seeds)) != len(seeds):
        raise StudyError(f"{_where('seeds')} lists a seed more than once: {seeds}")
    device = data.get("device", "auto")
    if device not in DEVICES:
        raise StudyError(f"{_where('device')} must be one of {', '.join(DEVICES)}; got {device!r}")
    base = _budget(data, "", {"rtol": 1e-8, "maxiter": None, "max_seconds": None})
    base.setdefault("record_every", None)

    if "problem" not in data:
        raise StudyError(f"{_where('problem')} is missing: add [[problem]] tables (name, n)")
    if "method" not in data:
        raise StudyError(f"{_where('method')} is missing: add [[method]] tables (name)")
    plans = []
    for i, raw in enumerate(_nonempty_list(data["problem"], "problem")):
        path = f"problem[{i}]"
        t = _norm(_table(raw, path))
        _check_keys(t, PROBLEM_KEYS, path)
        pname = t.get("name")
        if not isinstance(pname, str):
            raise StudyError(f"{_where(path + '.name')} must be a problem name, got {pname!r}")
        try:
            entry = problems.entry(pname)
        except ValueError as err:
            raise StudyError(f"{_where(path + '.name')}: {err}") from None
        path = f"problem[{i}] ({pname})"
        # n: a list of sizes (or one size); each N, "NXxNY" or [NX, NY]
        ns = t.get("n", [entry.default_n])
        ns = _nonempty_list(ns if isinstance(ns, list) else [ns], f"{path}.n")
        sizes = [_size(v, entry.dim, f"{path}.n") for v in ns]
        fixed = {
            k: _value(v, f"{path}.param.{k}")
            for k, v in _table(t.get("param", {}), f"{path}.param").items()
        }
        combos = _grid(fixed, _table(t.get("sweep", {}), f"{path}.sweep"), path)
        for params in combos:
            try:
                entry.resolve(params)
            except ValueError as err:
                raise StudyError(f"{_where(path + '.param')}: {err}") from None
        plans.append((pname, sizes, combos))

    known = set(hybrid.methods())
    unknown = []
    mplans = []
    for i, raw in enumerate(_nonempty_list(data["method"], "method")):
        path = f"method[{i}]"
        t = _norm(_table(raw, path))
        _check_keys(t, METHOD_KEYS, path)
        mname = t.get("name")
        if not isinstance(mname, str) or not mname:
            raise StudyError(f"{_where(path + '.name')} must be a method name, got {mname!r}")
        path = f"method[{i}] ({mname})"
        if mname not in known and mname not in unknown:
            unknown.append(mname)
        fixed = {
            k: _value(v, f"{path}.option.{k}")
            for k, v in _table(t.get("option", {}), f"{path}.option").items()
        }
        combos = _grid(fixed, _table(t.get("sweep", {}), f"{path}.sweep"), path)
        budget = _budget(t, f"{path}.", base)
        mplans.append((mname, combos, budget))

    cells = []
    for pname, sizes, pcombos in plans:
        for shape in sizes:
            for params in pcombos:
                for mname, ocombos, budget in mplans:
                    for options in ocombos:
                        for seed in seeds:
                            cells.append(
                                Cell(
                                    pname,
                                    shape,
                                    params,
                                    mname,
                                    options,
                                    seed,
                                    device=device,
                                    **budget,
                                )
                            )
    ids = [c.id for c in cells]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise StudyError(f"the study lists the same cell more than once: {dup[0]}")
    return Study(name, tuple(cells), data, tuple(unknown))


def load_study(path: str | os.PathLike) -> Study:
    """Read and check a study file (TOML); see :func:`parse_study`."""
    path = Path(path)
    data = read_toml(path, "study file", StudyError)
    try:
        return parse_study(data, source=str(path))
    except StudyError as err:
        raise StudyError(f"{path}: {err}") from None


# -- one cell, on a worker -------------------------------------------------------------
THREAD_VARIABLES = (
    "NUMBA_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)


def _cell_threads() -> int:
    """Cores per task here: the cores over the Dask worker's task threads (1 elsewhere)."""
    cores = os.cpu_count() or 1
    try:
        from distributed import get_worker

        return max(1, cores // max(1, get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


def _limit_threads(threads: int) -> None:
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def run_cell(cell: Cell, threads: int | None = None) -> dict[str, Any]:
    """Run one cell and return its result files' bytes, or its error.

    Runs on a worker (a pool process or a Dask worker); nothing is written
    where the caller can see it: the caller stores what comes back with
    :func:`store_outcome`. Exceptions of the run (unknown method or option,
    a method refusing the problem) are caught and returned as the error.
    """
    t0 = time.perf_counter()
    started = time.time()
    threads = threads or _cell_threads()
    try:
        _limit_threads(threads)
        from hybrid.app.results import write_result

        p = problems.get(cell.problem, n=cell.shape, **cell.params)
        r = hybrid.solve(
            p,
            cell.method,
            rtol=cell.rtol,
            maxiter=cell.maxiter,
            max_seconds=cell.max_seconds,
            record_every=cell.record_every,
            seed=cell.seed,
            device=cell.device,
            errors=True,  # a study reports each cell's error and band errors
            **cell.options,
        )
        run = run_record("sweep", [], cell.definition(), started, time.perf_counter() - t0)
        run.update(cell_id=cell.id, host=platform.node(), threads=threads)  # settings: the cell
        with tempfile.TemporaryDirectory(prefix="fpsolve-cell-") as tmp:
            paths = write_result(tmp, r, run)
            files = {path.name: path.read_bytes() for path in paths}
        return {"id": cell.id, "ok": True, "files": files}
    except Exception as err:
        return {
            "id": cell.id,
            "ok": False,
            "error": _one_line(f"{type(err).__name__}: {err}"),
            "traceback": traceback.format_exc(),
            "wall_seconds": time.perf_counter() - t0,
            "host": platform.node(),
        }


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# -- cell files ------------------------------------------------------------------------
def cell_dir(out: str | os.PathLike, cell: Cell) -> Path:
    return Path(out) / CELLS / cell.id


def load_cell(out: str | os.PathLike, cell: Cell) -> tuple[str, dict | None]:
    """``("complete", result dict)``, ``("failed", error dict)`` or ``("missing", None)``."""
    d = cell_dir(out, cell)
    for status, name in (("complete", "result.json"), ("failed", ERROR_JSON)):
        path = d / name
        if path.exists():
            try:
                return status, json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                pass  # unreadable: run the cell again
    return "missing", None


def store_outcome(out: str | os.PathLike, cell: Cell, outcome: dict) -> str:
    """Write what :func:`run_cell` returned under ``out/cells/<id>/``; returns the status.

    A result's ``.npz`` is written before its ``.json`` (the mark of a complete
    cell); a failure writes ``error.json`` and removes any older result.
    """
    d = cell_dir(out, cell)
    d.mkdir(parents=True, exist_ok=True)
    if outcome.get("ok"):
        files = outcome["files"]
        for name in sorted(files, key=lambda n: n.endswith(".json")):
            write_atomic(d / name, lambda f, data=files[name]: f.write(data))
        (d / ERROR_JSON).unlink(missing_ok=True)
        return "complete"
    for name in ("result.json", "result.npz"):
        (d / name).unlink(missing_ok=True)
    error = {k: v for k, v in outcome.items() if k not in ("ok", "files")}
    write_json_atomic(d / ERROR_JSON, {"cell": cell.definition(), **error})
    return "failed"


# -- execution backends ------------------------------------------------------------------
@contextmanager
def _environment(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def thread_environment(threads: int) -> dict[str, str]:
    """Environment for a worker that may use ``threads`` threads (numba, OpenMP, BLAS)."""
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


@contextmanager
def local_pool(workers: int):
    """A spawn-context process pool; yields ``(submit, as_completed, threads)``."""
    import concurrent.futures as cf
    import multiprocessing

    threads = max(1, (os.cpu_count() or 1) // workers)
    # Spawned workers read the thread variables when they import numba and numpy;
    # the pool spawns them during submit, inside this block.
    with _environment(thread_environment(threads)):
        pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            yield (lambda cell: pool.submit(run_cell, cell, threads)), cf.as_completed, threads
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


def _distributed():
    try:
        import distributed
    except ImportError:
        raise StudyError(
            "--scheduler needs dask.distributed, which is not installed;"
            " install it with: pip install 'fpsolve[dask]'"
        ) from None
    return distributed


@contextmanager
def dask_cluster(scheduler: str, workers: int | None):
    """A Dask client: on ``scheduler`` (an address), or on a new ``LocalCluster`` (``"local"``).

    Yields ``(submit, as_completed, threads)``; ``threads`` is None for a
    remote cluster, whose tasks size their threads by their worker.
    """
    import logging

    distributed = _distributed()
    cluster = None
    threads = None
    try:
        if scheduler == "local":
            workers = workers or (os.cpu_count() or 1)
            threads = max(1, (os.cpu_count() or 1) // workers)
            cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                env=thread_environment(threads),
            )
            client = distributed.Client(cluster)
        else:
            try:
                client = distributed.Client(scheduler, timeout="10s")
            except OSError as err:
                raise StudyError(
                    f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({err})"
                ) from None
        try:
            yield (
                lambda cell: client.submit(run_cell, cell, threads, pure=False, key=cell.id),
                distributed.as_completed,
                threads,
            )
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


# -- the study run -------------------------------------------------------------------------
@dataclass
class StudyRun:
    """What :func:`run_study` did: each cell's status and the counts."""

    study: Study
    out: Path
    status: dict[str, str]  # cell id -> converged | not-converged | failed | missing
    ran: list[str]
    skipped: list[str]
    interrupted: bool = False
    wall_seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        """Cells per status."""
        out: dict[str, int] = {}
        for s in self.status.values():
            out[s] = out.get(s, 0) + 1
        return out

    @property
    def failed(self) -> list[str]:
        return [c.id for c in self.study.cells if self.status[c.id] == "failed"]

    @property
    def exit_code(self) -> int:
        """0: every cell ran (converged or stopped on its budget); 1: some cells failed."""
        return EXIT_FAILED_CELLS if self.failed else EXIT_OK


def run_study(
    study: Study,
    out: str | os.PathLike,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    force: bool = False,
    say: Callable[[str], None] = print,
    argv: list[str] | None = None,
) -> StudyRun:
    """Run the study's missing cells (all of them with ``force``) and write the summary.

    Parameters
    ----------
    study : Study
    out : path
        The study folder (created).
    workers : int, optional
        Local pool size (default: the cores, at most the cells to run); with
        ``scheduler="local"``, the ``LocalCluster``'s workers.
    scheduler : str, optional
        A Dask scheduler's address, or ``"local"`` for a ``LocalCluster``.
    force : bool
        Rerun complete cells too.
    say : callable
        Receives one line per finished cell.

    On Ctrl-C the pending cells are cancelled, the summary is written with
    them as ``missing`` and ``KeyboardInterrupt`` is re-raised.
    """
    if workers is not None:
        try:
            workers = _AT_LEAST_1(workers)
        except ValueError as err:
            raise ValueError(f"--workers {err}") from None
    out = Path(out)
    t0 = time.perf_counter()
    started = time.time()
    todo, skipped = [], []
    for cell in study.cells:
        done = not force and load_cell(out, cell)[0] == "complete"
        (skipped if done else todo).append(cell)
    total = len(study.cells)
    say(
        f"study {study.name}: {total} cell{'s' if total != 1 else ''},"
        f" {len(skipped)} complete already,"
        f" {len(todo)} to run"
        + (f" on {_backend_name(workers, scheduler, len(todo))}" if todo else "")
    )
    ran: list[str] = []
    interrupted = False
    threads = None
    try:
        if todo:
            if scheduler:
                backend = dask_cluster(scheduler, workers)
            else:
                backend = local_pool(workers or min(len(todo), os.cpu_count() or 1))
            with backend as (submit, as_completed, threads):
                futures = {submit(cell): cell for cell in todo}
                for k, future in enumerate(as_completed(futures), start=1):
                    cell = futures[future]
                    try:
                        outcome = future.result()
                    except Exception as err:  # a dead worker, a cancelled task
                        outcome = {
                            "id": cell.id,
                            "ok": False,
                            "error": _one_line(f"{type(err).__name__}: {err}"),
                        }
                    store_outcome(out, cell, outcome)
                    ran.append(cell.id)
                    say(f"[{k}/{len(todo)}] {_cell_line(cell, outcome)}")
    except KeyboardInterrupt:
        interrupted = True
    status = {}
    rows = []
    for cell in study.cells:
        row = summary_row(cell, *load_cell(out, cell))
        rows.append(row)
        status[cell.id] = row["status"]
    result = StudyRun(
        study, out, status, ran, [c.id for c in skipped], interrupted, time.perf_counter() - t0
    )
    out.mkdir(parents=True, exist_ok=True)  # late: a scheduler out of reach writes nothing
    write_summary(out / SUMMARY_CSV, rows)
    write_json_atomic(
        out / STUDY_JSON, _study_record(result, started, workers, scheduler, threads, force, argv)
    )
    if interrupted:
        raise KeyboardInterrupt
    return result


def _backend_name(workers, scheduler, count) -> str:
    if scheduler == "local":
        return f"a Dask LocalCluster of {workers or os.cpu_count()} workers"
    if scheduler:
        return f"the Dask scheduler at {scheduler}"
    k = workers or min(count, os.cpu_count() or 1)
    return f"a local pool of {k} worker{'s' if k > 1 else ''}"


def _cell_line(cell: Cell, outcome: dict) -> str:
    what = f"{cell.problem} {cell.size} {cell.method}"
    if cell.options:
        what += " " + " ".join(f"{k}={_show(v)}" for k, v in cell.options.items())
    what += f" seed {cell.seed}"
    if not outcome.get("ok"):
        return f"FAILED {what}: {outcome['error']}"
    d = json.loads(outcome["files"]["result.json"])
    state = "converged" if d["converged"] else "not converged"
    return (
        f"{state:<13} {what}: {d['iterations']} its, {d['seconds']:.3g} s,"
        f" rel. error {_fmt(d.get('relative_error'))}"
    )


def _show(v) -> str:
    return ",".join(map(str, v)) if isinstance(v, tuple | list) else str(v)


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.2e}"


# -- summary.csv and study.json --------------------------------------------------------------
def summary_row(cell: Cell, state: str, data: dict | None) -> dict[str, Any]:
    """One ``summary.csv`` row from a cell and its stored result or error."""
    row = dict.fromkeys(SUMMARY_COLUMNS, "")
    row.update(
        cell_id=cell.id,
        problem=cell.problem,
        dim=len(cell.shape),
        n=cell.size,
        unknowns=cell.unknowns,
        params=json.dumps(jsonable(cell.params), sort_keys=True),
        method=cell.method,
        options=json.dumps(jsonable(cell.options), sort_keys=True),
        seed=cell.seed,
        rtol=cell.rtol,
        max_seconds="" if cell.max_seconds is None else cell.max_seconds,
        maxiter="" if cell.maxiter is None else cell.maxiter,
    )
    if state == "missing":
        row["status"] = "missing"
        return row
    if state == "failed":
        row.update(
            status="failed",
            message=data.get("error", ""),
            wall_seconds=data.get("wall_seconds", ""),
        )
        return row
    bands = data.get("history", {}).get("band_error", {})
    final = {b: (bands.get(b) or [None])[-1] for b in ("low", "mid", "high")}
    row.update(
        status="converged" if data["converged"] else "not-converged",
        converged=bool(data["converged"]),
        iterations=int(data["iterations"]),
        seconds=float(data["seconds"]),
        wall_seconds=data.get("run", {}).get("wall_seconds", ""),
        relative_residual=data.get("relative_residual"),
        relative_error=data.get("relative_error"),
        band_low=final["low"],
        band_mid=final["mid"],
        band_high=final["high"],
        message=_one_line(data.get("message", "")),
    )
    return {k: ("" if v is None else v) for k, v in row.items()}


def write_summary(path: str | os.PathLike, rows: list[dict]) -> None:
    """Write ``summary.csv`` (atomically)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = Path(path)
    data = buf.getvalue().encode()
    write_atomic(path, lambda f: f.write(data))


def read_summary(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a ``summary.csv``, numbers parsed, options and params as dicts."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ValueError(f"no {SUMMARY_CSV} at {path}") from None
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        row: dict[str, Any] = dict(raw)
        for key in ("dim", "unknowns", "seed", "iterations", "maxiter"):
            row[key] = int(row[key]) if row.get(key) not in (None, "") else None
        for key in (
            "rtol",
            "max_seconds",
            "seconds",
            "wall_seconds",
            "relative_residual",
            "relative_error",
            "band_low",
            "band_mid",
            "band_high",
        ):
            row[key] = float(row[key]) if row.get(key) not in (None, "") else math.nan
        row["converged"] = row.get("converged") == "True"
        for key in ("params", "options"):
            row[key] = json.loads(row[key]) if row.get(key) else {}
        rows.append(row)
    return rows


def _study_record(run: StudyRun, started, workers, scheduler, threads, force, argv) -> dict:
    settings = {
        "workers": workers,
        "scheduler": scheduler,
        "threads_per_worker": threads,
        "force": force,
    }
    record = run_record("sweep", argv or [], settings, started, run.wall_seconds)
    record.update(ran=len(run.ran), skipped=len(run.skipped), interrupted=run.interrupted)
    return {
        "name": run.study.name,
        "definition": jsonable(run.study.data),
        "cells": [
            {"id": c.id, "status": run.status[c.id], **c.definition()} for c in run.study.cells
        ],
        "counts": run.counts,
        "run": record,
    }
