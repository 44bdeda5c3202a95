"""HINTS in 2D on the indefinite Helmholtz family (``helmholtz2d-wave``): samples, shipped
model, the classical ablation ``coarse="direct"``, training steps."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.interpolate import RegularGridInterpolator

torch = pytest.importorskip("torch")

import hybrid  # noqa: E402
import problems  # noqa: E402
from hybrid import operator_families as families  # noqa: E402
from hybrid import operator_training  # noqa: E402
from hybrid.operators import load_operator, manifest, operator_for, weights_dir  # noqa: E402
from problems.random_fields import RandomField  # noqa: E402

FAMILY = "helmholtz2d-wave"


def _fine_laplacian_minus_k2(k2: np.ndarray) -> sp.csc_matrix:
    """Gold operator: the 5-point -Laplacian on the unit square minus diag(k^2), by kron."""
    n = k2.shape[0]
    h = 1.0 / (n + 1)
    t = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1]) / h**2
    eye = sp.identity(n)
    return (sp.kron(t, eye) + sp.kron(eye, t) - sp.diags(k2.ravel())).tocsc()


def test_labels_are_the_interpolated_fine_solve():
    fam = families.family(FAMILY)
    assert fam.label_points == 255 and fam.shape == (31, 31)
    # one medium, four right-hand sides, then the same medium turned by a quarter
    s = fam.sample(np.random.default_rng(3), 6)
    assert s.faces[0] is s.faces[3] and s.faces[4] is s.faces[5]
    assert np.array_equal(s.faces[4][0], np.rot90(s.faces[0][0]))
    xs = np.arange(33) / 32
    xf = np.arange(1, 256) / 256
    X, Y = np.meshgrid(xf, xf, indexing="ij")
    lus = {}
    for (k2,), coef, rhs, label in zip(s.faces, s.coefficient, s.rhs, s.label, strict=True):
        if id(k2) not in lus:
            lus[id(k2)] = spla.splu(_fine_laplacian_minus_k2(k2))
        lu = lus[id(k2)]
        padded = np.pad(rhs, 1)  # zero Dirichlet values on the boundary
        fine_rhs = RegularGridInterpolator((xs, xs), padded)(np.stack([X, Y], -1))
        gold = lu.solve(fine_rhs.ravel()).reshape(255, 255)[7::8, 7::8]
        assert np.abs(label - gold).max() <= 1e-9 * np.abs(gold).max()
        assert np.sqrt(np.mean(rhs**2)) == pytest.approx(1.0)
        assert np.allclose(coef, k2[7::8, 7::8] / 32.0**2)
    # the medium is the catalogue's wave2d field: k = k0 max(1 + s G, 1/4), k0 in [8, 32]
    (k2,) = s.faces[0]
    A = _fine_laplacian_minus_k2(k2)
    k = np.sqrt(k2)
    assert k.min() >= 0.25 * k.max() / 1.3 - 1e-12
    assert 8.0 * 0.25 - 1e-12 <= k.min() and np.median(k) <= 32.0 * 1.3
    # away from resonance: the eigenvalue nearest zero (ARPACK, no factorisation given)
    lam = spla.eigsh(A, k=1, sigma=0.0, which="LM", return_eigenvectors=False)
    assert np.abs(lam).min() >= 0.2 * 4 * np.pi
    # the labels are not the 31^2 operator's inverse (its phase error at k h up to 1)
    coarse = spla.spsolve(fam.operator(s.faces[0]).matrix().tocsc(), s.rhs[0].ravel())
    assert np.linalg.norm(coarse - s.label[0].ravel()) > 1e-3 * np.linalg.norm(s.label[0])


def test_the_medium_is_the_catalogue_field():
    fam = families.family(FAMILY)

    class Replay:  # the draws wavenumber() asks for, fixed
        def uniform(self, lo, hi):
            return hi if hi == fam.s_max else lo  # k0 = 8 (log-uniform: exp(log 8)), s = 0.3

        def integers(self, high):
            return 17

    k = fam.wavenumber(Replay())
    x = np.arange(1, 256) / 256
    X, Y = np.meshgrid(x, x, indexing="ij")
    g = RandomField(17, alpha=3.0)(X, Y)
    assert np.allclose(k, 8.0 * np.maximum(1 + 0.3 * g, 0.25), atol=1e-10)


def test_resonant_draws_are_redrawn():
    fam = families.family(FAMILY)
    # constant k^2 on an exact eigenvalue of the fine operator: gap 0
    h = 1.0 / 256
    mu = 2 * (4 / h**2) * np.sin(np.pi * 5 * h / 2) ** 2  # (5, 5) mode
    k2 = np.full((255, 255), mu)
    assert fam.gap(k2) < 1e-8
    assert fam.min_gap(k2) == pytest.approx(0.2 * 4 * np.pi / mu)
    assert fam.gap(k2 * 1.05) > fam.min_gap(k2 * 1.05)


def test_operator_for_picks_the_2d_helmholtz_model():
    assert FAMILY in manifest()
    p = problems.get("helmholtz2d", n=63, k=10.3)
    model = operator_for(p)
    assert model.family == FAMILY and model.dim == 2
    assert operator_for(problems.get("wave2d", n=63, k0=8)).family == FAMILY


def test_a_wrong_family_model_is_a_clear_error():
    poisson2d = str(weights_dir() / manifest()["poisson2d-randcoef"]["file"])
    wave2d = str(weights_dir() / manifest()[FAMILY]["file"])
    with pytest.raises(ValueError, match="family poisson2d-randcoef, which cannot serve the indef"):
        hybrid.solve(problems.get("helmholtz2d", n=31, k=5.3), "hints", weights=poisson2d)
    with pytest.raises(ValueError, match="family helmholtz2d-wave, which cannot serve the defin"):
        hybrid.solve(problems.get("randcoef2d", n=31), "hints", weights=wave2d)
    with pytest.raises(ValueError, match=r"2D operator .* is 1D"):
        hybrid.solve(problems.get("wave1d", n=31, k0=8), "hints", weights=wave2d)


def test_hints_converges_on_2d_helmholtz_with_the_shipped_weights():
    p = problems.get("helmholtz2d", n=63, k=10.3, rhs="random")
    r = hybrid.solve(p, "hints", rtol=1e-10, levels="auto")
    assert r.converged and p.relative_residual(r.u) <= 1e-10
    assert r.info["family"] == FAMILY and r.info["operator_steps"] > 0
    k = hybrid.solve(p, "hints-krylov", rtol=1e-10, levels="auto")
    assert k.converged and p.relative_residual(k.u) <= 1e-10
    # on the wave2d medium the stationary cycle diverges with the shipped network (its
    # validation error exceeds 100%): hints says so and finishes by FGMRES with the cycle
    p = problems.get("wave2d", n=63, k0=8, seed=3)
    r = hybrid.solve(p, "hints", rtol=1e-10, levels="auto")
    assert r.converged and p.relative_residual(r.u) <= 1e-10
    assert "diverging" in [e["label"] for e in r.history.events]


def test_the_direct_ablation_is_an_exact_solve_on_the_sensor_grid():
    # on the sensor grid itself (31^2) the single-grid cycle with the LU in place of the
    # network solves exactly after its first operator step
    p = problems.get("helmholtz2d", n=31, k=10.3, rhs="random")
    r = hybrid.solve(p, "hints", rtol=1e-12, coarse="direct", n_r=5)
    assert r.converged and r.iterations == 6 and p.relative_residual(r.u) <= 1e-12
    assert r.info["arch"] == "direct" and r.info["family"] is None
    # on a finer grid: the same V-cycle hierarchy, an exact coarsest solve
    p = problems.get("wave2d", n=63, k0=4, seed=3)
    d = hybrid.solve(p, "hints-krylov", rtol=1e-8, levels="auto", coarse="direct")
    none = hybrid.solve(p, "hints-krylov", rtol=1e-8, levels="auto", operator=False)
    assert d.converged and p.relative_residual(d.u) <= 1e-8
    assert d.iterations < none.iterations
    with pytest.raises(ValueError, match="coarse must be one of"):
        hybrid.solve(p, "hints", coarse="lu")


def test_a_few_training_steps_on_tiny_sizes(tmp_path, monkeypatch):
    monkeypatch.setattr(operator_training, "VALIDATION", 4)
    out = tmp_path / "w.pt"
    model = operator_training.train(
        FAMILY, samples=8, epochs=2, out=out, batch=4, progress=False, width=16, latent=8
    )
    loaded = load_operator(out)
    assert loaded.family == FAMILY and loaded.dim == 2 and loaded.sensors == 31
    assert np.isfinite(loaded.meta["validation_relative_error"])
    s = families.family(FAMILY).sample(np.random.default_rng(9), 2)
    assert np.array_equal(model.predict(s.coefficient, s.rhs), loaded.predict(s.coefficient, s.rhs))


def test_a_slow_hints_fgmres_hands_over_to_the_resolving_cycle_and_converges():
    # on wave2d 255^2 the shipped 2D network's cycle makes FGMRES crawl (its validation
    # error exceeds 100%); after slow_window steps without a 10x cut, mg-gmres's cycle
    # takes over from the current iterate and the run converges
    p = problems.get("wave2d", n=255, k0=8, seed=3)
    for method in ("hints", "hints-krylov"):
        r = hybrid.solve(p, method, rtol=1e-8, levels="auto", maxiter=400)
        assert r.converged and p.relative_residual(r.u) <= 1e-8, r.message
        switch = next(e["iteration"] for e in r.history.events if e["label"] == "fallback:mg-gmres")
        assert 60 <= switch < r.iterations <= switch + 30
        assert "mg-gmres's V-cycle (k H <= 0.5, LU there) preconditioned the rest" in r.message
        assert r.info["sweeps"] >= 4 * (r.iterations - switch)
    # the cycle alone (slow_window=0) is still far from 1e-8 where the hand-over ended
    alone = hybrid.solve(
        p, "hints-krylov", rtol=1e-8, levels="auto", maxiter=r.iterations, slow_window=0
    )
    assert not alone.converged and alone.relative_residual > 100 * 1e-8
    assert "fallback:mg-gmres" not in [e["label"] for e in alone.history.events]
