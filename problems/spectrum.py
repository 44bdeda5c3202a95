r"""Frequency analysis in the discrete sine basis.

Frequency ``k = 1..n`` is the sine mode ``v_k(i) = sin(pi k i / (n + 1))``
(2D: ``(kx, ky)``, radial index ``|k| = sqrt(kx^2 + ky^2)``). Coefficients
come from the orthonormal DST-I, so Parseval holds:
``||coefficients(p, v)||_2 = ||v||_2``. For constant coefficients these
modes are exactly the eigenvectors of ``A``.

Errors are measured against the discrete solution ``u_ref = A^{-1} f``:

* per-mode error (the F-Principle paper's Delta_F) at frequency ``k``:
  ``|e_hat_k| / |u_ref_hat_k|``;
* band error: ``||e_hat_B|| / ||u_ref_hat||`` over the bands ``low``,
  ``mid``, ``high`` that split ``k`` (or ``|k|``) into equal thirds of ``1..n``.

The *residual spectrum* needs no reference: the coefficients of ``f - A u``
summed into at most :data:`MAX_BINS` frequency bins that cover the whole
spectrum (:func:`bins`), each bin's norm over ``||f||``:

.. math::

    s_b(u) = \frac{\| \hat r_{k \in b} \|_2}{\|f\|_2}, \qquad
    \Big(\sum_b s_b^2\Big)^{1/2} = \frac{\|f - A u\|_2}{\|f\|_2}
    \quad \text{(Parseval)}.

The error spectrum is the same for ``u - u_ref`` over ``||u_ref||``.
For constant coefficients, Jacobi-type relaxation is diagonal in this basis;
:func:`relaxation_spectrum` predicts its residual spectrum exactly.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy.ndimage import maximum_filter

from problems._numba import jit

BANDS = ("low", "mid", "high")

#: At most this many frequency bins (:func:`bins`).
MAX_BINS = 128
#: One bin per integer frequency up to about this many; log-spaced bins beyond.
LINEAR_BINS = 32


def coefficients(p, v: np.ndarray) -> np.ndarray:
    """Orthonormal sine coefficients of ``v``; entry ``k - 1`` is frequency ``k``.

    Examples
    --------
    >>> import problems
    >>> p = problems.get("modes1d", n=15, modes="3", amps="1")
    >>> c = coefficients(p, p.exact())
    >>> int(np.argmax(abs(c))) + 1
    3
    """
    v = np.asarray(v, dtype=np.float64)
    if v.shape != tuple(p.shape):
        raise ValueError(f"expected an array of shape {p.shape}, got {v.shape}")
    return scipy.fft.dstn(v, type=1, norm="ortho")


def inverse(p, coeffs: np.ndarray) -> np.ndarray:
    """Grid values from sine coefficients (the DST-I is its own inverse)."""
    return scipy.fft.idstn(np.asarray(coeffs, dtype=np.float64), type=1, norm="ortho")


def frequencies(p) -> np.ndarray:
    """Frequency of each coefficient: ``k`` in 1D, radial ``|k|`` in 2D, shape ``p.shape``."""
    ks = [np.arange(1, n + 1, dtype=np.float64) for n in p.shape]
    if len(ks) == 1:
        return ks[0]
    return np.sqrt(ks[0][:, None] ** 2 + ks[1][None, :] ** 2)


def band_masks(p) -> dict[str, np.ndarray]:
    """Boolean masks of the ``low``, ``mid`` and ``high`` bands (thirds of ``1..n``).

    In 2D ``n`` is the largest axis size; radial frequencies above ``n``
    (the corner of the square) count as ``high``.
    """
    n = max(p.shape)
    k = frequencies(p)
    return {"low": k <= n / 3, "mid": (k > n / 3) & (k <= 2 * n / 3), "high": k > 2 * n / 3}


def peaks(p, v: np.ndarray, m: int = 8) -> np.ndarray:
    """Frequencies of the ``m`` largest local maxima of ``|coefficients(p, v)|``.

    A local maximum is at least as large as its neighbours in ``k`` (2D: its
    eight ``(kx, ky)`` neighbours). Local maxima, not simply the largest
    coefficients, so that a slowly decaying tail (e.g. of a linear term)
    does not crowd out the solution's real features. Returned sorted by
    frequency: shape ``(m,)`` of ``k`` in 1D, ``(m, 2)`` of ``(kx, ky)`` in
    2D, 1-based. Fewer than ``m`` when fewer peaks exist.

    Examples
    --------
    >>> import problems
    >>> p = problems.get("modes1d", n=63, modes="2,9,30", amps="1,1,1")
    >>> peaks(p, p.reference(), m=3).tolist()
    [2, 9, 30]
    """
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    mag = np.abs(coefficients(p, v))
    floor = 1e-12 * mag.max() if mag.size else 0.0
    is_peak = (mag >= maximum_filter(mag, size=3, mode="constant", cval=0.0)) & (mag > floor)
    index = np.argwhere(is_peak)
    order = np.argsort(-mag[tuple(index.T)], kind="stable")[:m]
    chosen = index[order] + 1
    if p.dim == 1:
        return np.sort(chosen[:, 0])
    radial = np.hypot(chosen[:, 0], chosen[:, 1])
    return chosen[np.lexsort((chosen[:, 0], radial))]


def _index(p, modes) -> tuple[np.ndarray, ...]:
    modes = np.asarray(modes, dtype=int)
    if p.dim == 1:
        return (modes.reshape(-1) - 1,)
    modes = modes.reshape(-1, 2)
    return (modes[:, 0] - 1, modes[:, 1] - 1)


def modal_errors(p, u: np.ndarray, modes=None) -> np.ndarray:
    r"""Per-mode relative error ``|e_hat_k| / |u_ref_hat_k|`` at ``modes``.

    ``modes`` defaults to ``peaks(p, p.reference())``.
    """
    return ErrorSpectrum(p, modes).measure(u)["modal_error"]


def band_errors(p, u: np.ndarray) -> dict[str, float]:
    r"""Band errors ``||e_hat_B||_2 / ||u_ref_hat||_2`` for the bands low, mid, high.

    Their squares add up to the squared relative error (Parseval).

    Examples
    --------
    >>> import problems
    >>> p = problems.get("modes1d", n=30, modes="1,25", amps="1,1")
    >>> b = band_errors(p, np.zeros(p.shape))
    >>> round(b["low"] ** 2 + b["high"] ** 2, 12), b["mid"]
    (1.0, 0.0)
    """
    return ErrorSpectrum(p, modes=()).measure(u)["band_error"]


def error_spectrum(p) -> ErrorSpectrum:
    """The :class:`ErrorSpectrum` of ``p`` at its default modes, built once per problem.

    Building one costs a reference solve (cached by ``p``), a transform and
    the peak search: about 0.3 s at 1023^2, which every short solve would
    otherwise pay again.
    """
    cached = p.__dict__.get("_error_spectrum")
    if cached is None:
        cached = p.__dict__["_error_spectrum"] = ErrorSpectrum(p)
    return cached


class ErrorSpectrum:
    """Repeated error measurements against ``u_ref`` with one transform each.

    The reference coefficients, masks and tracked modes are computed once,
    so a solver's history costs one DST per recorded step.

    Parameters
    ----------
    p : Problem
    modes : array-like, optional
        Tracked frequencies; default ``peaks(p, p.reference())``.
    """

    def __init__(self, p, modes=None):
        self.problem = p
        self.u_ref = p.reference()
        self.ref_hat = coefficients(p, self.u_ref)
        self.ref_norm = float(np.linalg.norm(self.ref_hat))
        self.modes = peaks(p, self.u_ref) if modes is None else np.asarray(modes, dtype=int)
        self._index = _index(p, self.modes)
        self._masks = band_masks(p)
        ref_at = np.abs(self.ref_hat[self._index])
        # A tracked mode where the solution has no energy has no relative error.
        self._ref_at = np.where(ref_at > 0, ref_at, np.nan)
        self._lam = None

    def measure(self, u: np.ndarray, r_hat: np.ndarray | None = None) -> dict:
        """``relative_error``, ``modal_error`` (array over modes), ``band_error`` (dict)
        and ``error_spectrum`` (array over :func:`bins`).

        ``r_hat``, the sine coefficients of ``f - A u``, saves the transform
        of ``u`` for constant coefficients: there ``e_hat = -r_hat / lambda``.
        """
        p = self.problem
        if r_hat is not None and p.is_constant_coefficient:
            if self._lam is None:
                from problems.operators import constant_eigenvalues

                self._lam = constant_eigenvalues(p.shape, p.grid.h, float(p.a), float(p.c))
            e_hat = r_hat / self._lam
        else:
            e_hat = coefficients(p, u) - self.ref_hat
        scale = self.ref_norm if self.ref_norm > 0 else 1.0
        energy = e_hat**2
        return {
            "relative_error": float(np.sqrt(energy.sum()) / scale),
            "modal_error": np.abs(e_hat[self._index]) / self._ref_at,
            "band_error": {
                b: float(np.sqrt(energy[m].sum()) / scale) for b, m in self._masks.items()
            },
            "error_spectrum": bins(p).norms(e_hat, scale),
        }


# -- frequency bins and the residual spectrum ------------------------------------------
class Bins:
    r"""A partition of the frequencies ``1..n`` (2D: radial ``|k|``) into bins.

    Unit-width bins ``[k - 1/2, k + 1/2)`` up to ``L + 1/2`` (``L`` at least
    :data:`LINEAR_BINS`), then bins of equal width in ``log k`` up to the
    largest frequency, :data:`MAX_BINS` in all; bins that hold no frequency
    are merged into the next one. When the unit bins cover every
    frequency there is no log part (``log`` is False): 1D ``n <= 128``,
    2D ``|k| <= 128``.

    Attributes
    ----------
    edges : ndarray, shape (B + 1,)
        Bin ``b`` holds the frequencies in ``[edges[b], edges[b + 1])``.
    centres : ndarray, shape (B,)
        The mean frequency of each bin's coefficients (in 1D unit bins: ``k``).
    index : ndarray of intp, shape (N,)
        Bin of each coefficient, in C order of ``p.shape``.
    count : ndarray of int, shape (B,)
        Coefficients per bin (all > 0).
    log : bool
        Whether the bins past the unit ones are log-spaced.
    """

    def __init__(self, freqs: np.ndarray, max_bins: int = MAX_BINS, linear: int = LINEAR_BINS):
        k = np.asarray(freqs, dtype=np.float64).ravel()
        top = float(k.max()) + 0.5
        if top - 0.5 <= max_bins:  # one bin per integer frequency covers it all
            edges = np.arange(0.5, np.floor(top - 0.5) + 1.5)
            self.log = False
        else:
            # The smallest unit part whose first log bin is at least one unit wide.
            for lin in range(linear, max_bins):
                ratio = (top / (lin + 0.5)) ** (1.0 / (max_bins - lin))
                if (lin + 0.5) * (ratio - 1.0) >= 1.0:
                    break
            logs = (lin + 0.5) * ratio ** np.arange(1, max_bins - lin + 1)
            logs[-1] = top
            edges = np.concatenate([np.arange(0.5, lin + 1.0), logs])
            self.log = True
        index = np.searchsorted(edges, k, side="right") - 1
        np.clip(index, 0, len(edges) - 2, out=index)
        count = np.bincount(index, minlength=len(edges) - 1)
        # Merge empty bins into the next one: renumber the others, drop their lower edges.
        full = count > 0
        if not full.all():
            rank = np.cumsum(full) - 1
            index = rank[index]
            keep = np.concatenate([[True], full[:-1], [True]])
            if not full[-1]:
                keep[np.flatnonzero(full)[-1] + 1] = False
            edges = edges[keep]
            count = count[full]
        self.edges = edges
        self.index = index.astype(np.intp)
        self.count = count
        self.centres = np.bincount(self.index, weights=k, minlength=len(count)) / count

    def __len__(self) -> int:
        return len(self.centres)

    def norms(self, coeffs: np.ndarray, scale: float = 1.0) -> np.ndarray:
        r"""``||coeffs restricted to bin b||_2 / scale`` for every bin, shape ``(B,)``."""
        c = np.ascontiguousarray(coeffs, dtype=np.float64).reshape(-1)
        if c.size != self.index.size:
            raise ValueError(f"expected {self.index.size} coefficients, got {c.size}")
        energy = np.zeros(len(self.centres))
        _bin_energy(self.index, c, energy)
        return np.sqrt(energy) / scale


@jit
def _bin_energy(index, c, out):  # out[index[i]] += c[i]^2, one pass
    for i in range(c.size):
        out[index[i]] += c[i] * c[i]


def bins(p) -> Bins:
    """The frequency :class:`Bins` of ``p`` (built once per problem).

    Examples
    --------
    >>> import problems
    >>> b = bins(problems.get("paper1d", n=63))
    >>> len(b), b.log, b.centres[:3].tolist()
    (63, False, [1.0, 2.0, 3.0])
    >>> b = bins(problems.get("paper1d", n=1023))
    >>> len(b) <= MAX_BINS, b.log, b.centres[:3].tolist(), int(b.count.sum())
    (True, True, [1.0, 2.0, 3.0], 1023)
    """
    cached = p.__dict__.get("_spectrum_bins")
    if cached is None or cached.index.size != p.size:
        cached = p.__dict__["_spectrum_bins"] = Bins(frequencies(p))
    return cached


def residual_spectrum(p, u: np.ndarray, residual: np.ndarray | None = None) -> np.ndarray:
    r"""The residual spectrum of ``u``: ``||r_hat_bin|| / ||f||`` per bin, shape ``(B,)``.

    ``residual`` (``f - A u``) saves an operator application when known.
    By Parseval its root sum of squares is the relative residual.

    Examples
    --------
    >>> import problems
    >>> p = problems.get("random2d", n=31)
    >>> s = residual_spectrum(p, np.zeros(p.shape))
    >>> bool(abs(np.sqrt((s**2).sum()) - 1.0) < 1e-12)
    True
    """
    r = p.residual(u) if residual is None else residual
    scale = float(np.linalg.norm(p.f)) or 1.0
    return bins(p).norms(scipy.fft.dstn(r, type=1, norm="ortho", workers=-1), scale)


def relaxation_factors(p, omega: float = 1.0) -> np.ndarray:
    r"""Per-sweep factor of (weighted) Jacobi on each sine mode, shape ``p.shape``.

    For constant coefficients ``A`` has eigenvalues ``lambda_k`` on the
    sine modes and the diagonal ``d = 2 a sum_d 1/h_d^2 + c`` is constant, so
    one sweep ``u <- u + omega D^{-1} (f - A u)`` multiplies the residual's
    (and the error's) coefficient at ``k`` by

    .. math:: g_k = 1 - \omega \lambda_k / d .

    Plain Jacobi is ``omega = 1``; its checkerboard mode ``(n, n)`` has
    ``g`` near ``-1``.

    Raises
    ------
    ValueError
        For variable coefficients (the sine modes are not eigenvectors).

    Examples
    --------
    >>> import problems
    >>> g = relaxation_factors(problems.get("modes1d", n=7))
    >>> bool(np.allclose(g, np.cos(np.pi * np.arange(1, 8) / 8)))
    True
    """
    if not p.is_constant_coefficient:
        raise ValueError(
            f"{p.name}: the relaxation theory needs constant coefficients a and c"
            " (the sine modes are then eigenvectors of A)"
        )
    from problems.operators import constant_eigenvalues

    a, c = float(p.a), float(p.c)
    lam = constant_eigenvalues(p.shape, p.grid.h, a, c)
    d = 2.0 * a * sum(1.0 / hd**2 for hd in p.grid.h) + c
    return 1.0 - omega * lam / d


def relaxation_spectrum(p, r0: np.ndarray, iterations, omega: float = 1.0) -> np.ndarray:
    r"""The residual spectrum (weighted) Jacobi reaches from the residual ``r0``.

    .. math:: s_b(t) = \frac{\| (g^t \hat r_0)_{k \in b} \|_2}{\|f\|_2},
              \qquad g_k = 1 - \omega \lambda_k / d

    (:func:`relaxation_factors`), for each ``t`` in ``iterations``: shape
    ``(len(iterations), B)``, on the axes of ``History.residual_spectrum``.

    Examples
    --------
    >>> import problems, solvers
    >>> p = problems.get("random2d", n=15)
    >>> r = solvers.solve(p, "jacobi", rtol=0, maxiter=5, record_every=1)
    >>> s = relaxation_spectrum(p, p.f, r.history.iteration)
    >>> bool(np.allclose(s, r.history.residual_spectrum, rtol=1e-10, atol=0))
    True
    """
    g = relaxation_factors(p, omega)
    r_hat = coefficients(p, r0)
    b = bins(p)
    scale = float(np.linalg.norm(p.f)) or 1.0
    its = np.asarray(iterations, dtype=np.int64).reshape(-1)  # g < 0 needs integer powers
    return np.array([b.norms(g**t * r_hat, scale) for t in its]).reshape(len(its), len(b))
