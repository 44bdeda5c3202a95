"""Classical geometric multigrid: ``multigrid`` and ``mg-pcg`` against the direct solve."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import hybrid
import problems
from solvers.multigrid import Multigrid


@pytest.mark.parametrize("method", ["multigrid", "mg-pcg"])
@pytest.mark.parametrize(
    ("name", "n"), [("paper1d", 255), ("varcoef2d", 63), ("randcoef2d", 63), ("random2d", 100)]
)
def test_converges_to_the_direct_solution(method, name, n):
    p = problems.get(name, n=n)
    r = hybrid.solve(p, method, rtol=1e-10, maxiter=60)
    u_ref = spla.spsolve(p.matrix().tocsc(), p.f.ravel()).reshape(p.shape)
    assert r.converged, r.message
    assert np.linalg.norm(r.u - u_ref) <= 1e-8 * np.linalg.norm(u_ref)
    assert r.info["sweeps"] == 2 * 2 * r.info["cycles"]


def test_the_warm_up_compiles_on_a_small_grid_and_leaves_the_fine_one_to_the_clock():
    # the set-up's untimed warm-up must not run (and so pre-fault the buffers of)
    # the fine grid: that work belongs to the timed set-up and solve
    from solvers import relaxation

    p = problems.get("randcoef2d", n=511)
    mg = Multigrid(p.operator)
    fine = relaxation._plan(mg.levels[0]).cast(mg.cycle.dtype)
    # the default smoother (Chebyshev of degree 2) runs in one pass with row scratch
    assert fine._chebyshev2 is None and fine._dinv is None
    mg.precondition(p.f)
    assert fine._chebyshev2 is not None and fine._dinv is not None


def test_an_uncached_operator_starts_its_set_up_cold():
    # benchmarks time set-ups on op.uncached(): nothing a previous set-up built is reused
    from solvers import relaxation

    op = problems.get("randcoef2d", n=63).operator
    Multigrid(op).precondition(np.ones(op.shape))
    warm = relaxation._plan(op).cast(np.float32)
    new = op.uncached()
    cold = relaxation._plan(new).cast(np.float32)
    assert warm._dinv is not None and cold._dinv is None and cold is not warm
    assert new.faces is op.faces and new.c is op.c and new.h == op.h
    Multigrid(new).precondition(np.ones(op.shape))
    assert cold._dinv is not None and np.array_equal(cold.dinv, warm.dinv)


def test_the_rate_does_not_grow_with_the_grid():
    # mesh independence: V(2,2) cycles on 63^2 and 255^2 need about as many cycles
    its = [
        hybrid.solve(problems.get("varcoef2d", n=n), "multigrid", rtol=1e-8, maxiter=60).iterations
        for n in (63, 255)
    ]
    assert its[1] <= its[0] + 2, its


def test_the_float64_cycle_is_a_symmetric_preconditioner():
    p = problems.get("varcoef2d", n=31)
    mg = Multigrid(p.operator, precision="float64")
    n = p.size
    B = np.column_stack([mg.precondition(e.reshape(p.shape)).ravel() for e in np.eye(n)])
    np.testing.assert_allclose(B, B.T, rtol=0, atol=1e-12 * np.abs(B).max())
    assert np.linalg.eigvalsh(0.5 * (B + B.T)).min() > 0


def test_mg_pcg_is_the_neural_pcg_ablation():
    # the same hierarchy and cycle with the direct coarsest solve and a zero guess
    p = problems.get("randcoef2d", n=63)
    a = hybrid.solve(p, "mg-pcg", rtol=1e-10, maxiter=60)
    b = hybrid.solve(p, "neural-pcg", rtol=1e-10, maxiter=60, coarse="direct", initial="zero")
    assert a.iterations == b.iterations
    np.testing.assert_allclose(a.u, b.u, rtol=0, atol=1e-12 * np.abs(a.u).max())


def test_bad_options_say_what_is_accepted():
    p = problems.get("paper1d", n=31)
    with pytest.raises(ValueError, match="sweeps must be an integer >= 1"):
        hybrid.solve(p, "multigrid", sweeps=0)
    with pytest.raises(ValueError, match="unknown option 'omega'"):
        hybrid.solve(p, "mg-pcg", omega=1.0)
