"""Relaxation methods against scipy.sparse gold references and relaxation theory."""

import math

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import CLOCK_JUMP
from scipy.sparse.linalg import spsolve_triangular

import hybrid
import problems
import solvers
from problems.spectrum import coefficients
from solvers import relaxation
from solvers.relaxation import METHODS, default_omega, optimal_omega, relax

# -- gold references built from p.matrix() --------------------------------------


def _sor_sweep(A, b, x, omega, forward):
    r"""One SOR sweep by a triangular solve, ``A = D - L - U``:
    ``(D - omega L) x' = omega b + ((1 - omega) D + omega U) x`` (backward: swap L, U)."""
    D = sp.diags(A.diagonal())
    L, U = -sp.tril(A, -1), -sp.triu(A, 1)
    if not forward:
        L, U = U, L
    rhs = omega * b + ((1 - omega) * D + omega * U) @ x
    return spsolve_triangular((D - omega * L).tocsr(), rhs, lower=forward)


def _red_first(shape):
    """Permutation listing the red points (index sum even, 0-based) before the black ones."""
    parity = np.indices(shape).sum(axis=0).ravel() % 2
    return np.concatenate([np.flatnonzero(parity == 0), np.flatnonzero(parity == 1)])


def _chebyshev_gold(A, b, x, degree, lower, upper):
    r"""``x* + p(M)(x - x*)``, ``M = D^{-1} A``,
        ``p(t) = T_k((theta - t)/delta) / T_k(theta/delta)``, by the recurrence
    ``T_{j+1}(y) = 2 y T_j(y) - T_{j-1}(y)`` applied to vectors."""
    xs = sp.linalg.spsolve(A.tocsc(), b)
    theta, delta = (upper + lower) / 2, (upper - lower) / 2
    Dinv = 1.0 / A.diagonal()

    def y(v):  # ((theta I - M) / delta) v
        return (theta * v - Dinv * (A @ v)) / delta

    e = x - xs
    t_prev, t = e, y(e)
    s_prev, s = 1.0, theta / delta  # T_j(theta / delta)
    for _ in range(degree - 1):
        t_prev, t = t, 2 * y(t) - t_prev
        s_prev, s = s, 2 * (theta / delta) * s - s_prev
    return xs + t / s


def gold(A, b, x, kind, omega, sweep, shape, sweeps, bounds=None):
    """``sweeps`` sweeps of a method, from the matrix (``chebyshev``: one polynomial of
    degree ``sweeps`` on ``bounds``)."""
    x = x.copy()
    if kind == "chebyshev":
        return _chebyshev_gold(A, b, x, sweeps, *bounds)
    for _ in range(sweeps):
        if kind == "jacobi":
            x = x + omega * (b - A @ x) / A.diagonal()
        elif kind == "l1-jacobi":
            x = x + (b - A @ x) / abs(A).sum(axis=1).A1
        elif kind == "red-black":
            perm = _red_first(shape)
            orders = {"forward": [perm], "backward": [perm[::-1]]}
            # black first: the black points, then the red (each colour's order is free)
            n_red = (np.indices(shape).sum(axis=0).ravel() % 2 == 0).sum()
            black_first = np.concatenate([perm[n_red:], perm[:n_red]])
            orders = {"forward": [perm], "backward": [black_first]}
            orders["symmetric"] = [perm, black_first]
            for order in orders[sweep]:
                xp = _sor_sweep(A[order][:, order].tocsr(), b[order], x[order], omega, True)
                x = np.empty_like(xp)
                x[order] = xp
        elif sweep == "symmetric":
            x = _sor_sweep(A, b, _sor_sweep(A, b, x, omega, True), omega, False)
        else:
            x = _sor_sweep(A, b, x, omega, sweep == "forward")
    return x


