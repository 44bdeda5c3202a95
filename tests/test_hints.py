"""HINTS (pretrained neural operators in the loop): methods, model files, offline training."""

import shutil

import numpy as np
import pytest
import scipy.sparse.linalg as spla

torch = pytest.importorskip("torch")

import hybrid  # noqa: E402
import problems  # noqa: E402
from hybrid import operator_families as families  # noqa: E402
from hybrid.app.cli import main  # noqa: E402
from hybrid.operator_training import train  # noqa: E402
from hybrid.operators import load_operator, manifest, save_operator, weights_dir  # noqa: E402
from problems.random_fields import RandomField  # noqa: E402


# -- families: samples and labels against gold references -----------------------------
@pytest.mark.parametrize("name", [n for n in families.names() if families.family(n).definite])
def test_family_labels_solve_the_sampled_systems(name):
    fam = families.family(name)
    s = fam.sample(np.random.default_rng(1), 3)
    for faces, rhs, label in zip(s.faces, s.rhs, s.label, strict=True):
        A = fam.operator(faces).matrix()
        gold = spla.spsolve(A.tocsc(), rhs.ravel()).reshape(rhs.shape)
        assert np.allclose(label, gold, rtol=1e-10, atol=1e-12)
        assert np.sqrt(np.mean(rhs**2)) == pytest.approx(1.0)
        contrast = max(f.max() for f in faces) / min(f.min() for f in faces)
        assert 1.0 <= contrast <= 10.0 * (1 + 1e-9)


def test_2d_family_draws_the_catalogue_field():
    c = families.field_coefficients(11)
    g = RandomField(11, alpha=3.0)
    xs, ys = np.linspace(0, 1, 9), np.linspace(0.05, 0.95, 7)
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    assert np.allclose(families._tensor(c, xs, ys), g(X, Y), atol=1e-12)


def test_helmholtz_labels_solve_the_fine_system():
    # gold: a dense solve of -u'' - k^2 u = P r on the 8x finer grid (255 points), sampled
    # at the sensor points
    fam = families.family("helmholtz1d-wave")
    s = fam.sample(np.random.default_rng(2), 3)
    xs, xf = np.arange(33) / 32, np.arange(1, 256) / 256
    for (k2,), coef, rhs, label in zip(s.faces, s.coefficient, s.rhs, s.label, strict=True):
        assert k2.shape == (255,) and np.sqrt(np.mean(rhs**2)) == pytest.approx(1.0)
        A = np.diag(2 * 256.0**2 - k2) - 256.0**2 * (np.eye(255, k=1) + np.eye(255, k=-1))
        gold = np.linalg.solve(A, np.interp(xf, xs, np.concatenate([[0], rhs, [0]])))[7::8]
        assert np.allclose(label, gold, rtol=1e-9, atol=1e-12)
        assert np.allclose(coef, k2[7::8] / 32.0**2)
        assert np.sqrt(k2.min()) >= fam.floor * fam.k0_range[0] - 1e-12
        assert fam.gap(k2) >= families.MIN_GAP
    # the labels are not the 31-point operator's inverse (its phase error at k h ~ 1)
    coarse = spla.spsolve(fam.operator(s.faces[0]).matrix().tocsc(), s.rhs[0])
    assert np.linalg.norm(coarse - s.label[0]) > 1e-3 * np.linalg.norm(s.label[0])


def test_unknown_family_is_a_clear_error():
    with pytest.raises(
        ValueError, match="choose one of: helmholtz1d-wave, helmholtz2d-wave, poisson1d-varcoef"
    ):
        families.family("heat")


# -- the shipped models ------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, n, in_family",
    [
        ("varcoef1d", 63, True),
        ("randcoef2d", 31, True),
        ("paper1d", 31, False),
        ("varcoef2d", 63, False),
    ],
)
def test_hints_converges_with_the_shipped_weights(name, n, in_family):
    p = problems.get(name, n=n)
    r = hybrid.solve(p, "hints", rtol=1e-10)
    assert r.converged and p.relative_residual(r.u) <= 1e-10
    assert r.info["operator_steps"] > 0 and r.info["family"] == families.default_family(p).name
    if in_family:  # outside it the operator may stall and the fallback finish the job
        assert not r.info["stalled"]
    # the network is essential: relaxation alone (the ablation) needs far more sweeps
    ablation = hybrid.solve(p, "hints", rtol=1e-10, operator=False, maxiter=r.info["sweeps"])
    assert not ablation.converged


