"""Parameter studies (``fpsolve sweep``, :mod:`hybrid.app.study`): the local pool and a real
Dask ``LocalCluster`` give the same summary cell by cell; an interrupted study resumes
with only its missing cells; failed cells are recorded and the exit status says so;
malformed study files give one line naming the key; the study figures and their
fitted growth exponents.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hybrid.app import study as st
from hybrid.app import study_figures
from hybrid.app.cli import main

ROOT = Path(__file__).resolve().parents[1]

# 3 sizes x (sor at two omegas, dst-pcg, gauss-seidel) = 12 cells, each well under 0.1 s.
STUDY12 = """
name = "twelve"
rtol = 1e-6
max_seconds = 5
record_every = 1   # a fixed cadence: the stopping sweep does not depend on timing

[[problem]]
name = "paper1d"
n = [15, 31]

[[problem]]
name = "random2d"
n = ["7x9"]

[[method]]
name = "sor"
sweep = { omega = [1.5, 1.8] }

[[method]]
name = "dst-pcg"

[[method]]
name = "gauss-seidel"
"""


def write(tmp_path, text, name="study.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def run(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def comparable(rows):
    """Summary rows without the timings (the only columns that may differ between runs)."""
    keep = [c for c in st.SUMMARY_COLUMNS if c not in ("seconds", "wall_seconds")]
    return [{k: r[k] for k in keep} for r in rows]


@pytest.fixture(scope="module")
def pool_run(tmp_path_factory):
    """The 12-cell study on the local pool of two workers (run once for the module)."""
    d = tmp_path_factory.mktemp("pool")
    study = st.parse_study(__import__("tomllib").loads(STUDY12), "twelve")
    result = st.run_study(study, d / "out", workers=2, say=lambda line: None)
    return study, result, d / "out"


# -- the study file ----------------------------------------------------------------------
def test_cells_are_the_product_and_ids_hash_the_definition():
    import tomllib

    study = st.parse_study(tomllib.loads(STUDY12))
    assert len(study.cells) == 12
    ids = [c.id for c in study.cells]
    assert len(set(ids)) == 12
    assert {c.shape for c in study.cells} == {(15,), (31,), (7, 9)}
    assert [c.options for c in study.cells[:4]] == [{"omega": 1.5}, {"omega": 1.8}, {}, {}]
    # the same definition gives the same id; any change of it a new one
    again = st.parse_study(tomllib.loads(STUDY12))
    assert [c.id for c in again.cells] == ids
    changed = st.parse_study(tomllib.loads(STUDY12.replace("rtol = 1e-6", "rtol = 1e-7")))
    assert not set(c.id for c in changed.cells) & set(ids)


def test_seeds_and_parameter_grids_multiply_the_cells():
    data = {
        "seeds": [0, 1, 2],
        "problem": [{"name": "varcoef1d", "n": 15, "sweep": {"contrast": [2.0, 10.0]}}],
        "method": [{"name": "jacobi", "max_seconds": 1}],
    }
    study = st.parse_study(data)
    assert len(study.cells) == 6
    assert {(c.params["contrast"], c.seed) for c in study.cells} == {
        (a, s) for a in (2.0, 10.0) for s in (0, 1, 2)
    }
    assert all(c.max_seconds == 1 for c in study.cells)


MALFORMED = [
    ("rtl = 1e-8\n", "rtl"),
    ('rtol = "small"\n', "rtol"),
    ("seeds = [0.5]\n", "seeds"),
    ("seeds = []\n", "seeds"),
    ("max_seconds = -1\n", "max_seconds"),
    ('device = "tpu"\n', "device"),
]
METHOD_MALFORMED = [
    ('[[method]]\nname = "sor"\nsweep = { omega = [] }\n', "method[0] (sor).sweep.omega"),
    ('[[method]]\nname = "sor"\nsweep = { omega = 1.5 }\n', "method[0] (sor).sweep.omega"),
    ('[[method]]\nname = "sor"\noptions = { omega = 1.5 }\n', "method[0].options"),
    ("[[method]]\nname = 3\n", "method[0].name"),
    ('[[method]]\nname = "sor"\nmaxiter = 2.5\n', "method[0] (sor).maxiter"),
]
PROBLEM_MALFORMED = [
    ('[[problem]]\nname = "paper1d"\nn = []\n', "problem[0] (paper1d).n"),
    ('[[problem]]\nname = "paper1d"\nn = [2]\n', "problem[0] (paper1d).n"),
    ('[[problem]]\nname = "paper1d"\nn = ["big"]\n', "problem[0] (paper1d).n"),
    ('[[problem]]\nname = "nosuch"\nn = [15]\n', "problem[0].name"),
    (
        '[[problem]]\nname = "varcoef1d"\nparam = { contrastt = 2 }\n',
        "problem[0] (varcoef1d).param",
    ),
    ('[[problem]]\nname = "varcoef1d"\nsweep = { contrast = [] }\n', "sweep.contrast"),
    ('[[problem]]\nname = "paper1d"\nsize = [15]\n', "problem[0].size"),
]
GOOD_PROBLEM = '[[problem]]\nname = "paper1d"\nn = [15]\n'
GOOD_METHOD = '[[method]]\nname = "sor"\n'


@pytest.mark.parametrize(
    "text, key",
    [(t + GOOD_PROBLEM + GOOD_METHOD, k) for t, k in MALFORMED]
    + [(GOOD_PROBLEM + t, k) for t, k in METHOD_MALFORMED]
    + [(t + GOOD_METHOD, k) for t, k in PROBLEM_MALFORMED]
    + [(GOOD_PROBLEM, "method"), (GOOD_METHOD, "problem"), ("rtol = [\n", "not valid TOML")],
)
def test_malformed_study_files_give_one_line_naming_the_key(tmp_path, capsys, text, key):
    path = write(tmp_path, text)
    out = tmp_path / "out"
    rc, _, err = run(capsys, "sweep", path, "--out", out)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fpsolve: error: "), err
    assert key in lines[0], lines[0]
    assert "Traceback" not in err
    assert not out.exists()  # nothing written


def test_sweep_flags_are_checked(tmp_path, capsys):
    path = write(tmp_path, GOOD_PROBLEM + GOOD_METHOD)
    rc, _, err = run(capsys, "sweep", path, "--out", tmp_path / "o", "--workers", "0")
    assert rc == 2 and "--workers" in err and len(err.strip().splitlines()) == 1
    rc, _, err = run(capsys, "sweep", path)
    assert rc == 2 and "--out" in err


# -- running -------------------------------------------------------------------------------
def test_pool_runs_every_cell_and_writes_the_result_files(pool_run):
    study, result, out = pool_run
    assert result.exit_code == 0 and not result.failed
    assert sorted(result.ran) == sorted(c.id for c in study.cells)
    rows = st.read_summary(out / st.SUMMARY_CSV)
    assert [r["cell_id"] for r in rows] == [c.id for c in study.cells]
    assert {r["status"] for r in rows} == {"converged"}
    for cell, row in zip(study.cells, rows, strict=True):
        d = out / "cells" / cell.id
        data = json.loads((d / "result.json").read_text())
        assert data["method"]["name"] == cell.method == row["method"]
        assert data["problem"]["shape"] == list(cell.shape)
        assert data["run"]["settings"] == cell.definition()
        assert row["unknowns"] == np.prod(cell.shape)
        assert row["iterations"] == data["iterations"]
        assert row["relative_error"] == pytest.approx(data["relative_error"], rel=1e-14)
        # the final band errors are the last history record's; their root sum of
        # squares is the relative error (Parseval)
        bands = np.array([row["band_low"], row["band_mid"], row["band_high"]])
        assert np.sqrt((bands**2).sum()) == pytest.approx(row["relative_error"], rel=1e-6)
        with np.load(d / "result.npz") as z:
            assert z["u"].shape == cell.shape
    study_json = json.loads((out / st.STUDY_JSON).read_text())
    assert study_json["counts"] == {"converged": 12}
    assert [c["id"] for c in study_json["cells"]] == [c.id for c in study.cells]


def test_local_cluster_agrees_with_the_pool_cell_by_cell(pool_run, tmp_path):
    pytest.importorskip("distributed")
    study, _, pool_out = pool_run
    result = st.run_study(
        study, tmp_path / "dask", scheduler="local", workers=2, say=lambda line: None
    )
    assert result.exit_code == 0
    assert sorted(result.ran) == sorted(c.id for c in study.cells)
    a = st.read_summary(pool_out / st.SUMMARY_CSV)
    b = st.read_summary(tmp_path / "dask" / st.SUMMARY_CSV)
    assert comparable(a) == comparable(b)


def test_rerun_skips_complete_cells_and_force_reruns_them(pool_run, tmp_path):
    study, first, out = pool_run
    stamp = {c.id: (out / "cells" / c.id / "result.json").stat().st_mtime_ns for c in study.cells}
    again = st.run_study(study, out, workers=2, say=lambda line: None)  # starts no pool
    assert again.ran == [] and sorted(again.skipped) == sorted(first.ran)
    assert stamp == {
        c.id: (out / "cells" / c.id / "result.json").stat().st_mtime_ns for c in study.cells
    }
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    small = st.Study("two", study.cells[:2])
    forced = st.run_study(small, copy, workers=1, force=True, say=lambda line: None)
    assert sorted(forced.ran) == sorted(c.id for c in small.cells) and forced.skipped == []


def test_killed_study_resumes_with_only_the_missing_cells(tmp_path):
    # 8 cells of 0.25 solver-seconds each on one worker: killed after the first few.
    text = """
