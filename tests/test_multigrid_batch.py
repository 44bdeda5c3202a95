"""Many right-hand sides in one pass: interleaved kernels, the batched cycle and batched CG.

The interleaved kernels repeat the single right-hand-side arithmetic operation by
operation, so they are compared bit for bit (float32 and float64). Batched CG
sums its dot products in another order than the single kernels, so its
iterates are compared with the solves one by one to 1e-12 relative: the CG is
float64, and a rounding difference of 1e-16 in ``r`` changes a float32 cast
with probability ~1e-9 per point, so the float32 cycle sees the same input
(measured: 4e-15 to 6e-14 relative at 63^2 to 1023^2).
"""

import numpy as np
import pytest

import problems
from solvers import _relaxation_kernels as rk
from solvers.multigrid import Multigrid, batch
from solvers.multigrid import _batch_kernels as bk
from solvers.multigrid import _transfer_kernels as tk

CASES = [("modes2d", "float32"), ("varcoef2d", "float32"), ("randcoef2d", "float64")]


def _cycle(name, precision, n=31):
    p = problems.get(name, n=n)
    return p, Multigrid(p.operator, precision=precision)


@pytest.mark.parametrize(("name", "precision"), CASES)
@pytest.mark.parametrize("nb", [1, 3])
def test_interleaved_chebyshev_step_equals_the_single_kernel_bit_for_bit(name, precision, nb, rng):
    p, mg = _cycle(name, precision)
    plan = mg.cycle._plans[0]
    dt, m = plan.dtype, 3
    x, rhs, xo = (rng.standard_normal((*p.shape, m)).astype(dt) for _ in range(3))
    unit = np.array([0.0, 1.0], dt)
    for first, (c1, c2) in [(True, (0.0, 0.8)), (False, (0.2, 0.97))]:
        got = xo.copy()
        work = np.zeros((1 + nb, p.shape[1], m), dt)
        kern = bk.chebyshev_2d_batch_parallel if nb > 1 else bk.chebyshev_2d_batch
        kern(got, x, rhs, plan.ax, plan.ay, plan.dinv, plan.ihx2, plan.ihy2, c1, c2,
             plan.variable, first, work, unit)  # fmt: skip
        for k in range(m):
            want = np.ascontiguousarray(xo[..., k])
            rk.chebyshev_2d(
                want, np.ascontiguousarray(x[..., k]), np.ascontiguousarray(rhs[..., k]),
                plan.ax, plan.ay, plan.dinv, plan.dinv, plan.ihx2, plan.ihy2, c1, c2,
                (plan.variable, False, first), np.zeros((2, p.shape[1]), dt),
            )  # fmt: skip
            np.testing.assert_array_equal(got[..., k], want)


