"""The problem catalogue: a name -> builder registry with documented parameters.

Each entry builds a :class:`~problems.problem.Problem` from a grid size and
keyword parameters. Parameters are declared in the one option schema
(:class:`problems.parameters.Parameter`: name, default, converter, one line
of documentation); strings (from the command line) are converted by the
declared converter, and unknown names are rejected with the list of valid ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from problems.grid import Grid
from problems.parameters import Parameter, Parameters, choice, integer, number, sequence
from problems.problem import Problem
from problems.random_fields import RandomField

PI = np.pi


# -- parameter declarations (the schema of problems.parameters) -----------------
_float = number()
_int = integer()
_floats = sequence(number())
_ints = sequence(integer())


def _pair(v) -> tuple[int, int]:
    """``"4:3"`` or ``(4, 3)`` -> ``(4, 3)``."""
    try:
        kx, ky = v.split(":") if isinstance(v, str) else v
        return _int(kx), _int(ky)
    except (TypeError, ValueError):
        raise ValueError(f"must be a pair kx:ky of integers, got {v!r}") from None


_pairs = sequence(_pair, what="comma-separated kx:ky pairs of integers")

#: Deprecated alias of :class:`problems.parameters.Parameter` (same fields, same order).
Param = Parameter


@dataclass(frozen=True)
class Entry:
    """A catalogue entry: how to build one problem family."""

    name: str
    dim: int
    description: str
    default_n: int
    build: Callable[..., Problem]
    params: Parameters = field(default_factory=lambda: Parameters(kind="parameter"))

    def __post_init__(self):
        if not isinstance(self.params, Parameters):
            object.__setattr__(self, "params", Parameters(*self.params, kind="parameter"))

    def resolve(self, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``given``, converted and checked."""
        return self.params.resolve(given, owner=f"problem {self.name!r}")


_REGISTRY: dict[str, Entry] = {}


def register(entry: Entry) -> Entry:
    _REGISTRY[entry.name] = entry
    return entry


def names() -> list[str]:
    """Catalogue names, sorted.

    >>> "paper1d" in names()
    True
    """
    return sorted(_REGISTRY)


def entry(name: str) -> Entry:
    if name not in _REGISTRY:
        raise ValueError(f"unknown problem {name!r}; choose one of: {', '.join(names())}")
    return _REGISTRY[name]


def describe(name: str) -> str:
    """One line: name, dimension, default size and description."""
    e = entry(name)
    return f"{e.name:<12} {e.dim}D  n={e.default_n:<5} {e.description}"


def get(name: str, n: int | tuple[int, ...] | None = None, **params) -> Problem:
    """Build a catalogue problem.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    n : int or tuple of int, optional
        Interior points per axis (``(nx, ny)`` allowed in 2D); the entry's
        default when omitted. Must be at least 3.
    **params
        The entry's parameters (see ``problems.catalogue.entry(name).params``).

    Raises
    ------
    ValueError
        Unknown name or parameter (the valid ones are listed), ``n < 3``,
        non-finite data, ``a <= 0``, or a wavenumber within the resonance
        guard's gap of a discrete eigenvalue (:mod:`problems.helmholtz`).

    Examples
    --------
    >>> p = get("modes1d", n=31, modes="1,4", amps="1,0.5")
    >>> p.shape, p.params["modes"]
    ((31,), (1, 4))
    """
    e = entry(name)
    shape = _shape(n if n is not None else e.default_n, e.dim)
    values = e.resolve(params)
    problem = e.build(shape, **values)
    problem.params = values
    problem.description = e.description
    return problem


def _shape(n, dim) -> tuple[int, ...]:
    ns = (n,) * dim if np.isscalar(n) else tuple(n)
    if len(ns) != dim:
        raise ValueError(f"n must give {dim} sizes for a {dim}D problem, got {n!r}")
    return tuple(_N(v) for v in ns)


_N = Parameter("n", None, integer(low=3), "interior points per axis")