#: (method, options, gold kind, omega or None for the default, sweep)
VARIANTS = [
    ("jacobi", {}, "jacobi", 1.0, "forward"),
    ("weighted-jacobi", {}, "jacobi", None, "forward"),
    ("weighted-jacobi", {"omega": 1.3}, "jacobi", 1.3, "forward"),
    ("gauss-seidel", {}, "gs", 1.0, "forward"),
    ("gauss-seidel", {"sweep": "backward"}, "gs", 1.0, "backward"),
    ("gauss-seidel", {"sweep": "symmetric"}, "gs", 1.0, "symmetric"),
    ("symmetric-gauss-seidel", {}, "gs", 1.0, "symmetric"),
    ("red-black", {}, "red-black", 1.0, "forward"),
    ("red-black", {"omega": 1.4}, "red-black", 1.4, "forward"),
    ("sor", {}, "gs", None, "forward"),
    ("sor", {"omega": 1.5, "sweep": "backward"}, "gs", 1.5, "backward"),
    ("sor", {"omega": 0.7, "sweep": "symmetric"}, "gs", 0.7, "symmetric"),
]
#: The multigrid smoothers: red-black black-first and symmetric, l1-Jacobi, Chebyshev.
SMOOTHER_VARIANTS = [
    ("red-black", {"sweep": "backward"}, "red-black", 1.0, "backward"),
    ("red-black", {"sweep": "symmetric", "omega": 1.2}, "red-black", 1.2, "symmetric"),
    ("l1-jacobi", {}, "l1-jacobi", 1.0, "forward"),
    ("chebyshev", {}, "chebyshev", 1.0, "forward"),
]

#: Constant and variable coefficients, 1D and 2D, square and not, with and without a
#: shift c, with boundary data, and two grids above the parallel threshold (wide
#: enough for the wavefront Gauss-Seidel on two threads).
GOLD_PROBLEMS = [
    ("paper1d", 17, {}),
    ("varcoef1d", 19, {}),
    ("modes2d", (9, 13), {}),
    ("helmholtz2d", 11, {}),
    ("varcoef2d", (8, 11), {}),
    ("randcoef2d", 12, {}),
    ("gaussian2d", (13, 6), {}),
    ("modes2d", (33, 130), {}),
    ("randcoef2d", (41, 131), {"contrast": 50.0}),
]


@pytest.fixture(scope="module")
def gold_problems():
    return {(name, n): problems.get(name, n=n, **params) for name, n, params in GOLD_PROBLEMS}


@pytest.mark.parametrize(("name", "n"), [(name, n) for name, n, _ in GOLD_PROBLEMS])
@pytest.mark.parametrize(
    "variant", VARIANTS + SMOOTHER_VARIANTS, ids=lambda v: f"{v[0]}{v[1] or ''}"
)
def test_every_method_matches_the_gold_iterate_after_1_2_and_7_sweeps(
    gold_problems, name, n, variant, rng
):
    p = gold_problems[name, n]
    method, options, kind, omega, sweep = variant
    omega = default_omega(method, p) if omega is None else omega
    A, b = p.matrix(), p.f.ravel()
    x0 = rng.standard_normal(p.shape)
    bounds = relaxation._plan(p.operator).chebyshev_bounds() if kind == "chebyshev" else None
    for sweeps in (1, 2, 7):
        u = x0.copy()
        assert relax(p, u, method, sweeps, **options) is u
        expect = gold(A, b, x0.ravel(), kind, omega, sweep, p.shape, sweeps, bounds)
        assert np.linalg.norm(u.ravel() - expect) <= 1e-12 * np.linalg.norm(expect), sweeps


