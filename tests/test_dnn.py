"""The DNN solver: its pieces against gold references, its options, and the F-Principle."""

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.integrate
import torch  # a hard dependency: its absence must fail, not skip

import hybrid
import problems
import solvers
from solvers._dnn_losses import Ansatz, TorchOperator, make_loss, stack, torch_distance
from solvers._dnn_net import Network
from solvers.dnn import DEFAULT_MAXITER, make_options, train_network

SMALL = {"widths": (16, 16)}


def first_below(series, tol, steps):
    """First recorded step where ``series`` is below ``tol`` (None if never)."""
    hit = np.flatnonzero(np.asarray(series) < tol)
    return int(steps[hit[0]]) if len(hit) else None


class Exact(torch.nn.Module):
    """A 'network' that returns a known function, to check losses against integrals."""

    def __init__(self, fun, width=3):
        super().__init__()
        self.fun = fun
        self.width = width

    def forward(self, x):
        return self.fun(x)

    def hidden(self, x):
        return x.repeat(1, self.width)


# -- gold references -------------------------------------------------------------------------
def test_importing_problems_and_solvers_does_not_import_torch():
    code = (
        "import sys, problems, solvers, solvers.dnn, solvers.fprinciple, hybrid;"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("name", "n"), [("varcoef1d", 17), ("varcoef2d", (9, 7)), ("helmholtz2d", 8)]
)
def test_torch_operator_matches_the_problem_operator(name, n, rng):
    p = problems.get(name, n=n)
    u = rng.standard_normal(p.shape)
    op = TorchOperator(p, torch.float64, torch.device("cpu"))
    got = op.apply(torch.tensor(u)).numpy()
    want = (p.matrix() @ u.ravel()).reshape(p.shape)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("name", ["paper1d", "gaussian2d"])
def test_torch_distance_matches_problem_distance(name, rng):
    p = problems.get(name, n=7)
    lo, hi = np.array(p.grid.lower), np.array(p.grid.upper)
    pts = lo + (hi - lo) * rng.random((50, p.dim))
    got = torch_distance(torch.tensor(pts), p.grid.lower, p.grid.upper).numpy()
    np.testing.assert_allclose(got, p.distance(*pts.T), rtol=1e-14, atol=0)


def _loss(p, fun, loss, bc="hard", sample=None):
    ansatz = Ansatz(p, Exact(fun), bc, torch.float64, torch.device("cpu"))
    main, _ = make_loss(p, ansatz, loss, sample, beta=1.0)
    return float(main().detach())


def test_discrete_losses_are_the_relative_residual_and_the_discrete_energy():
    p = problems.get("varcoef1d", n=31)  # variable a, non-zero boundary data (lift)

    def fun(x):
        return torch.cos(3 * x[:, 0])

    ansatz = Ansatz(p, Exact(fun), "hard", torch.float64, torch.device("cpu"))
    u = ansatz.values(stack(*p.x)).reshape(p.shape)
    assert _loss(p, fun, "discrete") == pytest.approx(p.relative_residual(u) ** 2, rel=1e-12)
    energy = p.h * (0.5 * u @ p.apply(u) - p.f @ u)
    assert _loss(p, fun, "discrete-energy") == pytest.approx(energy, rel=1e-12)


def test_ritz_loss_is_the_trapezoid_rule_of_the_energy_and_second_order():
    """The energy of a known u: equal to a NumPy trapezoid sum; error / 4 per halving of h."""
    p0 = problems.get("varcoef1d", n=3)  # a = 1 + s sin(2 pi x), u(0) = 0, u(1) = 1
    s = 0.5

    def u_exact(x):  # what the ansatz N d + G gives for N = cos 3x, d = 4x(1-x), G = x
        return np.cos(3 * x) * 4 * x * (1 - x) + x

    def du(x):
        return -3 * np.sin(3 * x) * 4 * x * (1 - x) + np.cos(3 * x) * (4 - 8 * x) + 1

    def density(x):
        a = 1 + s * np.sin(2 * np.pi * x)
        return 0.5 * a * du(x) ** 2 - p0.evaluate("source", np.atleast_1d(x)) * u_exact(x)

    exact = scipy.integrate.quad(lambda x: density(x)[0], 0, 1, limit=200, epsabs=1e-13)[0]
    errors = []
    for n in (63, 127, 255):
        got = _loss(problems.get("varcoef1d", n=n), lambda x: torch.cos(3 * x[:, 0]), "ritz")
        xs = np.linspace(0, 1, n + 2)
        assert got == pytest.approx(scipy.integrate.trapezoid(density(xs), xs), rel=1e-10)
        errors.append(abs(got - exact))
    assert errors[0] / errors[1] == pytest.approx(4, rel=0.05)
    assert errors[1] / errors[2] == pytest.approx(4, rel=0.05)