@pytest.mark.parametrize(("name", "precision"), CASES)
@pytest.mark.parametrize("nb", [1, 3])
def test_interleaved_transfers_equal_the_single_kernels_bit_for_bit(name, precision, nb, rng):
    p, mg = _cycle(name, precision)
    plan = mg.cycle._plans[0]
    dt, m = plan.dtype, 2
    coarse = tuple((n - 1) // 2 for n in p.shape)
    u, b = (rng.standard_normal((*p.shape, m)).astype(dt) for _ in range(2))
    e = rng.standard_normal((*coarse, m)).astype(dt)
    out = np.zeros((*coarse, m), dt)
    work = np.zeros((1 + 4 * nb, p.shape[1], m), dt)
    rr = bk.residual_restrict_2d_batch_parallel if nb > 1 else bk.residual_restrict_2d_batch
    args = (plan.ax, plan.ay, plan.c, plan.ihx2, plan.ihy2, plan.variable)
    rr(u, b, *args, out, work, np.array([0.0, 1.0], dt))
    fine = u.copy()
    (bk.prolong_add_2d_batch_parallel if nb > 1 else bk.prolong_add_2d_batch)(e, fine)
    for k in range(m):
        uk, bk_ = np.ascontiguousarray(u[..., k]), np.ascontiguousarray(b[..., k])
        want = np.zeros(coarse, dt)
        tk.residual_restrict_2d(uk, bk_, *args, want, np.zeros((5, p.shape[1]), dt))
        np.testing.assert_array_equal(out[..., k], want)
        tk.prolong_add_2d(np.ascontiguousarray(e[..., k]), uk)
        np.testing.assert_array_equal(fine[..., k], uk)


@pytest.mark.parametrize(("name", "precision"), CASES)
def test_batched_cycle_equals_the_single_cycle_column_by_column(name, precision, rng):
    p, mg = _cycle(name, precision, n=63)
    R = rng.standard_normal((*p.shape, 3))
    Z = batch.BatchCycle(mg.cycle, 3).precondition(R)
    for k in range(3):
        z = mg.precondition(np.ascontiguousarray(R[..., k]))
        # bit for bit but for the coarsest solve with 3 columns (one LAPACK call)
        assert np.abs(Z[..., k] - z).max() <= 1e-12 * np.abs(z).max()


@pytest.mark.parametrize("name", ["modes2d", "randcoef2d"])
def test_interleaved_operator_and_residual_match_scipy_sparse(name, rng):
    p = problems.get(name, n=(15, 31))
    A = batch._Operator(p.operator, 4)
    U, F = rng.standard_normal((*p.shape, 4)), rng.standard_normal((*p.shape, 4))
    AU = np.empty_like(U)
    dots = A.apply_dot(U, AU)
    R = np.empty_like(U)
    norms = A.residual(U, F, R)
    M = p.matrix()
    for k in range(4):
        want = (M @ U[..., k].ravel()).reshape(p.shape)
        assert np.abs(AU[..., k] - want).max() <= 1e-12 * np.abs(want).max()
        assert dots[k] == pytest.approx(float(U[..., k].ravel() @ want.ravel()), rel=1e-12)
        res = F[..., k] - want
        assert np.abs(R[..., k] - res).max() <= 1e-12 * np.abs(res).max()
        assert norms[k] == pytest.approx(np.linalg.norm(res), rel=1e-12)


def _alone(mg, f, rtol, maxiter=None):
    u, info = mg.solve(f, rtol=rtol, maxiter=maxiter)
    return u, info["iterations"][0], info["converged"][0]


def test_batched_cg_equals_the_solves_one_by_one_with_mixed_convergence(rng):
    p = problems.get("randcoef2d", n=63, contrast=100.0)
    mg = Multigrid(p.operator)
    x, y = np.meshgrid(*(np.linspace(0, 1, n + 2)[1:-1] for n in p.shape), indexing="ij")
    high = np.sin(60 * np.pi * x) * np.sin(60 * np.pi * y)  # 6 iterations, random data 8
    F = np.stack([rng.standard_normal(p.shape), high, np.zeros(p.shape), 1e6 * p.f])
    U, info = mg.solve(F, rtol=1e-10, batched=True)
    assert U.shape == F.shape
    assert len(set(info["iterations"])) >= 3  # the columns stop at different iterations
    assert info["iterations"][2] == 0 and not U[2].any()
    for k in range(4):
        u, its, conv = _alone(mg, F[k], 1e-10)
        assert (info["iterations"][k], info["converged"][k]) == (its, conv)
        assert np.linalg.norm(U[k] - u) <= 1e-12 * max(np.linalg.norm(u), 1e-300)
        if F[k].any():
            assert p.with_rhs(F[k]).relative_residual(U[k]) <= 1e-10


def test_a_column_out_of_iterations_is_frozen_where_it_stopped(rng):
    p = problems.get("randcoef2d", n=63, contrast=100.0)
    mg = Multigrid(p.operator)
    x, y = np.meshgrid(*(np.linspace(0, 1, n + 2)[1:-1] for n in p.shape), indexing="ij")
    F = np.stack([np.sin(60 * np.pi * x) * np.sin(60 * np.pi * y), rng.standard_normal(p.shape)])
    fast, slow = (_alone(mg, fk, 1e-12)[1] for fk in F)
    assert fast < slow
    U, info = mg.solve(F, rtol=1e-12, maxiter=fast, batched=True)
    assert info["converged"] == [True, False]
    assert info["iterations"] == [fast, fast]
    for k in range(2):
        u, its, conv = _alone(mg, F[k], 1e-12, maxiter=fast)
        assert (its, conv) == (info["iterations"][k], info["converged"][k])
        assert np.linalg.norm(U[k] - u) <= 1e-12 * np.linalg.norm(u)


def test_a_batch_of_one(rng):
    p = problems.get("varcoef2d", n=31)
    mg = Multigrid(p.operator)
    f = rng.standard_normal(p.shape)
    U, info = mg.solve(f[None], rtol=1e-10, batched=True)
    u, its, _ = _alone(mg, f, 1e-10)
    assert U.shape == (1, *p.shape) and info["iterations"] == [its]
    assert np.linalg.norm(U[0] - u) <= 1e-12 * np.linalg.norm(u)


def test_bad_batches_are_named():
    p = problems.get("varcoef2d", n=31)
    mg = Multigrid(p.operator)
    with pytest.raises(ValueError, match=r"f must have shape \(31, 31\) or \(m, \*\(31, 31\)\)"):
        mg.solve(np.zeros((2, 31, 15)), batched=True)
    with pytest.raises(ValueError, match=r"F must have shape \(m, \*\(31, 31\)\) with m >= 1"):
        batch.pcg(mg.cycle, np.zeros((0, 31, 31)))
    with pytest.raises(ValueError, match=r"r must have shape \(31, 31, 2\)"):
        batch.BatchCycle(mg.cycle, 2).precondition(np.zeros((31, 31, 3)))
    with pytest.raises(ValueError, match=r"m \(right-hand sides\) must be an int >= 1"):
        batch.BatchCycle(mg.cycle, 0)
    gs = Multigrid(p.operator, smoother="gauss-seidel")
    with pytest.raises(ValueError, match=r"needs the 'chebyshev' smoother.*'gauss-seidel'"):
        gs.solve(np.zeros((2, 31, 31)), batched=True)
    one_d = Multigrid(problems.get("paper1d", n=63).operator)
    assert not batch.supports(one_d.cycle)


def test_a_coarsest_solve_without_columns_runs_column_by_column(rng):
    p = problems.get("varcoef2d", n=63)
    mg = Multigrid(p.operator)
    direct = mg.cycle.coarse_solve
    mg.set_coarse_solve(lambda r: direct(r))  # a callable without .columns
    R = rng.standard_normal((*p.shape, 2))
    Z = batch.BatchCycle(mg.cycle, 2).precondition(R)
    for k in range(2):
        np.testing.assert_array_equal(Z[..., k], mg.precondition(np.ascontiguousarray(R[..., k])))


def test_hybrid_solver_batched_equals_its_solves_one_by_one(rng):
    import hybrid

    p = problems.get("varcoef2d", n=31)
    hs = hybrid.HybridSolver(p, coarse="direct", initial="zero")
    F = np.stack([p.f, rng.standard_normal(p.shape)])
    results = hs.solve(F, rtol=1e-10, record_every=0, batched=True)
    for fk, r in zip(F, results, strict=True):
        alone = hs.solve(fk, rtol=1e-10, record_every=0)
        assert r.converged and (r.iterations, r.stop_reason) == (alone.iterations, "converged")
        assert np.linalg.norm(r.u - alone.u) <= 1e-12 * np.linalg.norm(alone.u)
        assert r.relative_residual <= 1e-10
    with pytest.raises(ValueError, match="batched=True runs neural-pcg from zero"):
        hs.solve(F, method="neural-twolevel", batched=True)
    with pytest.raises(ValueError, match=r"a batch f must have shape \(m, \*\(31, 31\)\)"):
        hs.solve(F[0], batched=True)
