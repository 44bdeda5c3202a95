"""The ``fpsolve`` command line: every command end to end, the result-file contract,
bad input (one line, exit 2, nothing written), Ctrl-C, config files, and the
F-Principle reading of Jacobi's and the DNN's per-mode histories.

Most cases call ``hybrid.app.cli.main(argv)`` in-process (the same code path as the
console script, minus the interpreter start-up); a few run ``python -m hybrid``
in a subprocess to check the real process: exit status, no traceback, SIGINT.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import hybrid
from hybrid.app import results as saved
from hybrid.app.cli import main
from hybrid.app.compare import Interrupted, compare, first_below
from problems.parameters import Parameters
from solvers.driver import STOP_REASONS, finish
from solvers.recording import Recorder
from solvers.registry import Method

ROOT = Path(__file__).resolve().parents[1]


def fpsolve(*args, timeout=300, **kwargs):
    """Run ``python -m hybrid ARGS`` in a subprocess; returns CompletedProcess."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "hybrid", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


def run(capsys, *args):
    """``main(args)`` in-process; returns (status, stdout, stderr)."""
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


# -- the result-file contract ----------------------------------------------------------
def check_result_dict(d, *, method=None, interrupted=False):
    """Keys, types and consistent lengths of one result dict (the file format + run record)."""
    for key in ("problem", "method", "converged", "iterations", "seconds", "history"):
        assert key in d, key
    p = d["problem"]
    assert isinstance(p["name"], str) and p["dim"] in (1, 2)
    assert isinstance(p["shape"], list) and len(p["shape"]) == p["dim"]
    assert isinstance(p["params"], dict)
    assert isinstance(d["method"]["name"], str) and isinstance(d["method"]["options"], dict)
    if method is not None:
        assert d["method"]["name"] == method
    assert isinstance(d["converged"], bool)
    assert isinstance(d["iterations"], int) and d["iterations"] >= 0
    assert isinstance(d["seconds"], float) and d["seconds"] >= 0
    for key in ("relative_residual", "relative_error"):
        assert isinstance(d[key], float) and d[key] >= 0
    assert d["discretization_error"] is None or isinstance(d["discretization_error"], float)
    assert isinstance(d["seed"], int) and isinstance(d["version"], str)
    assert d["interrupted"] is interrupted
    assert d["stop_reason"] in STOP_REASONS
    assert (d["stop_reason"] == "interrupted") is interrupted
    assert (d["stop_reason"] == "converged") is d["converged"]
    h = d["history"]
    s = len(h["iteration"])
    assert s >= 1
    for key in ("seconds", "relative_residual", "relative_error", "phase"):
        assert len(h[key]) == s, key
    assert set(h["band_error"]) == {"low", "mid", "high"}
    assert all(len(v) == s for v in h["band_error"].values())
    assert len(h["modal_error"]) == s
    m = len(h["modes"])
    assert m >= 1 and all(len(row) == m for row in h["modal_error"])
    if p["dim"] == 2:
        assert all(len(mode) == 2 for mode in h["modes"])
    assert all(isinstance(i, int) for i in h["iteration"])
    assert h["iteration"] == sorted(h["iteration"])
    assert isinstance(h["events"], list)
    run = d["run"]
    for key in ("command", "argv", "settings", "seed", "version", "wall_seconds"):
        assert key in run, key
    assert run["wall_seconds"] >= 0 and run["version"] == d["version"]


def check_arrays(d, arrays, u_key="u"):
    """The npz arrays agree with the JSON (gold: recompute the error from u and u_ref)."""
    shape = tuple(d["problem"]["shape"])
    u, ref = arrays[u_key], arrays["u_ref"]
    assert u.shape == shape and ref.shape == shape
    rel = np.linalg.norm(u - ref) / np.linalg.norm(ref)
    np.testing.assert_allclose(d["relative_error"], rel, rtol=1e-10, atol=1e-300)


