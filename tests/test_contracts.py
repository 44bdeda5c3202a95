"""Contracts that hold for any shape, checked on random ones (hypothesis, bounded sizes),
against references that do not come from the module under test.

Each has a plausible bug it must catch (the mutation list in ``tests/mutation.py``):
a constant-coefficient residual that loses ``c``, band edges ``<`` instead of ``<=``,
2D bands in thirds of ``min(shape)``, a radial ``|k|`` with one term not squared,
a non-nested ``prolong_add`` that overwrites, relaxation kernels that drift from
their gold iterates.
"""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.interpolate import RegularGridInterpolator
from test_relaxation import VARIANTS, gold

import problems
import problems._numba
from problems import Grid, Operator, Problem, spectrum
from solvers import relaxation
from solvers.multigrid.transfer import Nested, interpolation_matrix, transfer
from solvers.relaxation import default_omega, relax

#: Bounded so that the whole module stays within a few seconds; derandomized, so every
#: run (and CI) checks the same examples, like the seeded ``rng`` fixture.
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

seeds = st.integers(0, 2**32 - 1)
shape_1d = st.tuples(st.integers(1, 40))
shape_2d = st.tuples(st.integers(1, 20), st.integers(1, 20))
shapes = st.one_of(shape_1d, shape_2d)
#: Problems (grids) need at least 3 points per axis.
grid_shapes = st.one_of(
    st.tuples(st.integers(3, 40)), st.tuples(st.integers(3, 20), st.integers(3, 20))
)


def random_operator(shape, seed, constant=False):
    """Random faces ``a`` in [0.5, 2], shift ``c`` in [0, 3], spacings per axis.

    ``constant``: one ``a`` and one ``c > 0`` everywhere (the kernels' fast path).
    """
    rng = np.random.default_rng(seed)
    h = tuple(rng.uniform(0.02, 0.3, len(shape)))
    if len(shape) == 1:
        face_shapes = [(shape[0] + 1,)]
    else:
        face_shapes = [(shape[0] + 1, shape[1]), (shape[0], shape[1] + 1)]
    if constant:
        a, c = rng.uniform(0.5, 2.0), rng.uniform(0.5, 3.0)
        return Operator(tuple(np.full(s, a) for s in face_shapes), np.full(shape, c), h)
    faces = tuple(rng.uniform(0.5, 2.0, s) for s in face_shapes)
    return Operator(faces, rng.uniform(0.0, 3.0, shape), h)


def problem_of(shape, seed):
    """A problem of any shape with a random right-hand side (for the spectrum)."""
    rng = np.random.default_rng(seed)
    grid = Grid(shape, (0.0,) * len(shape), (1.0,) * len(shape))
    return Problem("random", grid, source=0.0).with_rhs(rng.standard_normal(shape))


# -- the operator ------------------------------------------------------------------------
@PROPERTY
@given(shape=shapes, seed=seeds, constant=st.booleans())
def test_apply_and_the_fast_residual_are_the_sparse_matrix(shape, seed, constant):
    op = random_operator(shape, seed, constant)
    rng = np.random.default_rng(seed + 1)
    u, f = rng.standard_normal(shape), rng.standard_normal(shape)
    Au = (op.matrix() @ u.ravel()).reshape(shape)
    scale = np.abs(Au).max() + np.abs(f).max()
    assert np.abs(op.apply(u) - Au).max() <= 1e-12 * scale
    r = relaxation.residual(op, u, rhs=f)
    assert np.abs(r - (f - Au)).max() <= 1e-12 * scale
    norm = relaxation.residual_norm(op, u, rhs=f)
    assert norm == pytest.approx(np.linalg.norm(f - Au), rel=1e-12, abs=1e-14 * scale)


