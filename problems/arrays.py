r"""Your own problem from grid data: :func:`from_arrays` and :func:`load_arrays`.

The problem is the catalogue's

.. math::

    -\nabla\cdot(a \nabla u) + c u = f \ \text{in } \Omega, \qquad u = g \ \text{on } \partial\Omega

on a box, with the data given as arrays on the grid instead of functions:

* ``f`` on the interior points, shape ``(n,)`` or ``(nx, ny)``;
* ``a`` and ``c`` as numbers, or as arrays on *all* grid points, boundary
  included: shape ``(n + 2,)`` or ``(nx + 2, ny + 2)``. The operator needs
  ``a`` on the faces between neighbours: a face coefficient is the
  arithmetic mean of its two nodes, :math:`a_{i+1/2} = (a_i + a_{i+1})/2`
  (``faces="harmonic"``: :math:`2 / (1/a_i + 1/a_{i+1})`, the usual choice
  for jumping coefficients). ``c`` is used at the interior points;
* ``boundary`` (``g``) as a number, or as an array on all grid points of
  which only the boundary values are used;
* ``domain``: the box, unit by default.

Grid point ``i`` (``i = 0..n+1``) sits at ``x_i = lo + i h`` with
``h = (hi - lo) / (n + 1)``. Between the nodes the data are linear
(bilinear in 2D) interpolants, so mesh-free methods (the DNN) see the same
problem; at the nodes and faces they are exactly the rules above.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from problems.grid import Grid
from problems.problem import Problem

FACES = ("arithmetic", "harmonic")
#: The arrays a problem file (``.npz``) may hold, named like :func:`from_arrays`' arguments.
FILE_KEYS = ("f", "a", "c", "boundary", "domain")


class _Nodal:
    """A field given at grid nodes, evaluated anywhere by (bi)linear interpolation.

    ``harmonic`` interpolates ``1 / values`` and inverts, so that the value
    halfway between two nodes is their harmonic mean.
    """

    def __init__(self, axes, values, harmonic: bool = False):
        self.harmonic = harmonic
        data = 1.0 / values if harmonic else values
        self._interp = RegularGridInterpolator(
            tuple(axes), data, method="linear", bounds_error=False, fill_value=None
        )

    def __call__(self, *coords):
        coords = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in coords))
        points = np.stack([x.ravel() for x in coords], axis=-1)
        out = self._interp(points).reshape(coords[0].shape)
        return 1.0 / out if self.harmonic else out


def _domain(domain, dim: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if domain is None:
        return (0.0,) * dim, (1.0,) * dim
    box = np.asarray(domain, dtype=np.float64)
    if box.shape == (2,) and dim == 1:
        box = box.reshape(1, 2)
    if box.shape != (dim, 2):
        want = "(lo, hi)" if dim == 1 else "((x0, x1), (y0, y1))"
        raise ValueError(f"from_arrays: domain must be {want}, got {domain!r}")
    if not np.all(np.isfinite(box)) or not np.all(box[:, 1] > box[:, 0]):
        raise ValueError(f"from_arrays: domain bounds must be finite with hi > lo, got {domain!r}")
    return tuple(box[:, 0].tolist()), tuple(box[:, 1].tolist())


def _field(name: str, value, full: tuple[int, ...], *, positive: bool = False):
    """A number, or an array on all grid points (checked); returns float or ndarray."""
    arr = np.asarray(value, dtype=np.float64) if not isinstance(value, str) else None
    if arr is None:
        raise ValueError(f"from_arrays: {name} must be a number or an array, got {value!r}")
    if arr.ndim == 0:
        if not np.isfinite(arr):
            raise ValueError(f"from_arrays: {name} must be finite, got {float(arr)}")
        if positive and not arr > 0:
            raise ValueError(f"from_arrays: {name} must be > 0, got {float(arr)}")
        return float(arr)
    if arr.shape != full:
        raise ValueError(
            f"from_arrays: {name} has shape {arr.shape}; expected a number or an array on all"
            f" grid points, boundary included: shape {full} (f's shape + 2 per axis)"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"from_arrays: {name} is not finite at {int(bad.sum())} of {arr.size} grid points"
        )
    if positive and not (arr > 0).all():
        raise ValueError(
            f"from_arrays: {name} must be > 0 everywhere, got min({name}) = {arr.min():.3g}"
        )
    return arr


def from_arrays(
    f,
    *,
    a=1.0,
    c=0.0,
    boundary=0.0,
    domain=None,
    faces: str = "arithmetic",
    name: str = "arrays",
) -> Problem:
    r"""A :class:`~problems.problem.Problem` from grid data (see the module docstring).

    Parameters
    ----------
    f : array, shape (n,) or (nx, ny)
        The right-hand side at the interior points (``n >= 3`` per axis).
    a : number or array, shape (n + 2,) or (nx + 2, ny + 2)
        Diffusion coefficient (> 0) at every grid point, boundary included.
    c : number or array of the same shape
        The shift; used at the interior points. ``c < 0`` makes the problem
        indefinite (``p.definite`` is False) where the catalogue allows it.
    boundary : number or array of the same shape
        Dirichlet data ``g``; only its boundary values are used.
    domain : (lo, hi) in 1D, ((x0, x1), (y0, y1)) in 2D, optional
        The box; default the unit interval or square.
    faces : {"arithmetic", "harmonic"}
        The face coefficient from its two nodes.
    name : str
        Label in results and figures.

    Raises
    ------
    ValueError
        One line naming what is wrong: ``f`` not 1D or 2D or too small,
        a shape that does not fit ``f``, non-finite values, ``a <= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> n = 31
    >>> x = np.linspace(0, 1, n + 2)
    >>> p = from_arrays(np.ones(n), a=1 + x**2)
    >>> p.shape, p.is_constant_coefficient
    ((31,), False)
    >>> bool(np.isclose(p.operator.faces[0][0], (1 + (1 + x[1] ** 2)) / 2))
    True
    >>> float(np.linalg.norm(p.residual(p.reference())) / np.linalg.norm(p.f)) < 1e-10
    True
    """
    if faces not in FACES:
        raise ValueError(f"from_arrays: faces must be one of {', '.join(FACES)}; got {faces!r}")
    try:
        f = np.array(f, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("from_arrays: f must be an array of numbers") from None
    if f.ndim not in (1, 2):
        raise ValueError(
            f"from_arrays: f must be a 1D or 2D array of interior values, got shape {f.shape}"
        )
    if min(f.shape) < 3:
        raise ValueError(f"from_arrays: f needs at least 3 interior points per axis, got {f.shape}")
    bad = ~np.isfinite(f)
    if bad.any():
        raise ValueError(f"from_arrays: f is not finite at {int(bad.sum())} of {f.size} points")
    shape = f.shape
    full = tuple(n + 2 for n in shape)
    lower, upper = _domain(domain, f.ndim)
    grid = Grid(shape, lower, upper)
    nodes = tuple(lo + h * np.arange(n + 2) for n, lo, h in zip(shape, lower, grid.h, strict=True))
    a = _field("a", a, full, positive=True)
    c = _field("c", c, full)
    g = _field("boundary", boundary, full)
    f.setflags(write=False)
    return Problem(
        name,
        grid,
        _Nodal(grid.axes, f),
        a=a if isinstance(a, float) else _Nodal(nodes, a, harmonic=faces == "harmonic"),
        c=c if isinstance(c, float) else _Nodal(nodes, c),
        boundary=(g if g != 0.0 else None) if isinstance(g, float) else _Nodal(nodes, g),
        params={"faces": faces} if faces != "arithmetic" else {},
        description="user grid data (problems.from_arrays)",
    )


def load_arrays(path: str | os.PathLike, **options) -> Problem:
    """:func:`from_arrays` on the arrays of an ``.npz`` file (``numpy.savez``).

    The file holds ``f`` and optionally ``a``, ``c``, ``boundary``, ``domain``
    (:data:`FILE_KEYS`); the problem is named after the file.

    Raises
    ------
    ValueError
        The file is missing or not an ``.npz``, lacks ``f``, holds other
        names, or its arrays are bad (see :func:`from_arrays`).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"problem file {path} does not exist (give a catalogue name or an .npz)")
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise ValueError
            data = {k: z[k] for k in z.files}
    except Exception:
        raise ValueError(
            f"problem file {path} is not an .npz archive (write one with numpy.savez(path,"
            " f=..., a=..., c=..., boundary=...))"
        ) from None
    unknown = sorted(set(data) - set(FILE_KEYS))
    if unknown:
        raise ValueError(
            f"problem file {path} holds {', '.join(unknown)};"
            f" accepted names: {', '.join(FILE_KEYS)}"
        )
    if "f" not in data:
        have = ", ".join(sorted(data)) or "nothing"
        raise ValueError(
            f"problem file {path} holds no array 'f' (the right-hand side on the interior"
            f" points); it has: {have}"
        )
    kwargs = {k: (v.item() if v.ndim == 0 else v) for k, v in data.items() if k != "f"}
    return from_arrays(data["f"], name=path.stem, **kwargs, **options)