rtol = 0
max_seconds = 0.25
[[problem]]
name = "paper1d"
n = [15, 31, 63, 127]
[[method]]
name = "jacobi"
[[method]]
name = "gauss-seidel"
"""
    path = write(tmp_path, text)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hybrid",
            "sweep",
            str(path),
            "--out",
            str(out),
            "--workers",
            "1",
            "--no-plot",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(out.glob("cells/*/result.json"))) < 2:
            assert proc.poll() is None, "the study ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the study and its pool worker
        proc.wait()
    study = st.load_study(path)
    done = {p.parent.name for p in out.glob("cells/*/result.json")}
    assert 2 <= len(done) < len(study.cells)
    stamp = {i: (out / "cells" / i / "result.json").stat().st_mtime_ns for i in done}
    result = st.run_study(study, out, workers=1, say=lambda line: None)
    assert set(result.skipped) == done
    assert set(result.ran) == {c.id for c in study.cells} - done
    assert {i: (out / "cells" / i / "result.json").stat().st_mtime_ns for i in done} == stamp
    rows = st.read_summary(out / st.SUMMARY_CSV)
    assert {r["status"] for r in rows} == {"not-converged"}  # rtol = 0: the whole budget
    assert all(r["seconds"] >= 0.25 for r in rows)


def test_failed_cells_are_recorded_and_the_exit_status_says_so(tmp_path, capsys):
    text = """