@pytest.mark.parametrize(
    ("name", "n", "params"),
    [("helmholtz2d", (17, 12), {"c": 7.0}), ("helmholtz2d", (130, 40), {"c": 7.0})],
)
def test_constant_coefficient_residual_with_a_shift_2d(name, n, params, rng):
    """The fast path of constant ``a`` and ``c > 0`` (serial and parallel kernels)."""
    p = problems.get(name, n=n, **params)
    plan = relaxation._plan(p.operator)
    assert not plan.variable
    assert plan.parallel == (p.size >= problems._numba.PARALLEL_THRESHOLD and plan.nthreads > 1)
    u = rng.standard_normal(p.shape)
    gold_r = p.f - (p.matrix() @ u.ravel()).reshape(p.shape)
    r = relaxation.residual(p, u)
    assert np.abs(r - gold_r).max() <= 1e-12 * np.abs(gold_r).max()
    assert relaxation.residual_norm(p, u) == pytest.approx(np.linalg.norm(gold_r), rel=1e-12)
    # c enters the residual: u = 1 gives f - A 1, whose interior is f - c
    ones = np.ones(p.shape)
    inner = (slice(1, -1),) * 2
    assert np.abs(relaxation.residual(p, ones)[inner] - (p.f - 7.0)[inner]).max() < 1e-8


def test_constant_coefficient_residual_with_a_shift_1d(rng):
    n, h, c = 30, 1 / 31, 5.0
    op = Operator((np.full(n + 1, 2.0),), np.full(n, c), (h,))
    assert not relaxation._plan(op).variable
    u, f = rng.standard_normal(n), rng.standard_normal(n)
    gold_r = f - op.matrix() @ u
    r = relaxation.residual(op, u, rhs=f)
    assert np.abs(r - gold_r).max() <= 1e-12 * np.abs(gold_r).max()
    ones = np.ones(n)
    assert np.abs(relaxation.residual(op, ones, rhs=np.zeros(n))[1:-1] + c).max() < 1e-9


# -- frequencies, bands, Parseval ------------------------------------------------------
def enumerated_bands(shape):
    """Band of each frequency by explicit enumeration, in exact integer arithmetic:
    ``|k| <= n/3`` is ``9 |k|^2 <= n^2`` with ``n = max(shape)``."""
    n = max(shape)
    band = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        k2 = sum((i + 1) ** 2 for i in index)
        band[index] = "low" if 9 * k2 <= n * n else "mid" if 9 * k2 <= 4 * n * n else "high"
    return band


@PROPERTY
@given(shape=grid_shapes)
@example(shape=(9,))  # k = 3 and 6 sit on the edges
@example(shape=(30,))
@example(shape=(15, 15))  # |(3, 4)| = 5 = 15/3 and |(6, 8)| = 10 = 2 * 15/3
@example(shape=(15, 7))  # not square: thirds of the larger axis
@example(shape=(6, 15))
def test_band_masks_are_the_enumerated_thirds_edges_included(shape):
    p = problem_of(shape, 0)
    masks = spectrum.band_masks(p)
    expect = enumerated_bands(shape)
    for band in spectrum.BANDS:
        np.testing.assert_array_equal(masks[band], expect == band, err_msg=band)
    k = spectrum.frequencies(p)
    for index in np.ndindex(*shape):
        assert k[index] == math.sqrt(sum((i + 1) ** 2 for i in index))


@PROPERTY
@given(shape=grid_shapes, seed=seeds)
def test_parseval_for_the_spectrum_and_the_band_errors(shape, seed):
    p = problem_of(shape, seed)
    rng = np.random.default_rng(seed + 2)
    v = rng.standard_normal(shape)
    c = spectrum.coefficients(p, v)
    assert np.linalg.norm(c) == pytest.approx(np.linalg.norm(v), rel=1e-12)
    np.testing.assert_allclose(spectrum.inverse(p, c), v, rtol=0, atol=1e-12 * np.abs(v).max())
    u = p.reference() + rng.standard_normal(shape)
    bands = spectrum.band_errors(p, u)
    rel = np.linalg.norm(u - p.reference()) / np.linalg.norm(p.reference())
    assert math.fsum(b**2 for b in bands.values()) == pytest.approx(rel**2, rel=1e-10)