@pytest.mark.parametrize(("name", "n"), [("modes2d", (33, 130)), ("randcoef2d", (41, 131))])
def test_wavefront_parallel_gauss_seidel_is_the_lexicographic_sweep(name, n, monkeypatch, rng):
    """The tiled wavefront (used on large grids) on small ones, against the gold."""
    monkeypatch.setattr(relaxation, "WAVEFRONT_MIN_SIZE", 0)
    p = problems.get(name, n=n)  # a new operator, so a new plan
    if numba.get_num_threads() > 1:
        assert relaxation._plan(p.operator).wavefront is not None
    A, b = p.matrix(), p.f.ravel()
    for method, options, kind, omega, sweep in [v for v in VARIANTS if v[2] == "gs"]:
        omega = default_omega(method, p) if omega is None else omega
        x0 = rng.standard_normal(p.shape)
        for sweeps in (1, 2, 7):
            u = relax(p, x0.copy(), method, sweeps, **options)
            expect = gold(A, b, x0.ravel(), kind, omega, sweep, p.shape, sweeps)
            assert np.linalg.norm(u.ravel() - expect) <= 1e-12 * np.linalg.norm(expect)


@pytest.mark.parametrize("shape", [(1,), (2,), (4,), (5,), (1, 1), (1, 6), (6, 1), (2, 3), (7, 7)])
@pytest.mark.parametrize("variant", VARIANTS[::2] + VARIANTS[7:8], ids=lambda v: v[0])
def test_operators_of_any_shape_with_their_own_rhs_match_the_gold(shape, variant, rng):
    """Coarse-grid operators as a multilevel hybrid builds them: random faces, c and rhs."""
    method, options, kind, omega, sweep = variant
    if len(shape) == 1:
        faces = (rng.uniform(0.5, 2.0, shape[0] + 1),)
        h = (0.1,)
    else:
        faces = (
            rng.uniform(0.5, 2.0, (shape[0] + 1, shape[1])),
            rng.uniform(0.5, 2.0, (shape[0], shape[1] + 1)),
        )
        h = (0.1, 0.07)
    op = problems.Operator(faces, rng.uniform(0, 3, shape), h)
    omega = default_omega(method, op) if omega is None else omega
    rhs, x0 = rng.standard_normal(shape), rng.standard_normal(shape)
    for sweeps in (1, 2, 7):
        u = x0.copy()
        relax(op, u, method, sweeps, rhs=rhs, **options)
        expect = gold(op.matrix(), rhs.ravel(), x0.ravel(), kind, omega, sweep, shape, sweeps)
        assert np.linalg.norm(u.ravel() - expect) <= 1e-12 * np.linalg.norm(expect)


def test_constant_coefficient_operator_without_problem_uses_the_fast_path(rng):
    """An Operator with constant faces takes the constant-coefficient kernels; same iterate."""
    p = problems.get("helmholtz2d", n=(9, 12), c=3.0)
    op = problems.Operator(p.operator.faces, p.operator.c, p.operator.h)
    assert not relaxation._plan(op).variable
    assert relaxation._plan(problems.get("varcoef2d", n=9).operator).variable
    x0 = rng.standard_normal(p.shape)
    u, v = x0.copy(), x0.copy()
    relax(p, u, "sor", 3)
    relax(op, v, "sor", 3, rhs=p.f)
    np.testing.assert_array_equal(u, v)


def test_relax_does_exactly_the_sweeps_asked_and_smooths_residual_equations(rng):
    p = problems.get("varcoef2d", n=(12, 9))
    x0 = rng.standard_normal(p.shape)
    once = x0.copy()
    for _ in range(5):
        relax(p, once, "red-black", 1)
    five = relax(p, x0.copy(), "red-black", 5)
    np.testing.assert_array_equal(once, five)
    untouched = x0.copy()
    relax(p, untouched, "gauss-seidel", 0)
    np.testing.assert_array_equal(untouched, x0)
    # Smoothing A e = r from e = 0 and adding e is the same as smoothing u itself.
    r = p.residual(x0)
    e = relax(p.operator, np.zeros(p.shape), "symmetric-gauss-seidel", 2, rhs=r)
    u = relax(p, x0.copy(), "symmetric-gauss-seidel", 2)
    np.testing.assert_allclose(x0 + e, u, rtol=0, atol=1e-12 * np.abs(u).max())