@pytest.mark.parametrize("name", ["varcoef1d", "varcoef2d"])
def test_pinn_loss_vanishes_at_the_exact_solution(name):
    """-div(a grad u) + c u - f = 0 for the manufactured u (grad a by central differences)."""
    p = problems.get(name, n=15)

    def exact(x):  # the catalogue's manufactured solutions, in torch
        pi = math.pi
        if x.shape[1] == 1:
            t = x[:, 0]
            return torch.sin(pi * t) + 0.25 * torch.sin(6 * pi * t) + t
        a, b = x[:, 0], x[:, 1]
        return torch.sin(pi * a) * torch.sin(pi * b) + 0.2 * torch.sin(4 * pi * a) * torch.sin(
            3 * pi * b
        )

    assert _loss(p, exact, "pinn", bc="penalty") < 1e-14
    assert _loss(p, lambda x: 1.1 * exact(x), "pinn", bc="penalty") > 1e-3


def test_hard_boundary_conditions_hold_exactly_and_hidden_features_have_the_width():
    p = problems.get("gaussian2d", n=15)  # non-zero boundary data: Coons lift
    net = train_network(p, rtol=0, maxiter=2, record_every=0, widths=(8, 5))
    xs = np.linspace(0, 1, 9)
    edges = [(xs, 0 * xs), (xs, 0 * xs + 1), (0 * xs, xs), (0 * xs + 1, xs)]
    for x, y in edges:
        np.testing.assert_allclose(
            net.values(x, y), p.evaluate("boundary", x, y), rtol=0, atol=1e-6
        )
    assert net.grid_values().shape == p.shape
    np.testing.assert_array_equal(net.values(stack(*p.x)).reshape(p.shape), net.grid_values())
    assert net.hidden_features(*p.x).shape == (p.size, 5)
    assert net.hidden_features(stack(*p.x)).shape == (p.size, 5)


def test_features_change_the_first_layer_as_documented():
    gen = torch.Generator().manual_seed(0)
    x = torch.linspace(-1, 1, 11, dtype=torch.float64)[:, None]
    plain = Network((-1.0,), (1.0,), (6,), generator=gen, dtype=torch.float64)
    four = Network((-1.0,), (1.0,), (6, 4), features="fourier", generator=gen, dtype=torch.float64)
    assert four.B.shape == (1, 3) and four.linears[0].in_features == 6
    assert four.hidden(x).shape == (11, 4)
    ms = Network(
        (-1.0,),
        (1.0,),
        (6,),
        features="mscale",
        feature_scale=4,
        generator=gen,
        dtype=torch.float64,
    )
    assert ms.scales.tolist() == [1, 2, 4, 1, 2, 4]
    w, b = ms.linears[0].weight, ms.linears[0].bias
    want = torch.tanh((x @ w.T) * ms.scales + b)
    torch.testing.assert_close(ms.hidden(x), want)
    small = Network((-1.0,), (1.0,), (6,), init_scale=0.1, generator=gen, dtype=torch.float64)
    assert small.head.weight.abs().max() <= 0.1 / math.sqrt(6)
    assert plain(x).shape == (11,)


# -- the method and its options --------------------------------------------------------------
def test_dnn_reaches_a_small_error_on_paper1d_and_records_like_relaxation():
    p = problems.get("paper1d", n=255)
    r = hybrid.solve(p, "dnn", rtol=0, maxiter=400, seed=0)
    assert r.iterations == 400 and not r.converged
    assert r.relative_error < 1e-2
    h = r.history
    assert h.iteration[0] == 0 and h.iteration[-1] == 400
    assert np.all(np.diff(h.iteration) > 0) and np.all(np.diff(h.seconds) >= 0)
    np.testing.assert_array_equal(h.modes, problems.spectrum.peaks(p, p.reference()))
    assert h.modal_error.shape == (len(h), len(h.modes))
    assert h.relative_error[-1] == pytest.approx(r.relative_error, rel=1e-9)
    assert r.info["dnn_steps"] == 400 and r.info["seconds_training"] == r.seconds
    assert len(r.info["loss"]) == len(h)
    assert set(h.phase) == {"dnn"}