def _contrast_amplitude(contrast: float) -> float:
    """``s`` with ``(1 + s) / (1 - s) = contrast`` for ``a = 1 + s * (wave in [-1, 1])``."""
    if contrast < 1:
        raise ValueError(f"contrast = max a / min a must be >= 1, got {contrast}")
    return (contrast - 1) / (contrast + 1)


# -- 1D -------------------------------------------------------------------------
def _paper1d(shape):
    def g0(x):
        return np.sin(x) + np.sin(4 * x) / 4 - np.sin(8 * x) / 8 + np.sin(24 * x) / 36

    c1 = -(g0(1.0) - g0(-1.0)) / 2
    c0 = -(g0(1.0) + g0(-1.0)) / 2
    return Problem(
        "paper1d",
        Grid(shape, (-1.0,), (1.0,)),
        source=lambda x: np.sin(x) + 4 * np.sin(4 * x) - 8 * np.sin(8 * x) + 16 * np.sin(24 * x),
        exact=lambda x: g0(x) + c1 * x + c0,
    )


register(
    Entry(
        "paper1d",
        1,
        "F-Principle paper: -u'' = sin x + 4 sin 4x - 8 sin 8x + 16 sin 24x on (-1,1), u(+-1)=0",
        1023,
        lambda shape: _paper1d(shape),
    )
)


def _check_modes(name, modes, amps):
    if len(modes) != len(amps) or not modes:
        raise ValueError(
            f"{name}: modes and amps need the same, non-zero length; got {len(modes)} and"
            f" {len(amps)}"
        )
    flat = np.ravel(modes)
    if (flat < 1).any():
        raise ValueError(f"{name}: mode numbers must be integers >= 1, got {modes}")


def _modes1d(shape, modes, amps):
    _check_modes("modes1d", modes, amps)
    k = np.asarray(modes, float)
    amp = np.asarray(amps)

    def exact(x):
        return np.sum(amp * np.sin(PI * k * x[..., None]), axis=-1)

    def source(x):
        return np.sum(amp * (PI * k) ** 2 * np.sin(PI * k * x[..., None]), axis=-1)

    return Problem("modes1d", Grid(shape, (0.0,), (1.0,)), source, exact=exact)


register(
    Entry(
        "modes1d",
        1,
        "-u'' = f on (0,1), u a sum of sine modes sin(k pi x) with chosen amplitudes",
        255,
        _modes1d,
        (
            Parameter("modes", "1,8,32", _ints, "comma-separated mode numbers k >= 1"),
            Parameter("amps", "1,1,1", _floats, "comma-separated amplitudes, one per mode"),
        ),
    )
)


def _varcoef1d(shape, contrast, wavenumber):
    s = _contrast_amplitude(contrast)
    m = wavenumber

    def a(x):
        return 1 + s * np.sin(2 * PI * m * x)

    def exact(x):
        return np.sin(PI * x) + 0.25 * np.sin(6 * PI * x) + x

    def source(x):
        du = PI * np.cos(PI * x) + 1.5 * PI * np.cos(6 * PI * x) + 1
        d2u = -(PI**2) * np.sin(PI * x) - 9 * PI**2 * np.sin(6 * PI * x)
        da = 2 * PI * m * s * np.cos(2 * PI * m * x)
        return -da * du - a(x) * d2u

    return Problem(
        "varcoef1d", Grid(shape, (0.0,), (1.0,)), source, a=a, exact=exact, boundary=exact
    )


register(
    Entry(
        "varcoef1d",
        1,
        "-(a u')' = f on (0,1), a = 1 + s sin(2 pi m x), u(0)=0, u(1)=1 (non-zero boundary data)",
        255,
        _varcoef1d,
        (
            Parameter("contrast", 3.0, _float, "max a / min a (>= 1); sets s"),
            Parameter("wavenumber", 1, _int, "m, oscillations of a across the domain"),
        ),
    )
)


# -- 2D -------------------------------------------------------------------------
_UNIT_SQUARE = ((0.0, 0.0), (1.0, 1.0))


