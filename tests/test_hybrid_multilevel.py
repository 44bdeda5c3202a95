"""The neural multilevel hybrids: transfers, the cycle, convergence, reuse."""

import time

import numpy as np
import pytest
from conftest import CLOCK_JUMP

import hybrid
import problems
from hybrid import HybridSolver
from problems import Grid, Problem
from solvers.multigrid.hierarchy import build_levels, coarsen_operator, resample_operator
from solvers.multigrid.transfer import (
    Linear,
    Nested,
    coarse_shape,
    interpolation_matrix,
    prolong,
    prolong_reference,
    restrict,
    restrict_reference,
    transfer,
)


@pytest.mark.parametrize("shape", [(15,), (7, 15)])
def test_restriction_is_the_scaled_adjoint_of_prolongation(shape, rng):
    e = rng.standard_normal(shape)
    r = rng.standard_normal(tuple(2 * n + 1 for n in shape))
    assert np.vdot(prolong(e), r) / 2 ** len(shape) == pytest.approx(np.vdot(e, restrict(r)))


@pytest.mark.parametrize("shape", [(7,), (15, 7), (31, 63), (127, 63)])
def test_transfer_kernels_match_the_slicing_reference(shape, rng):
    e = rng.standard_normal(shape)
    r = rng.standard_normal(tuple(2 * n + 1 for n in shape))
    np.testing.assert_allclose(prolong(e), prolong_reference(e), rtol=0, atol=1e-14)
    np.testing.assert_allclose(restrict(r), restrict_reference(r), rtol=0, atol=1e-14)


def test_prolongation_is_exact_for_linear_functions_vanishing_on_the_boundary():
    fine = Grid((15,), (0.0,), (1.0,))
    coarse = Grid((7,), (0.0,), (1.0,))

    def hat(x):
        return np.minimum(x, 1 - x)  # piecewise linear with a kink at a coarse point

    np.testing.assert_allclose(prolong(hat(coarse.axes[0])), hat(fine.axes[0]), rtol=0, atol=1e-15)


def test_coarse_operator_of_constant_coefficients_is_the_coarse_discretisation():
    fine = problems.get("helmholtz2d", n=31, c=3.0)
    coarse = Problem("c", Grid((15, 15), (0.0, 0.0), (1.0, 1.0)), source=0.0, c=3.0)
    diff = coarsen_operator(fine.operator).matrix() - coarse.matrix()
    assert abs(diff).max() < 1e-10 * abs(coarse.matrix()).max()


def test_coarse_faces_equal_the_harmonic_then_weighted_formula(rng):
    # gold: the numpy slicing of the module docstring (harmonic along the flux,
    # 1/4 1/2 1/4 across), against the one-pass kernel, bit for bit
    ax, ay = np.exp(rng.standard_normal((32, 31))), np.exp(rng.standard_normal((31, 32)))
    hx = 2.0 * ax[0::2] * ax[1::2] / (ax[0::2] + ax[1::2])
    hy = 2.0 * ay[:, 0::2] * ay[:, 1::2] / (ay[:, 0::2] + ay[:, 1::2])
    cx = 0.25 * hx[:, 0:-2:2] + 0.5 * hx[:, 1::2] + 0.25 * hx[:, 2::2]
    cy = 0.25 * hy[0:-2:2] + 0.5 * hy[1::2] + 0.25 * hy[2::2]
    op = problems.Operator((ax, ay), np.zeros((31, 31)), (1 / 32, 1 / 32))
    coarse = coarsen_operator(op)
    assert np.array_equal(coarse.faces[0], cx) and np.array_equal(coarse.faces[1], cy)
    assert coarse.h == (1 / 16, 1 / 16) and coarse.shape == (15, 15)


def test_levels_stop_at_the_coarsest_size_and_other_grids_nest_after_one_step():
    p = problems.get("random2d", n=255)
    assert [op.shape for op in build_levels(p.operator, coarsest=15)] == [
        (255, 255),
        (127, 127),
        (63, 63),
        (31, 31),
        (15, 15),
    ]
    assert coarse_shape((64,)) is None
    shapes = [op.shape for op in build_levels(problems.get("random2d", n=64).operator)]
    assert shapes == [(64, 64), (31, 31), (15, 15)]
    shapes = [op.shape for op in build_levels(problems.get("paper1d", n=100).operator)]
    assert shapes == [(100,), (63,), (31,), (15,)]


@pytest.mark.parametrize(("n", "m"), [(7, 3), (10, 3), (100, 63), (600, 255)])
def test_linear_transfer(n, m):
    P = interpolation_matrix(n, m)
    # P interpolates linearly between the coarse values, zero at the boundary; and
    # R = (h / H)^d P^T, so <R r, e> = (h / H)^d <r, P e>
    x_f = np.arange(1, n + 1) / (n + 1)
    x_c = np.arange(1, m + 1) / (m + 1)
    g = np.sin(np.pi * x_c)
    np.testing.assert_allclose(P @ g, np.interp(x_f, [0, *x_c, 1], [0, *g, 0]), rtol=0, atol=1e-14)
    t1 = Linear((n,), (m,))
    np.testing.assert_allclose(t1.prolong(g), P @ g, rtol=0, atol=1e-14)
    np.testing.assert_allclose(
        t1.restrict(x_f), (m + 1) / (n + 1) * (P.T @ x_f), rtol=0, atol=1e-14
    )
    t = Linear((n, n + 3), (m, m))
    rng = np.random.default_rng(0)
    r, e = rng.standard_normal((n, n + 3)), rng.standard_normal((m, m))
    h_over_H = (m + 1) / (n + 1) * (m + 1) / (n + 4)
    np.testing.assert_allclose(
        np.vdot(t.restrict(r), e), h_over_H * np.vdot(r, t.prolong(e)), rtol=1e-12, atol=1e-12
    )


