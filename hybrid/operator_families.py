r"""Problem families a neural operator is trained on, and the samples drawn from them.

A *family* is a distribution over coefficient fields ``a`` on the unit
interval or square. A training sample is one draw of ``a``, discretised on
the operator's fixed *sensor grid* (``m`` interior points per axis, the
conventions of :mod:`problems.operators`), a residual-like right-hand side
``r`` spanning the low band, scaled to unit root-mean-square, and the label

.. math:: e = A_a^{-1} r

solved by a direct sparse factorisation of the block-diagonal system of a
whole batch (the project's ``direct`` solver; no iteration, no slow loop).

Families:

``poisson1d-varcoef``
    ``-(a u')' = r`` on (0, 1); half the samples ``a = 1 + s sin(2 pi m x + phi)``
    with ``m`` uniform in ``{1, 2, 3, 4}`` and ``phi`` uniform (the
    catalogue's ``varcoef1d``, ``phi = 0``, lies inside), half log-normal
    ``a = exp(G)`` with ``G`` a smooth random cosine series (8 modes,
    amplitudes ``(1 + k^2)^-1``); ``max a / min a`` log-uniform in
    ``[1, 10]``. Out of distribution: contrast 100 (10x the range), ``m = 6``
    (1.5x).
``poisson2d-randcoef``
    ``-div(a grad u) = r`` on (0, 1)^2, ``a = exp(s G)`` with ``G`` the
    catalogue's :class:`~problems.random_fields.RandomField` (``alpha = 3``)
    and ``max a / min a`` log-uniform in ``[1, 10]``: the catalogue's
    ``randcoef2d`` (contrast 10) for seeds not used in training. Out of
    distribution: contrast 100, and the field at 1.5x the coordinates.

The right-hand sides are random sine series
``r = sum_k xi_k (1 + |k|^2)^{-beta/2} v_k`` (``beta`` uniform in
``[0, 2]``, all ``m`` modes per axis), so samples range from white to smooth.

This module imports no torch.

Examples
--------
>>> fam = family("poisson1d-varcoef")
>>> s = fam.sample(np.random.default_rng(0), 4)
>>> s.coefficient.shape, s.rhs.shape, s.label.shape
((4, 31), (4, 31), (4, 31))
>>> ops = [fam.operator(face) for face in s.faces]
>>> bool(np.allclose(ops[0].apply(s.label[0]), s.rhs[0]))
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from problems.operators import Operator
from problems.random_fields import RandomField  # noqa: F401 (the doctests' gold reference)

#: Sensor grid points per axis of every shipped family (the anchor's 31).
SENSORS = 31


@dataclass(frozen=True)
class Samples:
    """A batch: face coefficients, node ``log a``, right-hand sides and labels."""

    faces: list  # per sample: tuple of face arrays (1D: (m + 1,); 2D: (m + 1, m), (m, m + 1))
    coefficient: np.ndarray  # (B, *shape): log a at the nodes (the network's input)
    rhs: np.ndarray  # (B, *shape): unit RMS
    label: np.ndarray  # (B, *shape): A^{-1} rhs


def node_log_coefficient(op: Operator) -> np.ndarray:
    """``log a`` at the grid points: the mean of ``log a`` on the faces around each point.

    >>> op = Operator((np.full(4, np.e),), np.zeros(3), (0.25,))
    >>> node_log_coefficient(op).tolist()
    [1.0, 1.0, 1.0]
    """
    if op.dim == 1:
        la = np.log(op.faces[0])
        return 0.5 * (la[:-1] + la[1:])
    lx, ly = (np.log(f) for f in op.faces)
    return 0.25 * (lx[:-1, :] + lx[1:, :] + ly[:, :-1] + ly[:, 1:])


def _sine_series(rng, shape, beta) -> np.ndarray:
    """A random sine series on the grid, decay ``(1 + |k|^2)^(-beta/2)``, unit RMS."""
    import scipy.fft

    k = np.meshgrid(*(np.arange(1, n + 1) for n in shape), indexing="ij")
    k2 = sum(kk.astype(float) ** 2 for kk in k)
    coeffs = rng.standard_normal(shape) * (1.0 + k2) ** (-beta / 2)
    v = scipy.fft.idstn(coeffs, type=1, norm="ortho")
    return v / math.sqrt(np.mean(v**2))


def _tensor(coefficients: np.ndarray, xs, ys) -> np.ndarray:
    """The cosine series of :class:`~problems.random_fields.RandomField` on the tensor grid
    ``xs x ys`` of the unit square, by ``einsum`` (a multithreaded BLAS call on such
    small products costs more than it computes on a busy machine)."""
    k = np.arange(coefficients.shape[0])
    bx, by = np.cos(np.pi * np.outer(xs, k)), np.cos(np.pi * np.outer(ys, k))
    return np.einsum("il,jl->ij", np.einsum("ik,kl->il", bx, coefficients), by)


def field_coefficients(seed: int, alpha: float = 3.0, modes: int = 32) -> np.ndarray:
    """The coefficients of ``RandomField(seed, alpha=alpha, modes=modes)`` (same draws).

    >>> c = field_coefficients(3)
    >>> bool(np.allclose(c, RandomField(3, alpha=3.0).coefficients))
    True
    """
    rng = np.random.default_rng(seed)
    k = np.arange(modes)
    decay = (1.0 + k[:, None] ** 2 + k[None, :] ** 2) ** (-alpha / 2)
    c = rng.standard_normal((modes, modes)) * decay
    s = np.linspace(0, 1, 129)
    return c / np.sqrt(np.mean(_tensor(c, s, s) ** 2))


@dataclass(frozen=True)
class Family:
    """A coefficient distribution on a unit box (module docstring)."""

    name: str
    dim: int
    definite: bool
    description: str
    sensors: int = SENSORS

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.sensors,) * self.dim

    @property
    def h(self) -> tuple[float, ...]:
        return (1.0 / (self.sensors + 1),) * self.dim

    def operator(self, faces) -> Operator:
        """The sensor-grid operator of one sample's face coefficients."""
        return Operator(tuple(faces), np.zeros(self.shape), self.h)

    def draw_faces(self, rng) -> tuple[np.ndarray, ...]:
        """Face coefficients of one random ``a``."""
        m = self.sensors
        h = 1.0 / (m + 1)
        contrast = math.exp(rng.uniform(0.0, math.log(10.0)))
        if self.name == "poisson1d-varcoef" and rng.uniform() < 0.5:
            # log-normal: log a a smooth random cosine series, max a / min a = contrast
            x = h * (np.arange(m + 1) + 0.5)
            k = np.arange(8)
            g = np.cos(np.pi * np.outer(x, k)) @ (rng.standard_normal(8) * (1.0 + k**2) ** -1.0)
            g = (g - g.min()) / max(g.max() - g.min(), 1e-12)
            return (np.exp(math.log(contrast) * (g - 0.5)),)
        if self.name == "poisson1d-varcoef":
            s = (contrast - 1) / (contrast + 1)
            wave = int(rng.integers(1, 5))
            phase = rng.uniform(0, 2 * np.pi)
            x = h * (np.arange(m + 1) + 0.5)
            return (1 + s * np.sin(2 * np.pi * wave * x + phase),)
        coeffs = field_coefficients(int(rng.integers(2**31)))
        s129 = np.linspace(0, 1, 129)  # as RandomField.sample_range
        sample = _tensor(coeffs, s129, s129)
        lo, hi = float(sample.min()), float(sample.max())
        scale, mid = math.log(contrast) / (hi - lo), (hi + lo) / 2
        pts = h * np.arange(1, m + 1)
        fcs = h * (np.arange(m + 1) + 0.5)
        ax = np.exp(scale * (_tensor(coeffs, fcs, pts) - mid))
        ay = np.exp(scale * (_tensor(coeffs, pts, fcs) - mid))
        return (ax, ay)

    def sample(self, rng, batch: int) -> Samples:
        """``batch`` samples: coefficients, unit-RMS right-hand sides, exact labels."""
        faces = [self.draw_faces(rng) for _ in range(batch)]
        ops = [self.operator(f) for f in faces]
        rhs = np.stack([_sine_series(rng, self.shape, rng.uniform(0.0, 2.0)) for _ in ops])
        A = sp.block_diag([op.matrix() for op in ops], format="csc")
        label = spla.splu(A).solve(rhs.reshape(-1)).reshape(rhs.shape)
        coef = np.stack([node_log_coefficient(op) for op in ops])
        return Samples(faces, coef, rhs, label)


