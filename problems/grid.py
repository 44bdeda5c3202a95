"""Uniform grids of interior points on an interval or a rectangle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    """Interior points of a uniform grid on a box.

    Axis ``d`` of the box ``[lo_d, hi_d]`` holds ``n_d`` interior points
    ``x_i = lo_d + i h_d``, ``i = 1..n_d``, with ``h_d = (hi_d - lo_d) / (n_d + 1)``.
    Unknowns live on these interior points; boundary values are data.

    Examples
    --------
    >>> g = Grid(shape=(3,), lower=(0.0,), upper=(1.0,))
    >>> g.h
    (0.25,)
    >>> g.axes[0]
    array([0.25, 0.5 , 0.75])
    """

    shape: tuple[int, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]

    def __post_init__(self):
        if not 1 <= len(self.shape) <= 2:
            raise ValueError(f"grid dimension must be 1 or 2, got shape {self.shape}")
        if not (len(self.shape) == len(self.lower) == len(self.upper)):
            raise ValueError("shape, lower and upper must have one entry per axis")
        for n in self.shape:
            if int(n) != n or n < 3:
                raise ValueError(f"n must be an integer >= 3 per axis, got {n}")
        for lo, hi in zip(self.lower, self.upper, strict=True):
            if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
                raise ValueError(f"box bounds must be finite with upper > lower, got [{lo}, {hi}]")

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def h(self) -> tuple[float, ...]:
        return tuple(
            (hi - lo) / (n + 1)
            for n, lo, hi in zip(self.shape, self.lower, self.upper, strict=True)
        )

    @property
    def axes(self) -> tuple[np.ndarray, ...]:
        """Interior coordinates along each axis, ``x_i = lo + i h``, ``i = 1..n``."""
        return tuple(
            lo + h * np.arange(1, n + 1)
            for n, lo, h in zip(self.shape, self.lower, self.h, strict=True)
        )

    def faces(self, axis: int) -> np.ndarray:
        """Midpoints ``lo + (i + 1/2) h``, ``i = 0..n``, between neighbours along ``axis``."""
        n, lo, h = self.shape[axis], self.lower[axis], self.h[axis]
        return lo + h * (np.arange(n + 1) + 0.5)

    def mesh(self) -> tuple[np.ndarray, ...]:
        """Coordinate arrays of shape ``self.shape`` (``indexing="ij"``)."""
        return tuple(np.meshgrid(*self.axes, indexing="ij"))

    def boundary_mesh(self) -> tuple[np.ndarray, ...]:
        """Coordinate arrays of the full grid, boundary included, shape ``n + 2`` per axis."""
        full = tuple(
            lo + h * np.arange(n + 2)
            for n, lo, h in zip(self.shape, self.lower, self.h, strict=True)
        )
        return tuple(np.meshgrid(*full, indexing="ij"))
