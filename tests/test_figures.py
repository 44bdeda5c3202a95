"""Figures: what each one draws (checked on the matplotlib objects), shared colour
scales, the marking of a hybrid's switch, file formats and byte-for-byte
reproducibility."""

import dataclasses

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.image import AxesImage

import hybrid
import problems
from hybrid.app import figures
from hybrid.app.results import from_solve_result


@pytest.fixture(scope="module")
def runs_1d():
    p = problems.get("paper1d", n=63)
    return [
        from_solve_result(hybrid.solve(p, "amg", rtol=1e-10, record_every=1)),
        from_solve_result(hybrid.solve(p, "dst-pcg", rtol=1e-10)),
    ]


@pytest.fixture(scope="module")
def runs_2d():
    p = problems.get("random2d", n=15)
    return [
        from_solve_result(hybrid.solve(p, "direct")),
        from_solve_result(hybrid.solve(p, "amg", rtol=1e-10, record_every=1)),
    ]


def as_hybrid(r, switch_at=3):
    """A copy of ``r`` whose history has two phases and a switch event."""
    h = r.history
    phases = ["dnn"] * switch_at + ["relaxation"] * (len(h) - switch_at)
    event = {"label": "switch", "iteration": int(h.iteration[switch_at]),
             "seconds": float(h.seconds[switch_at])}  # fmt: skip
    return dataclasses.replace(
        r, method="fake-hybrid", history=dataclasses.replace(h, phase=phases, events=[event])
    )


def test_convergence_draws_every_method_on_shared_axes(runs_1d):
    fig = figures.convergence_figure(runs_1d)
    axes = fig.axes
    assert len(axes) == 4
    for ax in axes:
        assert len(ax.get_lines()) == len(runs_1d)
        assert ax.get_yscale() == "log"
    # the lines carry the recorded values: relative error vs iteration of the first method
    x, y = axes[0].get_lines()[0].get_data()
    np.testing.assert_array_equal(x, runs_1d[0].history.iteration)
    np.testing.assert_allclose(y, runs_1d[0].history.relative_error, rtol=1e-15, atol=0)
    assert "time" in axes[3].get_xlabel() and "iteration" in axes[2].get_xlabel()
    legend_texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_texts == ["amg", "dst-pcg"]


def test_switch_is_marked_on_the_time_and_iteration_axes(runs_1d):
    fake = as_hybrid(runs_1d[0])
    event = fake.history.events[0]
    fig = figures.convergence_figure([fake])
    vertical = {
        (i, float(line.get_xdata()[0]))
        for i, ax in enumerate(fig.axes)
        for line in ax.get_lines()
        if line.get_linestyle() == ":"
    }
    for i in range(4):
        x = event["iteration"] if i % 2 == 0 else event["seconds"]
        assert (i, float(x)) in vertical
    assert any("switch" in t.get_text() for t in fig.axes[0].texts)


def test_phase_changes_count_as_events_when_none_are_marked(runs_1d):
    fake = as_hybrid(runs_1d[0])
    fake = dataclasses.replace(fake, history=dataclasses.replace(fake.history, events=[]))
    [event] = figures._events(fake)
    assert event["label"] == "dnn -> relaxation"
    assert event["iteration"] == fake.history.iteration[3]


def test_heatmap_shows_modal_error_with_one_shared_log_scale(runs_1d):
    fig = figures.modal_error_figure(runs_1d)
    panels = fig.axes[: len(runs_1d)]  # then the colour bar
    meshes = [c for ax in panels for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == len(runs_1d)
    norms = {id(m.norm) for m in meshes}
    assert len(norms) == 1  # one colour scale for every method
    norm = meshes[0].norm
    assert type(norm).__name__ == "LogNorm"
    h = runs_1d[0].history
    drawn = np.asarray(meshes[0].get_array()).reshape(len(h), len(h.modes))
    np.testing.assert_allclose(drawn, np.maximum(h.modal_error, norm.vmin), rtol=1e-15, atol=0)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == [f"k={k}" for k in h.modes]
    assert any("per-mode relative error" in ax.get_ylabel() for ax in fig.axes)  # colour bar


def test_heatmap_labels_2d_modes_as_pairs(runs_2d):
    fig = figures.modal_error_figure(runs_2d)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    kx, ky = runs_2d[0].history.modes[0]
    assert labels[0] == f"({kx},{ky})"


def test_band_error_panels(runs_1d):
    fig = figures.band_error_figure(runs_1d)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(runs_1d)
    h = runs_1d[0].history
    lines = visible[0].get_lines()
    for line, band in zip(lines, ("low", "mid", "high"), strict=False):
        np.testing.assert_allclose(line.get_ydata(), h.band_error[band], rtol=1e-15, atol=0)


def test_solution_1d_and_2d(runs_1d, runs_2d):
    fig = figures.solution_figure(runs_1d)
    top, bottom = fig.axes[:2]
    assert len(bottom.get_lines()) == len(runs_1d) and bottom.get_yscale() == "log"
    assert top.get_xlabel() == "" and bottom.get_xlabel() == "x"
    fig = figures.solution_figure(runs_2d)
    images = [im for ax in fig.axes for im in ax.get_images() if isinstance(im, AxesImage)]
    assert len(images) == len(runs_2d) + 1  # u_ref, then one error image per method


def test_files_are_reproducible_in_every_format(runs_1d, tmp_path):
    magic = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}
    for fmt, head in magic.items():
        a = figures.save(figures.modal_error_figure(runs_1d), tmp_path / f"a.{fmt}", fmt)
        b = figures.save(figures.modal_error_figure(runs_1d), tmp_path / f"b.{fmt}", fmt)
        assert a.read_bytes().startswith(head)
        assert a.read_bytes() == b.read_bytes(), fmt
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_bad_format_and_missing_arrays(runs_1d, tmp_path):
    with pytest.raises(ValueError, match="png, pdf, svg"):
        figures.draw_all(runs_1d, tmp_path, "jpg")
    bare = [dataclasses.replace(r, u=None, u_ref=None) for r in runs_1d]
    with pytest.raises(ValueError, match="npz"):
        figures.solution_figure(bare)
    names = [p.stem for p in figures.draw_all(bare, tmp_path / "bare")]
    assert names == ["spectrum", "convergence", "modal_error", "band_error"]
    with pytest.raises(ValueError, match="no results"):
        figures.convergence_figure([])


def test_empty_history_is_drawn_not_crashed(runs_1d, tmp_path):
    r = runs_1d[0]
    h = r.history
    empty = h.head(0)
    assert len(empty) == 0 and empty.residual_spectrum.shape == (0, len(h.spectrum_k))
    paths = figures.draw_all([dataclasses.replace(r, history=empty, interrupted=True)], tmp_path)
    assert len(paths) == 5