FAMILIES = {
    f.name: f
    for f in (
        Family(
            "poisson1d-varcoef",
            1,
            True,
            "-(a u')' = r on (0,1), a = 1 + s sin(2 pi m x + phi) (m = 1-4) or log-normal,"
            " contrast 1-10",
        ),
        Family(
            "poisson2d-randcoef",
            2,
            True,
            "-div(a grad u) = r on (0,1)^2, a = exp(s GRF) log-normal, contrast 1-10",
        ),
    )
}
#: Families of the issue that need an indefinite (Helmholtz) problem class: not available yet.
PLANNED = ("helmholtz1d-wave", "helmholtz2d-wave")


def names() -> list[str]:
    return sorted(FAMILIES)


def family(name: str) -> Family:
    """The family called ``name``; ``ValueError`` listing the valid ones otherwise."""
    if name in FAMILIES:
        return FAMILIES[name]
    if name in PLANNED:
        raise ValueError(
            f"family {name!r} needs indefinite Helmholtz problems, which this version does not"
            f" have; available families: {', '.join(names())}"
        )
    raise ValueError(f"unknown family {name!r}; choose one of: {', '.join(names())}")


def default_family(problem) -> Family:
    """The shipped family for ``problem``: by its dimension (and definiteness)."""
    definite = getattr(problem, "definite", True)
    for fam in FAMILIES.values():
        if fam.dim == problem.dim and fam.definite == definite:
            return fam
    kind = "definite" if definite else "indefinite"
    raise ValueError(
        f"no operator family for a {problem.dim}D {kind} problem; available families:"
        f" {', '.join(f'{f.name} ({f.dim}D)' for f in FAMILIES.values())}"
    )
