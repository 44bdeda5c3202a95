r"""Figures of a parameter study (``fpsolve sweep``), drawn from its ``summary.csv``.

``scaling``
    per problem (rows), solver seconds and iterations against the unknowns
    :math:`N` on log-log axes, one line per method (and option setting), the
    median over seeds. Each legend entry carries the fitted growth exponent
    :math:`p` of :math:`\mathrm{cost} \approx C N^p` (:func:`growth_exponent`,
    a least-squares line through the largest converged sizes). Cells that
    stopped on their budget without converging are hollow markers and are
    left out of the fit: their cost is the budget, not the method's.
``band_error``
    per method, the error in each frequency band (low, mid, high thirds of
    the frequencies, ``problems.spectrum.band_errors``) at the end of the run
    against the swept option: the method's first option with more than one
    value in the study, else its first swept problem parameter, else the
    unknowns. One line style per problem (and other swept setting).

Both are written with :func:`hybrid.app.figures.save` (atomic, no timestamps).
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hybrid.app.figures import BAND_COLOURS, FORMATS, save
from hybrid.app.study import STUDY_JSON, SUMMARY_CSV, read_summary

BANDS = ("low", "mid", "high")
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
FIT_POINTS = 3


def is_study(directory: str | os.PathLike) -> bool:
    """Whether ``directory`` is a study folder (``summary.csv`` and ``study.json``)."""
    d = Path(directory)
    return (d / SUMMARY_CSV).is_file() and (d / STUDY_JSON).is_file()


def growth_exponent(unknowns, values, points: int = FIT_POINTS) -> float:
    r"""The slope :math:`p` of :math:`\log v = \log C + p \log N` through the largest sizes.

    Least squares over the ``points`` largest distinct ``unknowns`` with a
    positive value (start-up costs weigh least there); ``nan`` with fewer than
    two.

    >>> round(growth_exponent([100, 1000, 10000], [1.0, 100.0, 10000.0]), 6)
    2.0
    >>> growth_exponent([100], [1.0])
    nan
    """
    n = np.asarray(unknowns, dtype=float)
    v = np.asarray(values, dtype=float)
    keep = np.isfinite(v) & (v > 0) & (n > 0)
    n, v = n[keep], v[keep]
    order = np.argsort(n)[::-1][:points]
    n, v = n[order], v[order]
    if len(np.unique(n)) < 2:
        return math.nan
    return float(np.polyfit(np.log(n), np.log(v), 1)[0])


def _ran(rows):
    return [r for r in rows if r["status"] in ("converged", "not-converged")]


def _varying(rows, field: str) -> list[str]:
    """Keys of ``row[field]`` (options or params) that take more than one value."""
    values = defaultdict(set)
    for r in rows:
        for k, v in r[field].items():
            values[k].add(json.dumps(v))
    keys = {k for r in rows for k in r[field]}
    return sorted(k for k in keys if len(values[k]) > 1 or any(k not in r[field] for r in rows))


def _setting(r, keys, field) -> str:
    return " ".join(f"{k}={_show(r[field].get(k))}" for k in keys)


def _show(v) -> str:
    if isinstance(v, list):
        return ",".join(map(str, v))
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _median(values) -> float:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.median(values)) if values else math.nan


def _fit_label(label: str, sym: str, p: float) -> str:
    if not np.isfinite(p):
        return f"{label}: no fit (< 2 converged sizes)"
    return f"{label}: {sym} ∝ N^{round(p, 2) + 0.0:.2f}"  # + 0.0: no "-0.00"


def _problems(rows) -> list[str]:
    out = []
    for r in rows:
        if r["problem"] not in out:
            out.append(r["problem"])
    return out


def _series(rows, extra_fields=("options",)):
    """(label, rows) per method and option setting, in study order."""
    groups: dict[tuple, list] = {}
    by_method = defaultdict(list)
    for r in rows:
        by_method[r["method"]].append(r)
    swept = {m: {f: _varying(rs, f) for f in extra_fields} for m, rs in by_method.items()}
    for r in rows:
        parts = [r["method"]] + [
            _setting(r, swept[r["method"]][f], f) for f in extra_fields if swept[r["method"]][f]
        ]
        groups.setdefault(tuple(parts), []).append(r)
    return [(" ".join(p for p in key if p), rs) for key, rs in groups.items()]


def _points(rows, key: str):
    """(unknowns, median value, all converged) per size, sorted by size."""
    by_size = defaultdict(list)
    for r in rows:
        by_size[r["unknowns"]].append(r)
    out = []
    for n in sorted(by_size):
        rs = by_size[n]
        out.append((n, _median([r[key] for r in rs]), all(r["converged"] for r in rs)))
    return out


def scaling_figure(rows, title: str = "") -> Figure:
    """Seconds and iterations against unknowns, per problem, with fitted exponents."""
    rows = _ran(rows)
    if not rows:
        raise ValueError("the study has no finished cells to plot")
    names = _problems(rows)
    fig = Figure(figsize=(17, 4.2 * len(names) + 0.6), layout="constrained")
    axes = fig.subplots(len(names), 2, squeeze=False)
    methods = []
    for r in rows:
        if r["method"] not in methods:
            methods.append(r["method"])
    colours: dict[str, str] = {}  # one colour per series, the same in every panel
    for i, name in enumerate(names):
        prow = [r for r in rows if r["problem"] == name]
        dims = sorted({r["dim"] for r in prow})
        for j, (key, ylabel, sym) in enumerate(
            (("seconds", "solver seconds", "t"), ("iterations", "iterations", "its"))
        ):
            ax = axes[i, j]
            for label, srows in _series(prow, ("options", "params")):
                m = methods.index(srows[0]["method"])
                colour = colours.setdefault(label, f"C{len(colours) % 10}")
                marker = MARKERS[m % len(MARKERS)]
                pts = _points(srows, key)
                n = np.array([p[0] for p in pts], dtype=float)
                v = np.array([p[1] for p in pts], dtype=float)
                ok = np.array([p[2] for p in pts], dtype=bool)
                v[~(v > 0)] = np.nan
                exponent = growth_exponent(n[ok], v[ok])
                ax.plot(n, v, color=colour, lw=1.2, alpha=0.6)
                ax.plot(n[ok], v[ok], ls="none", marker=marker, color=colour, ms=6)
                ax.plot(n[~ok], v[~ok], ls="none", marker=marker, mfc="none", color=colour, ms=7)
                ax.plot(
                    [],
                    [],
                    color=colour,
                    marker=marker,
                    lw=1.2,
                    label=_fit_label(label, sym, exponent),
                )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="major", alpha=0.3)
            ax.set_xlabel("unknowns N")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{name} ({'/'.join(map(str, dims))}D): {ylabel}", fontsize=11)
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    fig.suptitle(
        (f"Study {title}: " if title else "")
        + "cost against size; filled: converged, hollow: stopped on its budget (not fitted);"
        f" exponents fitted over the {FIT_POINTS} largest converged sizes",
        fontsize=11,
    )
    return fig


def _x_key(rows) -> tuple[str, str]:
    """The swept setting of one method's rows: (field, key); field 'unknowns' if none."""
    for field in ("options", "params"):
        keys = _varying(rows, field)
        if keys:
            return field, keys[0]
    return "unknowns", "unknowns"