@pytest.mark.parametrize(
    "name, n, params, levels",
    [
        ("wave1d", 31, {"k0": 8}, 1),
        ("helmholtz1d", 31, {"k": 10}, 1),
        ("wave1d", 255, {"k0": 12, "seed": 5}, "auto"),
    ],
)
def test_hints_on_helmholtz_with_the_shipped_weights(name, n, params, levels):
    p = problems.get(name, n=n, **params)
    r = hybrid.solve(p, "hints", rtol=1e-10, levels=levels, fallback="none", max_seconds=30)
    # the operator does the work: no stall, no divergence, no fallback
    assert r.converged and p.relative_residual(r.u) <= 1e-10
    assert r.info["family"] == "helmholtz1d-wave" and r.info["operator_steps"] > 0
    assert not r.info["stalled"] and not r.info["diverging"] and not r.history.events
    # essential: the same cycles without it diverge (relaxation amplifies the band below k^2)
    ablation = hybrid.solve(
        p, "hints", rtol=1e-10, levels=levels, operator=False, maxiter=r.iterations
    )
    assert not ablation.converged
    kr = hybrid.solve(p, "hints-krylov", rtol=1e-10, levels=levels)
    assert kr.converged and p.relative_residual(kr.u) <= 1e-10


def _zeroed_helmholtz_weights(tmp_path):
    """The shipped 1D Helmholtz model with every weight zero: its step does nothing."""
    model = load_operator(_shipped("helmholtz1d-wave"))
    with torch.no_grad():
        for prm in model.net.parameters():
            prm.zero_()
    path = tmp_path / "zero.pt"
    save_operator(path, model)
    return path


def test_hints_diverging_on_helmholtz_continues_by_fgmres(tmp_path):
    # zeroed weights: the stationary cycle is relaxation alone, which diverges on an
    # indefinite problem; hints notices and finishes by FGMRES (events recorded)
    path = _zeroed_helmholtz_weights(tmp_path)
    p = problems.get("wave1d", n=31, k0=8)
    r = hybrid.solve(p, "hints", rtol=1e-10, weights=str(path))
    assert r.converged and p.relative_residual(r.u) <= 1e-10
    labels = [e["label"] for e in r.history.events]
    assert "fallback:krylov" in labels and ("diverging" in labels or "stall" in labels)


def test_the_krylov_continuation_has_a_budget_of_its_own(tmp_path, monkeypatch):
    # without maxiter, the FGMRES that continues a diverging cycle gets hints-krylov's
    # budget (here shrunk to 3 steps), not the stationary cycle's 10^7 iterations
    from hybrid import hints as hints_module

    path = _zeroed_helmholtz_weights(tmp_path)
    monkeypatch.setitem(hints_module.MAXITER, "hints-krylov", 3)
    p = problems.get("wave1d", n=31, k0=8)
    r = hybrid.solve(p, "hints", rtol=1e-14, weights=str(path))
    handover = next(e["iteration"] for e in r.history.events if e["label"] == "fallback:krylov")
    assert not r.converged and r.iterations == handover + 3


def test_the_family_picks_the_model():
    from hybrid.operators import operator_for

    h1 = problems.get("helmholtz1d", n=63, k=10)
    assert operator_for(h1).family == "helmholtz1d-wave"
    assert operator_for(problems.get("varcoef1d", n=63)).family == "poisson1d-varcoef"
    # the screened equation (k = 0, c > 0) is definite: the Poisson family serves it
    assert operator_for(problems.get("helmholtz1d", n=63)).family == "poisson1d-varcoef"
    assert operator_for(problems.get("helmholtz2d", n=31, k=5.3)).family == "helmholtz2d-wave"


@pytest.mark.parametrize("name", ["varcoef1d", "randcoef2d"])
def test_hints_krylov_converges(name):
    p = problems.get(name, n=31)
    r = hybrid.solve(p, "hints-krylov", rtol=1e-10)
    assert r.converged and p.relative_residual(r.u) <= 1e-10
    plain = hybrid.solve(p, "hints-krylov", rtol=1e-10, operator=False)
    assert r.iterations < plain.iterations