def test_linear_transfer_rejects_wrong_shapes():
    t = Linear((20, 20), (7, 7))
    with pytest.raises(ValueError, match=r"shape \(20, 20\)"):
        t.restrict(np.zeros((21, 20)))
    with pytest.raises(ValueError, match=r"shape \(7, 7\)"):
        t.prolong_add(np.zeros((8, 7)), np.zeros((20, 20)))
    with pytest.raises(ValueError, match="C-contiguous"):
        t.prolong_add(np.zeros((7, 7)), np.zeros((20, 20)).T[:, :])


def test_linear_transfer_is_full_weighting_on_nested_grids():
    rng = np.random.default_rng(1)
    r, e = rng.standard_normal((31, 15)), rng.standard_normal((15, 7))
    t = Linear((31, 15), (15, 7))
    np.testing.assert_allclose(t.restrict(r), restrict_reference(r), rtol=0, atol=1e-14)
    np.testing.assert_allclose(t.prolong(e), prolong_reference(e), rtol=0, atol=1e-14)
    assert isinstance(transfer((31, 15), (15, 7)), Nested)
    assert isinstance(transfer((30, 15), (15, 7)), Linear)


def test_resampled_constant_operator_is_the_rediscretised_one():
    fine = problems.get("helmholtz2d", n=100)
    coarse = problems.get("helmholtz2d", n=63)
    resampled = resample_operator(fine.operator, (63, 63))
    diff = resampled.matrix() - coarse.operator.matrix()
    assert abs(diff).max() < 1e-10 * abs(coarse.operator.matrix()).max()


def _dense(linear_map, shape):
    n = int(np.prod(shape))
    cols = []
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        cols.append(linear_map(e.reshape(shape)).ravel())
    return np.column_stack(cols)


@pytest.mark.parametrize("name", ["varcoef1d", "randcoef2d"])
def test_the_cycle_is_a_symmetric_positive_definite_preconditioner(name):
    p = problems.get(
        name,
        n=31 if name == "varcoef1d" else 15,
        **({"contrast": 100.0} if name == "randcoef2d" else {}),
    )
    hs = HybridSolver(p, coarsest=3, train_steps=20)
    B = _dense(hs.cycle.precondition, p.shape)
    # symmetric to the rounding of the cycle's precision (mg-pcg's default: float32)
    tol = 1e-10 if hs.mg.precision == "float64" else 1e-5
    assert np.abs(B - B.T).max() <= tol * np.abs(B).max()
    assert np.linalg.eigvalsh(0.5 * (B + B.T)).min() > 0


def test_the_cycle_with_a_direct_coarsest_solve_is_mesh_independent():
    rates = []
    for n in [63, 255]:
        p = problems.get("randcoef2d", n=n, contrast=100.0)
        hs = HybridSolver(p, coarse="direct", initial="zero")
        u, ref = np.zeros(p.shape), p.reference()
        errs = []
        for _ in range(6):
            hs.step(u, p.f)
            errs.append(np.linalg.norm(u - ref))
        rates.append(errs[-1] / errs[-2])
    assert max(rates) < 0.2 and rates[1] < 1.5 * rates[0]


@pytest.mark.parametrize(
    ("name", "n"), [("paper1d", 255), ("varcoef1d", 127), ("gaussian2d", 63), ("randcoef2d", 63)]
)
@pytest.mark.parametrize("method", ["neural-twolevel", "neural-pcg"])
def test_neural_hybrids_converge_to_the_discrete_solution(name, n, method):
    p = problems.get(name, n=n)
    r = hybrid.solve(p, method, rtol=1e-10, maxiter=500, train_steps=50)
    assert r.converged, r.message
    assert r.relative_residual <= 1e-10
    ref = p.reference()
    assert np.linalg.norm(r.u - ref) <= 1e-8 * np.linalg.norm(ref)
    assert r.info["dnn_steps"] == 50 and r.info["sweeps"] == 4 * r.iterations
    assert r.history.phase[0] == "dnn" and r.history.phase[-1] == "multilevel"
    assert [e["label"] for e in r.history.events] == ["switch"]


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("varcoef1d", {"levels": 1}),  # two-level on the fine grid, with enrichment
        ("varcoef1d", {}),
        ("randcoef2d", {}),
        ("randcoef2d", {"levels": 1}),
    ],
)
def test_energy_norm_of_the_error_never_increases_across_a_cycle(name, options):
    p = problems.get(name, n=31)
    hs = HybridSolver(p, train_steps=30, **options)
    A, ref = p.matrix(), p.reference().ravel()

    def energy(u):
        return float((u.ravel() - ref) @ (A @ (u.ravel() - ref)))

    u = np.zeros(p.shape)
    first = last = energy(u)
    for _ in range(12):
        before = u.copy()
        hs.step(u, p.f)
        hs.enrich(u - before)
        now = energy(u)
        assert now <= last * (1 + 1e-12)
        last = now
        if now < 1e-20 * first:  # relative error ~1e-10: below it rounding decides
            break
    assert last < 1e-6 * first


