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
``helmholtz2d-wave`` (the HINTS family in 2D, indefinite)
    ``-lap u - k(x, y)^2 u = r`` on (0, 1)^2, zero Dirichlet, with the
    catalogue's ``wave2d`` medium ``k = k0 max(1 + s G, 1/4)``: ``G`` the
    catalogue's :class:`~problems.random_fields.RandomField` (``alpha = 3``,
    unit RMS) for a seed drawn from the generator, ``k0`` log-uniform in
    ``[8, 32]``, ``s`` uniform in ``[0, 0.3]``; coefficient input
    ``k^2 / 32^2`` at the 31^2 sensor points. In 2D the eigenvalues near
    ``k^2`` lie only ``~4 pi`` apart (1.2% of ``k^2`` at ``k = 32``), so a
    fixed relative gap cannot be asked for: a draw is redrawn when the
    eigenvalue of its label operator nearest zero (shift-invert Lanczos with
    the factorisation the labels use) lies within :data:`MIN_GAP_SPACING`
    (0.2) of that spacing. Labels as in 1D: the solve on the grid 8x finer
    (255^2) read back at the sensors, ``e = I A_h^{-1} (P \otimes P) r``;
    :data:`RHS_PER_MEDIUM` (4) right-hand sides share one medium and one
    sparse LU (:func:`problems.problem.sparse_lu`), and each solved medium
    gives :data:`SYMMETRIES` (8) media: its images under the rotations and
    reflections of the square, which map the field's distribution, the
    grids and the solutions onto themselves (exact samples at no cost).
    32 samples per factorisation, ~20-25 ms a sample on this 2-core machine.
    Out of distribution: ``k0 = 48``.

    The refinement was chosen by measurement, against labels on a 16x finer
    grid (511^2) for the same medium and ``r``: relative label error of the
    4x grid (127^2) 0.1-5% at ``k0 = 8``, 1-7% at 16, 36-63% at 32; of the
    8x grid (255^2) 0-1%, 0.2-1.2%, 8-9%; of the 31^2 sensor operator's own
    inverse 2-450%, 15-330%, 250-900% (two draws per k0). The phase error of the 8x grid is
    ``(k h)^2 / 24 ~ 7e-4`` (``k = 32``, ``h = 1/256``), but in 2D it shifts
    the eigenvalues near ``k^2`` by ``~ k^4 h^2 / 12 ~ 1.3``, a fair part of
    the gaps (``>= 2.5``) between them and ``k^2``: the 8-9% at ``k0 = 32``
    is that near-resonant sensitivity. The 8x labels are the accuracy this
    CPU affords (a 16x grid costs ~5x more per sample).

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

A 2D Helmholtz sample is the fine solve of the interpolated right-hand side:

>>> import dataclasses
>>> wave = dataclasses.replace(family("helmholtz2d-wave"), sensors=7, rhs_per_medium=2)
>>> w = wave.sample(np.random.default_rng(0), 3)
>>> w.label.shape, w.faces[0][0].shape, w.faces[0] is w.faces[1], w.faces[1] is w.faces[2]
((3, 7, 7), (63, 63), True, False)
>>> P = wave.interpolation()
>>> fine = wave.label_operator(w.faces[2]).matrix().toarray()
>>> e = np.linalg.solve(fine, (P @ w.rhs[2] @ P.T).ravel()).reshape(63, 63)
>>> bool(np.allclose(w.label[2], e[7::8, 7::8]))
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
#: The Helmholtz families' labels are solved on a grid this many times finer (255 points
#: per axis; the module docstring gives the measured label errors of 4x and 8x in 2D).
LABEL_REFINEMENT = 8
#: The Helmholtz network's coefficient input is ``k^2 L^2 / K2_SCALE``.
K2_SCALE = 32.0**2
#: Relative resonance gap below which a 1D Helmholtz draw is redrawn.
MIN_GAP = 0.02
#: 2D: a draw is redrawn when its eigenvalue nearest zero lies closer than this fraction
#: of the mean eigenvalue spacing (``4 pi``).
MIN_GAP_SPACING = 0.2
#: 2D Helmholtz: right-hand sides solved per medium with one factorisation.
RHS_PER_MEDIUM = 4
#: 2D Helmholtz: each solved medium also gives its images under the square's 8 symmetries.
SYMMETRIES = 8


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