def test_manifest_lists_every_shipped_file_with_its_checksum():
    from hybrid.operators import sha256

    m = manifest()
    assert set(m) == set(families.names())
    for fam, entry in m.items():
        path = weights_dir() / entry["file"]
        assert path.stat().st_size < 2_000_000
        assert sha256(path) == entry["sha256"]
        assert f"--family {fam}" in entry["command"] and "train-operator" in entry["command"]


# -- stalls: zeroed weights ---------------------------------------------------------------
@pytest.fixture
def zeroed(tmp_path):
    model = load_operator(weights_dir() / manifest()["poisson1d-varcoef"]["file"])
    with torch.no_grad():
        for prm in model.net.parameters():
            prm.zero_()
    path = tmp_path / "zero.pt"
    save_operator(path, model)
    return path


@pytest.mark.parametrize("fallback", ["krylov", "relaxation"])
def test_zeroed_weights_stall_and_converge_through_the_fallback(zeroed, fallback):
    p = problems.get("varcoef1d", n=31)
    r = hybrid.solve(p, "hints", rtol=1e-10, weights=str(zeroed), fallback=fallback)
    assert r.converged and p.relative_residual(r.u) <= 1e-10
    assert r.info["stalled"] and "stalled" in r.message
    labels = [e["label"] for e in r.history.events]
    assert "stall" in labels
    assert ("fallback:krylov" in labels) == (fallback == "krylov")


def test_zeroed_weights_in_the_krylov_preconditioner(zeroed):
    p = problems.get("varcoef1d", n=31)
    r = hybrid.solve(p, "hints-krylov", rtol=1e-10, weights=str(zeroed))
    assert r.converged and r.info["stalled"]
    assert [e["label"] for e in r.history.events] == ["stall"]


# -- bad weight files ----------------------------------------------------------------------
def _shipped(fam="poisson1d-varcoef"):
    return weights_dir() / manifest()[fam]["file"]


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        hybrid.solve(problems.get("varcoef1d", n=31), "hints", weights=str(tmp_path / "no.pt"))


def test_truncated_and_corrupt_files(tmp_path):
    data = _shipped().read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.pt").write_bytes(b"not a model" * 10)
    for name in ("cut.pt", "junk.pt"):
        with pytest.raises(ValueError, match="truncated or corrupt"):
            load_operator(tmp_path / name)