def _modes2d(shape, modes, amps):
    _check_modes("modes2d", modes, amps)
    k = np.asarray(modes, float)
    amp = np.asarray(amps)

    def exact(x, y):
        return np.sum(
            amp * np.sin(PI * k[:, 0] * x[..., None]) * np.sin(PI * k[:, 1] * y[..., None]), -1
        )

    def source(x, y):
        lam = PI**2 * (k[:, 0] ** 2 + k[:, 1] ** 2)
        return np.sum(
            amp * lam * np.sin(PI * k[:, 0] * x[..., None]) * np.sin(PI * k[:, 1] * y[..., None]),
            -1,
        )

    return Problem("modes2d", Grid(shape, *_UNIT_SQUARE), source, exact=exact)


register(
    Entry(
        "modes2d",
        2,
        "-lap u = f on (0,1)^2, u a sum of modes sin(kx pi x) sin(ky pi y) with chosen amplitudes",
        127,
        _modes2d,
        (
            Parameter("modes", "1:1,4:4,24:24", _pairs, "comma-separated kx:ky pairs, each >= 1"),
            Parameter("amps", "1,1,1", _floats, "comma-separated amplitudes, one per mode"),
        ),
    )
)


def _gaussian2d(shape, sigma, ripple, ripple_k):
    if sigma <= 0:
        raise ValueError(f"gaussian2d: sigma must be > 0, got {sigma}")
    x0, y0 = 0.35, 0.6
    k = float(ripple_k)

    def bump(x, y):
        return np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))

    def exact(x, y):
        return bump(x, y) + ripple * np.sin(k * PI * x) * np.sin(k * PI * y)

    def source(x, y):
        r2 = (x - x0) ** 2 + (y - y0) ** 2
        return bump(x, y) * (2 / sigma**2 - r2 / sigma**4) + ripple * 2 * (k * PI) ** 2 * np.sin(
            k * PI * x
        ) * np.sin(k * PI * y)

    return Problem("gaussian2d", Grid(shape, *_UNIT_SQUARE), source, exact=exact, boundary=exact)


register(
    Entry(
        "gaussian2d",
        2,
        "-lap u = f, u a Gaussian bump off-centre (non-zero boundary data) plus a fine ripple",
        127,
        _gaussian2d,
        (
            Parameter("sigma", 0.2, _float, "width of the bump (> 0)"),
            Parameter("ripple", 0.05, _float, "amplitude of the ripple sin(k pi x) sin(k pi y)"),
            Parameter("ripple_k", 24, _int, "frequency k of the ripple"),
        ),
    )
)


def _varcoef2d(shape, contrast):
    s = _contrast_amplitude(contrast)

    def a(x, y):
        return 1 + s * np.sin(2 * PI * x) * np.sin(3 * PI * y)

    def exact(x, y):
        return np.sin(PI * x) * np.sin(PI * y) + 0.2 * np.sin(4 * PI * x) * np.sin(3 * PI * y)

    def source(x, y):
        ux = PI * np.cos(PI * x) * np.sin(PI * y) + 0.8 * PI * np.cos(4 * PI * x) * np.sin(
            3 * PI * y
        )
        uy = PI * np.sin(PI * x) * np.cos(PI * y) + 0.6 * PI * np.sin(4 * PI * x) * np.cos(
            3 * PI * y
        )
        lap = -2 * PI**2 * np.sin(PI * x) * np.sin(PI * y) - 0.2 * 25 * PI**2 * np.sin(
            4 * PI * x
        ) * np.sin(3 * PI * y)
        ax = 2 * PI * s * np.cos(2 * PI * x) * np.sin(3 * PI * y)
        ay = 3 * PI * s * np.sin(2 * PI * x) * np.cos(3 * PI * y)
        return -a(x, y) * lap - ax * ux - ay * uy

    return Problem("varcoef2d", Grid(shape, *_UNIT_SQUARE), source, a=a, exact=exact)


register(
    Entry(
        "varcoef2d",
        2,
        "-div(a grad u) = f on (0,1)^2, a = 1 + s sin(2 pi x) sin(3 pi y), manufactured u",
        255,
        _varcoef2d,
        (
            Parameter(
                "contrast", 3.0, _float, "max a / min a (>= 1); 3 gives s = 0.5, 19 gives 0.9"
            ),
        ),
    )
)


