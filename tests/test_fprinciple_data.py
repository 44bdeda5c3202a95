"""F-Principle diagnostics on data (solvers.fprinciple_data) and `fpsolve fprinciple`."""

import itertools
import json

import numpy as np
import pytest

from hybrid.app.cli import main
from solvers import fprinciple_data as fd

torch = pytest.importorskip("torch")


def dense_low_pass(x, v, delta):
    """The filter by its definition: the full n x n Gaussian kernel, explicit differences."""
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    g = np.exp(-d2 / (2 * delta))
    return (g @ v) / g.sum(1, keepdims=True)


@pytest.fixture(scope="module")
def digits():
    sklearn = pytest.importorskip("sklearn.datasets")
    d = sklearn.load_digits()
    return d.data / 16.0, d.target


# -- the filter -------------------------------------------------------------------------
@pytest.mark.parametrize("chunk", [1, 7, 64, None])
def test_chunked_filter_equals_the_dense_kernel(rng, chunk):
    x = rng.normal(size=(64, 5))
    v = rng.normal(size=(64, 3))
    deltas = [0.3, 1.0, 4.0, 50.0]
    got = fd.GaussianFilter(x, chunk=chunk).apply(v, deltas)
    assert got.shape == (4, 64, 3)
    for i, delta in enumerate(deltas):
        np.testing.assert_allclose(got[i], dense_low_pass(x, v, delta), rtol=0, atol=1e-10)
    one = fd.low_pass(x, v[:, 0], deltas[1], chunk=chunk)
    np.testing.assert_allclose(one[0], dense_low_pass(x, v[:, :1], 1.0)[:, 0], atol=1e-10)


def test_float32_filter_agrees_with_float64(rng):
    x = rng.random((300, 20))
    v = rng.normal(size=300)
    lo64 = fd.low_pass(x, v, [0.2, 1.0])
    lo32 = fd.low_pass(x, v, [0.2, 1.0], dtype="float32")
    np.testing.assert_allclose(lo32, lo64, atol=1e-4)


def test_delta_to_zero_keeps_the_values_and_to_infinity_gives_the_mean(rng):
    x = rng.normal(size=(200, 10))
    y = rng.normal(size=(200, 2))
    f = fd.GaussianFilter(x, chunk=33)
    errors = [np.abs(f.apply(y, d)[0] - y).max() for d in (1.0, 0.1, 0.01, 1e-4)]
    assert errors[0] > 1e-3  # a real smoothing at delta = 1 ...
    assert all(b < a or b == 0 for a, b in itertools.pairwise(errors))  # ... shrinking
    assert errors[-1] < 1e-12  # ... to nothing (the nearest other point is far in 10-D)
    np.testing.assert_allclose(f.apply(y, 1e8)[0], np.broadcast_to(y.mean(0), y.shape), atol=1e-6)


def test_neighbour_truncation_stays_within_its_bound(rng):
    # clustered data, as real data is: a few neighbours hold nearly all the weight
    centres = rng.normal(size=(8, 6)) * 5
    x = centres[rng.integers(0, 8, 400)] + 0.3 * rng.normal(size=(400, 6))
    v = rng.normal(size=(400, 2))
    deltas = [0.05, 0.2, 1.0]
    exact = fd.GaussianFilter(x).apply(v, deltas)
    for k in (10, 60):
        f = fd.GaussianFilter(x, neighbours=k, chunk=50)
        got = f.apply(v, deltas)
        bound = f.truncation_bound(v, deltas)
        actual = np.abs(got - exact).max(axis=1)
        assert np.all(actual <= bound + 1e-12), (k, actual, bound)
    assert bound[0].max() < 1e-2 < bound[-1].max()  # tight at a small width, not at a large
    assert actual.max() > 1e-6  # something was cut
    full = fd.GaussianFilter(x, neighbours=400)
    np.testing.assert_allclose(full.apply(v, deltas), exact, atol=1e-12)
    assert np.all(full.truncation_bound(v, deltas) == 0)


def test_filter_errors_in_one_pass_equal_the_definition(rng):
    x = rng.normal(size=(80, 4))
    y = rng.normal(size=(80, 2))
    outputs = rng.normal(size=(3, 80, 2))
    deltas = [0.5, 2.0]
    e_low, e_high = fd.filter_errors(fd.GaussianFilter(x), y, outputs, deltas)
    for e in range(3):
        for i, delta in enumerate(deltas):
            y_low, h_low = dense_low_pass(x, y, delta), dense_low_pass(x, outputs[e], delta)
            want_low = np.linalg.norm(y_low - h_low) / np.linalg.norm(y_low)
            want_high = np.linalg.norm(y - y_low - outputs[e] + h_low) / np.linalg.norm(y - y_low)
            assert e_low[e, i] == pytest.approx(want_low, rel=1e-10)
            assert e_high[e, i] == pytest.approx(want_high, rel=1e-10)


