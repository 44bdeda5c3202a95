r"""Figures of a run or a comparison, frequency by frequency.

Each ``*_figure`` function takes a list of results (``SolveResult`` or
:class:`hybrid.app.results.SavedResult`, the same figures either way) and returns
a matplotlib ``Figure``; :func:`save` writes one (atomically, with no
timestamps, so the same results give the same bytes) and :func:`draw_all`
writes them all as ``NAME.FMT``:

``convergence``
    relative error :math:`\|u - u_\mathrm{ref}\| / \|u_\mathrm{ref}\|` and
    relative residual :math:`\|f - Au\| / \|f\|` against iterations and
    against solver seconds, all methods on one axes (log scales). A hybrid's
    switch (``history.events``, or a change of ``history.phase``) is marked
    by a dotted vertical line in the method's colour.
``modal_error``
    per method, a heatmap of the per-mode relative error
    :math:`|\hat e_k| / |\hat u_{\mathrm{ref},k}|` at the tracked
    frequencies (columns) over the recorded steps (rows), one shared log
    colour scale: the F-Principle paper's picture. Jacobi-type relaxation
    turns the right-hand (high) columns blue first; the F-Principle predicts
    the opposite order for a DNN.
``band_error``
    per method, the band errors low / mid / high (thirds of the
    frequencies) against the step, with a marker at each record (a gap
    between markers is a stretch that was not measured).
``spectrum``
    per method, the residual spectrum as a heatmap: frequency bins on x
    (low to high ``k``, or radial ``|k|`` in 2D; a log axis where the bins
    are log-spaced or span more than 1.5 decades), records on y (iteration, log scale), colour the
    fraction of each bin's initial residual that is left
    :math:`\|\hat r_b(t)\| / \|\hat r_b(0)\|`, on one shared log scale
    (red: untouched, blue: cleared). Where errors were tracked the error
    spectrum sits beside it on the same scale. For (weighted) Jacobi on
    constant coefficients the local Fourier analysis prediction, each
    mode's residual times :math:`(1 - \omega\lambda_k/d)^t` summed per bin
    (``history.theory_spectrum`` in the result file), is drawn as a dashed
    contour where it reaches 1/10 of the initial residual.
``solution``
    1D: the solutions and :math:`|u - u_\mathrm{ref}|` against ``x``;
    2D: the reference solution and each method's error as images.

Matplotlib is used through its object API with the Agg canvas (no pyplot,
no global backend switch); files are written atomically.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from hybrid.app.compare import mode_label
from hybrid.app.results import SavedResult, from_solve_result
from problems.parameters import Parameter, choice
from problems.spectrum import BANDS
from solvers.files import write_atomic

FORMATS = ("png", "pdf", "svg")
FORMAT = Parameter("figure format", "png", choice(*FORMATS), "png, pdf or svg")
BAND_COLOURS = {"low": "tab:blue", "mid": "tab:green", "high": "tab:red"}
HEATMAP_CMAP = "RdYlBu_r"  # red: large error, blue: converged (as in the F-Principle paper)
DPI = 120


def _saved(results) -> list[SavedResult]:
    out = [r if isinstance(r, SavedResult) else from_solve_result(r) for r in results]
    if not out:
        raise ValueError("no results to plot")
    return out


def _colour(i: int) -> str:
    return f"C{i % 10}"


def _label(r: SavedResult) -> str:
    if r.interrupted:
        return f"{r.method} (interrupted)"
    return r.method if r.converged else f"{r.method} (not converged)"


def save(fig: Figure, path, fmt: str = "png") -> Path:
    """Write ``fig`` to ``path`` through a temporary file in the same folder."""
    fmt = FORMAT(fmt)
    path = Path(path)
    FigureCanvasAgg(fig)

    def write(f):
        with rc_context({"svg.hashsalt": "fpsolve"}):  # stable SVG ids
            fig.savefig(f, format=fmt, dpi=DPI, metadata=_metadata(fmt))

    write_atomic(path, write)
    return path


def _metadata(fmt: str) -> dict:
    # No creation dates, so that redrawing the same results gives identical files.
    if fmt == "pdf":
        return {"CreationDate": None}
    if fmt == "svg":
        return {"Date": None}
    return {}


def _events(r: SavedResult) -> list[dict]:
    """The run's events, or the points where its phase changes."""
    if r.history.events:
        return list(r.history.events)
    h, phases = r.history, r.history.phase
    out = []
    for i in range(1, min(len(phases), len(h))):
        if phases[i] != phases[i - 1]:
            out.append(
                {
                    "label": f"{phases[i - 1]} -> {phases[i]}",
                    "iteration": int(h.iteration[i]),
                    "seconds": float(h.seconds[i]),
                }
            )
    return out