# -- commands -------------------------------------------------------------------------
def test_problems_lists_the_catalogue(capsys):
    import problems

    rc, out, err = run(capsys, "problems")
    assert rc == 0 and err == ""
    for name in problems.names():
        assert name in out
    rc, out, _ = run(capsys, "problems", "varcoef2d")
    assert rc == 0 and "--param contrast=" in out


def test_methods_lists_every_method_and_option(capsys):
    rc, out, _ = run(capsys, "methods")
    assert rc == 0
    for name in hybrid.methods():
        assert name in out
        for option in hybrid.REGISTRY.get(name).options.names():
            assert f"--option {option}=" in out


@pytest.mark.parametrize("command", ["", "problems", "methods", "solve", "compare", "demo", "plot"])
def test_help_everywhere_with_examples(capsys, command):
    rc, out, _ = run(capsys, *([command] if command else []), "--help")
    assert rc == 0
    assert "usage: fpsolve" in out
    if command:
        assert "examples:" in out


def test_flags_of_design_md_exist(capsys):
    rc, out, _ = run(capsys, "solve", "--help")
    assert rc == 0
    for flag in ("--problem", "--n", "--param", "--method", "--option", "--rtol", "--maxiter",
                 "--max-seconds", "--seed", "--device", "--out", "--plot", "--config",
                 "--format", "--quiet", "--verbose"):  # fmt: skip
        assert flag in out, flag
    _, out, _ = run(capsys, "compare", "--help")
    assert "--methods" in out and "--out" in out


def test_solve_writes_the_contract_and_figures(tmp_path):
    out = tmp_path / "run"
    proc = fpsolve(
        "solve", "--problem", "paper1d", "--n", 63, "--method", "dst-pcg",
        "--option", "reference=mean", "--out", out, "--plot",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "converged" in proc.stdout and "wrote" in proc.stdout
    d = json.loads((out / "result.json").read_text())
    check_result_dict(d, method="dst-pcg")
    assert d["method"]["options"] == {"reference": "mean"}
    assert d["converged"] is True and d["relative_residual"] <= 1e-8
    assert d["run"]["command"] == "solve" and d["run"]["settings"]["n"] == 63
    with np.load(out / "result.npz") as z:
        arrays = dict(z)
    check_arrays(d, arrays)
    np.testing.assert_array_equal(arrays["iteration"], d["history"]["iteration"])
    for name in ("convergence", "modal_error", "band_error", "solution"):
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".*tmp"))  # atomic writes leave no temporary files


def test_plot_reproduces_the_figures_from_saved_results(tmp_path, capsys):
    out = tmp_path / "cmp"
    rc, _, err = run(
        capsys, "compare", "--problem", "modes2d", "--n", 15,
        "--methods", "direct,dst-pcg,amg", "--option", "amg.kind=sa", "--out", out, "--quiet",
    )  # fmt: skip
    assert rc == 0, err
    figures = sorted(out.glob("*.png"))
    assert [f.stem for f in figures] == [
        "band_error",
        "convergence",
        "modal_error",
        "solution",
        "spectrum",
    ]
    before = {f.name: f.read_bytes() for f in figures}
    for f in figures:
        f.unlink()
    rc, _, err = run(capsys, "plot", out)
    assert rc == 0, err
    after = {f.name: f.read_bytes() for f in sorted(out.glob("*.png"))}
    assert after == before  # the same bytes, from the files alone