def test_foreign_torch_file(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an fpsolve operator"):
        load_operator(tmp_path / "other.pt")


def test_checksum_mismatch(tmp_path):
    copy = tmp_path / "copy.pt"
    shutil.copy(_shipped(), copy)
    load_operator(copy, sha256_expected=manifest()["poisson1d-varcoef"]["sha256"])  # fine
    with pytest.raises(ValueError, match="SHA-256"):
        load_operator(copy, sha256_expected="0" * 64)


def test_wrong_dimension():
    p2 = problems.get("randcoef2d", n=31)
    with pytest.raises(ValueError, match=r"1D operator .* is 2D"):
        hybrid.solve(p2, "hints", weights=str(_shipped("poisson1d-varcoef")))


def test_wrong_family():
    model = load_operator(_shipped())
    p = problems.get("varcoef1d", n=31)

    class Indefinite:  # what an indefinite (Helmholtz) problem reports
        dim, name, definite = 1, "helmholtz1d", False

    model.check_problem(p)
    with pytest.raises(ValueError, match="cannot serve the indefinite problem"):
        model.check_problem(Indefinite())
    # and the other way round, through the method: a Helmholtz model on a Poisson problem
    with pytest.raises(ValueError, match="family helmholtz1d-wave, which cannot serve the defin"):
        hybrid.solve(p, "hints", weights=str(_shipped("helmholtz1d-wave")))
    with pytest.raises(ValueError, match="family poisson1d-varcoef, which cannot serve the indef"):
        hybrid.solve(problems.get("wave1d", n=31, k0=8), "hints", weights=str(_shipped()))


def test_deeponet_refuses_another_grid():
    p = problems.get("varcoef1d", n=63)
    with pytest.raises(ValueError, match="sensor grid"):
        hybrid.solve(p, "hints", grid=63)


def test_bad_options():
    p = problems.get("varcoef1d", n=31)
    for opts, match in (
        ({"smoother": "sor"}, "smoother must be one of"),
        ({"n_r": 0}, "n_r must be an integer >= 1"),
        ({"fallback": "pray"}, "fallback must be one of"),
        ({"levels": 3}, "levels must be 1 or 'auto'"),
    ):
        with pytest.raises(ValueError, match=match):
            hybrid.solve(p, "hints", **opts)


# -- training --------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["deeponet", "fno"])
def test_a_few_training_steps_on_tiny_sizes(tmp_path, arch):
    out = tmp_path / "m.pt"
    cfg = {"width": 8, "modes": 4, "layers": 1} if arch == "fno" else {"width": 16, "latent": 8}
    model = train(
        "poisson2d-randcoef",
        samples=16,
        epochs=2,
        out=out,
        arch=arch,
        batch=8,
        progress=False,
        **cfg,
    )
    loaded = load_operator(out)
    assert loaded.family == "poisson2d-randcoef" and loaded.arch == arch
    s = families.family("poisson2d-randcoef").sample(np.random.default_rng(5), 2)
    assert np.array_equal(model.predict(s.coefficient, s.rhs), loaded.predict(s.coefficient, s.rhs))


def test_checkpoint_resume_is_bit_for_bit(tmp_path):
    kw = {"samples": 24, "batch": 8, "progress": False, "width": 16, "latent": 8}
    full = train("poisson1d-varcoef", epochs=3, out=tmp_path / "full.pt", **kw)
    # the same run stopped after one epoch (its checkpoint), then resumed
    part = tmp_path / "part.pt"
    train("poisson1d-varcoef", epochs=3, out=part, **kw, stop_after=1)
    resumed = train("poisson1d-varcoef", epochs=3, out=part, resume=True, **kw)
    a, b = full.net.state_dict(), resumed.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_other_settings(tmp_path):
    kw = {"samples": 8, "batch": 8, "progress": False, "width": 8, "latent": 4}
    train("poisson1d-varcoef", epochs=1, out=tmp_path / "m.pt", **kw)
    with pytest.raises(ValueError, match=r"other settings .*seed"):
        train("poisson1d-varcoef", epochs=1, out=tmp_path / "m.pt", resume=True, seed=1, **kw)


def test_cli_train_operator(tmp_path, capsys):
    out = tmp_path / "op.pt"
    rc = main(
        [
            "train-operator",
            "--family",
            "poisson1d-varcoef",
            "--samples",
            "16",
            "--epochs",
            "1",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0 and out.is_file() and "wrote" in capsys.readouterr().out
    meta = load_operator(out).meta
    assert "train-operator --family poisson1d-varcoef" in meta["command"]


@pytest.mark.parametrize(
    "args, match",
    [
        (["--family", "heat"], "unknown family"),
        (["--family", "poisson1d-varcoef", "--arch", "cnn"], "--arch must be one of"),
        (["--family", "poisson1d-varcoef", "--samples", "0"], "must be an integer >= 1"),
    ],
)
def test_cli_train_operator_bad_input(tmp_path, capsys, args, match):
    base = {"--samples": "4", "--epochs": "1", "--out": str(tmp_path / "x.pt")}
    argv = ["train-operator", *args]
    for k, v in base.items():
        if k not in args:
            argv += [k, v]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fpsolve: error:") and len(err.strip().splitlines()) == 1
    assert match in err
    assert not (tmp_path / "x.pt").exists()


def test_flexible_gmres_with_the_hints_preconditioner():
    # flexible GMRES (the indefinite path) on an SPD problem
    from hybrid.hints import HintsCycle, fgmres
    from hybrid.operators import operator_for
    from solvers.recording import Recorder
    from solvers.registry import make_settings

    p = problems.get("varcoef1d", n=63)
    hc = HintsCycle(p.operator, operator_for(p), definite=False)
    settings = make_settings(p, rtol=1e-10)
    rec = Recorder(p, 0, None)
    u, converged, it, _ = fgmres(p, settings, rec, np.zeros(p.shape), hc.precondition)
    assert converged and p.relative_residual(u) <= 1e-10
    plain = HintsCycle(p.operator, None, use_operator=False, definite=False)
    _, _, it_plain, _ = fgmres(p, settings, rec, np.zeros(p.shape), plain.precondition)
    assert it < it_plain


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cli_train_operator_cuda_without_a_gpu_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "op.pt"
    argv = ["train-operator", "--family", "poisson1d-varcoef", "--samples", "4", "--epochs", "1"]
    assert main([*argv, "--out", str(out), "--device", "cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "op.pt.ckpt").exists()
