"""The paper's DNN-then-relaxation hybrids and their automatic switch."""

import math

import numpy as np
import pytest

import hybrid
import problems
from hybrid.dnn_relax import LowBandMonitor
from problems import spectrum

SMALL_DNN = {"widths": (16, 16)}


@pytest.mark.parametrize(("name", "n"), [("paper1d", 63), ("modes2d", 15)])
@pytest.mark.parametrize("method", ["dnn-jacobi", "dnn-gauss-seidel"])
def test_fixed_switch_converges_and_joins_both_phases(name, n, method):
    p = problems.get(name, n=n)
    r = hybrid.solve(p, method, rtol=1e-10, maxiter=100_000, switch_after=30, dnn_options=SMALL_DNN)
    assert r.converged, r.message
    ref = p.reference()
    assert np.linalg.norm(r.u - ref) <= 1e-8 * np.linalg.norm(ref)
    assert r.info["dnn_steps"] == 30
    assert r.iterations == 30 + r.info["sweeps"]
    h = r.history
    assert h.phase[0] == "dnn" and h.phase[-1] != "dnn"
    first_relax = h.phase.index(h.phase[-1])
    assert all(ph == "dnn" for ph in h.phase[:first_relax])
    # One time axis; the hand-over state is recorded by both phases at the switch step.
    assert np.all(np.diff(h.iteration[:first_relax]) > 0)
    assert np.all(np.diff(h.iteration[first_relax:]) > 0)
    assert h.iteration[first_relax] == h.iteration[first_relax - 1] == 30
    assert np.all(np.diff(h.seconds) >= 0)
    (switch,) = [e for e in h.events if e["label"] == "switch"]
    assert switch["iteration"] == 30
    assert h.seconds[first_relax - 1] <= switch["seconds"] <= h.seconds[first_relax]


def test_switch_after_zero_is_plain_relaxation():
    p = problems.get("paper1d", n=31)
    # record_every fixed: at the default cadence records wait while they would cost more
    # than 10% of the solver's time, and they cut the sweeps into chunks, so the stopping
    # sweep would depend on the machine's load
    common = {"rtol": 1e-10, "maxiter": 100_000, "record_every": 50}
    r = hybrid.solve(p, "dnn-gauss-seidel", switch_after=0, **common)
    plain = hybrid.solve(p, "gauss-seidel", **common)
    assert r.info["dnn_steps"] == 0 and r.iterations == plain.iterations
    assert np.allclose(r.u, plain.u, rtol=0, atol=1e-14)


def test_auto_switch_converges_and_reports_where_it_switched():
    p = problems.get("paper1d", n=127)
    r = hybrid.solve(p, "dnn-gauss-seidel", rtol=1e-10, maxiter=100_000, dnn_options=SMALL_DNN)
    assert r.converged
    assert r.info["switch_step"] == r.info["dnn_steps"] >= 1
    assert 0 <= r.info["handed_over_step"] <= r.info["switch_step"]


@pytest.mark.parametrize("name", ["paper1d", "modes2d"])
def test_low_band_estimate_is_exact_for_constant_coefficients(name, rng):
    p = problems.get(name, n=31)
    monitor = LowBandMonitor(p, "jacobi")
    u = p.reference() + 0.1 * rng.standard_normal(p.shape)
    assert monitor.low_band_error(u) == pytest.approx(spectrum.band_errors(p, u)["low"], rel=1e-10)


@pytest.mark.parametrize(("name", "n"), [("paper1d", 63), ("modes2d", (31, 15))])
def test_relaxation_rate_is_that_of_the_slowest_mode(name, n, monkeypatch):
    """Nepers per second = -log(rho_1) x sweeps per second, with rho_1 = cos(pi / (n + 1))
    for Jacobi (in 2D its h-weighted mean over the axes) and its square for
    Gauss-Seidel: twice Jacobi's rate at the same sweep rate (stubbed here; the
    measured sweep rate is a benchmark's business)."""
    monkeypatch.setattr(LowBandMonitor, "_sweeps_per_second", lambda self, relaxation: 1000.0)
    p = problems.get(name, n=n)
    jac = LowBandMonitor(p, "jacobi")
    gs = LowBandMonitor(p, "gauss-seidel")
    w = [1 / h**2 for h in p.grid.h]
    rho = sum(wd * math.cos(math.pi / (nd + 1)) for wd, nd in zip(w, p.shape)) / sum(w)
    assert jac.relax_rate == pytest.approx(-math.log(rho) * 1000.0, rel=1e-9)
    assert gs.relax_rate == pytest.approx(2 * jac.relax_rate, rel=1e-12)


def test_monitor_switches_when_dnn_progress_falls_below_relaxation(monkeypatch):
    p = problems.get("paper1d", n=31)
    monitor = LowBandMonitor(p, "jacobi", window=1.0, min_steps=0)
    monitor.relax_rate = 0.5  # nepers per second
    # The DNN's low-band error falls by e per second for 3 s, then stalls.
    errors = {t: math.exp(-min(t, 3)) for t in range(8)}
    monkeypatch.setattr(monitor, "low_band_error", lambda u, t=iter(errors.values()): next(t))
    stops = [monitor(step, np.zeros(p.shape), float(step)) for step in range(8)]
    assert stops.index(True) == 4  # rate over [3, 4] is 0 < 0.5; over [2, 3] it was 1
    assert monitor.switch_step == 4 and monitor.best_step == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"switch": "never"}, "switch must be one of auto, fixed"),
        ({"switch_after": -1}, "switch_after must be None or an integer >= 0, got -1"),
        ({"switch": "fixed"}, "switch='fixed' needs switch_after"),
        ({"dnn_options": {"loss": "nope"}, "switch_after": 1}, "loss"),
    ],
)
def test_bad_switch_options_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        hybrid.solve(problems.get("paper1d", n=15), "dnn-jacobi", **options)


def test_x0_is_refused_for_the_dnn_phase_but_used_without_it():
    p = problems.get("paper1d", n=15)
    with pytest.raises(ValueError, match="give switch_after=0 to relax from x0"):
        hybrid.solve(p, "dnn-jacobi", x0=np.ones(p.shape), switch_after=5)
    r = hybrid.solve(p, "dnn-jacobi", x0=p.reference(), switch_after=0, rtol=1e-10, maxiter=100_000)
    assert r.converged and r.info["sweeps"] <= 1


def test_monitor_hands_over_once_it_trained_as_long_as_relaxation_needs():
    p = problems.get("paper1d", n=31)
    monitor = LowBandMonitor(p, "jacobi", rtol=1e-8, min_steps=10**9)
    monitor.relax_rate = math.log(1e8)  # nepers per second: from error 1 to 1e-8 in 1 s
    monitor.low_band_error = lambda u: 1.0  # the DNN makes no progress at all
    stops = [monitor(step, np.zeros(p.shape), 0.25 * step) for step in range(8)]
    assert stops.index(True) == 4  # at 1.0 s it has spent what relaxation needs