def test_seed_makes_cpu_runs_repeatable_bit_for_bit():
    p = problems.get("modes1d", n=31)
    a, b, c = (
        solvers.solve(p, "dnn", rtol=0, maxiter=20, seed=s, device="cpu", **SMALL)
        for s in (3, 3, 4)
    )
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.history.relative_error, b.history.relative_error)
    assert not np.array_equal(a.u, c.u)


def test_callback_sees_grid_values_and_can_stop_training():
    p = problems.get("paper1d", n=63)
    seen = []

    def stop_at_ten(step, u, seconds):
        seen.append((step, u.shape, seconds))
        return step >= 10

    r = solvers.solve(p, "dnn", rtol=0, maxiter=100, callback=stop_at_ten, **SMALL)
    assert r.iterations == seen[-1][0] >= 10 and r.iterations < 100
    assert not r.converged and "callback" in r.message and r.info["stopped_by"] == "callback"
    assert all(shape == p.shape for _, shape, _ in seen)
    assert all(t >= 0 for *_, t in seen)
    assert [s for s, *_ in seen] == r.history.iteration.tolist()


def test_rtol_stops_on_the_relative_residual_even_without_records():
    p = problems.get("paper1d", n=63)
    for record_every in (None, 0):
        r = solvers.solve(p, "dnn", rtol=0.5, maxiter=2000, record_every=record_every)
        assert r.converged and r.info["stopped_by"] == "rtol"
        assert r.relative_residual <= 0.5 and r.iterations < 2000


def test_budgets_maxiter_default_and_max_seconds():
    p = problems.get("paper1d", n=31)
    r = solvers.solve(p, "dnn", rtol=0, max_seconds=0.3, record_every=1, **SMALL)
    assert r.info["stopped_by"] in ("max_seconds", "maxiter")
    if r.info["stopped_by"] == "maxiter":  # a very fast machine
        assert r.iterations == DEFAULT_MAXITER
    else:  # it stopped at the first step past the budget (whatever the load)
        assert r.seconds >= 0.3 and r.iterations == r.history.iteration[-1]
        assert np.all(r.history.seconds[:-1] < 0.3), r.history.seconds[-3:]


def test_non_finite_loss_stops_and_keeps_the_last_good_weights():
    p = problems.get("paper1d", n=31)
    r = solvers.solve(
        p, "dnn", rtol=0, maxiter=200, lr=1e30, activation="relu", schedule="constant"
    )
    assert r.info["stopped_by"] == "failure" and not r.converged
    assert "non-finite" in r.message and "step" in r.message
    assert np.all(np.isfinite(r.u))
    assert np.all(np.isfinite(r.history.relative_error))


def test_checkpoint_resume_continues_the_history_bit_for_bit(tmp_path):
    p = problems.get("paper1d", n=31)
    opts = dict(SMALL, schedule="constant", record_every=5)
    path = tmp_path / "net.pt"
    straight = solvers.solve(p, "dnn", rtol=0, maxiter=40, **opts)
    first = solvers.solve(p, "dnn", rtol=0, maxiter=20, checkpoint=path, **opts)
    assert path.exists() and first.iterations == 20
    resumed = solvers.solve(p, "dnn", rtol=0, maxiter=40, checkpoint=str(path), **opts)
    assert resumed.info["resumed_from"] == 20 and resumed.iterations == 40
    np.testing.assert_array_equal(resumed.u, straight.u)
    np.testing.assert_array_equal(resumed.history.iteration, straight.history.iteration)
    np.testing.assert_array_equal(resumed.history.relative_error, straight.history.relative_error)
    assert np.all(np.diff(resumed.history.seconds) >= 0)
    assert resumed.info["loss_iteration"] == resumed.history.iteration.tolist()
    np.testing.assert_array_equal(resumed.info["loss"], straight.info["loss"])
    with pytest.raises(ValueError, match="widths: checkpoint"):
        solvers.solve(p, "dnn", rtol=0, maxiter=40, checkpoint=path, widths=(8,))