def test_hybrid_solver_trains_once_for_many_right_hand_sides(monkeypatch, rng):
    import hybrid.neural as neural

    calls = []
    real = neural.train_basis
    monkeypatch.setattr(neural, "train_basis", lambda *a, **k: calls.append(1) or real(*a, **k))
    p = problems.get("randcoef2d", n=63)
    hs = HybridSolver(p, train_steps=30)
    for f in [np.ones(p.shape), rng.standard_normal(p.shape), p.x[0] * p.x[1]]:
        r = hs.solve(f, rtol=1e-10, maxiter=500)
        assert r.converged
        expected = p.with_rhs(f).reference()
        assert np.linalg.norm(r.u - expected) <= 1e-8 * np.linalg.norm(expected)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"coarse": "exact"}, "coarse must be one of neural, direct"),
        ({"levels": 0}, "levels must be 'auto' or an integer >= 1, got 0"),
        ({"levels": "many"}, "levels must be 'auto' or an integer >= 1, got 'many'"),
        ({"initial": "random"}, "initial must be one of dnn, zero"),
        ({"sweeps": 1.5}, "sweeps must be an integer >= 1"),
        ({"lr": -1.0}, "lr must be a finite number > 0"),
    ],
)
def test_bad_hybrid_options_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        hybrid.solve(problems.get("random2d", n=15), "neural-pcg", **options)


@pytest.mark.parametrize("method", ["neural-pcg", "neural-twolevel"])
@pytest.mark.parametrize(
    ("name", "n", "nested_n"), [("paper1d", 1000, 1023), ("randcoef2d", 100, 127)]
)
def test_grids_of_any_size_converge_like_nested_ones(method, name, n, nested_n):
    p = problems.get(name, n=n)
    r = hybrid.solve(p, method, rtol=1e-10, maxiter=500, train_steps=10)
    assert r.converged and r.info["levels"] >= 3
    err = np.linalg.norm(r.u - p.reference()) / np.linalg.norm(p.reference())
    assert err < 1e-8
    nested = hybrid.solve(
        problems.get(name, n=nested_n), method, rtol=1e-10, maxiter=500, train_steps=10
    )
    assert r.iterations <= 1.5 * nested.iterations + 2, (r.iterations, nested.iterations)


@pytest.mark.parametrize("method", ["neural-pcg", "neural-twolevel"])
def test_an_unreachable_rtol_stops_as_stagnated_not_forever(method):
    p = problems.get("paper1d", n=255)
    r = hybrid.solve(p, method, rtol=1e-30, train_steps=10)
    assert not r.converged and r.message.startswith("stagnated")
    assert r.relative_error < 1e-10 and r.iterations < 100


def test_setup_time_leaves_out_compiling_the_kernels(monkeypatch, slow_first_call):
    import solvers.multigrid.cycle as cycle

    slow, calls = slow_first_call(cycle.smooth)
    monkeypatch.setattr(cycle, "smooth", slow)
    hs = HybridSolver(problems.get("random2d", n=63), coarse="direct", initial="zero")
    assert len(calls) >= 1
    assert hs.setup_seconds < CLOCK_JUMP, hs.setup_seconds
    r = hs.solve(rtol=1e-10, maxiter=500)
    assert r.converged


def test_the_dnn_initial_guess_is_on_the_clock(monkeypatch):
    # it was once computed before the clock started: 0.6 s at 1023^2 left out
    p = problems.get("random2d", n=63)
    hs = HybridSolver(p, train_steps=5)
    real = hs.basis_net.predict

    def slow_predict(grid):
        time.sleep(0.3)
        return real(grid)

    monkeypatch.setattr(hs.basis_net, "predict", slow_predict)
    r = hs.solve(rtol=1e-8, maxiter=500)  # the problem's own f: the DNN guess is used
    assert r.converged and r.seconds >= 0.3
    assert r.history.seconds[0] >= 0.3  # the first record comes after the guess


def test_the_dnn_initial_guess_is_the_coarse_prediction_interpolated():
    p = problems.get("varcoef2d", n=63)
    hs = HybridSolver(p, train_steps=5)
    coarse = hs.levels[-1].shape
    u = hs.basis_net.predict(Grid(coarse, p.grid.lower, p.grid.upper))
    for _ in hs.levels[1:]:
        u = prolong(u)
    np.testing.assert_array_equal(hs.initial_guess(p), u)
    assert not hs.initial_guess(p.with_rhs(np.ones(p.shape))).any()  # another f: zero