rtol = 1e-6
[[problem]]
name = "varcoef1d"
n = [15, 31]
[[method]]
name = "nosuch"
[[method]]
name = "dst"           # refuses variable coefficients: an exception in the run
[[method]]
name = "sor"
sweep = { omega = [1.5, 3.0] }   # omega = 3 is refused by the method
"""
    path = write(tmp_path, text)
    out = tmp_path / "out"
    rc, stdout, err = run(capsys, "sweep", path, "--out", out, "--workers", "1", "--no-plot")
    assert rc == st.EXIT_FAILED_CELLS == 1
    assert "unknown method 'nosuch'" in err  # warned before running
    rows = st.read_summary(out / st.SUMMARY_CSV)
    status = {(r["method"], r["options"].get("omega")): r for r in rows if r["n"] == "15"}
    assert status[("sor", 1.5)]["status"] == "converged"
    for key, words in [
        (("nosuch", None), "unknown method 'nosuch'"),
        (("dst", None), "needs constant coefficients"),
        (("sor", 3.0), "omega must be in (0, 2)"),
    ]:
        row = status[key]
        assert row["status"] == "failed" and words in row["message"], row
        error = json.loads((out / "cells" / row["cell_id"] / st.ERROR_JSON).read_text())
        assert words in error["error"] and "Traceback" in error["traceback"]
        assert not (out / "cells" / row["cell_id"] / "result.json").exists()
    assert sum(r["status"] == "failed" for r in rows) == 6
    assert "6 failed" in stdout and "2 converged" in stdout
    # a rerun retries only the failed cells
    rerun = st.run_study(st.load_study(path), out, workers=1, say=lambda line: None)
    assert len(rerun.ran) == 6 and len(rerun.skipped) == 2 and rerun.exit_code == 1


def test_missing_dask_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    path = write(tmp_path, GOOD_PROBLEM + GOOD_METHOD)
    rc, _, err = run(capsys, "sweep", path, "--out", tmp_path / "o", "--scheduler", "local")
    assert rc == 2 and "fpsolve[dask]" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


# -- figures ---------------------------------------------------------------------------------
def _rows(method, sizes, seconds, iterations, converged=None):
    converged = converged or [True] * len(sizes)
    return [
        {
            "status": "converged" if ok else "not-converged",
            "problem": "paper1d",
            "dim": 1,
            "n": str(n),
            "unknowns": n,
            "params": {},
            "method": method,
            "options": {},
            "seed": 0,
            "converged": ok,
            "seconds": t,
            "iterations": it,
            "band_low": 1e-9,
            "band_mid": 1e-10,
            "band_high": 1e-11,
        }
        for n, t, it, ok in zip(sizes, seconds, iterations, converged, strict=True)
    ]


def test_scaling_legend_carries_the_fitted_exponents():
    sizes = [100, 1000, 10000, 100000]
    rows = _rows("quadratic", sizes, [1e-6 * n**2 for n in sizes], [n for n in sizes])
    # the largest size stopped on its budget: hollow, and left out of the fit
    rows += _rows(
        "linear",
        sizes,
        [1e-6 * n for n in sizes[:3]] + [5.0],
        [10] * 4,
        converged=[True, True, True, False],
    )
    fig = study_figures.scaling_figure(rows)
    seconds, iterations = fig.axes[0], fig.axes[1]
    texts = [t.get_text() for t in seconds.get_legend().get_texts()]
    assert texts == ["quadratic: t ∝ N^2.00", "linear: t ∝ N^1.00"]
    texts = [t.get_text() for t in iterations.get_legend().get_texts()]
    assert texts == ["quadratic: its ∝ N^1.00", "linear: its ∝ N^0.00"]


def test_plot_draws_a_study_folder(pool_run, tmp_path, capsys):
    _, _, out = pool_run
    rc, _, err = run(capsys, "plot", out, "--out", tmp_path)
    assert rc == 0, err
    for name in ("scaling.png", "band_error.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    fig = study_figures.band_error_figure(st.read_summary(out / st.SUMMARY_CSV))
    assert [ax.get_xlabel() for ax in fig.axes if ax.get_visible()][:3] == [
        "omega (option)",
        "unknowns N",
        "unknowns N",
    ]
