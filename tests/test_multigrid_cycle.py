"""The fast V-cycle: fused transfers, smoothers, symmetry, allocation, float32, parallel kernels."""

import tracemalloc

import numba
import numpy as np
import pytest

import problems
import solvers
from solvers import relaxation
from solvers.multigrid import Multigrid, VCycle, build_levels
from solvers.multigrid import _transfer_kernels as tk
from solvers.multigrid.cycle import SMOOTHERS, gauss_seidel
from solvers.multigrid.solver import DirectCoarseSolve
from solvers.multigrid.transfer import prolong_reference, restrict_reference
from solvers.relaxation import eigenvalue_bound, l1_diagonal, relax


@pytest.fixture
def three_threads():
    """Parallel kernels on 3 numba threads (issue 16's concurrency check)."""
    before = numba.get_num_threads()
    numba.set_num_threads(min(3, numba.config.NUMBA_NUM_THREADS))
    yield numba.get_num_threads()
    numba.set_num_threads(before)


def _fused(op, u, b, parallel, nb):
    plan = relaxation._Plan(op)
    out = np.zeros(tuple((n - 1) // 2 for n in op.shape))
    if op.dim == 1:
        tk.residual_restrict_1d(u, b, plan.ax, plan.c, plan.ihx2, plan.variable, out)
        return out
    work = np.zeros((1 + 4 * nb, op.shape[1]))
    kern = tk.residual_restrict_2d_parallel if parallel else tk.residual_restrict_2d
    kern(u, b, plan.ax, plan.ay, plan.c, plan.ihx2, plan.ihy2, plan.variable, out, work)
    return out


@pytest.mark.parametrize(
    ("name", "n", "nb"),
    [("paper1d", 63, 1), ("modes2d", (15, 31), 1), ("varcoef2d", 31, 1), ("randcoef2d", 31, 5)],
)
def test_fused_residual_restriction_is_full_weighting_of_the_sparse_residual(name, n, nb, rng):
    p = problems.get(name, n=n)
    u, b = rng.standard_normal(p.shape), rng.standard_normal(p.shape)
    r = (b.ravel() - p.matrix() @ u.ravel()).reshape(p.shape)
    expect = restrict_reference(r)
    got = _fused(p.operator, u, b, False, nb)
    assert np.abs(got - expect).max() <= 1e-12 * np.abs(expect).max()


@pytest.mark.parametrize("shape", [(7,), (31,), (7, 15), (31, 31)])
def test_row_wise_prolongation_adds_the_interpolant(shape, rng):
    e = rng.standard_normal(shape)
    u0 = rng.standard_normal(tuple(2 * m + 1 for m in shape))
    u = u0.copy()
    if len(shape) == 1:
        tk.prolong_add_1d(e, u)
    else:
        tk.prolong_add_2d(e, u)
    np.testing.assert_allclose(u, u0 + prolong_reference(e), rtol=0, atol=1e-13)


def test_parallel_transfer_and_smoother_kernels_on_three_threads(three_threads, rng):
    """Every new parallel kernel against its serial twin (255^2 and larger, 3 threads)."""
    p = problems.get("randcoef2d", n=(257, 255), contrast=50.0)
    q = problems.get("modes2d", n=255)
    for prob in (p, q):
        op = prob.operator
        u, b = rng.standard_normal(prob.shape), rng.standard_normal(prob.shape)
        if prob is q:
            b = np.ascontiguousarray(b[:, :])
        serial = _fused(op, u, b, False, 1)
        par = _fused(op, u, b, True, three_threads)
        np.testing.assert_array_equal(par, serial)
        e = rng.standard_normal(tuple((n - 1) // 2 for n in prob.shape))
        u1, u2 = u.copy(), u.copy()
        tk.prolong_add_2d(e, u1)
        tk.prolong_add_2d_parallel(e, u2)
        np.testing.assert_array_equal(u1, u2)
        # smoothers: the plan's parallel kernels against the serial ones
        for method, options, sweeps in [
            ("red-black", {"sweep": "backward"}, 3),
            ("red-black", {"sweep": "symmetric"}, 2),
            ("chebyshev", {}, 3),
            ("l1-jacobi", {}, 3),
        ]:
            plans = []
            for parallel in (True, False):
                plan = relaxation._Plan(op)
                plan.parallel = parallel
                plans.append(plan)
            assert plans[0].blocks() == three_threads
            x = [u.copy(), u.copy()]
            spec, omega, sweep = relaxation._resolve(method, op, options)
            for plan, xi in zip(plans, x, strict=True):
                relaxation._sweep(plan, spec.kernel, xi, b, omega, sweep, sweeps)
            np.testing.assert_array_equal(x[0], x[1])


@pytest.mark.parametrize("name", problems.catalogue.names())
def test_chebyshev_bounds_hold_on_every_catalogue_operator(name):
    """The upper bound is >= lambda_max(D^-1 A) (dense eigenvalues) and <= Gershgorin."""
    p = problems.get(name, n=63 if name.endswith("1d") else 15)
    op = p.operator
    A = p.matrix().toarray()
    d = np.diag(A)
    if np.any(d <= 0):
        with pytest.raises(ValueError, match="positive diagonal"):
            eigenvalue_bound(op)
        return
    s = 1 / np.sqrt(d)
    lam = np.linalg.eigvalsh(s[:, None] * A * s[None, :])
    upper = eigenvalue_bound(op)
    lower, upper_plan = relaxation._Plan(op).chebyshev_bounds()
    assert upper_plan == upper and 0 < lower < upper
    assert lam[-1] <= upper * (1 + 1e-12)
    assert upper <= np.max(l1_diagonal(op).ravel() / d) * (1 + 1e-12)
    assert upper <= 1.1 * lam[-1] * (1 + 1e-12)  # tight: within the Lanczos safety factor
    if lam[0] > 0:  # SPD: the damped interval lies inside the spectrum's hull
        assert lower < lam[-1]


@pytest.mark.parametrize("name", ["randcoef2d", "varcoef2d", "helmholtz2d"])
def test_the_bound_kernels_match_the_sparse_matrix(name):
    """Gershgorin's ratio and the checkerboard Rayleigh quotient of ``D^-1/2 A D^-1/2``
    (the cheap path of ``eigenvalue_bound``) against ``p.matrix()``, non-square."""
    from solvers import _relaxation_kernels as k

    p = problems.get(name, n=(13, 9))
    op, A = p.operator, p.matrix().tocsr()
    d = A.diagonal()
    ihx2, ihy2 = 1 / op.h[0] ** 2, 1 / op.h[1] ** 2
    ax, ay = op.faces
    row_sums = np.asarray(abs(A).sum(axis=1)).ravel()
    assert k.gershgorin_ratio_2d(ax, ay, op.c, ihx2, ihy2) == pytest.approx(
        np.max(row_sums / d), rel=1e-13
    )
    z = (np.indices(p.shape).sum(axis=0) % 2 * 2.0 - 1.0).ravel() / np.sqrt(d)
    assert k.checkerboard_quotient_2d(ax, ay, op.diagonal(), ihx2, ihy2) == pytest.approx(
        z @ (A @ z) / z.size, rel=1e-13
    )


def test_l1_diagonal_is_the_row_sum_of_absolute_values():
    p = problems.get("randcoef2d", n=(9, 12))
    A = p.matrix()
    np.testing.assert_allclose(
        l1_diagonal(p.operator).ravel(), abs(A).sum(axis=1).A1, rtol=1e-13, atol=0
    )


@pytest.fixture(scope="module")
def varcoef63():
    return problems.get("varcoef2d", n=63, contrast=19.0)


def test_the_fused_cycle_equals_the_plain_one(varcoef63, rng):
    """Fused transfers and buffers change nothing: the Gauss-Seidel cycle by name equals
    the one with a smoother function and the reference transfers."""
    p = varcoef63
    levels = build_levels(p.operator)
    coarse = DirectCoarseSolve(levels[-1])
    fast = VCycle(levels, "gauss-seidel", coarse)

    def plain(b, level=0):
        op = levels[level]
        if level == len(levels) - 1:
            return coarse(b)
        u = np.zeros(op.shape)
        gauss_seidel(op, u, b, 2, "forward")
        r = (b.ravel() - op.matrix() @ u.ravel()).reshape(op.shape)
        u += prolong_reference(plain(restrict_reference(r), level + 1))
        gauss_seidel(op, u, b, 2, "backward")
        return u

    r = rng.standard_normal(p.shape)
    expect = plain(r)
    got = fast.precondition(r)
    assert np.linalg.norm(got - expect) <= 1e-12 * np.linalg.norm(expect)


@pytest.mark.parametrize("smoother", SMOOTHERS)
@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_every_cycle_is_a_symmetric_positive_preconditioner(varcoef63, smoother, precision, rng):
    mg = Multigrid(varcoef63.operator, smoother=smoother, precision=precision)
    x, y = rng.standard_normal((2, *varcoef63.shape))
    bx, by = mg.precondition(x), mg.precondition(y)
    tol = 1e-12 if precision == "float64" else 1e-5
    assert abs(np.vdot(bx, y) - np.vdot(x, by)) <= tol * np.linalg.norm(bx) * np.linalg.norm(y)
    assert np.vdot(bx, x) > 0


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_the_in_place_preconditioner_is_the_cycle_in_its_own_precision(varcoef63, precision, rng):
    # what mg-pcg's CG reads: the same numbers as precondition(), in the cycle's dtype
    mg = Multigrid(varcoef63.operator, precision=precision)
    r = rng.standard_normal(varcoef63.shape)
    z = mg.cycle.precondition_in_place(r)
    assert z.dtype == np.dtype(precision)
    np.testing.assert_array_equal(z.astype(np.float64), mg.precondition(r))
    assert mg.cycle.precondition_in_place(2 * r) is z  # its own buffer, reused


@pytest.mark.parametrize("smoother", SMOOTHERS)
def test_a_cycle_from_zero_ignores_what_its_iterate_buffers_hold(varcoef63, smoother, rng):
    # the pre-smoothing starts from u = 0 without a fill (one-pass Chebyshev) or after one
    mg = Multigrid(varcoef63.operator, smoother=smoother)
    r = rng.standard_normal(varcoef63.shape)
    expect = mg.precondition(r)
    for u in mg.cycle._u:
        if u is not None:
            u.fill(np.nan)
    np.testing.assert_array_equal(mg.precondition(r), expect)


def test_a_cycle_allocates_no_grid_arrays():
    p = problems.get("randcoef2d", n=255)
    for smoother in SMOOTHERS:
        mg = Multigrid(p.operator, smoother=smoother)
        r, z = p.residual(np.zeros(p.shape)), np.empty(p.shape)
        mg.precondition(r, z)  # plans, scratch and kernels exist from now on
        mg.cycle.precondition_in_place(r)
        tracemalloc.start()
        mg.precondition(r, z)
        mg.cycle.precondition_in_place(r)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # nothing the size of a grid but the coarsest (the direct solve's small temporaries)
        assert peak < 63**2 * 8, (smoother, peak)


@pytest.mark.parametrize(
    ("name", "params"), [("varcoef2d", {"contrast": 19.0}), ("randcoef2d", {"contrast": 100.0})]
)
def test_float32_cycles_reach_1e_10_inside_float64_cg(name, params):
    p = problems.get(name, n=127, **params)
    results = {
        precision: solvers.solve(
            p, "mg-pcg", rtol=1e-10, record_every=0, precision=precision, maxiter=60
        )
        for precision in ("float64", "float32")
    }
    r32 = results["float32"]
    assert r32.converged and p.relative_residual(r32.u) <= 1e-10
    assert r32.info["precision"] == "float32"
    assert r32.iterations <= results["float64"].iterations + 2


@pytest.mark.parametrize("smoother", SMOOTHERS)
def test_multigrid_converges_with_every_smoother(varcoef63, smoother):
    for method in ("multigrid", "mg-pcg"):
        r = solvers.solve(varcoef63, method, rtol=1e-9, record_every=0, smoother=smoother)
        assert r.converged and varcoef63.relative_residual(r.u) <= 1e-9, (method, r.message)


def test_bad_smoother_or_precision_is_named(varcoef63):
    with pytest.raises(ValueError, match=r"smoother must be one of.*red-black"):
        solvers.solve(varcoef63, "mg-pcg", smoother="sor")
    with pytest.raises(ValueError, match=r"precision must be one of.*float32"):
        solvers.solve(varcoef63, "mg-pcg", precision="float16")
    with pytest.raises(ValueError, match=r"unknown relaxation method.*chebyshev"):
        relax(varcoef63, np.zeros(varcoef63.shape), "cheb", 1)


def test_a_batch_of_right_hand_sides_equals_the_solves_one_by_one(varcoef63, rng):
    p = varcoef63
    mg = Multigrid(p.operator, smoother="red-black", sweeps=1)
    F = rng.standard_normal((3, *p.shape))
    U, info = mg.solve(F, rtol=1e-10)
    assert U.shape == F.shape and all(info["converged"])
    for k in range(3):
        alone = solvers.solve(
            p.with_rhs(F[k]), "mg-pcg", rtol=1e-10, record_every=0, smoother="red-black", sweeps=1
        )
        assert alone.iterations == info["iterations"][k]
        assert np.linalg.norm(U[k] - alone.u) <= 1e-12 * np.linalg.norm(alone.u)
    with pytest.raises(ValueError, match="f must have shape"):
        mg.solve(np.zeros((2, 5, 5)))


def test_hybrid_solver_takes_a_batch():
    import hybrid

    p = problems.get("varcoef2d", n=31)
    hs = hybrid.HybridSolver(p, coarse="direct", initial="zero")
    F = np.stack([p.f, -2 * p.f])
    results = hs.solve(F, rtol=1e-10, record_every=0)
    alone = hs.solve(F[1], rtol=1e-10, record_every=0)
    assert len(results) == 2 and all(r.converged for r in results)
    assert np.linalg.norm(results[1].u - alone.u) <= 1e-12 * np.linalg.norm(alone.u)
    np.testing.assert_allclose(results[1].u, -2 * results[0].u, rtol=1e-8, atol=1e-12)