def _iteration_scale(ax, iterations, axis: str = "x") -> str:
    """Linear axis for short runs (up to 50 steps), else symmetric log (0 stays visible)."""
    top = max((float(np.max(it)) for it in iterations if len(it)), default=1.0)
    set_scale = ax.set_xscale if axis == "x" else ax.set_yscale
    target = ax.xaxis if axis == "x" else ax.yaxis
    set_lim = ax.set_xlim if axis == "x" else ax.set_ylim
    if top <= 50:
        set_scale("linear")
        target.set_major_locator(MaxNLocator(integer=True))
        set_lim(-0.5, top + 0.5)
        return "linear"
    set_scale("symlog", linthresh=1, linscale=0.3)
    set_lim(-0.3, top * 1.2)
    target.set_major_formatter(
        FuncFormatter(lambda v, _: f"{v:.0f}" if abs(v) < 1e5 else f"{v:.0e}")
    )
    return "log"


def _any_positive(arrays) -> bool:
    return any(np.any(np.isfinite(a) & (np.asarray(a) > 0)) for a in arrays)


def _positive(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float).copy()
    v[~(v > 0)] = np.nan  # log axes: zero, negative and undefined values are not drawn
    return v


# -- (a) convergence ------------------------------------------------------------
def convergence_figure(results) -> Figure:
    """Relative error and residual vs iterations and vs seconds (see the module docstring)."""
    results = _saved(results)
    fig = Figure(figsize=(12, 8), layout="constrained")
    axes = fig.subplots(2, 2, sharex="col")
    rows = [
        ("relative_error", "relative error  ‖u − u_ref‖ / ‖u_ref‖"),
        ("relative_residual", "relative residual  ‖f − Au‖ / ‖f‖"),
    ]
    t_min = math.inf
    for i, r in enumerate(results):
        h = r.history
        seconds = np.asarray(h.seconds, dtype=float)
        if (seconds > 0).any():
            t_min = min(t_min, float(seconds[seconds > 0].min()))
        for row, (key, _) in enumerate(rows):
            y = _positive(getattr(h, key))
            style = {"color": _colour(i), "lw": 1.6, "marker": "." if len(h) < 30 else None}
            axes[row, 0].plot(h.iteration, y, label=_label(r) if row == 0 else None, **style)
            t = np.where(seconds > 0, seconds, np.nan)
            axes[row, 1].plot(t, y, **style)
        for ev in _events(r):
            for row in range(2):
                for col, key in enumerate(("iteration", "seconds")):
                    x = ev.get(key)
                    if x is None or (col == 1 and not x > 0):
                        continue
                    axes[row, col].axvline(x, color=_colour(i), ls=":", lw=1.4)
                    if row == 0:
                        axes[row, col].annotate(
                            f"{r.method}: {ev.get('label', 'event')}",
                            (x, 1),
                            xycoords=("data", "axes fraction"),
                            xytext=(3, -3),
                            textcoords="offset points",
                            rotation=90,
                            va="top",
                            fontsize=8,
                            color=_colour(i),
                        )
    for row, (key, ylabel) in enumerate(rows):
        empty = not _any_positive([getattr(r.history, key) for r in results])
        for col in range(2):
            ax = axes[row, col]
            ax.set_yscale("log")
            if empty:  # nothing recorded: a log axis still needs limits
                ax.set_ylim(1e-3, 1)
            ax.grid(True, which="major", alpha=0.3)
            ax.set_ylabel(ylabel)
        scale = _iteration_scale(axes[row, 0], [r.history.iteration for r in results])
        axes[row, 1].set_xscale("log")
    if math.isfinite(t_min):
        axes[1, 1].set_xlim(left=t_min / 1.5)
    else:
        axes[1, 1].set_xlim(1e-3, 1)
    axes[1, 0].set_xlabel(f"iteration (sweep, optimiser step or cycle; {scale} scale)")
    axes[1, 1].set_xlabel("solver time [s] (measurement excluded; log scale)")
    axes[0, 0].set_title("against iterations")
    axes[0, 1].set_title("against time")
    fig.suptitle(f"Convergence on {results[0].title}", fontsize=13)
    fig.legend(loc="outside right upper", title="method")
    return fig