def test_compare_writes_a_list_of_results(tmp_path, capsys):
    out = tmp_path / "cmp"
    rc, stdout, err = run(
        capsys, "compare", "--problem", "varcoef1d", "--n", 31, "--param", "contrast=5",
        "--methods", "direct,dst-pcg,amg", "--option", "kind=sa", "--rtol", 1e-9,
        "--out", out, "--no-plot",
    )  # fmt: skip
    assert rc == 0, err
    data = json.loads((out / "compare.json").read_text())
    assert [d["method"]["name"] for d in data] == ["direct", "dst-pcg", "amg"]
    for d in data:
        check_result_dict(d)
        assert d["problem"]["params"]["contrast"] == 5.0
    assert data[2]["method"]["options"]["kind"] == "sa"  # KEY=VALUE went to the taker only
    with np.load(out / "compare.npz") as z:
        arrays = dict(z)
    for i, d in enumerate(data):
        check_arrays(d, arrays, f"u_{i}")
    assert not list(out.glob("*.png"))
    assert "method" in stdout and "rel. error" in stdout  # the table


def test_every_registered_method_is_reachable(tmp_path, capsys):
    """``compare`` runs any set of methods: all of them, a few steps each."""
    names = hybrid.methods()
    out = tmp_path / "all"
    rc, _, err = run(
        capsys, "compare", "--problem", "paper1d", "--n", 31, "--methods", ",".join(names),
        "--maxiter", 3, "--max-seconds", 5, "--out", out, "--no-plot", "--quiet",
    )  # fmt: skip
    assert rc == 0, err
    data = json.loads((out / "compare.json").read_text())
    assert [d["method"]["name"] for d in data] == names
    for d in data:
        check_result_dict(d)


def test_not_converging_exits_zero_and_says_so(capsys):
    rc, out, _ = run(capsys, "solve", "--problem", "paper1d", "--n", 127, "--method", "jacobi",
                     "--maxiter", 2)  # fmt: skip
    assert rc == 0
    assert "did not converge" in out and "nothing written" in out


def test_config_file_with_flags_winning(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(
        'problem = "varcoef1d"\nn = 31\nmethod = "amg"\nrtol = 1e-3\nmax-seconds = 30\n'
        f'out = "{tmp_path / "cfg"}"\n[param]\ncontrast = 4\n[option]\nkind = "sa"\n'
    )
    rc, _, err = run(capsys, "solve", "--config", config, "--rtol", "1e-9", "--option",
                     "kind=rs", "--quiet")  # fmt: skip
    assert rc == 0, err
    d = json.loads((tmp_path / "cfg" / "result.json").read_text())
    assert d["run"]["settings"]["rtol"] == 1e-9  # flag over file
    assert d["run"]["settings"]["max_seconds"] == 30  # file over default
    assert d["method"]["options"]["kind"] == "rs"
    assert d["problem"]["params"]["contrast"] == 4.0
    assert d["relative_residual"] <= 1e-9


def test_compare_config_with_per_method_options(tmp_path, capsys):
    config = tmp_path / "cmp.toml"
    config.write_text(
        'problem = "modes2d"\nn = [15, 11]\nmethods = ["direct", "amg"]\nplot = false\n'
        f'out = "{tmp_path / "c"}"\n[option.amg]\nkind = "sa"\n'
    )
    rc, _, err = run(capsys, "compare", "--config", config, "--quiet")
    assert rc == 0, err
    data = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert data[0]["problem"]["shape"] == [15, 11]
    assert data[1]["method"]["options"]["kind"] == "sa"


def test_verbose_prints_one_line_per_record(capsys):
    rc, _, err = run(capsys, "solve", "--problem", "paper1d", "--n", 63, "--method", "amg",
                     "--rtol", 1e-10, "--verbose")  # fmt: skip
    assert rc == 0
    lines = [line for line in err.splitlines() if line.startswith("[amg]")]
    assert len(lines) >= 3 and all("res=" in line and "high=" in line for line in lines)


# -- bad input ---------------------------------------------------------------------------
BAD = [
    ["nosuch"],
    [],
    ["solve", "--problem", "nope", "--method", "dst-pcg"],
    ["solve", "--problem", "paper1d", "--method", "nope"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--option", "foo=1"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--param", "a=-1"],
    ["solve", "--problem", "varcoef1d", "--method", "dst-pcg", "--param", "contrast=-1"],
    ["solve", "--problem", "varcoef1d", "--method", "dst-pcg", "--param", "contrast=nan"],
    ["solve", "--problem", "varcoef1d", "--method", "dst-pcg", "--param", "contrast"],
    ["solve", "--problem", "paper1d", "--n", "2", "--method", "dst-pcg"],
    ["solve", "--problem", "paper1d", "--n", "abc", "--method", "dst-pcg"],
    ["solve", "--problem", "random2d", "--n", "15x2", "--method", "dst-pcg"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--rtol", "-1"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--rtol", "nan"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--rtol", "abc"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--rtol", "0"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--maxiter", "0"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--maxiter", "1.5"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--max-seconds", "inf"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--max-seconds", "-3"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--option", "reference=nan"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--seed", "x"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--device", "gpu"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--format", "jpg"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--plot"],
    ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--bogus"],
    ["solve", "--problem", "paper1d"],
    ["solve", "--method", "dst-pcg"],
    ["solve", "--problem", "varcoef1d", "--method", "dst"],  # the method's own check
    ["solve", "--problem", "paper1d", "--method", "amg", "--option", "kind=xx"],
    ["compare", "--problem", "paper1d", "--methods", "dst-pcg,dst-pcg"],
    ["compare", "--problem", "paper1d", "--methods", "dst-pcg,"],
    ["compare", "--problem", "paper1d", "--methods", "dst-pcg,amg", "--option", "foo=1"],
    ["compare", "--problem", "paper1d", "--methods", "dst-pcg,amg", "--option", "x.kind=sa"],
    ["plot", "/nonexistent/fpsolve"],
    ["problems", "nope"],
    ["methods", "nope"],
]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a) or "(none)" for a in BAD])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, argv):
    out = tmp_path / "out"
    if argv and argv[0] in ("solve", "compare") and "--plot" not in argv:
        argv = [*argv, "--out", str(out)]
    rc, stdout, err = run(capsys, *argv)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fpsolve: error: "), err
    assert "Traceback" not in err + stdout
    assert not out.exists()