def test_fast_residual_matches_the_operator(rng):
    for p in (problems.get("randcoef2d", n=(70, 66)), problems.get("varcoef1d", n=33)):
        u = rng.standard_normal(p.shape)
        np.testing.assert_allclose(
            relaxation.residual(p, u),
            p.residual(u),
            rtol=0,
            atol=1e-12 * np.abs(p.residual(u)).max(),
        )
        assert math.isclose(
            relaxation.residual_norm(p, u), np.linalg.norm(p.residual(u)), rel_tol=1e-12
        )
        rhs = rng.standard_normal(p.shape)
        out = np.empty(p.shape)
        got = relaxation.residual(p.operator, u, rhs=rhs, out=out)
        assert got is out
        np.testing.assert_allclose(got, rhs - p.apply(u), rtol=0, atol=1e-12 * np.abs(got).max())


# -- frequency behaviour ------------------------------------------------------------


def test_jacobi_kills_the_high_tracked_mode_of_paper1d_faster_than_the_lowest():
    p = problems.get("paper1d", n=1023)
    r = solvers.solve(p, "jacobi", rtol=0, maxiter=3000, record_every=500)
    h = r.history
    k = h.modes
    assert k[0] <= 2 and k[-1] >= 14  # the sin x and sin 24x peaks
    np.testing.assert_array_equal(h.iteration, np.arange(0, 3001, 500))
    drop = h.modal_error[-1] / h.modal_error[0]
    # Theory for constant coefficients: mode k falls by cos(pi k / (n + 1)) per sweep.
    theory = np.cos(np.pi * k / (p.shape[0] + 1)) ** 3000
    np.testing.assert_allclose(drop, theory, rtol=1e-6, atol=0)
    assert drop[-1] < 0.2 < 0.9 < drop[0]
    # and the high band is gone long before the low one
    assert h.band_error["high"][-1] < 1e-6 * h.band_error["low"][-1]


