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
``helmholtz1d-wave`` (the HINTS anchor's family, indefinite)
    ``-u'' - k(x)^2 u = r`` on (0, 1), zero Dirichlet, with the catalogue's
    ``wave1d`` medium ``k = k0 max(1 + s G, 1/4)``: ``G`` a unit-RMS smooth
    random cosine series (16 modes, amplitudes ``(1 + j^2)^-1``, the decay of
    the slice of ``wave1d``'s field), ``k0`` log-uniform in ``[8, 32]``, ``s``
    uniform in ``[0, 0.3]``. Draws whose operator has an eigenvalue within
    ``2%`` of ``mean k^2`` of zero are redrawn (the anchor keeps ``min k > 3``;
    near resonance the label is unbounded). The network's coefficient input is
    ``k^2 / 32^2``. Out of distribution: ``k0 = 48`` (1.5x the range).

    Its labels are *not* the inverse of the 31-point operator: at ``k = 32``
    that grid has ``k h = 1`` (6 points per wavelength) and its discrete
    waves run 5% slower than the fine grid's, a phase error that builds up
    over the domain. The label is the solution of the same equation on an
    8x finer grid (255 points, :data:`LABEL_REFINEMENT`) with the right-hand
    side interpolated linearly from the sensor grid, sampled back at the
    sensor points: ``e = I A_h^{-1} P r`` (the continuum inverse, up to
    ``(k h)^2 / 24 ~ 4e-3`` of phase per wavelength at ``k = 32``), which is
    what a correction prolonged to a fine grid should carry.

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
#: The Helmholtz families' labels are solved on a grid this many times finer.
LABEL_REFINEMENT = 8
#: The Helmholtz network's coefficient input is ``k^2 L^2 / K2_SCALE``.
K2_SCALE = 32.0**2
#: Relative resonance gap below which a Helmholtz draw is redrawn.
MIN_GAP = 0.02


@dataclass(frozen=True)
class Samples:
    """A batch: face coefficients, node ``log a``, right-hand sides and labels."""

    # per sample: tuple of face arrays (1D: (m + 1,); 2D: (m + 1, m), (m, m + 1)); Helmholtz
    # families: the tuple (k^2 at the points of the label grid,)
    faces: list
    coefficient: np.ndarray  # (B, *shape): log a (Helmholtz: k^2 / K2_SCALE) at the nodes
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

    def coefficient_input(self, op: Operator) -> np.ndarray:
        """The network's coefficient channel for the operator ``op`` (``log a`` at the points)."""
        return node_log_coefficient(op)

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


@dataclass(frozen=True)
class HelmholtzFamily(Family):
    """A wavenumber distribution of ``-lap u - k^2 u = r`` (module docstring).

    A sample's ``faces`` entry is ``(k^2 at the label grid's points,)``;
    :meth:`operator` gives the sensor-grid operator, :meth:`label_operator`
    the fine one the label solves.
    """

    k0_range: tuple[float, float] = (8.0, 32.0)
    s_max: float = 0.3
    floor: float = 0.25
    refinement: int = LABEL_REFINEMENT

    @property
    def label_points(self) -> int:
        return self.refinement * (self.sensors + 1) - 1

    def _operator(self, k2: np.ndarray, n: int) -> Operator:
        h = 1.0 / (n + 1)
        return Operator((np.ones(n + 1),), -np.asarray(k2, float), (h,))

    def operator(self, faces) -> Operator:
        """The sensor-grid operator (``k^2`` injected at the sensor points)."""
        (k2,) = faces
        return self._operator(k2[self.refinement - 1 :: self.refinement], self.sensors)

    def label_operator(self, faces) -> Operator:
        """The fine operator whose solution the label samples."""
        (k2,) = faces
        return self._operator(k2, self.label_points)

    def coefficient_input(self, op: Operator) -> np.ndarray:
        """``k^2 L^2 / K2_SCALE`` at the points (``L`` the box side; ``c = -k^2``)."""
        length2 = float(
            np.mean([(hd * (n + 1)) ** 2 for hd, n in zip(op.h, op.shape, strict=True)])
        )
        return -op.c * (length2 / K2_SCALE)

    def wavenumber(self, rng, k0=None) -> np.ndarray:
        """``k`` at the label grid's points for one draw (``k0`` fixed if given)."""
        n = self.label_points
        x = np.arange(1, n + 1) / (n + 1)
        if k0 is None:
            lo, hi = self.k0_range
            k0 = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        s = rng.uniform(0.0, self.s_max)
        j = np.arange(16)
        g = np.cos(np.pi * np.outer(x, j)) @ (rng.standard_normal(16) * (1.0 + j**2) ** -1.0)
        g = g / max(math.sqrt(float(np.mean(g**2))), 1e-12)
        return k0 * np.maximum(1.0 + s * g, self.floor)

    def gap(self, k2: np.ndarray) -> float:
        """The relative resonance gap ``min |lambda(A_h)| / mean k^2`` of the label operator."""
        import scipy.linalg

        op = self._operator(k2, self.label_points)
        d = op.diagonal()
        e = -np.ones(len(d) - 1) / op.h[0] ** 2
        lam = scipy.linalg.eigvalsh_tridiagonal(d, e)
        return float(np.min(np.abs(lam)) / np.mean(k2))

    def draw_faces(self, rng) -> tuple[np.ndarray, ...]:
        while True:
            k2 = self.wavenumber(rng) ** 2
            if self.gap(k2) >= MIN_GAP:
                return (k2,)

    def sample(self, rng, batch: int) -> Samples:
        from problems.problem import sparse_lu

        m, F = self.sensors, self.refinement
        faces = [self.draw_faces(rng) for _ in range(batch)]
        rhs = np.stack([_sine_series(rng, self.shape, rng.uniform(0.0, 2.0)) for _ in faces])
        xs = np.arange(m + 2) / (m + 1)
        xf = np.arange(1, self.label_points + 1) / (self.label_points + 1)
        fine_rhs = np.stack([np.interp(xf, xs, np.concatenate([[0.0], r, [0.0]])) for r in rhs])
        A = sp.block_diag([self.label_operator(f).matrix() for f in faces], format="csc")
        fine = sparse_lu(A).solve(fine_rhs.reshape(-1)).reshape(fine_rhs.shape)
        label = np.ascontiguousarray(fine[:, F - 1 :: F])
        coef = np.stack([self.coefficient_input(self.operator(f)) for f in faces])
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
        HelmholtzFamily(
            "helmholtz1d-wave",
            1,
            False,
            "-u'' - k^2 u = r on (0,1), k = k0 max(1 + s G, 1/4), k0 8-32, s 0-0.3 (wave1d);"
            " labels from an 8x finer grid",
        ),
    )
}
#: Families of the issue not built yet (the 2D Helmholtz one).
PLANNED = ("helmholtz2d-wave",)


def names() -> list[str]:
    return sorted(FAMILIES)


def family(name: str) -> Family:
    """The family called ``name``; ``ValueError`` listing the valid ones otherwise."""
    if name in FAMILIES:
        return FAMILIES[name]
    if name in PLANNED:
        raise ValueError(
            f"family {name!r} (indefinite Helmholtz in 2D) is not built in this version;"
            f" available families: {', '.join(names())}"
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