def test_bad_out_and_config(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("")
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text('problem = "paper1d"\nmethod = [unclosed\n')
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('problem = "paper1d"\nfoo = 1\n')
    wrong_type = tmp_path / "type.toml"
    wrong_type.write_text('problem = "paper1d"\nmethod = "dst-pcg"\nrtol = "abc"\n')
    cases = [
        (["--out", a_file], "not a directory"),
        (["--out", a_file / "sub"], "not a directory"),
        (["--config", bad_toml], "not valid TOML"),
        (["--config", unknown], "unknown key 'foo'"),
        (["--config", wrong_type], "rtol"),
        (["--config", tmp_path / "missing.toml"], "does not exist"),
    ]
    base = ["solve", "--problem", "paper1d", "--method", "dst-pcg"]
    for extra, needle in cases:
        rc, _, err = run(capsys, *base, *extra)
        assert rc == 2 and needle in err and len(err.strip().splitlines()) == 1, (extra, err)


@pytest.mark.parametrize(
    "argv",
    [
        ["solve", "--problem", "paper1d", "--n", "2", "--method", "dst-pcg"],
        ["solve", "--problem", "paper1d", "--method", "dst-pcg", "--rtol", "-1"],
        ["compare", "--problem", "nope", "--methods", "direct", "--out", "/tmp/x"],
    ],
)
def test_bad_input_in_a_real_process(argv):
    proc = fpsolve(*argv)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("fpsolve: error: ")
    assert "Traceback" not in proc.stderr


# -- Ctrl-C -------------------------------------------------------------------------------
def test_interrupted_method_keeps_what_it_recorded(monkeypatch):
    """In-process: a method that is interrupted after 3 records."""
    import problems

    p = problems.get("modes1d", n=31)
    recorded = []

    def stubborn(problem, settings):
        rec = Recorder(problem, record_every=1, phase="stub", observers=settings.observers)
        u = np.zeros(problem.shape)
        for it in range(3):
            u += problem.f * 1e-4
            rec.record(it, u)
            recorded.append(u.copy())
        u += 1.0  # not recorded: the partial result must not see it
        raise KeyboardInterrupt

    monkeypatch.setitem(
        hybrid.REGISTRY._methods, "stub", Method("stub", stubborn, "stub", Parameters())
    )
    with pytest.raises(Interrupted) as stop:
        compare(p, ["direct", "stub"])
    first, partial = stop.value.results
    assert first.method == "direct" and first.converged and not first.interrupted
    assert partial.interrupted and not partial.converged
    assert partial.iterations == 2 and len(partial.history) == 3
    np.testing.assert_array_equal(partial.u, recorded[-1])
    d = partial.to_dict()
    assert d["interrupted"] is True
    np.testing.assert_allclose(
        d["relative_error"],
        np.linalg.norm(recorded[-1] - p.reference()) / np.linalg.norm(p.reference()),
        rtol=1e-12,
        atol=0,
    )


def interrupt_solve(args, ready, *, env=None, delay=0.0):
    """Start ``fpsolve solve ARGS``, wait for a line that satisfies ``ready`` (one of
    ``"stdout"``/``"stderr"`` and a prefix), send Ctrl-C ``delay`` s later; return
    ``(returncode, stdout, stderr)``."""
    stream, prefix = ready
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybrid", "solve", *map(str, args)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a shell's background job ignores SIGINT, and children inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        first = getattr(proc, stream).readline()
        assert first.startswith(prefix), first
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, first + stdout if stream == "stdout" else stdout, stderr


def test_ctrl_c_during_cold_start_exits_130_cleanly(tmp_path):
    # An empty numba cache makes the kernels compile (seconds) right after
    # "running jacobi ...", so the interrupt lands while they compile; inside
    # numba's compiler it used to become a RuntimeError ("no compiled object
    # yet") or llvmlite finaliser tracebacks. Which stage it hits depends on
    # timing, so this is a smoke test: the deterministic check of the deferral
    # is the doctest of problems._numba.deferred_interrupt.
    out = tmp_path / "int"
    code, _, stderr = interrupt_solve(
        ["--problem", "random2d", "--n", 63, "--method", "jacobi", "--rtol", 0,
         "--maxiter", 100000000, "--out", out],
        ("stdout", "running jacobi"),
        env={"NUMBA_CACHE_DIR": str(tmp_path / "numba")},
    )  # fmt: skip
    assert code == 130, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    d = json.loads((out / "result.json").read_text())
    assert d["interrupted"] is True and d["converged"] is False


def test_ctrl_c_writes_partial_result_and_exits_130(tmp_path):
    method = "jacobi"
    out = tmp_path / "int"
    code, stdout, stderr = interrupt_solve(
        ["--problem", "random2d", "--n", 63, "--method", method, "--rtol", 0,
         "--maxiter", 100000000, "--record-every", 50, "--out", out, "--verbose"],
        ("stderr", f"[{method}]"),  # the first per-record line: the method is running
        delay=1.0,
    )  # fmt: skip
    assert code == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stdout
    d = json.loads((out / "result.json").read_text())
    check_result_dict(d, method=method, interrupted=True)
    assert d["converged"] is False and d["iterations"] == d["history"]["iteration"][-1]
    with np.load(out / "result.npz") as z:
        check_arrays(d, dict(z))


# -- demo ------------------------------------------------------------------------------------
def test_demo_quick(tmp_path):
    out = tmp_path / "demo"
    proc = fpsolve("demo", "--quick", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "rel. error" in proc.stdout and str(out.resolve()) in proc.stdout
    data = json.loads((out / "compare.json").read_text())
    assert data
    for d in data:
        check_result_dict(d)
        assert d["problem"]["name"] == "paper1d"
    for name in ("convergence", "modal_error", "band_error", "solution"):
        assert (out / f"{name}.png").exists()
    assert {"jacobi", "gauss-seidel", "dnn"} <= {d["method"]["name"] for d in data}


# -- the F-Principle, read from the CLI's result files -------------------------------------------
def _modal_history(tmp_path, capsys, method, *extra):
    out = tmp_path / method
    rc, _, err = run(capsys, "solve", "--problem", "paper1d", "--method", method,
                     "--out", out, "--quiet", *extra)  # fmt: skip
    assert rc == 0, err
    [r] = saved.load_result(out / "result.json")
    return r.history


def test_jacobi_converges_high_modes_first(tmp_path, capsys):
    """Jacobi's factor for mode k is cos(pi k / (n + 1)): high tracked modes go first."""
    h = _modal_history(tmp_path, capsys, "jacobi", "--n", 127, "--rtol", 0, "--maxiter", 300)
    low, high = h.modal_error[:, 0], h.modal_error[:, -1]
    steps = first_below(h, 1e-3)
    assert steps[-1] is not None  # the highest tracked mode (k=18: factor 0.90) is done
    assert steps[0] is None or steps[0] > steps[-1]
    # theory at the end: k=2 keeps cos(2 pi / 128)^300 = 0.70 of its error, k=18 ~1e-14
    assert low[-1] > 0.3 and high[-1] < 1e-6


def test_dnn_converges_low_modes_first(tmp_path, capsys):
    """The F-Principle: the network fits the lowest tracked mode before the highest."""
    h = _modal_history(tmp_path, capsys, "dnn", "--n", 127, "--rtol", 0, "--maxiter", 200)
    steps = first_below(h, 0.1)
    assert steps[0] is not None, "the lowest mode never fell below 10% error"
    assert steps[-1] is None or steps[0] < steps[-1], steps


# -- result files round trip ----------------------------------------------------------------
def test_saved_result_round_trip(tmp_path):
    import problems

    p = problems.get("varcoef1d", n=31)
    r = hybrid.solve(p, "amg", rtol=1e-9, maxiter=500)
    paths = saved.write_result(tmp_path, r, {"command": "test"})
    assert [q.name for q in paths] == ["result.json", "result.npz"]
    [back] = saved.load_result(tmp_path / "result.json")
    assert back.method == "amg" and back.iterations == r.iterations
    assert back.run == {"command": "test"}
    np.testing.assert_array_equal(back.u, r.u)
    np.testing.assert_array_equal(back.u_ref, p.reference())
    np.testing.assert_array_equal(back.history.modal_error, r.history.modal_error)
    np.testing.assert_array_equal(back.axes()[0], p.grid.axes[0])
    with pytest.raises(ValueError, match="neither"):
        saved.load_dir(tmp_path / "..")


def test_observers_see_every_record_after_it_is_stored():
    """An observer passed in fires once per record, after the row is stored."""
    import problems
    from solvers.registry import make_settings

    p = problems.get("modes1d", n=15)
    seen = []
    observe = lambda r, it, u: seen.append((it, r.last_record()["iteration"]))  # noqa: E731
    rec = Recorder(p, record_every=1, observers=(observe,))
    rec.record(0, np.zeros(p.shape))
    rec.record(1, p.reference())
    assert seen == [(0, 0), (1, 1)]
    assert len(Recorder(p, record_every=1).observers) == 0  # no module-level hooks
    res = finish(p, "x", {}, make_settings(p), p.reference(), recorder=rec, iterations=2,
                 reason="converged")  # fmt: skip
    assert len(res.history) == 3 and seen[-1] == (2, 2) and res.stop_reason == "converged"


def test_solve_passes_observers_to_the_method():
    import problems

    p = problems.get("modes1d", n=31)
    seen = []
    r = hybrid.solve(p, "jacobi", maxiter=50, rtol=0, record_every=10,
                     observers=(lambda rec, it, u: seen.append(it),))  # fmt: skip
    assert seen == list(r.history.iteration) and seen[-1] == 50
