r"""Seeded Gaussian random fields as smooth functions of the coordinates.

A truncated cosine series on the box ``[lo, hi]^2``

.. math::

    G(x, y) = \frac{1}{Z} \sum_{k, l = 0}^{K-1} \xi_{kl} (1 + k^2 + l^2)^{-\alpha/2}
              \cos(\pi k \tilde x) \cos(\pi l \tilde y),
    \qquad \xi_{kl} \sim N(0, 1),

with ``x~, y~`` the coordinates scaled to ``[0, 1]`` and ``Z`` making the
root-mean-square over a fixed 129 x 129 sampling equal to 1. Being a
function rather than grid values, the field is the same on every grid, at
the midpoints the operator needs and at a DNN's collocation points.
"""

from __future__ import annotations

import numpy as np

_SAMPLES = 129


class RandomField:
    """A seeded Gaussian random field on a 2D box (see module docstring).

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``.
    lower, upper : tuple of float
        The box.
    modes : int
        ``K``, the number of cosine modes per axis.
    alpha : float
        Spectral decay; larger is smoother (``alpha > 1`` gives a continuous field).

    Examples
    --------
    >>> g = RandomField(seed=0)
    >>> v = g(np.linspace(0, 1, 5), np.full(5, 0.5))
    >>> v.shape, bool(np.all(np.isfinite(v)))
    ((5,), True)
    >>> bool(np.allclose(RandomField(seed=0)(0.3, 0.7), g(0.3, 0.7)))
    True
    """

    def __init__(self, seed: int, lower=(0.0, 0.0), upper=(1.0, 1.0), modes=32, alpha=2.5):
        if modes < 1 or alpha <= 0:
            raise ValueError(f"RandomField needs modes >= 1 and alpha > 0, got {modes}, {alpha}")
        rng = np.random.default_rng(seed)
        k = np.arange(modes)
        decay = (1.0 + k[:, None] ** 2 + k[None, :] ** 2) ** (-alpha / 2)
        self.coefficients = rng.standard_normal((modes, modes)) * decay
        self.lower, self.upper = tuple(map(float, lower)), tuple(map(float, upper))
        self.modes = modes
        s = np.linspace(0, 1, _SAMPLES)
        sample = self._tensor(s, s)
        self.coefficients /= np.sqrt(np.mean(sample**2))

    def _scale(self, x, axis):
        return (x - self.lower[axis]) / (self.upper[axis] - self.lower[axis])

    def _basis(self, t):
        return np.cos(np.pi * t[..., None] * np.arange(self.modes))

    def _tensor(self, s, t):
        # On a tensor grid the double sum factorises: Cx @ Xi @ Cy^T.
        return self._basis(s) @ self.coefficients @ self._basis(t).T

    def __call__(self, x, y) -> np.ndarray:
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        s, t = self._scale(x, 0).ravel(), self._scale(y, 1).ravel()
        out = np.empty(s.shape)
        chunk = 65536
        for start in range(0, s.size, chunk):
            part = slice(start, start + chunk)
            out[part] = np.sum((self._basis(s[part]) @ self.coefficients) * self._basis(t[part]), 1)
        return out.reshape(x.shape)

    def sample_range(self) -> tuple[float, float]:
        """Minimum and maximum over the fixed sampling grid (used to set contrasts)."""
        s = np.linspace(0, 1, _SAMPLES)
        v = self._tensor(s, s)
        return float(v.min()), float(v.max())