def test_sine_modes_are_the_coefficients_of_their_own_frequency():
    """A 2D sine mode built by hand lands on its own ``(kx, ky)``, non-square grid."""
    p = problem_of((13, 6), 0)
    i, j = np.meshgrid(np.arange(1, 14), np.arange(1, 7), indexing="ij")
    for kx, ky in [(1, 1), (4, 5), (13, 6), (7, 2)]:
        v = np.sin(np.pi * kx * i / 14) * np.sin(np.pi * ky * j / 7)
        c = spectrum.coefficients(p, v)
        peak = np.unravel_index(np.argmax(np.abs(c)), c.shape)
        assert (peak[0] + 1, peak[1] + 1) == (kx, ky)
        assert np.abs(c).sum() == pytest.approx(np.abs(c[peak]), rel=1e-10)


# -- transfers ----------------------------------------------------------------------------
grid_pairs = st.one_of(
    st.tuples(st.integers(2, 60), st.integers(1, 40)).map(lambda t: ((t[0],), (min(t),))),
    st.tuples(st.integers(2, 25), st.integers(2, 25), st.integers(1, 20), st.integers(1, 20)).map(
        lambda t: ((t[0], t[1]), (min(t[0], t[2]), min(t[1], t[3])))
    ),
    st.tuples(st.integers(1, 12), st.integers(1, 12)).map(
        lambda t: ((2 * t[0] + 1, 2 * t[1] + 1), t)  # nested pairs
    ),
    st.integers(1, 30).map(lambda m: ((2 * m + 1,), (m,))),
)


def bilinear_interpolant(coarse_values, fine_shape):
    """The piecewise (bi)linear interpolant of the coarse values (zero boundary) at the
    fine points, by scipy: an independent reference for prolongation."""
    axes = [np.linspace(0, 1, m + 2) for m in coarse_values.shape]
    padded = np.pad(coarse_values, 1)
    fine = [np.arange(1, n + 1) / (n + 1) for n in fine_shape]
    points = np.stack(np.meshgrid(*fine, indexing="ij"), axis=-1)
    return RegularGridInterpolator(axes, padded, method="linear")(points)


@PROPERTY
@given(pair=grid_pairs, seed=seeds)
def test_transfers_for_any_pair_of_grids(pair, seed):
    """Restriction is the scaled adjoint of prolongation; prolongation adds, is the
    Kronecker product of the 1D interpolations and exact on piecewise bilinear functions."""
    fine, coarse = pair
    t = transfer(fine, coarse)
    rng = np.random.default_rng(seed)
    e, r, u = rng.standard_normal(coarse), rng.standard_normal(fine), rng.standard_normal(fine)
    scale = math.prod((m + 1) / (n + 1) for n, m in zip(fine, coarse, strict=True))
    Pe = t.prolong(e)
    assert np.vdot(Pe, r) * scale == pytest.approx(np.vdot(e, t.restrict(r)), rel=1e-12, abs=1e-12)
    P = interpolation_matrix(fine[0], coarse[0])
    for n, m in zip(fine[1:], coarse[1:], strict=True):
        P = sp.kron(P, interpolation_matrix(n, m))
    np.testing.assert_allclose(Pe.ravel(), P @ e.ravel(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(t.prolong_add(e, u.copy()), u + Pe, rtol=0, atol=1e-13)
    np.testing.assert_allclose(Pe, bilinear_interpolant(e, fine), rtol=0, atol=1e-12)
    assert isinstance(t, Nested) == (tuple(2 * m + 1 for m in coarse) == fine)


# -- relaxation on random operators ----------------------------------------------------------
@PROPERTY
@given(
    shape=shapes,
    seed=seeds,
    variant=st.sampled_from(VARIANTS),
    sweeps=st.integers(1, 3),
    constant=st.booleans(),
)
def test_relaxation_is_the_gold_iterate_on_random_operators(shape, seed, variant, sweeps, constant):
    method, options, kind, omega, sweep = variant
    op = random_operator(shape, seed, constant)
    omega = default_omega(method, op) if omega is None else omega
    rng = np.random.default_rng(seed + 3)
    rhs, x0 = rng.standard_normal(shape), rng.standard_normal(shape)
    u = relax(op, x0.copy(), method, sweeps, rhs=rhs, **options)
    expect = gold(op.matrix(), rhs.ravel(), x0.ravel(), kind, omega, sweep, shape, sweeps)
    assert np.linalg.norm(u.ravel() - expect) <= 1e-12 * np.linalg.norm(expect)
