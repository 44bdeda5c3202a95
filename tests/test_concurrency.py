"""Every parallel kernel against its serial twin or a scipy.sparse gold, with real concurrency.

Small grids hide races: each thread's block is done before the next thread starts.
Here the grids have at least 255^2 points, every call runs several sweeps, and
numba runs ``CONCURRENCY_THREADS`` (4) threads (the ``threads`` fixture; more than
the cores of a small machine, which is fine for correctness), so interior blocks
with a halo on each side run at the same time as both neighbours. Each kernel is
called a few times, from different iterates, to give a race more chances to show.
"""

import numba
import numpy as np
import pytest
import scipy.sparse as sp

import problems
import problems._numba
from problems import operators
from solvers import _relaxation_kernels as rk
from solvers import krylov, relaxation
from solvers.multigrid import _transfer_kernels as tk
from solvers.multigrid.transfer import Linear, interpolation_matrix, prolong_add, restrict

#: Sweeps per kernel call and calls per check.
SWEEPS = 6
CALLS = 3

#: (problem, shape): constant and variable coefficients, square and not, odd rows per block.
GRIDS = [
    ("helmholtz2d", (255, 255), {"c": 30.0}),
    ("randcoef2d", (257, 255), {"contrast": 20.0}),
    pytest.param("varcoef2d", (1023, 1023), {}, marks=pytest.mark.slow),
]


_PROBLEMS: dict = {}


def _problem(name, shape, params, threads):
    """The problem (built once per module: random coefficients take a while) and its
    plan, which must be parallel on every thread."""
    key = (name, shape, tuple(sorted(params.items())))
    if key not in _PROBLEMS:
        _PROBLEMS[key] = problems.get(name, n=shape, **params)
    p = _PROBLEMS[key]
    plan = relaxation._plan(p.operator)
    assert plan.parallel and plan.blocks() == threads  # the parallel path, on every thread
    return p, plan


def _serial_reference(plan, kernel, u, f, omega, sweep, sweeps):
    """The same sweeps by the serial kernels (one block): the parallel ones' gold."""
    args = (u, f, plan.ax, plan.ay, plan.dinv, plan.ihx2, plan.ihy2, omega, plan.variable)
    if kernel == "jacobi":
        rk.jacobi_2d(*args, sweeps, np.zeros((5, plan.shape[1])))
    elif kernel == "red-black":
        rk.red_black_2d(*args, sweeps, np.zeros((2, plan.shape[1])), 0)  # one block, red first
    else:
        for _ in range(sweeps):
            for forward in {"forward": (True,), "backward": (False,)}.get(sweep, (True, False)):
                rk.gauss_seidel_2d(*args, 1, forward, plan._zeros)
    return u


@pytest.mark.parametrize(("name", "shape", "params"), GRIDS)
@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("jacobi", {}),
        ("weighted-jacobi", {"omega": 0.8}),
        ("red-black", {}),
        ("red-black", {"omega": 1.4}),
    ],
)
def test_parallel_jacobi_and_red_black_are_the_serial_sweeps(
    threads, name, shape, params, method, options, rng
):
    """Bit for bit: each point's update reads the same values in any block layout."""
    p, plan = _problem(name, shape, params, threads)
    spec, omega, sweep = relaxation._resolve(method, p.operator, options)
    f = relaxation._readonly(np.ascontiguousarray(p.f))
    u = rng.standard_normal(p.shape)
    gold = u.copy()
    for _ in range(CALLS):
        relaxation.relax(p, u, method, SWEEPS, **options)
        _serial_reference(plan, spec.kernel, gold, f, omega, sweep, SWEEPS)
        np.testing.assert_array_equal(u, gold)


def test_parallel_jacobi_matches_the_sparse_gold(threads, rng):
    """The serial reference itself against ``u + omega D^-1 (f - A u)`` from p.matrix()."""
    p, _ = _problem("randcoef2d", (255, 257), {"contrast": 20.0}, threads)
    A, b = p.matrix(), p.f.ravel()
    d = A.diagonal()
    x = rng.standard_normal(p.size)
    u = x.reshape(p.shape).copy()
    relaxation.relax(p, u, "weighted-jacobi", SWEEPS, omega=0.8)
    for _ in range(SWEEPS):
        x = x + 0.8 * (b - A @ x) / d
    assert np.linalg.norm(u.ravel() - x) <= 1e-12 * np.linalg.norm(x)


