"""Reference solvers against the gold discrete solution, and the result file."""

import json
import time

import numpy as np
import pytest
from conftest import CLOCK_JUMP

import hybrid
import problems
import solvers


@pytest.mark.parametrize("name", ["paper1d", "random2d", "varcoef2d", "randcoef2d"])
@pytest.mark.parametrize("method", ["direct", "dst-pcg", "amg"])
def test_reference_methods_reach_the_discrete_solution(name, method):
    p = problems.get(name, n=63 if problems.entry(name).dim == 1 else 31)
    r = solvers.solve(p, method, rtol=1e-10, maxiter=500)
    assert r.converged
    assert r.relative_residual <= 1e-10
    assert np.linalg.norm(r.u - p.reference()) <= 1e-7 * np.linalg.norm(p.reference())


def test_dst_is_exact_for_constant_coefficients_and_refuses_variable_ones():
    p = problems.get("helmholtz2d", n=31)
    r = solvers.solve(p, "dst")
    assert r.relative_residual < 1e-12
    with pytest.raises(ValueError, match="use 'dst-pcg'"):
        solvers.solve(problems.get("varcoef2d", n=15), "dst")


def test_dst_pcg_iterations_grow_with_contrast_not_with_the_grid():
    its = {}
    for n in [31, 127]:
        for contrast in [3, 19]:
            p = problems.get("varcoef2d", n=n, contrast=contrast)
            its[n, contrast] = solvers.solve(
                p, "dst-pcg", rtol=1e-9, maxiter=500, record_every=0
            ).iterations
    assert its[31, 19] > its[31, 3] and its[127, 19] > its[127, 3]
    assert abs(its[127, 3] - its[31, 3]) <= 3 and abs(its[127, 19] - its[31, 19]) <= 6


def test_unknown_method_and_option_list_the_valid_ones():
    p = problems.get("paper1d", n=15)
    with pytest.raises(ValueError, match=r"unknown method 'nope'; choose one of: .*direct"):
        hybrid.solve(p, "nope")
    with pytest.raises(ValueError, match=r"unknown option 'bogus' for method 'dst-pcg'"):
        solvers.solve(p, "dst-pcg", bogus=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rtol": -1}, "rtol must be a finite number >= 0"),
        ({"rtol": float("nan")}, "rtol must be a finite number >= 0"),
        ({"maxiter": 0}, "maxiter must be None or an integer >= 1"),
        ({"max_seconds": -2}, "max_seconds must be None or a finite number > 0"),
        ({"x0": np.zeros(3)}, "x0 must have the problem's shape"),
        ({"x0": np.full(15, np.nan)}, "x0 must be finite"),
        ({"device": "tpu"}, "device must be one of auto, cpu, cuda"),
        ({"rtol": 0}, "give one of them"),
    ],
)
def test_common_arguments_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        solvers.solve(problems.get("paper1d", n=15), "dst-pcg", **kwargs)


def test_result_file_follows_the_contract(tmp_path):
    p = problems.get("varcoef2d", n=15)
    r = hybrid.solve(p, "dst-pcg", rtol=1e-10, maxiter=500)
    path = r.to_json(tmp_path / "result.json")
    data = json.loads(path.read_text())
    for key in [
        "problem",
        "method",
        "converged",
        "iterations",
        "seconds",
        "relative_residual",
        "relative_error",
        "discretization_error",
        "history",
        "seed",
        "version",
    ]:
        assert key in data
    assert data["problem"] == {
        "name": "varcoef2d",
        "dim": 2,
        "shape": [15, 15],
        "params": {"contrast": 3.0},
    }
    assert data["method"]["name"] == "dst-pcg"
    hist = data["history"]
    steps = len(hist["iteration"])
    assert steps >= 2 and hist["iteration"][-1] == data["iterations"]
    for key in ["seconds", "relative_residual", "relative_error", "modal_error"]:
        assert len(hist[key]) == steps
    assert all(len(row) == len(hist["modes"]) for row in hist["modal_error"])
    assert all(len(hist["band_error"][b]) == steps for b in ["low", "mid", "high"])
    arrays = np.load(tmp_path / "result.npz")
    np.testing.assert_array_equal(arrays["u"], r.u)
    np.testing.assert_array_equal(arrays["u_ref"], p.reference())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json", "result.npz"]


def test_history_time_axis_never_runs_backwards():
    # Recording the initial iterate, then starting the clock, must not put it after step 1.

    from solvers.recording import Recorder

    p = problems.get("paper1d", n=15)
    rec = Recorder(p, record_every=1)
    time.sleep(0.01)
    rec.record(0, np.zeros(p.shape))
    rec.restart_clock()
    rec.record(1, p.reference())
    assert np.all(np.diff(rec.history().seconds) >= 0)
    for method in ["dst-pcg", "amg", "direct"]:
        h = solvers.solve(problems.get("random2d", n=15), method, record_every=1).history
        assert np.all(np.diff(h.seconds) >= 0), method


#: "About 200 records" on a long run: 200 - 25% .. 200 + 25%.
CADENCE_BAND = (150, 250)


@pytest.mark.parametrize("maxiter", [None, 50, 200, 400, 1000, 10**4, 10**6])
def test_default_cadence_records_about_200_points_whatever_the_length(maxiter):
    from solvers.recording import Recorder

    rec = Recorder(problems.get("paper1d", n=15), maxiter=maxiter)
    steps, it = [0], 0
    end = maxiter or 10**6  # without maxiter: a run of a million steps
    while True:
        it = rec.next_due(it)
        if it > end:
            break
        steps.append(it)
    assert steps[:11] == list(range(11))  # the first steps, every one
    assert np.all(np.diff(steps) > 0)
    if maxiter is not None and maxiter <= 200:
        assert len(steps) == maxiter + 1  # short runs: every step
    else:
        low, high = CADENCE_BAND  # both ends: neither too sparse nor too dense
        assert low <= len(steps) <= high, len(steps)
        assert steps[-1] >= 0.8 * end  # and spread over the whole run


def test_dst_pcg_warms_its_kernels_off_the_clock(monkeypatch, slow_first_call):
    p = problems.get("varcoef2d", n=31)
    slow, calls = slow_first_call(type(p).apply)
    monkeypatch.setattr(type(p), "apply", slow)
    r = hybrid.solve(p, "dst-pcg", rtol=1e-8, maxiter=500)
    assert r.converged and len(calls) >= 2
    assert r.seconds < CLOCK_JUMP, r.seconds
