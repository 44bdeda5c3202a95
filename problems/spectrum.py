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
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy.ndimage import maximum_filter

BANDS = ("low", "mid", "high")


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

    def measure(self, u: np.ndarray) -> dict:
        """``relative_error``, ``modal_error`` (array over modes), ``band_error`` (dict)."""
        e_hat = coefficients(self.problem, u) - self.ref_hat
        scale = self.ref_norm if self.ref_norm > 0 else 1.0
        energy = e_hat**2
        return {
            "relative_error": float(np.sqrt(energy.sum()) / scale),
            "modal_error": np.abs(e_hat[self._index]) / self._ref_at,
            "band_error": {
                b: float(np.sqrt(energy[m].sum()) / scale) for b, m in self._masks.items()
            },
        }
