"""The catalogue, the discrete operators and the reference solution."""

import numpy as np
import pytest

import problems
from problems import Grid, Problem, constant_eigenvalues

EXACT = [n for n in problems.names() if problems.get(n, n=7).exact() is not None]
SMALL = {1: 31, 2: 15}


def small(name, **params):
    return problems.get(name, n=SMALL[problems.entry(name).dim], **params)


def test_catalogue_lists_every_family():
    names = problems.names()
    assert names == sorted(names)
    for required in [
        "paper1d",
        "modes1d",
        "modes2d",
        "gaussian2d",
        "varcoef1d",
        "varcoef2d",
        "helmholtz2d",
        "random2d",
        "randcoef2d",
    ]:
        assert required in names
        assert problems.describe(required).startswith(required)


def test_problems_with_and_without_exact_solutions():
    assert set(EXACT) >= {
        "paper1d",
        "modes1d",
        "modes2d",
        "gaussian2d",
        "varcoef1d",
        "varcoef2d",
        "helmholtz2d",
    }
    assert small("random2d").exact() is None
    assert small("randcoef2d").exact() is None


@pytest.mark.parametrize("name", EXACT)
def test_discretization_error_is_second_order(name):
    entry = problems.entry(name)
    # Defaults hold modes up to k = 24-32: grids from 63 points resolve them (asymptotic range).
    ns = [63, 127, 255, 511] if entry.dim == 1 else [63, 127, 255]
    hs, errs = [], []
    for n in ns:
        p = problems.get(name, n=n)
        hs.append(p.grid.h[0])
        errs.append(p.discretization_error())
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert abs(slope - 2) < 0.15, (name, slope, errs)


@pytest.mark.parametrize("name", problems.names())
def test_matrix_free_apply_matches_sparse_matrix(name, rng):
    p = small(name)
    u = rng.standard_normal(p.shape)
    Au = p.apply(u)
    expected = (p.matrix() @ u.ravel()).reshape(p.shape)
    assert np.linalg.norm(Au - expected) <= 1e-12 * np.linalg.norm(expected)


def test_parallel_2d_apply_matches_sparse_matrix(rng):
    p = problems.get("randcoef2d", n=(101, 90))  # above the prange threshold, non-square
    u = rng.standard_normal(p.shape)
    expected = (p.matrix() @ u.ravel()).reshape(p.shape)
    assert np.linalg.norm(p.apply(u) - expected) <= 1e-12 * np.linalg.norm(expected)


@pytest.mark.parametrize(
    ("name", "n"), [("varcoef1d", 40), ("helmholtz2d", 12), ("randcoef2d", (101, 90))]
)
def test_apply_dot_is_a_u_and_its_quadratic_form_from_the_sparse_matrix(name, n, rng):
    # 1D, 2D with a shift c, and a grid above the prange threshold (a parallel sum)
    p = problems.get(name, n=n)
    u = rng.standard_normal(p.shape)
    out = np.empty(p.shape)
    Au = p.matrix() @ u.ravel()
    quadratic = p.apply_dot(u, out)
    assert np.linalg.norm(out.ravel() - Au) <= 1e-12 * np.linalg.norm(Au)
    assert abs(quadratic - u.ravel() @ Au) <= 1e-12 * abs(u.ravel()) @ abs(Au)


@pytest.mark.parametrize("name", problems.names())
def test_matrix_is_symmetric_and_definite_as_reported(name):
    p = small(name)
    A = p.matrix()
    assert abs(A - A.T).max() <= 1e-12 * abs(A).max()
    lowest = np.linalg.eigvalsh(A.toarray())[0]
    # the catalogue's defaults are definite (helmholtz2d: screened) except the wave media
    assert p.definite == (lowest > 0) == (name not in ("wave1d", "wave2d")), (name, lowest)


@pytest.mark.parametrize("shape", [(17,), (9, 12)])
def test_sine_modes_are_eigenvectors_with_known_eigenvalues(shape):
    grid = Grid(shape, (0.0,) * len(shape), (2.0,) * len(shape))
    p = Problem("const", grid, source=1.0, a=1.0, c=0.0)
    lam = constant_eigenvalues(shape, grid.h)
    for k in [(1,), (5,), (shape[0],)] if len(shape) == 1 else [(1, 1), (3, 7), (9, 12)]:
        coeffs = np.zeros(shape)
        coeffs[tuple(np.array(k) - 1)] = 1.0
        v = problems.spectrum.inverse(p, coeffs)
        idx = np.arange(1, shape[0] + 1)
        if len(shape) == 1:
            expected_v = np.sin(np.pi * k[0] * idx / (shape[0] + 1))
        else:
            jdx = np.arange(1, shape[1] + 1)
            expected_v = np.outer(
                np.sin(np.pi * k[0] * idx / (shape[0] + 1)),
                np.sin(np.pi * k[1] * jdx / (shape[1] + 1)),
            )
        # the orthonormal DST basis vector is the sine mode, normalised
        np.testing.assert_allclose(
            v / np.linalg.norm(v), expected_v / np.linalg.norm(expected_v), rtol=0, atol=1e-12
        )
        h = grid.h
        expected_lam = sum(
            4 / hd**2 * np.sin(np.pi * kd / (2 * (nd + 1))) ** 2 for kd, nd, hd in zip(k, shape, h)
        )
        assert np.allclose(p.apply(v), expected_lam * v, rtol=1e-12, atol=1e-12 * expected_lam)
        assert np.isclose(lam[tuple(np.array(k) - 1)], expected_lam, rtol=1e-14, atol=0)