# -- Helmholtz: screened (c >= 0) and indefinite (c = -k^2) ---------------------------
def _optional_float(v):
    return None if v is None or (isinstance(v, str) and v.strip().lower() == "none") else _float(v)


def _helmholtz_source(dim, k, c, rhs, seed):
    """Source, exact solution and shift of ``-lap u + c u = f`` (``c = -k^2`` when ``k > 0``)."""
    modes = [((1,), 1.0), ((7,), 0.3)] if dim == 1 else [((1, 2), 1.0), ((7, 5), 0.3)]

    def term(coords, m):
        out = 1.0
        for x, kk in zip(coords, m, strict=True):
            out = out * np.sin(kk * PI * x)
        return out

    def exact(*x):
        return sum(a * term(x, m) for m, a in modes)

    def manufactured(*x):
        return sum(a * (PI**2 * sum(kk * kk for kk in m) + c) * term(x, m) for m, a in modes)

    if rhs == "manufactured":
        return manufactured, exact
    if rhs == "constant":
        return 1.0, None
    return _random_source(dim, seed), None


def _random_source(dim, seed):
    """``f`` a seeded Gaussian random field (1D: the field's slice at ``y = 1/2``)."""
    field = RandomField(seed, alpha=2.5)
    if dim == 2:
        return field
    return lambda x: field(x, np.full_like(np.asarray(x, float), 0.5))


def _helmholtz(name, dim, shape, k, c, rhs, seed):
    from problems import helmholtz

    box = ((0.0,), (1.0,)) if dim == 1 else _UNIT_SQUARE
    grid = Grid(shape, *box)
    if k < 0:
        raise ValueError(f"{name}: the wavenumber k must be >= 0, got {k}")
    if k > 0 and c is not None:
        raise ValueError(
            f"{name}: give the wavenumber k (indefinite, c = -k^2) or the shift c >= 0"
            f" (screened), not both; got k = {k} and c = {c}"
        )
    if k == 0:
        c = 100.0 if c is None else c
        if c < 0:
            raise ValueError(
                f"{name}: the shift c must be >= 0 (screened equation), got {c};"
                " for the indefinite equation give the wavenumber k (c = -k^2)"
            )
        gap = None
    else:
        c = -k * k
        gap = helmholtz.check_constant(name, shape, grid.h, k)
    source, exact = _helmholtz_source(dim, k, c, rhs, seed)
    p = Problem(name, grid, source, c=c, exact=exact)
    p.resonance_gap = gap
    return p


_HELMHOLTZ_PARAMS = (
    Param(
        "k",
        0.0,
        _float,
        "wavenumber k >= 0: -lap u - k^2 u = f (indefinite); 0 gives the screened equation",
    ),
    Param(
        "c",
        None,
        _optional_float,
        "shift c >= 0 of the screened equation -lap u + c u = f (default 100; only when k = 0)",
    ),
    Param(
        "rhs",
        "manufactured",
        choice("manufactured", "constant", "random"),
        "f: 'manufactured' (two sine modes, exact u known), 'constant' (f = 1) or 'random' (GRF)",
    ),
    Param("seed", 0, _int, "seed of the random f (rhs=random)"),
)

register(
    Entry(
        "helmholtz1d",
        1,
        "-u'' - k^2 u = f on (0,1), u(0)=u(1)=0 (indefinite for k > 0; k = 0: -u'' + c u, c >= 0)",
        1023,
        lambda shape, k, c, rhs, seed: _helmholtz("helmholtz1d", 1, shape, k, c, rhs, seed),
        _HELMHOLTZ_PARAMS,
    )
)

register(
    Entry(
        "helmholtz2d",
        2,
        "-lap u - k^2 u = f on (0,1)^2 (indefinite, give k > 0); default k = 0: screened"
        " -lap u + c u, c >= 0",
        127,
        lambda shape, k, c, rhs, seed: _helmholtz("helmholtz2d", 2, shape, k, c, rhs, seed),
        _HELMHOLTZ_PARAMS,
    )
)