# -- (b) per-mode heatmap ---------------------------------------------------------
def _grid(count: int, max_cols: int = 3) -> tuple[int, int]:
    """Rows and columns for ``count`` panels: one row up to ``max_cols``, then near-square."""
    cols = count if count <= max_cols else min(max_cols, math.ceil(math.sqrt(count)))
    return math.ceil(count / cols), cols


def _step_edges(it: np.ndarray) -> np.ndarray:
    """Cell edges around the recorded iterations (midpoints; half a gap at the ends)."""
    it = np.asarray(it, dtype=float)
    if it.size == 1:
        return np.array([it[0] - 0.5, it[0] + 0.5])
    mid = (it[1:] + it[:-1]) / 2
    first = max(it[0] - (it[1] - it[0]) / 2, it[0] - 0.5)
    last = it[-1] + (it[-1] - it[-2]) / 2
    return np.concatenate([[first], mid, [last]])


def _shared_norm(arrays, floor_ratio: float = 1e-12) -> LogNorm:
    values = np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.zeros(0)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return LogNorm(1e-3, 1)
    vmax = float(values.max())
    vmin = max(float(values.min()), vmax * floor_ratio)
    if vmin >= vmax:
        vmin = vmax / 10
    return LogNorm(vmin, vmax)


def modal_error_figure(results) -> Figure:
    """Per-mode relative error, frequency x step, one panel per method, shared colours."""
    results = _saved(results)
    nrows, ncols = _grid(len(results))
    modes_count = max(len(r.history.modes) for r in results)
    fig = Figure(
        figsize=(max(4.0, 0.4 * modes_count + 2.2) * ncols + 1.4, 4.6 * nrows + 0.5),
        layout="constrained",
    )
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    # Eight decades: below 1e-8 of the largest error counts as converged (deepest blue),
    # which leaves contrast for methods that stop at 1e-3 (a DNN).
    norm = _shared_norm([r.history.modal_error for r in results], floor_ratio=1e-8)
    mesh = None
    for ax, r in zip(axes, results, strict=False):
        h = r.history
        ax.set_title(_label(r))
        if len(h) == 0 or len(h.modes) == 0:
            what = "errors not tracked" if len(h) and not h.errors_tracked else "no records"
            ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        # Zero error (exactly converged) takes the deepest colour; undefined stays blank.
        data = np.ma.masked_invalid(np.maximum(np.asarray(h.modal_error, dtype=float), norm.vmin))
        x_edges = np.arange(len(h.modes) + 1) - 0.5
        y_edges = _step_edges(h.iteration)
        mesh = ax.pcolormesh(x_edges, y_edges, data, norm=norm, cmap=HEATMAP_CMAP, shading="flat")
        scale = _iteration_scale(ax, [h.iteration], axis="y")
        ax.set_ylim(y_edges[0], y_edges[-1])
        ax.set_xticks(np.arange(len(h.modes)))
        ax.set_xticklabels(
            [mode_label(m) for m in h.modes], rotation=0 if h.modes.ndim == 1 else 45, fontsize=8
        )
        ax.set_xlabel(
            "tracked frequency k (low → high)"
            if h.modes.ndim == 1
            else "tracked frequency (kx, ky), by |k|"
        )
        ax.set_ylabel(f"iteration ({scale} scale)")
        for ev in _events(r):
            ax.axhline(ev["iteration"], color="black", ls="--", lw=1.2)
            ax.annotate(
                ev.get("label", "event"),
                (0, ev["iteration"]),
                xycoords=("axes fraction", "data"),
                xytext=(3, 2),
                textcoords="offset points",
                fontsize=8,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.8, "lw": 0},
            )
    for ax in axes[len(results) :]:
        ax.set_visible(False)
    if mesh is not None:
        fig.colorbar(
            mesh,
            ax=axes[: len(results)].tolist(),
            label="per-mode relative error  |ê_k| / |û_ref,k|",
        )
    fig.suptitle(
        f"Error at each tracked frequency of the solution, {results[0].title}\n"
        "red: not yet fitted, blue: converged; read upwards which columns turn blue first",
        fontsize=12,
    )
    return fig