def test_ctrl_c_saves_the_checkpoint_and_propagates(tmp_path):
    p = problems.get("paper1d", n=31)
    path = tmp_path / "net.pt"

    def interrupt(step, u, seconds):
        if step >= 7:
            raise KeyboardInterrupt

    stopped = solvers.solve(
        p, "dnn", rtol=0, maxiter=50, checkpoint=path, callback=interrupt, **SMALL
    )
    assert stopped.stop_reason == "interrupted" and stopped.interrupted
    assert 7 <= stopped.iterations < 50
    r = solvers.solve(p, "dnn", rtol=0, maxiter=12, checkpoint=path, **SMALL)
    assert r.info["resumed_from"] >= 7 and r.iterations == 12


def test_adam_then_lbfgs_marks_the_switch_and_lowers_the_loss():
    p = problems.get("paper1d", n=63)
    r = solvers.solve(
        p, "dnn", rtol=0, maxiter=80, optimizer="adam+lbfgs", adam_steps=40, dtype="float64"
    )
    assert r.iterations == 80
    assert [e["label"] for e in r.history.events] == ["lbfgs"]
    assert r.history.events[0]["iteration"] == 40
    at = dict(zip(r.info["loss_iteration"], r.info["loss"], strict=True))
    assert at[80] < at[40]
    assert r.info["dtype"] == "float64"


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("paper1d", {"loss": "ritz", "bc": "penalty", "sample": 40}),
        ("varcoef1d", {"loss": "pinn", "features": "mscale", "activation": "gelu"}),
        ("gaussian2d", {"loss": "ritz", "sample": 9}),
        ("varcoef2d", {"loss": "pinn", "features": "fourier", "activation": "sin"}),
        ("helmholtz2d", {"loss": "discrete-energy", "optimizer": "lbfgs"}),
    ],
)
def test_every_loss_runs_on_1d_and_2d_problems_and_lowers_its_loss(name, options):
    p = problems.get(name, n=15 if problems.entry(name).dim == 2 else 31)
    r = solvers.solve(p, "dnn", rtol=0, maxiter=60, widths=(16, 16), **options)
    assert r.iterations == 60 and np.all(np.isfinite(r.u))
    loss = dict(zip(r.info["loss_iteration"], r.info["loss"], strict=True))
    assert loss[60] < loss[1]  # the loss of step 1 is the loss of the initial network
    if "sample" in options:
        m = options["sample"]
        assert r.info["collocation_points"] == (m + 2) ** p.dim


def test_progress_bar_and_dtype(capsys):
    p = problems.get("paper1d", n=31)
    r = solvers.solve(p, "dnn", rtol=0, maxiter=5, progress=True, dtype="float64", **SMALL)
    assert r.iterations == 5 and r.info["dtype"] == "float64"
    assert "dnn paper1d" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"loss": "l2"}, "loss must be one of discrete, discrete-energy"),
        ({"bc": "soft"}, "bc must be one of hard, penalty"),
        ({"beta": 0}, "beta must be a finite number > 0"),
        ({"widths": ()}, "widths must be a sequence of integers >= 1"),
        ({"widths": (8, 0)}, "widths must be a sequence of integers >= 1"),
        ({"widths": "wide"}, "widths must be a sequence of integers >= 1"),
        ({"activation": "swish"}, "activation must be one of tanh, relu"),
        ({"init_scale": -1}, "init_scale must be a finite number > 0"),
        ({"features": "wavelet"}, "features must be one of None"),
        ({"feature_scale": float("inf")}, "feature_scale must be a finite number > 0"),
        ({"optimizer": "sgd"}, "optimizer must be one of adam, lbfgs"),
        ({"lr": "fast"}, "lr must be a finite number > 0"),
        ({"schedule": "step"}, "schedule must be one of cosine, exponential"),
        ({"adam_steps": -1}, "adam_steps must be None or an integer >= 0"),
        ({"dtype": "float16"}, "dtype must be one of float32, float64"),
        ({"sample": 2}, "sample must be None or an integer >= 3 per axis"),
        ({"sample": (9, 9)}, "sample needs 1 size"),
        ({"callback": 3}, "callback must be None or callable"),
        ({"threads": 0}, "threads must be None or an integer >= 1"),
        ({"checkpoint": "/nonexistent/dir/x.pt"}, "does not exist"),
        ({"bogus": 1}, "unknown option 'bogus' for method 'dnn'"),
    ],
)
def test_bad_options_raise_value_errors_that_name_them(options, message):
    p = problems.get("paper1d", n=15)
    with pytest.raises(ValueError, match=message):
        solvers.solve(p, "dnn", maxiter=1, **options)


