"""The fused PCG vector kernels against numpy, and PCG against a dense solve."""

import numpy as np
import pytest

import problems
from solvers import krylov
from solvers.registry import make_settings


@pytest.mark.parametrize("kernels", [krylov._SERIAL, krylov._PARALLEL], ids=["serial", "parallel"])
def test_fused_updates_match_numpy(kernels):
    update, direction, dot = kernels
    rng = np.random.default_rng(1)
    u, r, d, ad, z = (rng.standard_normal(5000) for _ in range(5))
    u_ref, r_ref = u + 0.3 * d, r - 0.3 * ad
    rr = update(u, r, d, ad, 0.3)
    np.testing.assert_allclose(u, u_ref, rtol=1e-15, atol=0)
    np.testing.assert_allclose(r, r_ref, rtol=1e-15, atol=0)
    np.testing.assert_allclose(rr, r_ref @ r_ref, rtol=1e-12, atol=0)
    d_ref = z + 0.7 * d
    direction(d, z, 0.7)
    np.testing.assert_allclose(d, d_ref, rtol=1e-15, atol=0)
    np.testing.assert_allclose(dot(u, z), u @ z, rtol=1e-12, atol=0)


@pytest.mark.parametrize("n", [31, 95])  # serial and parallel kernels (95^2 > 64^2)
def test_pcg_solves_to_the_dense_solution(n):
    p = problems.get("varcoef2d", n=n, contrast=19)
    settings = make_settings(p, rtol=1e-11)
    diag = p.operator.diagonal()
    drv = krylov.driver(p, settings, "pcg", record_every=0)
    u = krylov.pcg(p, settings, lambda r: r / diag, drv)
    assert drv.reason == "converged", drv.message
    assert np.linalg.norm(u - p.reference()) <= 1e-9 * np.linalg.norm(p.reference())