# -- (c) band errors --------------------------------------------------------------
def band_error_figure(results) -> Figure:
    """Band errors low / mid / high against the step, one panel per method."""
    results = _saved(results)
    nrows, ncols = _grid(len(results))
    fig = Figure(figsize=(5.2 * ncols + 3.0, 3.8 * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
    for ax, r in zip(axes, results, strict=False):
        h = r.history
        marker = {"marker": "o", "ms": 2.5} if len(h) <= 400 else {}
        for b in BANDS:
            ax.plot(
                h.iteration,
                _positive(h.band_error[b]),
                color=BAND_COLOURS[b],
                lw=1.6,
                label=b,
                **marker,
            )
        # The total underneath, wide and pale, so that a band equal to it stays visible.
        ax.plot(
            h.iteration,
            _positive(h.relative_error),
            color="grey",
            lw=5,
            alpha=0.35,
            zorder=1,
            label="total",
        )
        for ev in _events(r):
            ax.axvline(ev["iteration"], color="grey", ls=":", lw=1.2)
        if len(h) == 0 or not h.errors_tracked:
            what = "no records" if len(h) == 0 else "errors not tracked\n(see the spectrum figure)"
            ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes)
        ax.set_yscale("log")
        scale = _iteration_scale(ax, [h.iteration])
        ax.grid(True, alpha=0.3)
        ax.set_title(_label(r))
        ax.set_xlabel(f"iteration ({scale} scale)")
    for ax in axes[len(results) :]:
        ax.set_visible(False)
    if not _any_positive([r.history.relative_error for r in results]):
        axes[0].set_ylim(1e-3, 1)  # shared by every panel
    for ax in axes[::ncols]:
        ax.set_ylabel("band error  ‖ê_band‖ / ‖û_ref‖")
    handles, _ = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        ["low third of k", "middle third", "high third", "total (relative error)"],
        loc="outside right upper",
        title="frequency band",
    )
    fig.suptitle(f"Error by frequency band, {results[0].title}", fontsize=13)
    return fig


# -- (d) solution and error ----------------------------------------------------------
def solution_figure(results) -> Figure:
    """The final solutions and their errors (1D curves, 2D images)."""
    results = _saved(results)
    with_u = [(i, r) for i, r in enumerate(results) if r.u is not None]
    ref = next((r.u_ref for r in results if r.u_ref is not None), None)
    if ref is None or not with_u:
        raise ValueError("the results hold no arrays (u, u_ref): the .npz file is missing")
    axes_xy = results[0].axes()
    if ref.ndim == 1:
        fig = _solution_1d(with_u, ref, axes_xy[0], results[0])
    else:
        fig = _solution_2d(with_u, ref, axes_xy, results[0])
    fig.suptitle(f"Final iterate and its error, {results[0].title}", fontsize=13)
    return fig


