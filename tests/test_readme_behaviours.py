"""What the README promises and no other test checked: ``fpsolve plot --format pdf|svg``,
``--seed`` reaching the run and ``result.json``, the progress bar on a terminal (and
not when piped), ``max_seconds`` in ``--config``, ``r.summary()``; and round trips of
the command line on random settings (hypothesis)."""

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hybrid
import problems
from hybrid.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("band_error", "convergence", "modal_error", "solution", "spectrum")
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<?xml"}


def run(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def figures_in(folder: Path, fmt: str) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(folder.glob(f"*.{fmt}"))}


# -- fpsolve plot --format ---------------------------------------------------------------
def test_plot_draws_pdf_and_svg_through_the_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    rc, _, err = run(capsys, "solve", "--problem", "paper1d", "--n", 31, "--method", "sor",
                     "--rtol", 1e-6, "--maxiter", 500, "--out", out, "--quiet")  # fmt: skip
    assert rc == 0, err
    for fmt in ("pdf", "svg"):
        assert not figures_in(out, fmt)  # no --plot: no figures yet
        rc, stdout, err = run(capsys, "plot", out, "--format", fmt)
        assert rc == 0, err
        drawn = figures_in(out, fmt)
        assert sorted(drawn) == [f"{name}.{fmt}" for name in FIGURES]
        assert all(data.startswith(MAGIC[fmt]) for data in drawn.values())
        assert all(name in stdout for name in drawn)
    assert not figures_in(out, "png")


# -- --seed ---------------------------------------------------------------------------
def _dnn_run(capsys, out, seed):
    rc, _, err = run(capsys, "solve", "--problem", "paper1d", "--n", 31, "--method", "dnn",
                     "--option", "widths=8,8", "--rtol", 0, "--maxiter", 5, "--seed", seed,
                     "--out", out, "--quiet")  # fmt: skip
    assert rc == 0, err
    d = json.loads((out / "result.json").read_text())
    with np.load(out / "result.npz") as z:
        return d, z["u"].copy()


def test_seed_reaches_the_run_and_the_result_file(tmp_path, capsys):
    d3, u3 = _dnn_run(capsys, tmp_path / "a", 3)
    assert d3["seed"] == 3 and d3["run"]["settings"]["seed"] == 3
    _, u3_again = _dnn_run(capsys, tmp_path / "b", 3)
    np.testing.assert_array_equal(u3_again, u3)  # the same seed, the same network
    d4, u4 = _dnn_run(capsys, tmp_path / "c", 4)
    assert d4["seed"] == 4
    assert not np.array_equal(u4, u3)  # another seed, another initialisation


# -- the progress bar -----------------------------------------------------------------
BAR = re.compile(r"jacobi:\s+\d+%\|")  # tqdm's "jacobi:  40%|####  | 2000/5000 [...]"
SOLVE = ["solve", "--problem", "paper1d", "--n", "63", "--method", "jacobi", "--rtol", "0",
         "--maxiter", "5000"]  # fmt: skip


def terminal() -> tuple[int, int]:
    """A pseudo-terminal ``(master, slave)`` of 24 x 100 characters (tqdm draws no bar
    on a terminal whose size is unset, as a bare ``pty.openpty()``'s is)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    return master, slave


def _read_all(fd: int, into: list) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the other end closed
            return
        if not chunk:
            return
        into.append(chunk)


def test_progress_bar_on_a_terminal_not_when_piped(monkeypatch, capsys):
    master, slave = terminal()
    seen: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(master, seen), daemon=True)
    reader.start()
    tty = os.fdopen(slave, "w", buffering=1)
    try:
        with monkeypatch.context() as m:
            m.setattr(sys, "stderr", tty)  # a real terminal: isatty() is true
            assert main(SOLVE) == 0
    finally:
        tty.close()
        reader.join(timeout=10)
        os.close(master)
    shown = b"".join(seen).decode(errors="replace")
    assert BAR.search(shown), shown[-500:]
    assert "5000/5000" in shown  # the bar ran to the end of the budget
    capsys.readouterr()
    rc, _, err = run(capsys, *SOLVE)  # stderr captured: a pipe, not a terminal
    assert rc == 0 and not BAR.search(err) and "%|" not in err, err


@pytest.mark.slow
def test_progress_bar_in_a_real_process_on_a_pty_and_piped():
    """The same through ``python -m hybrid`` (slow: two interpreter start-ups)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "hybrid", *SOLVE]
    master, slave = terminal()
    seen: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(master, seen), daemon=True)
    reader.start()
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=slave, timeout=120
        )
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    assert proc.returncode == 0
    assert BAR.search(b"".join(seen).decode(errors="replace"))
    piped = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and "%|" not in piped.stderr, piped.stderr


# -- --config spellings ----------------------------------------------------------------
@pytest.mark.parametrize("key", ["max_seconds", "max-seconds"])
def test_config_accepts_both_spellings_of_max_seconds(tmp_path, capsys, key):
    config = tmp_path / "run.toml"
    out = tmp_path / "cfg"
    config.write_text(
        f'problem = "paper1d"\nn = 31\nmethod = "jacobi"\nrtol = 0\n{key} = 0.05\n'
        f'maxiter = 100000000\nout = "{out}"\n'
    )
    rc, _, err = run(capsys, "solve", "--config", config, "--quiet")
    assert rc == 0, err
    d = json.loads((out / "result.json").read_text())
    assert d["run"]["settings"]["max_seconds"] == 0.05
    assert "max_seconds" in d["message"] and d["iterations"] < 100_000_000