def test_x0_and_missing_cuda_are_refused_clearly():
    p = problems.get("paper1d", n=15)
    with pytest.raises(ValueError, match="x0 is not supported"):
        solvers.solve(p, "dnn", x0=np.zeros(p.shape), maxiter=1)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            solvers.solve(p, "dnn", device="cuda", maxiter=1)
    assert make_options(p).loss == "discrete"


# -- the F-Principle ---------------------------------------------------------------------------
def test_fprinciple_on_paper1d_lowest_peak_converges_while_highest_is_far_off():
    """Default (discrete) loss: the lowest peak's error < 0.1 while the highest's > 0.5."""
    p = problems.get("paper1d", n=255)  # n = 255 keeps it fast; same peaks as n = 1023
    r = solvers.solve(p, "dnn", rtol=0, maxiter=300, seed=0)
    h = r.history
    low, high = h.modal_error[:, 0], h.modal_error[:, -1]
    at = np.flatnonzero(low < 0.1)
    assert len(at), "the lowest peak never converged"
    assert high[at[0]] > 0.5, (h.iteration[at[0]], high[at[0]])
    assert first_below(high, 0.1, h.iteration) is not None  # and then it converges too


def test_the_loss_sets_how_long_the_high_peaks_lag():
    """All losses fit the lowest peak first; the lag before the highest peak converges grows
    as the loss weighs high modes less: residual (~k^4) << energy (~k^2)."""
    p = problems.get("paper1d", n=255)
    lags = {}
    for loss in ("discrete", "discrete-energy"):
        h = solvers.solve(p, "dnn", rtol=0, maxiter=300, seed=0, loss=loss).history
        low = first_below(h.modal_error[:, 0], 0.1, h.iteration)
        high = first_below(h.modal_error[:, -1], 0.1, h.iteration)
        assert low is not None
        lags[loss] = (high if high is not None else math.inf) - low
    assert lags["discrete"] < 200
    assert lags["discrete-energy"] > 2 * lags["discrete"], lags


def test_fourier_features_remove_the_ordering():
    """With random Fourier features (sigma 2) the highest peak converges far sooner than with
    the plain net: the input layer, not only the loss, sets the F-Principle's strength."""
    p = problems.get("paper1d", n=255)
    high = {}
    for features in (None, "fourier"):
        h = solvers.solve(p, "dnn", rtol=0, maxiter=200, seed=0, features=features).history
        step = first_below(h.modal_error[:, -1], 0.1, h.iteration)
        high[features] = math.inf if step is None else step
    assert high["fourier"] * 3 < high[None], high


def test_ritz_and_discrete_energy_train_alike():
    """Two discretisations of one energy (autograd + trapezoid vs the grid operator)."""
    p = problems.get("paper1d", n=127)
    err = {
        loss: solvers.solve(
            p, "dnn", rtol=0, maxiter=100, record_every=100, loss=loss
        ).history.relative_error[-1]
        for loss in ("ritz", "discrete-energy")
    }
    assert err["ritz"] == pytest.approx(err["discrete-energy"], rel=0.1), err


def test_fprinciple_in_2d_over_radial_bands_and_modes():
    """modes2d with one low and one high mode: the low band and mode converge, the high don't."""
    p = problems.get("modes2d", n=31, modes="1:1,15:15", amps="1,1")
    r = solvers.solve(p, "dnn", rtol=0, maxiter=150, seed=0)
    h = r.history
    assert h.modes.tolist() == [[1, 1], [15, 15]]
    low_band, high_band = h.band_error["low"], h.band_error["high"]
    at = np.flatnonzero(low_band < 0.1)
    assert len(at) and high_band[at[0]] > 0.5
    at = np.flatnonzero(h.modal_error[:, 0] < 0.1)
    assert len(at) and h.modal_error[at[0], 1] > 0.5
