r"""The indefinite Helmholtz equation: resonance guard and the wave media of the catalogue.

.. math:: -\Delta u - k(x)^2 u = f, \qquad u = 0 \text{ on } \partial\Omega,

is the problem's ``c = -k^2 < 0``. Its discrete operator ``A = L - K^2``
(``L`` the discrete ``-Laplacian``, ``K = diag(k)``) is symmetric and
indefinite: it is singular when ``k^2`` hits an eigenvalue ``mu`` of ``L``, and
the solution grows like ``1 / min |mu - k^2|`` near such a resonance.

Resonance guard
---------------
The *relative gap* of a problem is ``min_j |lambda_j(A)| / mean(k^2)``: for
constant ``k`` it is ``min_j |mu_j - k^2| / k^2``, computed exactly from the
closed-form eigenvalues (:func:`resonance_gap`). Below :data:`RESONANCE_TOL`
(``1e-3``) the catalogue refuses a constant-``k`` problem, naming the gap and
the nearest wavenumbers that are safe (:func:`nearest_safe_k`). For a variable
``k(x)`` the eigenvalue of ``A`` nearest zero is estimated by a few
shift-invert Lanczos steps (:func:`estimate_gap`, ARPACK with shift 0, one
sparse LU) and a gap below the tolerance is a warning, since the estimate is
not exact; grids above :data:`ESTIMATE_MAX_POINTS` skip the estimate (its LU
would cost as much as a direct solve) and say so in the problem's
``params["resonance_gap"]`` (``None``).

In 2D the eigenvalues near ``k^2`` lie about ``4 pi`` apart (Weyl's law), so
the relative gap of a random ``k`` is typically ``~ 2 pi / k^2``: at
``k = 160`` every ``k`` is within ``5e-4`` of some eigenvalue. The tolerance
therefore scales down with the eigenvalue density: ``tol = min(1e-3,
0.1 * spacing / k^2)`` with ``spacing`` the mean distance between the
eigenvalues near ``k^2`` (:func:`tolerance`), i.e. a gap below a tenth of the
typical spacing is refused. In 1D (spacing ``2 pi k``) this is ``1e-3`` up to
``k ~ 600``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.sparse.linalg as spla

from problems.operators import constant_eigenvalues

#: The relative gap below which a problem is refused (constant k) or warned about.
RESONANCE_TOL = 1e-3
#: Largest grid (points) on which :func:`estimate_gap` runs at construction.
ESTIMATE_MAX_POINTS = 70_000


def laplacian_eigenvalues(shape, h) -> np.ndarray:
    """Sorted eigenvalues of the discrete ``-Laplacian`` (all of them, flattened)."""
    return np.sort(constant_eigenvalues(tuple(shape), tuple(h)).ravel())


def resonance_gap(shape, h, k: float) -> tuple[float, float]:
    r"""``(gap, mu)``: ``gap = min_j |mu_j - k^2| / k^2`` and the nearest ``mu_j``.

    Examples
    --------
    >>> h = (1 / 64,)
    >>> mu = laplacian_eigenvalues((63,), h)
    >>> gap, nearest = resonance_gap((63,), h, math.sqrt(mu[4]))
    >>> gap < 1e-12, bool(nearest == mu[4])
    (True, True)
    """
    mu = laplacian_eigenvalues(shape, h)
    j = int(np.argmin(np.abs(mu - k * k)))
    return float(abs(mu[j] - k * k) / (k * k)), float(mu[j])


def tolerance(shape, h, k: float, tol: float = RESONANCE_TOL) -> float:
    """The gap refused at wavenumber ``k``: ``min(tol, 0.1 * spacing / k^2)`` (module docstring)."""
    mu = laplacian_eigenvalues(shape, h)
    i = int(np.searchsorted(mu, k * k))
    lo, hi = max(i - 20, 0), min(i + 20, len(mu) - 1)
    distinct = np.unique(mu[lo : hi + 1])
    spacing = (distinct[-1] - distinct[0]) / max(len(distinct) - 1, 1)
    return float(min(tol, 0.1 * spacing / (k * k)))


def nearest_safe_k(shape, h, k: float, tol: float) -> tuple[float, float]:
    r"""The wavenumbers just below and above ``k`` whose relative gap is ``>= tol``.

    ``|mu - q| < tol q`` holds for ``q = k^2`` in the open interval
    ``(mu / (1 + tol), mu / (1 - tol))``; the union of these intervals over the
    eigenvalues is the forbidden set, and the answer is the ends of the
    merged interval that contains ``k^2`` (``k`` itself twice when it is safe).

    >>> shape, h = (63,), (1 / 64,)
    >>> mu = laplacian_eigenvalues(shape, h)
    >>> lo, hi = nearest_safe_k(shape, h, math.sqrt(mu[4]), 1e-3)
    >>> lo < math.sqrt(mu[4]) < hi, resonance_gap(shape, h, hi)[0] >= 1e-3
    (True, True)
    """
    mu = laplacian_eigenvalues(shape, h)
    q = k * k
    lo_end, hi_end = mu / (1 + tol), mu / (1 - tol)
    inside = np.flatnonzero((lo_end < q) & (q < hi_end))
    if inside.size == 0:
        return k, k
    a, b = lo_end[inside].min(), hi_end[inside].max()
    # grow the interval while neighbouring forbidden intervals overlap it
    while True:
        overlap = (lo_end < b) & (hi_end > a)
        na, nb = lo_end[overlap].min(), hi_end[overlap].max()
        if na == a and nb == b:
            break
        a, b = na, nb
    # nudged outwards by 1e-6, more than the 8 digits the error message prints
    return math.sqrt(a) * (1 - 1e-6), math.sqrt(b) * (1 + 1e-6)


def check_constant(name: str, shape, h, k: float, tol: float = RESONANCE_TOL) -> float:
    """Refuse a constant-``k`` problem within ``tolerance`` of resonance; return its gap."""
    if k == 0:
        return math.inf
    gap, mu = resonance_gap(shape, h, k)
    limit = tolerance(shape, h, k, tol)
    if gap < limit:
        lo, hi = nearest_safe_k(shape, h, k, limit)
        raise ValueError(
            f"{name}: k = {k:g} is within a relative gap of {gap:.2e} of the discrete"
            f" eigenvalue {mu:.6g} (k^2 = {k * k:.6g}; refused below {limit:.1e}): the system is"
            f" (nearly) singular. Nearest safe k: {lo:.8g} or {hi:.8g}"
        )
    return gap


def estimate_gap(problem, ncv: int = 8) -> float:
    r"""Estimate ``min_j |lambda_j(A)| / mean(k^2)`` by shift-invert Lanczos (ARPACK, shift 0).

    One sparse LU of ``A`` and a few Lanczos steps with ``A^{-1}``; exact up to
    ARPACK's tolerance for the eigenvalue nearest zero.
    """
    k2 = float(np.mean(-problem.operator.c))
    if k2 <= 0:
        return math.inf
    A = problem.matrix().tocsc()
    try:
        lam = spla.eigsh(
            A, k=1, sigma=0.0, which="LM", ncv=ncv, tol=1e-6, return_eigenvectors=False
        )
    except RuntimeError:  # exactly singular: the factorisation fails
        return 0.0
    return float(abs(lam[0]) / k2)


def check_variable(problem, tol: float = RESONANCE_TOL) -> float | None:
    """Warn when :func:`estimate_gap` finds an eigenvalue within ``tol`` of zero; return the gap
    (``None`` when the grid is above :data:`ESTIMATE_MAX_POINTS` and the estimate is skipped)."""
    if problem.size > ESTIMATE_MAX_POINTS:
        return None
    gap = estimate_gap(problem)
    k_mean = math.sqrt(max(float(np.mean(-problem.operator.c)), 0.0))
    limit = tolerance(problem.shape, problem.grid.h, k_mean, tol) if k_mean > 0 else tol
    if gap < limit:
        warnings.warn(
            f"{problem.name}: an eigenvalue of A lies within a relative gap of {gap:.2e} of zero"
            f" (estimate by shift-invert Lanczos; warned below {limit:.1e}): the system is nearly"
            " singular; change k0 or the seed",
            RuntimeWarning,
            stacklevel=3,
        )
    return gap