@pytest.mark.parametrize(
    ("x", "v", "deltas", "match"),
    [
        (np.ones((5, 2)) * np.nan, np.ones(5), 1.0, "non-finite"),
        (np.ones((1, 2)), np.ones(1), 1.0, "at least 2 points"),
        (np.eye(5), np.ones(4), 1.0, "5 rows"),
        (np.eye(5), np.ones(5), 0.0, "deltas"),
        (np.eye(5), np.ones(5), [1.0, np.inf], "deltas"),
    ],
)
def test_bad_filter_input_is_a_clear_error(x, v, deltas, match):
    with pytest.raises(ValueError, match=match):
        fd.low_pass(x, v, deltas)


# -- projection -----------------------------------------------------------------------
def test_projection_transform_against_the_direct_sum(rng):
    x = rng.normal(size=(50, 3)) * [3.0, 1.0, 0.2]
    v = rng.normal(size=(50, 2))
    p = fd.principal_direction(x)
    cov = np.cov(x.T)
    top = np.linalg.eigh(cov)[1][:, -1]
    assert abs(abs(p @ top) - 1) < 1e-10
    k = np.array([0.0, 0.3, 1.7])
    got = fd.projection_transform(x, v, k)
    t = x @ p
    for a, kk in enumerate(k):
        want = sum(v[i] * np.exp(-2j * np.pi * kk * t[i]) for i in range(50)) / 50
        np.testing.assert_allclose(got[a], want, atol=1e-13)
    assert fd.projection_errors(got, got).max() == 0
    assert fd.projection_errors(got[:, 0], 1.5 * got[:, 0]) == pytest.approx(0.5)


# -- digits: the paper's finding, measured -------------------------------------------------
def test_digits_low_frequencies_are_fitted_first(digits):
    x, y = digits
    r = fd.track(x, y, model="mlp", epochs=8, seed=0)
    mid = len(r.deltas) // 2
    low, high = r.e_low[:, mid], r.e_high[:, mid]
    assert r.e_low.shape == (9, len(r.deltas)) and r.epochs.tolist() == list(range(9))
    assert low[0] > 0.9 and high[0] > 0.9  # nothing is fitted at the initialisation
    above = np.flatnonzero(low >= high)
    from_epoch = above[-1] + 1 if above.size else 0
    assert from_epoch <= 2, (low, high)  # below early ...
    assert np.all(low[from_epoch:] < high[from_epoch:])  # ... and stays below
    assert low[-1] < 0.5 * high[-1]
    assert r.accuracy[-1] > 0.9 and r.accuracy[0] < 0.3
    assert r.projection_error.shape == (9, len(r.peaks))
    assert r.projection_error[-1].max() < r.projection_error[0].min()


# -- parity ---------------------------------------------------------------------------
def test_parity_transform_is_exact_and_its_energy_is_high_frequency(rng):
    x, y = fd.parity_cube(6)
    k = rng.uniform(-3, 3, size=(20, 6))
    np.testing.assert_allclose(fd.empirical_transform(x, y, k), fd.parity_transform(k), atol=1e-14)
    kappa = np.linspace(0, np.pi, 101)
    diag = np.abs(fd.parity_transform(np.repeat(kappa[:, None], 6, axis=1)))
    assert kappa[np.argmax(diag)] == pytest.approx(np.pi / 2)
    assert diag[kappa < 0.5].max() < 1e-2 * diag.max()


def test_parity_network_fits_the_training_points_but_not_the_rest():
    r = fd.parity_experiment(d=10, n_train=200, epochs=200, seed=0)
    assert r.train_accuracy > 0.99
    assert abs(r.test_accuracy - 0.5) < 0.15, r.test_accuracy  # chance, not generalisation
    assert r.target_spectrum[np.argmin(abs(r.kappa - np.pi / 2))] == pytest.approx(1.0)


# -- the one-hidden-layer theorem -------------------------------------------------------
def _grid(n=2048, half=200.0, sigma=20.0):
    x = np.linspace(-half, half, n, endpoint=False)
    rho = np.exp(-(x**2) / (2 * sigma**2))
    return x, rho / rho.sum()