def _wave(name, dim, shape, k0, s, floor, seed, alpha):
    from problems import helmholtz

    if k0 <= 0:
        raise ValueError(f"{name}: the mean wavenumber k0 must be > 0, got {k0}")
    if s < 0:
        raise ValueError(f"{name}: the contrast s must be >= 0, got {s}")
    if not 0 < floor <= 1:
        raise ValueError(f"{name}: floor must be in (0, 1] (k >= floor * k0), got {floor}")
    field = RandomField(seed, alpha=alpha)

    def k(*x):
        y = x[1] if dim == 2 else np.full_like(np.asarray(x[0], float), 0.5)
        return k0 * np.maximum(1.0 + s * field(x[0], y), floor)

    def c(*x):
        return -(k(*x) ** 2)

    box = ((0.0,), (1.0,)) if dim == 1 else _UNIT_SQUARE
    p = Problem(name, Grid(shape, *box), _random_source(dim, seed + 1), c=c)
    p.wavenumber_field = k
    p.resonance_gap = helmholtz.check_variable(p)
    return p


_WAVE_PARAMS = (
    Param("k0", 20.0, _float, "mean wavenumber k0 > 0"),
    Param("s", 0.25, _float, "contrast: k = k0 (1 + s G), G a unit-RMS Gaussian random field"),
    Param("floor", 0.25, _float, "k >= floor * k0 (in (0, 1])"),
    Param("seed", 0, _int, "seed of the medium G (f uses seed + 1)"),
    Param("alpha", 3.0, _float, "spectral decay of G (> 0; larger is smoother)"),
)

register(
    Entry(
        "wave1d",
        1,
        "-u'' - k(x)^2 u = f, k = k0 (1 + s GRF) floored, f a random field (heterogeneous medium)",
        1023,
        lambda shape, **kw: _wave("wave1d", 1, shape, **kw),
        _WAVE_PARAMS,
    )
)

register(
    Entry(
        "wave2d",
        2,
        "-lap u - k(x,y)^2 u = f, k = k0 (1 + s GRF) floored, f a random field (no exact u)",
        255,
        lambda shape, **kw: _wave("wave2d", 2, shape, **kw),
        _WAVE_PARAMS,
    )
)


def _random2d(shape, seed, alpha):
    field = RandomField(seed, alpha=alpha)
    return Problem("random2d", Grid(shape, *_UNIT_SQUARE), field)


register(
    Entry(
        "random2d",
        2,
        "-lap u = f on (0,1)^2, f a seeded Gaussian random field (no exact solution)",
        255,
        _random2d,
        (
            Parameter("seed", 0, _int, "seed of the random field"),
            Parameter("alpha", 2.5, _float, "spectral decay of f (> 0; larger is smoother)"),
        ),
    )
)


def _randcoef2d(shape, contrast, seed, rhs, alpha):
    if contrast < 1:
        raise ValueError(f"randcoef2d: contrast = max a / min a must be >= 1, got {contrast}")
    field = RandomField(seed, alpha=alpha)
    lo, hi = field.sample_range()
    scale = math.log(contrast) / (hi - lo)
    mid = (hi + lo) / 2

    def a(x, y):
        return np.exp(scale * (field(x, y) - mid))

    source = 1.0 if rhs == "constant" else RandomField(seed + 1, alpha=2.5)
    return Problem("randcoef2d", Grid(shape, *_UNIT_SQUARE), source, a=a)


register(
    Entry(
        "randcoef2d",
        2,
        "-div(a grad u) = f, a = exp(s GRF) log-normal with max a / min a = contrast (no exact u)",
        255,
        _randcoef2d,
        (
            Parameter("contrast", 10.0, _float, "max a / min a over a fixed 129^2 sampling (>= 1)"),
            Parameter("seed", 0, _int, "seed of the coefficient field (f uses seed + 1)"),
            Parameter("rhs", "constant", choice("constant", "random"), "f = 1 or a random field"),
            Parameter("alpha", 3.0, _float, "spectral decay of log a (> 0; larger is smoother)"),
        ),
    )
)