def _symmetry(a: np.ndarray, g: int) -> np.ndarray:
    """The ``g``-th of the 8 symmetries of the square (rotations by ``g mod 4`` quarter
    turns, then a transpose for ``g >= 4``) on the last two axes of ``a``.

    >>> a = np.arange(4.0).reshape(2, 2)
    >>> [_symmetry(a, g)[0].tolist() for g in (0, 1, 4)]
    [[0.0, 1.0], [1.0, 3.0], [0.0, 2.0]]
    """
    b = np.rot90(a, g % 4, axes=(-2, -1))
    return np.ascontiguousarray(np.swapaxes(b, -1, -2) if g >= 4 else b)


@dataclass(frozen=True)
class HelmholtzFamily(Family):
    """A wavenumber distribution of ``-lap u - k^2 u = r`` (module docstring).

    A sample's ``faces`` entry is ``(k^2 at the label grid's points,)``;
    :meth:`operator` gives the sensor-grid operator, :meth:`label_operator`
    the fine one the label solves. In 2D ``rhs_per_medium`` right-hand sides
    share one medium and one sparse factorisation of its fine operator.
    """

    k0_range: tuple[float, float] = (8.0, 32.0)
    s_max: float = 0.3
    floor: float = 0.25
    refinement: int = LABEL_REFINEMENT
    rhs_per_medium: int = 1

    @property
    def label_points(self) -> int:
        return self.refinement * (self.sensors + 1) - 1

    def _operator(self, k2: np.ndarray, n: int) -> Operator:
        h = 1.0 / (n + 1)
        if self.dim == 1:
            return Operator((np.ones(n + 1),), -np.asarray(k2, float), (h,))
        faces = (np.ones((n + 1, n)), np.ones((n, n + 1)))
        return Operator(faces, -np.asarray(k2, float), (h, h))

    def _at_sensors(self, fine: np.ndarray) -> np.ndarray:
        """A label-grid array (leading batch axes allowed) injected at the sensor points."""
        F = self.refinement
        cut = (slice(F - 1, None, F),) * self.dim
        return np.ascontiguousarray(fine[(Ellipsis, *cut)])

    def operator(self, faces) -> Operator:
        """The sensor-grid operator (``k^2`` injected at the sensor points)."""
        (k2,) = faces
        return self._operator(self._at_sensors(k2), self.sensors)

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
        """``k`` at the label grid's points for one draw (``k0`` fixed if given).

        2D: ``G`` is the catalogue's ``wave2d`` field (``RandomField(seed,
        alpha=3)``, unit RMS) for a seed drawn from ``rng``.
        """
        n = self.label_points
        x = np.arange(1, n + 1) / (n + 1)
        if k0 is None:
            lo, hi = self.k0_range
            k0 = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        s = rng.uniform(0.0, self.s_max)
        if self.dim == 2:
            g = _tensor(field_coefficients(int(rng.integers(2**31))), x, x)
            return k0 * np.maximum(1.0 + s * g, self.floor)
        j = np.arange(16)
        g = np.cos(np.pi * np.outer(x, j)) @ (rng.standard_normal(16) * (1.0 + j**2) ** -1.0)
        g = g / max(math.sqrt(float(np.mean(g**2))), 1e-12)
        return k0 * np.maximum(1.0 + s * g, self.floor)

    def gap(self, k2: np.ndarray, lu=None) -> float:
        """The relative resonance gap ``min |lambda(A_h)| / mean k^2`` of the label operator.

        1D: all eigenvalues of the tridiagonal matrix; 2D: the eigenvalue nearest
        zero by shift-invert Lanczos (ARPACK) with the factorisation ``lu`` of the
        label operator (made here if not given).
        """
        import scipy.linalg

        op = self._operator(k2, self.label_points)
        if self.dim == 1:
            d = op.diagonal()
            e = -np.ones(len(d) - 1) / op.h[0] ** 2
            lam = scipy.linalg.eigvalsh_tridiagonal(d, e)
            return float(np.min(np.abs(lam)) / np.mean(k2))
        from problems.problem import sparse_lu

        A = op.matrix()
        lu = sparse_lu(A) if lu is None else lu
        inv = spla.LinearOperator(A.shape, matvec=lu.solve, dtype=float)
        v0 = np.ones(A.shape[0])  # fixed start: the draw depends on the seed alone
        lam = spla.eigsh(A, k=1, sigma=0.0, which="LM", OPinv=inv, v0=v0, tol=1e-4, ncv=8)[0]
        return float(np.min(np.abs(lam)) / np.mean(k2))

    def min_gap(self, k2: np.ndarray) -> float:
        """The gap below which a draw is redrawn: :data:`MIN_GAP` in 1D; in 2D
        :data:`MIN_GAP_SPACING` of the mean eigenvalue spacing ``4 pi`` (Weyl's law on
        the unit square) relative to ``mean k^2`` (a fixed 2% would refuse nearly every
        draw at ``k0 = 32``, where the spacing is 1.2% of ``k^2``)."""
        if self.dim == 1:
            return MIN_GAP
        return MIN_GAP_SPACING * 4.0 * math.pi / float(np.mean(k2))

    def draw_faces(self, rng) -> tuple[np.ndarray, ...]:
        while True:
            k2 = self.wavenumber(rng) ** 2
            if self.gap(k2) >= self.min_gap(k2):
                return (k2,)

    def _medium(self, rng):
        """A 2D medium away from resonance and the factorisation of its label operator."""
        from problems.problem import sparse_lu

        while True:
            k2 = self.wavenumber(rng) ** 2
            lu = sparse_lu(self._operator(k2, self.label_points).matrix())
            if self.gap(k2, lu) >= self.min_gap(k2):
                return (k2,), lu

    def interpolation(self) -> np.ndarray:
        """The ``(label_points, sensors)`` matrix of linear interpolation from the sensor
        grid (zero boundary values) to the label grid, per axis."""
        m, n = self.sensors, self.label_points
        xs = np.arange(m + 2) / (m + 1)
        xf = np.arange(1, n + 1) / (n + 1)
        eye = np.vstack([np.zeros(m), np.eye(m), np.zeros(m)])
        return np.stack([np.interp(xf, xs, col) for col in eye.T], axis=1)

    def sample(self, rng, batch: int) -> Samples:
        if self.dim == 2:
            return self._sample_2d(rng, batch)
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

    def _sample_2d(self, rng, batch: int) -> Samples:
        P = self.interpolation()
        n, count = self.label_points, self.rhs_per_medium
        faces, coef, rhs, label = [], [], [], []
        while len(faces) < batch:
            (k2,), lu = self._medium(rng)
            r = np.stack(
                [_sine_series(rng, self.shape, rng.uniform(0.0, 2.0)) for _ in range(count)]
            )
            fine_rhs = (P @ r @ P.T).reshape(count, n * n)
            fine = lu.solve(np.ascontiguousarray(fine_rhs.T)).T.reshape(count, n, n)
            e = self._at_sensors(fine)
            c = self.coefficient_input(self.operator((k2,)))
            for g in range(SYMMETRIES):  # the square's symmetries map solutions to solutions
                face = (_symmetry(k2, g),)
                faces += [face] * count
                coef += [_symmetry(c, g)] * count
                rhs.append(_symmetry(r, g))
                label.append(_symmetry(e, g))
        return Samples(
            faces[:batch],
            np.stack(coef[:batch]),
            np.concatenate(rhs)[:batch],
            np.concatenate(label)[:batch],
        )


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
        HelmholtzFamily(
            "helmholtz2d-wave",
            2,
            False,
            "-lap u - k^2 u = r on (0,1)^2, k = k0 max(1 + s G, 1/4), k0 8-32, s 0-0.3 (wave2d);"
            " labels from an 8x finer grid",
            rhs_per_medium=RHS_PER_MEDIUM,
        ),
    )
}


def names() -> list[str]:
    return sorted(FAMILIES)


def family(name: str) -> Family:
    """The family called ``name``; ``ValueError`` listing the valid ones otherwise."""
    if name in FAMILIES:
        return FAMILIES[name]
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