def test_helmholtz_shift_adds_c_to_eigenvalues():
    p = problems.get("helmholtz2d", n=15, c=7.5)
    coeffs = np.zeros(p.shape)
    coeffs[2, 4] = 1.0
    v = problems.spectrum.inverse(p, coeffs)
    lam = constant_eigenvalues(p.shape, p.grid.h, 1.0, 7.5)[2, 4]
    np.testing.assert_allclose(p.apply(v), lam * v, rtol=0, atol=1e-12 * lam)


@pytest.mark.parametrize("name", problems.names())
def test_reference_solves_the_discrete_system(name):
    p = small(name)
    u = p.reference()
    assert np.linalg.norm(p.residual(u)) <= 1e-10 * np.linalg.norm(p.f)
    assert u is p.reference()  # cached
    with pytest.raises(ValueError):
        u[(0,) * p.dim] = 1.0  # read-only, so the cache cannot be corrupted


def test_nonzero_boundary_data_are_lifted_into_f():
    for name in ["varcoef1d", "gaussian2d"]:
        p = problems.get(name, n=63)
        assert p.boundary is not None
        full = p.grid.boundary_mesh()
        g = p.evaluate("boundary", *full)
        edge = np.ones(g.shape, bool)
        edge[(slice(1, -1),) * p.dim] = False
        assert np.abs(g[edge]).max() > 0.1  # really non-zero on the boundary
        # the lift reproduces the boundary data, and u_ref approximates the exact solution
        np.testing.assert_allclose(
            p.lift(*(c[edge] for c in full)), g[edge], rtol=1e-12, atol=1e-14
        )
        assert p.discretization_error() < 1e-2


def test_p_x_and_h_follow_the_grid_convention():
    p = problems.get("paper1d", n=9)
    assert p.h == pytest.approx(2 / 10)
    np.testing.assert_allclose(p.x[0], -1 + p.h * np.arange(1, 10), rtol=0, atol=1e-15)
    q = problems.get("random2d", n=(7, 9))
    assert q.h == pytest.approx((1 / 8, 1 / 10))
    assert q.x[0].shape == (7, 9)
    np.testing.assert_allclose(q.x[1][0], np.arange(1, 10) / 10, rtol=0, atol=1e-15)


def test_randcoef_contrast_parameter_sets_max_over_min():
    for contrast in [10.0, 100.0]:
        p = problems.get("randcoef2d", n=127, contrast=contrast)
        faces = np.concatenate([f.ravel() for f in p.operator.faces])
        ratio = faces.max() / faces.min()
        assert 0.8 * contrast <= ratio <= 1.0001 * contrast
    a = problems.get("randcoef2d", n=31, seed=1).operator.faces[0]
    b = problems.get("randcoef2d", n=31, seed=2).operator.faces[0]
    assert np.abs(a - b).max() > 0.1 * np.abs(a).max()  # another field, not a rounding


def test_varcoef_contrast_parameter():
    p = problems.get("varcoef2d", n=255, contrast=19)
    faces = np.concatenate([f.ravel() for f in p.operator.faces])
    assert faces.max() / faces.min() == pytest.approx(19, rel=0.02)


# -- bad input -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: problems.get("nope"), "unknown problem 'nope'; choose one of: gaussian2d"),
        (lambda: problems.get("paper1d", bogus=1), "unknown parameter 'bogus'"),
        (lambda: problems.get("modes1d", bogus=1), "valid parameters: modes, amps"),
        (lambda: problems.get("paper1d", n=2), "n must be an integer >= 3"),
        (lambda: problems.get("paper1d", n="x"), "n must be an integer >= 3"),
        (lambda: problems.get("random2d", n=(5,)), "n must give 2 sizes"),
        (lambda: problems.get("helmholtz2d", n=7, c=-1), "the shift c must be >= 0"),
        (lambda: problems.get("helmholtz2d", n=7, c="nan"), "must be a finite number"),
        (lambda: problems.get("varcoef2d", n=7, contrast=0.5), "contrast"),
        (lambda: problems.get("modes1d", n=7, modes="1,0", amps="1,1"), "mode numbers must be"),
        (lambda: problems.get("modes1d", n=7, modes="1,2", amps="1"), "same, non-zero length"),
        (lambda: problems.get("randcoef2d", n=7, rhs="zero"), "must be one of constant, random"),
    ],
)
def test_bad_input_raises_value_error_naming_the_culprit(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        call()


def test_nonpositive_or_nonfinite_coefficients_are_rejected():
    grid = Grid((7,), (0.0,), (1.0,))
    with pytest.raises(ValueError, match=r"coefficient a must be > 0"):
        Problem("bad", grid, source=1.0, a=lambda x: x - 0.5)
    with pytest.raises(ValueError, match=r"coefficient a is not finite"):
        Problem("bad", grid, source=1.0, a=lambda x: np.where(x > 0.5, np.inf, 1.0))
    with (
        pytest.raises(ValueError, match=r"right-hand side f is not finite"),
        np.errstate(all="ignore"),
    ):
        Problem("bad", grid, source=lambda x: np.log(x - 0.5))
    # a negative shift is allowed (indefinite Helmholtz) and reported
    assert not Problem("helmholtz", grid, source=1.0, c=-1.0).definite
    with pytest.raises(ValueError, match=r"n must be an integer >= 3"):
        Grid((2,), (0.0,), (1.0,))