@pytest.mark.parametrize(("name", "params"), [("helmholtz2d", {"c": 30.0}), ("randcoef2d", {})])
@pytest.mark.parametrize("sweep", ["forward", "backward", "symmetric"])
def test_wavefront_gauss_seidel_is_the_serial_sweep_on_a_large_grid(
    threads, name, params, sweep, rng
):
    """At the real size thresholds (no monkeypatching): one strip per thread."""
    shape = (520, 64 * threads + 3)
    shape = (max(shape[0], -(-relaxation.WAVEFRONT_MIN_SIZE // shape[1])), shape[1])
    p, plan = _problem(name, shape, params, threads)
    assert plan.wavefront is not None and plan.wavefront[0] == threads
    f = relaxation._readonly(np.ascontiguousarray(p.f))
    omega = relaxation.optimal_omega(p)
    u = rng.standard_normal(p.shape)
    gold = u.copy()
    for _ in range(CALLS):
        relaxation.relax(p, u, "sor", SWEEPS, omega=omega, sweep=sweep)
        _serial_reference(plan, "gauss-seidel", gold, f, omega, sweep, SWEEPS)
        # the tiles pair points of a row differently: the same values up to rounding
        assert np.abs(u - gold).max() <= 1e-12 * np.abs(gold).max()


@pytest.mark.parametrize(("name", "shape", "params"), GRIDS)
def test_parallel_operator_and_residual_match_the_sparse_matrix(threads, name, shape, params, rng):
    p, _ = _problem(name, shape, params, threads)
    A = p.matrix()
    for _ in range(CALLS):
        u = rng.standard_normal(p.shape)
        gold = (A @ u.ravel()).reshape(p.shape)
        scale = np.abs(gold).max()
        assert np.abs(p.apply(u) - gold).max() <= 1e-12 * scale
        serial = np.empty(p.shape)
        op = p.operator
        operators._apply_2d(*op.faces, op.c, 1 / op.h[0] ** 2, 1 / op.h[1] ** 2, u, serial)
        np.testing.assert_array_equal(p.apply(u), serial)
        r = relaxation.residual(p, u)
        assert np.abs(r - (p.f - gold)).max() <= 1e-12 * scale
        norm = relaxation.residual_norm(p, u)
        assert norm == pytest.approx(np.linalg.norm(p.f - gold), rel=1e-12)


def _kron_transfer(fine, coarse):
    """2D linear interpolation as the Kronecker product of the 1D ones (``N x M``)."""
    return sp.kron(
        interpolation_matrix(fine[0], coarse[0]), interpolation_matrix(fine[1], coarse[1])
    ).tocsr()


@pytest.mark.parametrize(
    ("fine", "coarse"),
    [((511, 255), (255, 127)), ((255, 511), (127, 255)), ((500, 300), (255, 127))],
)
def test_parallel_transfers_match_the_kronecker_product_of_1d_interpolations(
    threads, fine, coarse, rng
):
    P = _kron_transfer(fine, coarse)
    scale = np.prod([(m + 1) / (n + 1) for n, m in zip(fine, coarse, strict=True)])
    nested = tuple(2 * m + 1 for m in coarse) == fine
    if nested:
        assert fine[0] * fine[1] >= problems._numba.PARALLEL_THRESHOLD  # the prange kernels
    linear = Linear(fine, coarse)
    for _ in range(CALLS):
        e = rng.standard_normal(coarse)
        r = rng.standard_normal(fine)
        u = rng.standard_normal(fine)
        expect_up = u + (P @ e.ravel()).reshape(fine)
        expect_down = scale * (P.T @ r.ravel()).reshape(coarse)
        tol_up = 1e-13 * np.abs(expect_up).max()
        tol_down = 1e-13 * np.abs(expect_down).max()
        got = linear.prolong_add(e, u.copy())
        assert np.abs(got - expect_up).max() <= tol_up
        assert np.abs(linear.restrict(r) - expect_down).max() <= tol_down
        if nested:
            assert np.abs(prolong_add(e, u.copy()) - expect_up).max() <= tol_up
            assert np.abs(restrict(r) - expect_down).max() <= tol_down
            serial_up, serial_down = u.copy(), np.empty(coarse)
            tk.prolong_add_2d(e, serial_up)
            tk.restrict_2d(r, serial_down)
            np.testing.assert_array_equal(prolong_add(e, u.copy()), serial_up)
            np.testing.assert_array_equal(restrict(r), serial_down)


def test_parallel_pcg_vector_updates_match_numpy(threads, rng):
    size = 255 * 257
    assert krylov._kernels(size) is krylov._PARALLEL
    update, direction, dot = krylov._PARALLEL
    for _ in range(CALLS):
        u, r, d, ad, z = (rng.standard_normal(size) for _ in range(5))
        alpha, beta = rng.uniform(-2, 2, 2)
        u_new, r_new = u + alpha * d, r - alpha * ad
        got = update(u, r, d, ad, alpha)
        np.testing.assert_array_equal(u, u_new)
        np.testing.assert_array_equal(r, r_new)
        assert got == pytest.approx(r_new @ r_new, rel=1e-12)
        d_new = z + beta * d
        direction(d, z, beta)
        np.testing.assert_array_equal(d, d_new)
        assert dot(u, z) == pytest.approx(u @ z, rel=1e-11, abs=1e-11 * size)


def test_threads_fixture_really_runs_parallel_blocks_at_once(threads):
    """The premise of this module: numba gives the parallel loops ``threads`` threads."""

    @numba.njit(parallel=True)
    def thread_ids(n):
        out = np.empty(n, dtype=np.int64)
        for i in numba.prange(n):
            out[i] = numba.get_thread_id()
        return out

    assert numba.get_num_threads() == threads
    assert len(set(thread_ids(threads * 64).tolist())) == threads
