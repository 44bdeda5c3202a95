"""Frequency analysis: DST coefficients, peaks, per-mode and band errors."""

import numpy as np
import pytest

import problems
from problems import spectrum


@pytest.mark.parametrize("shape", [(31,), (15, 20)])
def test_coefficients_invert_exactly_and_satisfy_parseval(shape, rng):
    p = problems.get("modes1d" if len(shape) == 1 else "random2d", n=shape)
    v = rng.standard_normal(shape)
    c = spectrum.coefficients(p, v)
    np.testing.assert_allclose(spectrum.inverse(p, c), v, rtol=0, atol=1e-13)
    assert np.linalg.norm(c) == pytest.approx(np.linalg.norm(v), rel=1e-13)


def test_coefficients_match_a_dense_sine_basis(rng):
    n = 12
    p = problems.get("modes1d", n=n)
    v = rng.standard_normal(n)
    i = np.arange(1, n + 1)
    S = np.sqrt(2 / (n + 1)) * np.sin(np.pi * np.outer(i, i) / (n + 1))  # orthonormal
    np.testing.assert_allclose(spectrum.coefficients(p, v), S @ v, rtol=0, atol=1e-13)


def test_peaks_find_the_manufactured_modes():
    p = problems.get("modes2d", n=63, modes="1:1,4:3,20:17", amps="1,0.5,1")
    assert spectrum.peaks(p, p.reference()).tolist() == [[1, 1], [4, 3], [20, 17]]
    q = problems.get("modes1d", n=127, modes="40,3,17", amps="1,1,1")
    assert spectrum.peaks(q, q.reference()).tolist() == [3, 17, 40]


def test_paper1d_peaks_cover_its_four_frequencies():
    p = problems.get("paper1d")
    peaks = spectrum.peaks(p, p.reference())
    assert len(peaks) == 8 and list(peaks) == sorted(peaks)
    # sin x, sin 4x, sin 8x, sin 24x sit near k = 2x/pi: 0.6, 2.5, 5.1, 15.3
    for k in [1, 3, 5, 15]:
        assert np.min(np.abs(peaks - k)) <= 1


def test_band_errors_add_up_to_the_relative_error(rng):
    for name in ["paper1d", "random2d"]:
        p = problems.get(name, n=63)
        u = p.reference() + 1e-3 * rng.standard_normal(p.shape)
        b = spectrum.band_errors(p, u)
        rel = np.linalg.norm(u - p.reference()) / np.linalg.norm(p.reference())
        assert b["low"] ** 2 + b["mid"] ** 2 + b["high"] ** 2 == pytest.approx(rel**2, rel=1e-10)


def test_band_errors_locate_the_error_frequency():
    p = problems.get("modes1d", n=90)
    for k, band in [(5, "low"), (45, "mid"), (85, "high")]:
        coeffs = np.zeros(p.shape)
        coeffs[k - 1] = 1.0
        b = spectrum.band_errors(p, p.reference() + spectrum.inverse(p, coeffs))
        assert b[band] > 0 and all(b[o] < 1e-14 for o in b if o != band)


def test_modal_errors_are_relative_to_the_solution_mode():
    p = problems.get("modes1d", n=63, modes="2,9", amps="1,1")
    u = p.reference().copy()
    c = spectrum.coefficients(p, u)
    c[8] *= 0.5  # halve mode 9: its relative error is 0.5, mode 2 untouched
    err = spectrum.modal_errors(p, spectrum.inverse(p, c))
    assert err == pytest.approx([0.0, 0.5], abs=1e-12)


def test_radial_bands_in_2d():
    p = problems.get("random2d", n=30)
    masks = spectrum.band_masks(p)
    assert sum(m.sum() for m in masks.values()) == p.size
    assert masks["low"][0, 0] and masks["high"][-1, -1] and masks["mid"][14, 0]