def test_config_with_an_unknown_key_is_refused(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('problem = "paper1d"\nmethod = "jacobi"\nmax_secs = 3\n')
    rc, _, err = run(capsys, "solve", "--config", config)
    assert rc == 2 and err.startswith("fpsolve: error: ") and err.count("\n") == 1, err
    assert "max_secs" in err


# -- r.summary() -------------------------------------------------------------------------
def test_summary_says_what_ran_and_how_it_ended():
    p = problems.get("paper1d", n=31)
    r = hybrid.solve(p, "sor", rtol=1e-8, maxiter=10_000)
    text = r.summary()
    assert "\n" not in text
    assert text.startswith(f"sor on paper1d 31: converged after {r.iterations} iterations in ")
    assert f"relative residual {r.relative_residual:.3e}" in text
    assert f"relative error {r.relative_error:.3e}" in text
    stopped = hybrid.solve(p, "jacobi", rtol=1e-12, maxiter=7)
    text = stopped.summary()
    assert "did not converge after 7 iterations" in text
    assert text.endswith(f"({stopped.message})") and "maxiter" in stopped.message
    q = problems.get("modes2d", n=(9, 5))
    assert hybrid.solve(q, "direct").summary().startswith("direct on modes2d 9x5: converged")


# -- round trips on random settings (hypothesis) ----------------------------------------------
CLI = settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

valid_settings = st.fixed_dictionaries(
    {
        "problem": st.sampled_from([("paper1d", "--n", 31), ("modes2d", "--n", "9x7")]),
        "method": st.sampled_from(["jacobi", "red-black", "sor", "dst-pcg", "direct"]),
        "maxiter": st.integers(1, 300),
        "rtol": st.sampled_from(["0", "1e-6", "1e-3"]),
        "record_every": st.sampled_from([None, "0", "3"]),
        "fmt": st.sampled_from(["png", "svg"]),
    }
)


def _argv(s, out):
    name, flag, n = s["problem"]
    argv = ["solve", "--problem", name, flag, str(n), "--method", s["method"],
            "--maxiter", str(s["maxiter"]), "--rtol", s["rtol"], "--out", str(out),
            "--plot", "--format", s["fmt"], "--quiet"]  # fmt: skip
    if s["record_every"] is not None:
        argv += ["--record-every", s["record_every"]]
    return argv


def _round_trip(tmp_path_factory, capsys, s):
    out = tmp_path_factory.mktemp("rt")
    rc, _, err = run(capsys, *_argv(s, out))
    assert rc == 0, err
    drawn = figures_in(out, s["fmt"])
    assert len(drawn) == len(FIGURES)
    again = out / "again"
    rc, _, err = run(capsys, "plot", out, "--format", s["fmt"], "--out", again)
    assert rc == 0, err
    assert figures_in(again, s["fmt"]) == drawn
    d = json.loads((out / "result.json").read_text())
    assert d["method"]["name"] == s["method"] and d["iterations"] <= s["maxiter"]


@settings(CLI, max_examples=1)  # drawing is slow: many more in the slow twin below
@given(s=valid_settings)
def test_solve_then_plot_gives_the_same_bytes(tmp_path_factory, capsys, s):
    _round_trip(tmp_path_factory, capsys, s)


@pytest.mark.slow
@pytest.mark.timeout(900)  # about 2.5 s an example on a quiet machine, several when loaded
@settings(CLI, max_examples=12)
@given(s=valid_settings)
def test_solve_then_plot_gives_the_same_bytes_on_many_settings(tmp_path_factory, capsys, s):
    _round_trip(tmp_path_factory, capsys, s)


#: (flag, a value it must refuse)
INVALID = [
    ("--n", "2"), ("--n", "abc"), ("--n", "-5"), ("--n", "9x1"), ("--rtol", "-1"),
    ("--rtol", "nan"), ("--maxiter", "0"), ("--maxiter", "2.5"), ("--max-seconds", "inf"),
    ("--max-seconds", "-1"), ("--seed", "x"), ("--format", "jpg"), ("--method", "nope"),
    ("--problem", "nope"), ("--record-every", "-3"), ("--device", "gpu"),
    ("--param", "nope=1"), ("--option", "nope=1"),
]  # fmt: skip


@pytest.mark.parametrize("bad", INVALID, ids=" ".join)
@settings(CLI, max_examples=2)
@given(s=valid_settings)
def test_invalid_settings_exit_2_with_one_line_and_write_nothing(tmp_path_factory, capsys, s, bad):
    out = tmp_path_factory.mktemp("bad") / "out"
    argv = _argv(s, out)
    flag, value = bad
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    rc, stdout, err = run(capsys, *argv)
    assert rc == 2, (argv, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fpsolve: error: "), err
    assert "Traceback" not in err + stdout
    assert not out.exists()
