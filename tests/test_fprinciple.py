"""The F-Principle paper's fitting experiment (solvers.fprinciple) and its example."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from solvers import fprinciple

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fprinciple_fit.py"


def test_peaks_of_the_paper_target_are_its_frequencies():
    x = np.linspace(-np.pi, np.pi, 201, endpoint=False)
    assert fprinciple.dft_peaks(fprinciple.paper_target(x)).tolist() == [1, 3, 5]
    assert fprinciple.dft_peaks(np.cos(7 * x) + 0.5).tolist() == [0, 7]
    with pytest.raises(ValueError, match="no spectral peak"):
        fprinciple.dft_peaks(np.zeros(16))


def test_peak_error_is_a_complex_difference_not_a_difference_of_magnitudes():
    x = np.linspace(-np.pi, np.pi, 64, endpoint=False)
    y = np.sin(3 * x)
    for shift in (0.3, 1.0):
        h = np.sin(3 * (x + shift))  # same magnitude at k = 3, phase 3 * shift
        got = fprinciple.peak_errors(h, y, [3])[0]
        assert got == pytest.approx(2 * abs(np.sin(3 * shift / 2)), rel=1e-12)
    assert fprinciple.peak_errors(0.75 * y, y, [3])[0] == pytest.approx(0.25, rel=1e-12)


def test_lowest_peak_converges_before_the_highest():
    r = fprinciple.fit(steps=400, lr=1e-2, seed=0)
    assert r.frequencies.tolist() == [1, 3, 5]
    assert r.errors.shape == (401, 3) and r.steps[0] == 0 and r.steps[-1] == 400
    assert np.all(r.errors[0] > 0.5)  # nothing is fitted at the start
    low, mid, high = r.converged_at(0.1)
    assert low >= 0, "the lowest peak never converged"
    assert high < 0 or low < mid < high, (low, mid, high)
    at = np.searchsorted(r.steps, low)
    assert r.errors[at, -1] > 0.5  # the highest peak is still far off then


def test_fit_accepts_any_function_and_is_repeatable():
    a = fprinciple.fit(lambda x: np.sin(2 * x) + 0.3 * np.sin(9 * x), steps=5, seed=1)
    b = fprinciple.fit(lambda x: np.sin(2 * x) + 0.3 * np.sin(9 * x), steps=5, seed=1)
    assert a.frequencies.tolist() == [2, 9]
    np.testing.assert_array_equal(a.errors, b.errors)
    c = fprinciple.fit(np.exp, domain=(0.0, 1.0), npoints=32, steps=3, record_every=2)
    assert c.steps.tolist() == [0, 2, 3] and c.frequencies[0] == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"domain": (1.0, 0.0)}, "domain must be"),
        ({"npoints": 4}, "npoints must be an integer >= 8"),
        ({"steps": 0}, "steps must be an integer >= 1"),
        ({"lr": -1.0}, "lr must be a finite number"),
        ({"widths": (0,)}, "fit: widths must be a sequence of integers >= 1"),
        ({"activation": "swish"}, "fit: activation"),
        ({"dtype": "half"}, "dtype must be"),
        ({"target": lambda x: x[:3]}, "must return 201 finite values"),
    ],
)
def test_bad_arguments_raise_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fprinciple.fit(**kwargs)


def test_example_writes_the_heatmap(tmp_path, capsys, monkeypatch):
    """In-process (tests/test_examples.py also runs every example as a script)."""
    out = tmp_path / "heat.png"
    monkeypatch.setattr(sys, "argv", [str(EXAMPLE), "--quick", "--out", str(out)])
    example = runpy.run_path(str(EXAMPLE), run_name="__main__")
    assert example["figure"].axes  # the heatmap, as the gallery shows it
    assert out.stat().st_size > 5000 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = {}
    for line in capsys.readouterr().out.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            rows[int(cells[0])] = cells[1]
    assert set(rows) == {1, 3, 5}
    assert rows[1] != "never" and (rows[5] == "never" or int(rows[1]) < int(rows[5]))