def _solution_1d(with_u, ref, x, first) -> Figure:
    fig = Figure(figsize=(11, 7), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(x, ref, color="black", lw=3, alpha=0.35, label="u_ref (discrete solution)")
    if first.u_exact is not None:
        top.plot(x, first.u_exact, color="black", lw=0.8, ls=":", label="exact solution")
    for i, r in with_u:
        top.plot(x, r.u, color=_colour(i), lw=1.2, ls="--", label=_label(r))
        bottom.plot(x, _positive(np.abs(r.u - ref)), color=_colour(i), lw=1.2)
    top.set_ylabel("u")
    top.legend(loc="best", fontsize=9)
    top.grid(True, alpha=0.3)
    bottom.set_yscale("log")
    bottom.set_ylabel("|u − u_ref|  (log scale)")
    bottom.set_xlabel("x")
    bottom.grid(True, alpha=0.3)
    return fig


def _solution_2d(with_u, ref, axes_xy, first) -> Figure:
    x, y = axes_xy
    extent = (x[0], x[-1], y[0], y[-1])
    count = len(with_u) + 1
    nrows, ncols = _grid(count, max_cols=4)
    fig = Figure(figsize=(4.0 * ncols + 1.2, 3.6 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    im = axes[0].imshow(ref.T, origin="lower", extent=extent, cmap="viridis", aspect="equal")
    fig.colorbar(im, ax=axes[0], shrink=0.8, label="u_ref")
    axes[0].set_title("u_ref (discrete solution)")
    errors = [np.abs(r.u - ref) for _, r in with_u]
    norm = _shared_norm(errors, floor_ratio=1e-10)
    err_im = None
    for ax, (_, r), err in zip(axes[1:], with_u, errors, strict=False):
        err_im = ax.imshow(
            np.maximum(err, norm.vmin).T,
            origin="lower",
            extent=extent,
            cmap="magma",
            norm=norm,
            aspect="equal",
        )
        ax.set_title(f"{_label(r)}: |u − u_ref|", fontsize=10)
    for ax in axes[:count]:
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    for ax in axes[count:]:
        ax.set_visible(False)
    if err_im is not None:
        fig.colorbar(err_im, ax=axes[1:count].tolist(), shrink=0.8, label="|u − u_ref|")
    return fig


# -- (e) residual spectrum ------------------------------------------------------------
def _bin_edges(k: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around the bins' centre frequencies (geometric midpoints on a log axis)."""
    k = np.asarray(k, dtype=float)
    if k.size == 1:
        return np.array([k[0] - 0.5, k[0] + 0.5]) if not log else np.array([k[0] / 1.5, k[0] * 1.5])
    if log:
        mid = np.sqrt(k[1:] * k[:-1])
        return np.concatenate([[k[0] ** 2 / mid[0]], mid, [k[-1] ** 2 / mid[-1]]])
    mid = (k[1:] + k[:-1]) / 2
    return np.concatenate([[k[0] - (mid[0] - k[0])], mid, [k[-1] + (k[-1] - mid[-1])]])


def _log_bins(k: np.ndarray) -> bool:
    """Whether to draw the bins on a log axis: where they are log-spaced (widths grow)
    or span more than 1.5 decades (so that the lowest frequencies stay readable)."""
    k = np.asarray(k, dtype=float)
    if k.size < 2:
        return False
    return (k.size > 40 and (k[-1] - k[-2]) > 2 * (k[1] - k[0]) + 1e-9) or k[-1] >= 30 * k[0]


#: A bin whose first value is at most this fraction of the largest bin's first value
#: counts as empty: a right-hand side made of a few modes leaves the other bins at
#: rounding level, and their "fraction left" (rounding over rounding) would read as
#: red, untouched or growing, however well the method solved the problem.
EMPTY_BIN = 1e-10


def _fraction(spectrum: np.ndarray) -> np.ndarray:
    """Each bin's value over its value at the first record (NaN where the bin starts
    empty: at most :data:`EMPTY_BIN` of the largest first value)."""
    s = np.asarray(spectrum, dtype=float)
    if len(s) == 0:
        return s
    first = s[0]
    filled = first > EMPTY_BIN * (first.max() if first.size else 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(filled, s / np.where(filled, first, 1.0), np.nan)


#: Fractions at or below this count as cleared (deepest blue), unless no run got near it.
SPECTRUM_FLOOR = 1e-6
#: Fractions at or above this (growth) take the deepest red; 1 (untouched) is red too.
SPECTRUM_TOP = 10.0


def _fraction_floor(panels) -> float:
    """The colour scale's low end: :data:`SPECTRUM_FLOOR`, or higher (at most 1e-2)
    when every run stopped early, so that a DNN's 1e-3 still reads as progress."""
    values = np.concatenate([np.ravel(p) for p in panels]) if panels else np.zeros(0)
    values = values[np.isfinite(values) & (values > 0)]
    low = float(values.min()) if values.size else SPECTRUM_FLOOR
    return min(max(low, SPECTRUM_FLOOR), 1e-2)


def spectrum_figure(results) -> Figure:
    """Residual (and error) spectrum per method as fraction-left heatmaps (module docstring)."""
    results = _saved(results)
    with_errors = any(r.history.errors_tracked for r in results)
    ncols = 2 if with_errors else 1
    nrows = len(results)
    fig = Figure(figsize=(5.6 * ncols + 1.6, 3.4 * nrows + 1.0), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    panels = []
    for r in results:
        h = r.history
        panels.append(_fraction(h.residual_spectrum))
        if h.errors_tracked:
            panels.append(_fraction(h.error_spectrum))
    norm = LogNorm(_fraction_floor(panels), SPECTRUM_TOP)
    mesh = None
    for row, r in enumerate(results):
        h = r.history
        kinds = [("residual", h.residual_spectrum)]
        if with_errors:
            kinds.append(("error", h.error_spectrum if h.errors_tracked else None))
        for col, (kind, spec) in enumerate(kinds):
            ax = axes[row, col]
            ax.set_title(f"{_label(r)}: {kind} spectrum", fontsize=10)
            if spec is None or len(h) == 0 or len(h.spectrum_k) == 0:
                if len(h) == 0:
                    what = "no records"
                elif len(h.spectrum_k) == 0:
                    what = "no spectrum recorded\n(a result file from before 0.2)"
                else:
                    what = "errors not tracked"
                ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes)
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            log = _log_bins(h.spectrum_k)
            frac = _fraction(spec)
            data = np.ma.masked_invalid(np.clip(frac, norm.vmin, norm.vmax))
            x_edges = _bin_edges(h.spectrum_k, log)
            y_edges = _step_edges(h.iteration)
            mesh = ax.pcolormesh(x_edges, y_edges, data, norm=norm, cmap=HEATMAP_CMAP)
            theory = getattr(r, "theory_spectrum", None)
            if kind == "residual" and theory is not None and len(h) > 1:
                t_frac = _fraction(theory)
                if np.nanmin(t_frac) < 0.1 < np.nanmax(t_frac):
                    ax.contour(
                        h.spectrum_k,
                        h.iteration,
                        np.ma.masked_invalid(t_frac),  # empty bins stay out of the line
                        levels=[0.1],
                        colors="black",
                        linestyles="--",
                        linewidths=1.2,
                    )
                    ax.plot([], [], "k--", lw=1.2, label="theory (1 − ωλ_k/d)^t: 10x less")
                    ax.legend(loc="upper left", fontsize=7, framealpha=0.8)
            if log:
                ax.set_xscale("log")
                ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlim(x_edges[0], x_edges[-1])
            scale = _iteration_scale(ax, [h.iteration], axis="y")
            ax.set_ylim(y_edges[0], y_edges[-1])
            dim = len(r.problem.get("shape", [1]))
            ax.set_xlabel(
                f"frequency {'k' if dim == 1 else 'radial |k|'} (low → high"
                f"{', log scale' if log else ''})"
            )
            ax.set_ylabel(f"iteration ({scale} scale)")
            for ev in _events(r):
                ax.axhline(ev["iteration"], color="black", ls=":", lw=1.0)
    if mesh is not None:
        fig.colorbar(
            mesh,
            ax=axes.ravel().tolist(),
            label="fraction left of the bin's initial value  ‖r̂_b(t)‖ / ‖r̂_b(0)‖",
        )
    fig.suptitle(
        f"Residual spectrum by frequency bin, {results[0].title}\n"
        "red: untouched, blue: cleared, blank: no initial residual in the bin;"
        " read upwards which columns turn blue first",
        fontsize=12,
    )
    return fig


# -- all -------------------------------------------------------------------------------
BUILDERS = {
    "spectrum": spectrum_figure,
    "convergence": convergence_figure,
    "modal_error": modal_error_figure,
    "band_error": band_error_figure,
    "solution": solution_figure,
}


def draw_all(results, out_dir, fmt: str = "png") -> list[Path]:
    """Write every figure of the module docstring into ``out_dir`` as ``NAME.FMT``.

    Returns the paths. The ``solution`` figure is skipped when the results
    hold no arrays (no ``.npz`` beside the JSON).
    """
    fmt = FORMAT(fmt)
    results = _saved(results)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    has_arrays = any(r.u is not None for r in results) and any(r.u_ref is not None for r in results)
    paths = []
    for name, build in BUILDERS.items():
        if name == "solution" and not has_arrays:
            continue
        paths.append(save(build(results), out / f"{name}.{fmt}", fmt))
    return paths