def test_gradient_bands_sum_to_the_autograd_gradient(rng):
    x, rho = _grid(256, 20.0, 4.0)
    y = rng.normal(size=x.size)
    for weights in (None, rho):
        net = fd.one_hidden_layer(16, 0.5, seed=1)
        g = fd.gradient_spectrum(net, x, y, weights)
        w = np.full(x.size, 1 / x.size) if weights is None else weights
        xt = torch.tensor(x)[:, None]
        loss = (torch.tensor(w) * (net(xt)[:, 0] - torch.tensor(y)) ** 2).sum()
        grads = torch.autograd.grad(loss, list(net.parameters()))
        want = torch.cat([q.reshape(-1) for q in grads]).numpy()
        np.testing.assert_allclose(g.total, want, rtol=1e-9, atol=1e-12)
        assert np.sum(g.residual**2) == pytest.approx(float(loss.detach()), rel=1e-10)


def test_gradient_spectrum_decays_at_the_theorem_rate_for_small_weights(rng):
    x, rho = _grid()
    y = rng.normal(size=x.size)
    slopes = []
    for scale in (0.05, 0.1, 0.2, 0.5):
        net = fd.one_hidden_layer(20, scale, seed=0)
        g = fd.gradient_spectrum(net, x, y, rho)
        fitted = g.slope(fmin=0.5)
        slopes.append(fitted)
        if scale <= 0.2:  # the theorem's small-weight regime
            assert fitted == pytest.approx(fd.theorem_slope(net), rel=0.15), scale
    assert all(a < b for a, b in itertools.pairwise(slopes)), slopes  # weaker decay


# -- the command ------------------------------------------------------------------------
def test_cli_digits_writes_json_and_figures(tmp_path, capsys, digits):
    out = tmp_path / "fp"
    rc = main(["fprinciple", "--data", "digits", "--epochs", "2", "--out", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    data = json.loads((out / "fprinciple.json").read_text())
    assert len(data["e_low"]) == 3 and len(data["e_low"][0]) == len(data["deltas"])
    assert data["run"]["argv"][:2] == ["fpsolve", "fprinciple"]
    for name in ("errors", "heatmap", "projection"):
        assert (out / f"fprinciple_{name}.png").stat().st_size > 10_000


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize(
    ("make", "model", "match"),
    [
        (lambda p: str(p / "absent.npz"), "mlp", "no such file"),
        (lambda p: (p / "t.npz").write_text("not a zip") and str(p / "t.npz"), "mlp", "npz"),
        (lambda p: _npz(p / "a.npz", x=np.ones((20, 3))), "mlp", "no array 'y'"),
        (lambda p: _npz(p / "a.npz", x=np.ones((20, 3)), y=np.ones(19)), "mlp", "20 samples"),
        (lambda p: _npz(p / "a.npz", x=np.full((20, 3), np.nan), y=np.ones(20)), "mlp", "x has"),
        (lambda p: _npz(p / "a.npz", x=np.ones((20, 3)), y=np.ones(20)), "cnn", "images"),
        (lambda p: _npz(p / "a.npz", x=np.ones(20), y=np.ones(20)), "mlp", "shape"),
        (lambda p: str(p / "data.csv"), "mlp", "digits' or a FILE.npz"),
    ],
)
def test_cli_bad_data_is_one_line_exit_2_nothing_written(tmp_path, capsys, make, model, match):
    spec = make(tmp_path)
    out = tmp_path / "out"
    rc = main(["fprinciple", "--data", spec, "--model", model, "--epochs", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("fpsolve: error:") and err.count("\n") == 1 and match in err, err
    assert not out.exists()


def test_cli_user_npz_regression_runs(tmp_path, capsys, rng):
    x = rng.normal(size=(120, 4))
    spec = _npz(tmp_path / "reg.npz", x=x, y=np.sin(x[:, 0]))
    rc = main(["fprinciple", "--data", spec, "--epochs", "2", "--out", str(tmp_path / "o")])
    assert rc == 0, capsys.readouterr().err
    data = json.loads((tmp_path / "o" / "fprinciple.json").read_text())
    assert data["classes"] == 0 and data["accuracy"] == [None, None, None]


@pytest.mark.parametrize(
    ("flag", "value", "match"),
    [
        ("--epochs", "0", "argument --epochs: must be an integer >= 1, got '0'"),
        ("--lr", "-1", "argument --lr: must be a finite number > 0, got '-1'"),
        ("--deltas", "0.1,nan", "argument --deltas: must be a finite number > 0, got 'nan'"),
    ],
)
def test_cli_bad_flag_is_one_line_naming_the_flag(tmp_path, capsys, flag, value, match):
    out = tmp_path / "out"
    rc = main(["fprinciple", flag, value, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and match in err and err.count("\n") == 1, err
    assert not out.exists()