@pytest.mark.parametrize(
    ("name", "n"), [("paper1d", 63), ("modes2d", 31), ("modes2d", (20, 31)), ("helmholtz2d", 15)]
)
@pytest.mark.parametrize("omega", [None, 0.5, 1.0])
def test_weighted_jacobi_damps_each_sine_mode_by_the_theoretical_factor(name, n, omega):
    r"""Error ``v_k`` (a sine mode) becomes ``(1 - omega lambda_k / d) v_k`` in one sweep."""
    p = problems.get(name, n=n)
    op = p.operator
    omega_ = default_omega("weighted-jacobi", p) if omega is None else omega
    options = {} if omega is None else {"omega": omega}
    lam = problems.constant_eigenvalues(p.shape, p.grid.h, 1.0, float(np.mean(op.c)))
    d = op.diagonal().flat[0]
    zero = np.zeros(p.shape)
    sizes = p.shape
    picks = [(1,) * p.dim, tuple(s // 2 for s in sizes), sizes, tuple(min(3, s) for s in sizes)]
    for k in picks:
        mode = np.zeros(p.shape)
        mode[tuple(kk - 1 for kk in k)] = 1.0
        v = problems.spectrum.inverse(p, mode)  # the orthonormal sine mode k
        u = v.copy()
        relax(op, u, "weighted-jacobi", 1, rhs=zero, **options)
        factor = coefficients(p, u)[tuple(kk - 1 for kk in k)]
        theory = 1 - omega_ * lam[tuple(kk - 1 for kk in k)] / d
        assert abs(factor - theory) <= 1e-8, (k, factor, theory)
        assert np.linalg.norm(u - factor * v) <= 1e-8  # still a pure mode


@pytest.mark.parametrize("method", ["gauss-seidel", "red-black", "weighted-jacobi"])
def test_smoothers_damp_high_frequencies_much_faster_than_low_ones(method, rng):
    """A random error, 4 sweeps of ``A e = 0``: the high band shrinks far more than the low."""
    p = problems.get("modes2d", n=63)
    masks = problems.spectrum.band_masks(p)
    e = rng.standard_normal(p.shape)
    before = coefficients(p, e)
    relax(p.operator, e, method, 4, rhs=np.zeros(p.shape))
    after = coefficients(p, e)
    drop = {b: np.linalg.norm(after[m]) / np.linalg.norm(before[m]) for b, m in masks.items()}
    assert drop["high"] < 0.05 and drop["high"] < 0.1 * drop["low"], drop


# -- convergence and stopping ------------------------------------------------------------

SMALL = [
    ("paper1d", 31),
    ("varcoef1d", 31),
    ("modes2d", 15),
    ("helmholtz2d", 15),
    ("varcoef2d", (11, 15)),
    ("randcoef2d", 15),
]


@pytest.mark.parametrize(("name", "n"), SMALL)
@pytest.mark.parametrize("method", METHODS)
def test_every_method_converges_to_rtol_on_small_problems(name, n, method):
    p = problems.get(name, n=n)
    r = solvers.solve(p, method, rtol=1e-8, maxiter=100_000)
    assert r.converged, r.message
    assert r.stop_reason == "converged" and r.message.startswith("converged after")
    assert r.relative_residual <= 1e-8
    assert r.history.relative_residual[-1] == pytest.approx(r.relative_residual, rel=1e-9)
    assert r.info["sweeps"] == r.iterations


def test_stopping_is_late_by_at_most_one_check_interval():
    p = problems.get("modes2d", n=31)
    r = solvers.solve(p, "gauss-seidel", rtol=1e-6, maxiter=100_000)
    u, first = np.zeros(p.shape), None
    for k in range(1, r.iterations + 1):
        relax(p, u, "gauss-seidel", 1)
        if p.relative_residual(u) <= 1e-6:
            first = k
            break
    assert first is not None
    assert first <= r.iterations <= first + max(first // relaxation.CHECK_DIVISOR, 1)


@pytest.mark.parametrize("dim", [1, 2])
def test_sor_with_the_optimal_omega_needs_order_n_sweeps(dim):
    its = {}
    for n in (31, 63, 127):
        p = problems.get("paper1d" if dim == 1 else "modes2d", n=n)
        its[n] = solvers.solve(p, "sor", rtol=1e-8, maxiter=10 * n, record_every=0).iterations
    gs = solvers.solve(
        problems.get("paper1d" if dim == 1 else "modes2d", n=63), "gauss-seidel", maxiter=100_000
    )
    for n, k in its.items():
        assert k <= 4 * n, its
    assert its[127] <= 2.6 * its[63] and its[63] <= 2.6 * its[31], its  # linear, not quadratic
    assert gs.iterations > 10 * its[63]


def test_optimal_omega_matches_the_model_problem():
    p = problems.get("modes2d", n=(31, 31))
    assert optimal_omega(p) == pytest.approx(2 / (1 + math.sin(math.pi / 32)), rel=1e-14)
    assert default_omega("weighted-jacobi", p) == 0.8
    assert default_omega("weighted-jacobi", problems.get("paper1d", n=15)) == pytest.approx(2 / 3)


def test_maxiter_runs_exactly_and_max_seconds_stops():
    p = problems.get("paper1d", n=255)
    r = solvers.solve(p, "jacobi", rtol=0, maxiter=777)
    assert r.iterations == 777 and not r.converged
    assert "maxiter" in r.message
    assert r.history.iteration[-1] == 777
    r = solvers.solve(p, "jacobi", rtol=1e-14, max_seconds=0.05)
    assert not r.converged and "max_seconds" in r.message
    assert r.iterations > 0


def test_divergence_stops_with_a_message():
    p = problems.get("modes2d", n=31)
    r = solvers.solve(p, "weighted-jacobi", omega=1.9, maxiter=10_000)
    assert not r.converged
    assert r.message.startswith("diverged") and "omega=1.9" in r.message
    assert r.iterations < 200
    assert r.history.relative_residual[-1] > 1e6 * r.history.relative_residual[0]


def test_history_is_recorded_at_the_cadence_and_written():
    p = problems.get("varcoef2d", n=15)
    r = hybrid.solve(p, "red-black", rtol=1e-10, maxiter=100_000, record_every=7)
    it = r.history.iteration
    assert it[0] == 0 and it[-1] == r.iterations
    assert np.all(it[1:-1] % 7 == 0) and np.all(np.diff(it) > 0)
    assert np.all(np.diff(r.history.seconds) >= 0)
    assert r.history.modal_error.shape == (len(it), len(r.history.modes))
    assert set(r.history.phase) == {"red-black"}
    # errors fall (relative error vs p.reference(), the algebraic error)
    assert r.history.relative_error[-1] < 1e-8 < r.history.relative_error[0]
    default = solvers.solve(p, "red-black", rtol=1e-10, maxiter=100_000)
    assert 2 <= len(default.history) and default.history.iteration[-1] == default.iterations
    assert r.options == {"omega": 1.0, "sweep": "forward"}


def test_result_file_of_a_relaxation_run(tmp_path):
    import json

    p = problems.get("paper1d", n=31)
    r = solvers.solve(p, "sor", rtol=1e-6, maxiter=100_000, sweep="symmetric")
    data = json.loads(r.to_json(tmp_path / "result.json").read_text())
    assert data["method"] == {
        "name": "sor",
        "options": {"omega": optimal_omega(p), "sweep": "symmetric"},
    }
    assert data["converged"] and data["iterations"] == r.iterations


def test_methods_are_registered_for_both_solve_entries():
    for method in METHODS:
        assert method in solvers.methods() and method in hybrid.methods()
    assert solvers.relax is relax


# -- validation ---------------------------------------------------------------------


@pytest.mark.parametrize("omega", [0, 2, -0.5, 2.5, float("nan"), float("inf"), "fast", True])
@pytest.mark.parametrize("method", ["weighted-jacobi", "red-black", "sor"])
def test_bad_omega_is_refused(method, omega):
    p = problems.get("paper1d", n=15)
    with pytest.raises(ValueError, match="omega must be"):
        solvers.solve(p, method, omega=omega)
    with pytest.raises(ValueError, match="omega must be"):
        relax(p, np.zeros(p.shape), method, 1, omega=omega)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x0": np.zeros(14)}, "x0 must have the problem's shape"),
        ({"x0": np.full(15, np.inf)}, "x0 must be finite"),
        ({"sweep": "sideways"}, "sweep must be one of forward, backward, symmetric"),
        ({"omega": 0.5}, "unknown option 'omega' for method 'gauss-seidel'"),
    ],
)
def test_bad_solve_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        solvers.solve(problems.get("paper1d", n=15), "gauss-seidel", **kwargs)


def test_bad_relax_arguments_are_refused():
    p = problems.get("modes2d", n=(6, 8))
    good = np.zeros(p.shape)
    bad_u = [
        np.zeros((8, 6)),
        np.zeros(p.shape, dtype=np.float32),
        np.zeros((6, 16))[:, ::2],
        np.asfortranarray(np.zeros(p.shape)),
        [[0.0] * 8] * 6,
    ]
    for u in bad_u:
        with pytest.raises(ValueError, match="u must be a writeable C-contiguous float64"):
            relax(p, u, "jacobi", 1)
    readonly = np.zeros(p.shape)
    readonly.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        relax(p, readonly, "jacobi", 1)
    with pytest.raises(ValueError, match="unknown relaxation method 'multigrid'"):
        relax(p, good, "multigrid", 1)
    with pytest.raises(ValueError, match="sweeps must be an integer >= 0"):
        relax(p, good, "jacobi", -1)
    with pytest.raises(ValueError, match="sweeps must be an integer >= 0"):
        relax(p, good, "jacobi", 1.5)
    with pytest.raises(ValueError, match="needs rhs="):
        relax(p.operator, good, "jacobi", 1)
    with pytest.raises(ValueError, match="rhs must have the operator's shape"):
        relax(p.operator, good, "jacobi", 1, rhs=np.zeros(3))
    with pytest.raises(ValueError, match=r"expected a problems\.Problem or problems\.Operator"):
        relax("modes2d", good, "jacobi", 1)
    with pytest.raises(ValueError, match="unknown option 'sweep' for method 'chebyshev'"):
        relax(p, good, "chebyshev", 1, sweep="backward")


@pytest.mark.parametrize("method", ["jacobi", "red-black"])
def test_compiling_the_kernels_is_off_the_clock(monkeypatch, method, slow_first_call):
    # a fresh process compiles (or loads) the kernels on the first sweep: ~1 s
    # that is not the method's cost, so the solve warms them up before timing
    slow, calls = slow_first_call(relaxation._sweep)
    monkeypatch.setattr(relaxation, "_sweep", slow)
    r = solvers.solve(problems.get("modes2d", n=31), method, rtol=0, maxiter=20)
    assert len(calls) >= 2 and r.iterations == 20
    assert r.seconds < CLOCK_JUMP, r.seconds


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("variable", [False, True])
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (5, 4), (17, 9), (40, 33)])
def test_one_pass_chebyshev_of_degree_2_is_its_two_steps_bit_for_bit(shape, variable, dtype, rng):
    """The fused kernel on 1-4 blocks of rows (the halo rows between blocks) against
    two calls of the one-step kernel: the same operations, so the same numbers; from
    zero it never reads u (NaN there would show)."""
    from solvers import _relaxation_kernels as k

    nx, ny = shape
    u0, f = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    if variable:
        ax = rng.uniform(1, 3, (nx + 1, ny)).astype(dtype)
        ay = rng.uniform(1, 3, (nx, ny + 1)).astype(dtype)
        dinv = (1 / rng.uniform(4, 12, shape)).astype(dtype)
    else:
        ax, ay, dinv = (np.full((1, 1), v, dtype) for v in (1.0, 1.0, 0.125))
    a0, c1, c2 = 0.8, 0.22, 0.97
    expect, other = u0.copy(), np.zeros_like(u0)
    work = np.zeros((2, ny), dtype)
    k.chebyshev_2d(
        other, expect, f, ax, ay, dinv, dinv, 2.0, 3.0, 0.0, a0, (variable, False, True), work
    )
    k.chebyshev_2d(
        expect, other, f, ax, ay, dinv, dinv, 2.0, 3.0, c1, c2, (variable, False, False), work
    )
    # from zero: the same two steps on u = 0, and the zero flag on garbage in u
    from_zero, other = np.zeros_like(u0), np.zeros_like(u0)
    k.chebyshev_2d(
        other, from_zero, f, ax, ay, dinv, dinv, 2.0, 3.0, 0.0, a0, (variable, False, True), work
    )
    k.chebyshev_2d(
        from_zero, other, f, ax, ay, dinv, dinv, 2.0, 3.0, c1, c2, (variable, False, False), work
    )
    for nb in range(1, min(nx, 4) + 1):
        for kernel in (k.chebyshev2_2d, k.chebyshev2_2d_parallel):
            for zero, start, want in (
                (False, u0, expect),
                (True, np.full_like(u0, np.nan), from_zero),
            ):
                u = start.copy()
                scratch = np.zeros((nb, 8, ny), dtype)
                zeros = np.zeros(ny, dtype)
                kernel(u, f, ax, ay, dinv, 2.0, 3.0, a0, c1, c2, variable, scratch, zeros, zero)
                np.testing.assert_array_equal(u, want, err_msg=f"{nb} blocks, zero={zero}")