def _x_value(r, field: str, key: str):
    return r["unknowns"] if field == "unknowns" else r[field].get(key)


def band_error_figure(rows, title: str = "") -> Figure:
    """Per method: final band errors against its swept option (see the module docstring)."""
    rows = _ran(rows)
    if not rows:
        raise ValueError("the study has no finished cells to plot")
    methods = []
    for r in rows:
        if r["method"] not in methods:
            methods.append(r["method"])
    cols = min(3, len(methods))
    nrows = math.ceil(len(methods) / cols)
    fig = Figure(figsize=(4.6 * cols + 2.6, 3.7 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False, sharey=True).ravel()
    for ax, method in zip(axes, methods, strict=False):
        mrows = [r for r in rows if r["method"] == method]
        field, key = _x_key(mrows)
        others = {
            f: [k for k in _varying(mrows, f) if (f, k) != (field, key)]
            for f in ("options", "params")
        }
        groups: dict[str, list] = {}
        for r in mrows:
            parts = [r["problem"]] + [_setting(r, ks, f) for f, ks in others.items() if ks]
            if field != "unknowns":
                parts.append(f"n={r['n']}")
            groups.setdefault(" ".join(parts), []).append(r)
        xs_all = sorted({json.dumps(_x_value(r, field, key)) for r in mrows})
        numeric = all(
            isinstance(json.loads(x), int | float) and not isinstance(json.loads(x), bool)
            for x in xs_all
        )
        categories = [json.loads(x) for x in xs_all]
        for g, (glabel, grows) in enumerate(groups.items()):
            ls = LINESTYLES[g % len(LINESTYLES)]
            ax.plot(
                [], [], color="grey", ls=ls, marker=MARKERS[g % len(MARKERS)], ms=4, label=glabel
            )
            by_x = defaultdict(list)
            for r in grows:
                by_x[json.dumps(_x_value(r, field, key))].append(r)
            xs = sorted(
                by_x, key=lambda x: json.loads(x) if numeric else categories.index(json.loads(x))
            )
            xv = [json.loads(x) if numeric else categories.index(json.loads(x)) for x in xs]
            ok = np.array([all(r["converged"] for r in by_x[x]) for x in xs], dtype=bool)
            xv = np.asarray(xv, dtype=float)
            marker = MARKERS[g % len(MARKERS)]
            for b in BANDS:
                y = np.array([_median([r[f"band_{b}"] for r in by_x[x]]) for x in xs])
                y[~(y > 0)] = np.nan
                colour = BAND_COLOURS[b]
                ax.plot(xv, y, color=colour, ls=ls, lw=1.3)
                ax.plot(xv[ok], y[ok], ls="none", color=colour, marker=marker, ms=4)
                ax.plot(xv[~ok], y[~ok], ls="none", color=colour, marker=marker, ms=5, mfc="none")
        if numeric:
            values = [v for v in categories if v > 0]
            if field == "unknowns" or (values and max(values) / min(values) > 20):
                ax.set_xscale("log")
        else:
            ax.set_xticks(range(len(categories)))
            ax.set_xticklabels([_show(c) for c in categories], rotation=30, fontsize=8)
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        ax.set_title(method)
        ax.set_xlabel("unknowns N" if field == "unknowns" else f"{key} ({field[:-1]})")
    for ax in axes[len(methods) :]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel("band error at the end  ‖ê_band‖ / ‖û_ref‖")
    handles = [Line2D([], [], color=BAND_COLOURS[b], lw=2) for b in BANDS]
    labels = ["low third of k", "middle third", "high third"]
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, title="band (colour)")
    fig.suptitle(
        (f"Study {title}: " if title else "")
        + "error by frequency band at the end of each run (median over seeds);"
        " hollow: stopped on its budget",
        fontsize=11,
    )
    return fig


BUILDERS = {"scaling": scaling_figure, "band_error": band_error_figure}


def draw_all(study_dir, out_dir, fmt: str = "png") -> list[Path]:
    """Write ``scaling.FMT`` and ``band_error.FMT`` of the study in ``study_dir``."""
    if fmt not in FORMATS:
        raise ValueError(f"figure format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    study_dir = Path(study_dir)
    rows = read_summary(study_dir / SUMMARY_CSV)
    title = ""
    try:
        title = json.loads((study_dir / STUDY_JSON).read_text()).get("name", "")
    except (OSError, ValueError):
        pass
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not _ran(rows):
        return []
    return [
        save(build(rows, title), out / f"{name}.{fmt}", fmt) for name, build in BUILDERS.items()
    ]
