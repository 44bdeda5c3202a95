"""The iteration driver: one stop vocabulary, budgets, interruption, relaxation's cadence."""

import numpy as np
import pytest

import problems
import solvers
from hybrid.app.compare import Interrupted, compare
from solvers import krylov, relaxation
from solvers.driver import STOP_REASONS, stop_message
from solvers.registry import make_settings


def test_stop_reasons_of_ordinary_runs():
    p = problems.get("paper1d", n=63)
    assert solvers.solve(p, "sor", rtol=1e-8).stop_reason == "converged"
    assert solvers.solve(p, "jacobi", rtol=0, maxiter=10).stop_reason == "maxiter"
    r = solvers.solve(problems.get("paper1d", n=1023), "jacobi", rtol=1e-14, max_seconds=0.05)
    assert r.stop_reason == "max_seconds" and not r.converged
    r = solvers.solve(problems.get("modes2d", n=31), "weighted-jacobi", omega=1.9)
    assert r.stop_reason == "diverged" and r.message.startswith("diverged after")
    r = solvers.solve(problems.get("random2d", n=31), "multigrid", rtol=1e-30)
    assert r.stop_reason == "stagnated" and r.message.startswith("stagnated after")
    assert solvers.solve(p, "direct").stop_reason == "converged"


class _Negated:
    """``-A u = -f``: the same solution, a negative definite operator."""

    def __init__(self, p):
        self.p, self.shape, self.f = p, p.shape, -p.f

    def apply(self, u, out=None):
        out = self.p.apply(u, out)
        out *= -1
        return out

    def residual(self, u):
        return self.f - self.apply(u)


def test_cg_on_a_negative_definite_operator_breaks_down():
    p = problems.get("paper1d", n=31)
    settings = make_settings(p, rtol=1e-10)
    drv = krylov.driver(p, settings, "pcg", record_every=0)
    krylov.pcg(_Negated(p), settings, lambda r: r, drv)  # p^T A p < 0 at the first step
    assert drv.reason == "breakdown" and drv.iterations == 0
    assert "not SPD" in drv.message


def test_one_message_per_reason():
    assert stop_message("maxiter", 7, "maxiter = 7") == "maxiter after 7 iterations: maxiter = 7"
    assert set(STOP_REASONS) >= {"converged", "maxiter", "max_seconds", "diverged", "stagnated"}


def test_ctrl_c_stops_with_the_current_iterate(monkeypatch):
    p = problems.get("paper1d", n=63)
    calls = {"n": 0}
    sweep = relaxation._sweep

    def interrupted_sweep(plan, kernel, u, rhs, omega, how, sweeps):
        calls["n"] += 1
        if calls["n"] == 6:  # the warm-up and four chunks of sweeps ran
            raise KeyboardInterrupt
        return sweep(plan, kernel, u, rhs, omega, how, sweeps)

    monkeypatch.setattr(relaxation, "_sweep", interrupted_sweep)
    with pytest.raises(Interrupted) as stop:
        compare(p, ["direct", "jacobi"], rtol=1e-12)
    first, r = stop.value.results
    assert first.stop_reason == "converged"
    assert r.stop_reason == "interrupted" and r.interrupted and not r.converged
    # u is the iterate after the chunks that ran (1 + 1 + 1 + 1 sweeps), not a stale record
    u = np.zeros(p.shape)
    sweep(relaxation._plan(p.operator), "jacobi", u, p.f, 1.0, "forward", r.iterations)
    assert r.iterations == 4
    np.testing.assert_array_equal(r.u, u)


def test_relaxation_keeps_its_residual_check_cadence():
    """Checks after clip(it // 8, 1, m) more sweeps (m = max(64, 2^20 // N)), records apart."""
    p = problems.get("paper1d", n=255)
    maxiter = 5000
    r = solvers.solve(p, "jacobi", rtol=0, maxiter=maxiter, record_every=0)
    m = max(relaxation.MAX_CHECK_INTERVAL, relaxation.CHECK_WORK // p.size)
    it, checks = 0, 1
    while it < maxiter:
        it = min(it + min(max(it // relaxation.CHECK_DIVISOR, 1), m), maxiter)
        checks += 1
    assert r.info["residual_checks"] == checks
    assert r.history.iteration.tolist() == [0, maxiter]


@pytest.mark.parametrize(
    ("falls", "every", "stops_at"),
    [
        (0.5, 1, None),  # 1000x in 10 steps: never slow, converges
        (0.9, 1, 30),  # 0.9^30 = 0.042, not 1000x: slow at the first full window
        (0.9, 7, 35),  # measured every 7 steps: the first measurement 30 or more steps on
    ],
)
def test_a_paced_driver_stops_a_run_that_is_too_slow(falls, every, stops_at):
    from solvers.driver import Driver

    p = problems.get("paper1d", n=15)
    drv = Driver(p, make_settings(p, rtol=1e-12, maxiter=200), method="x", pace=(30, 1e3))
    it = 0
    while not drv.test(it, falls**it if it % every == 0 else None):
        it += 1
    if stops_at is None:
        assert drv.reason == "converged" and not drv.slow
    else:
        assert drv.slow and drv.reason == "callback" and drv.iterations == stops_at
        assert "fell less than 1000x in the last 30 iterations" in drv.message
