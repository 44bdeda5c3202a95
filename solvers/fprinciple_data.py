r"""F-Principle diagnostics on high-dimensional data: filtering, projection, parity, gradients.

The F-Principle paper (Xu, Zhang, Luo, Xiao and Ma, arXiv 1901.06523) checks
that networks fit low frequencies first on real data with two diagnostics,
explains the failure to generalise on the parity function with it, and
derives it for a one-hidden-layer network. This module measures all four on
your own model and data; :mod:`solvers.fprinciple` holds the 1D fitting
experiment.

Filtering method
    For inputs :math:`x_i \in \mathbb{R}^d` and values :math:`v_i` (targets
    :math:`y_i` or the network's outputs :math:`h_i`, scalars or vectors),
    the low-frequency part at width :math:`\delta` is the normalised Gaussian
    average

    .. math::

        v^{\mathrm{low},\delta}_i
        = \frac{\sum_j v_j\, G^\delta(x_i - x_j)}{\sum_j G^\delta(x_i - x_j)},
        \qquad G^\delta(x) = e^{-|x|^2 / (2\delta)},

    the high part is :math:`v^{\mathrm{high},\delta} = v - v^{\mathrm{low},\delta}`,
    and the errors are

    .. math::

        e_\mathrm{low} = \frac{\|y^{\mathrm{low}} - h^{\mathrm{low}}\|}{\|y^{\mathrm{low}}\|},
        \qquad
        e_\mathrm{high} = \frac{\|y^{\mathrm{high}} - h^{\mathrm{high}}\|}
                               {\|y^{\mathrm{high}}\|}

    (Frobenius norms over samples and outputs). :class:`GaussianFilter`
    computes the sums in row chunks with one torch matmul per chunk for the
    squared distances :math:`|x_i|^2 + |x_j|^2 - 2 x_i \cdot x_j`; the
    :math:`n \times n` kernel is never held. The self-distance is set to 0,
    so each denominator is at least 1 and nothing underflows: as
    :math:`\delta \to 0`, :math:`v^{\mathrm{low}} \to v` (for distinct
    inputs). Optionally only the ``K`` nearest neighbours are kept, with the
    error bound of :meth:`GaussianFilter.truncation_bound`.

Projection method
    Along a unit direction :math:`p` (default: the first principal direction
    of the centred inputs),

    .. math::

        \hat v(k) = \frac{1}{n} \sum_i v_i\, e^{-\mathrm{i}\, 2\pi k\, p \cdot x_i},

    and the per-peak error :math:`|\hat h(k) - \hat y(k)| / |\hat y(k)|`
    (complex difference, Euclidean norm over outputs) at the peaks of
    :math:`|\hat y|`.

Parity
    :math:`f(x) = \prod_j x_j` on :math:`\{-1, 1\}^d`. Its transform over the
    cube is exact:
    :math:`2^{-d} \sum_x f(x) e^{-\mathrm{i} k \cdot x} = (-\mathrm{i})^d \prod_j \sin k_j`,
    so along the diagonal :math:`k = (\kappa, \dots, \kappa)` its magnitude
    :math:`|\sin\kappa|^d` vanishes like :math:`\kappa^d` at low frequency and
    peaks at :math:`\kappa = \pi/2`: all of the target's energy is at high
    frequency, which a network fits last and interpolates from its low
    frequencies, so it does not generalise.

Gradient spectrum
    :func:`gradient_spectrum` splits the gradient of a 1D mean squared error
    over the frequencies of the residual (see there); for a one-hidden-layer
    tanh network with small weights it decays exponentially in ``k``.

``torch`` is imported only inside the functions that need it.

Examples
--------
>>> x = np.array([[0.0], [1.0], [3.0]])
>>> GaussianFilter(x).apply(np.array([1.0, 0.0, 0.0]), [1e-3])[0].round(6).tolist()
[1.0, 0.0, 0.0]
>>> w = np.exp(-1 / 2)  # delta = 1: weight of the neighbour at distance 1
>>> bool(np.isclose(GaussianFilter(x).apply(np.array([1.0, 0.0, 0.0]), [1.0])[0, 1],
...                 w / (1 + w + np.exp(-2))))
True
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np

DTYPES = ("float64", "float32")
MODELS = ("mlp", "cnn")
LOSSES = ("mse", "ce")


@contextlib.contextmanager
def _torch_threads(threads: int | None):
    """torch intra-op ``threads`` inside (``None``: unchanged); restored after.

    (Not :func:`solvers._dnn_train.torch_state`: its deterministic-algorithms
    switch imports torch's compiler stack, seconds on first use; CPU kernels
    used here are deterministic anyway.)
    """
    import torch

    count = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(count)


def _err(message: str) -> ValueError:
    return ValueError(" ".join(message.split()))


def _as_points(x, what: str = "x") -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == object or not np.issubdtype(x.dtype, np.number):
        raise _err(f"{what} must be a numeric array of shape (n, d), got dtype {x.dtype}")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        x = x.reshape(len(x), -1)
    if x.shape[0] < 2 or x.shape[1] < 1:
        raise _err(f"{what} must hold at least 2 points of dimension >= 1, got shape {x.shape}")
    x = x.astype(np.float64, copy=False)
    if not np.all(np.isfinite(x)):
        raise _err(f"{what} has non-finite values (nan or inf); give finite inputs")
    return x


def _as_values(v, n: int, what: str = "v") -> tuple[np.ndarray, bool]:
    v = np.asarray(v, dtype=np.float64)
    vector = v.ndim == 1
    v2 = v[:, None] if vector else v.reshape(v.shape[0], -1) if v.ndim else v
    if v.ndim == 0 or v2.shape[0] != n:
        raise _err(f"{what} must have {n} rows (one per point), got shape {v.shape}")
    if not np.all(np.isfinite(v2)):
        raise _err(f"{what} has non-finite values (nan or inf)")
    return v2, vector


def _as_deltas(deltas) -> np.ndarray:
    d = np.atleast_1d(np.asarray(deltas, dtype=np.float64))
    if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise _err(f"deltas must be one or more finite numbers > 0, got {deltas!r}")
    return d


class GaussianFilter:
    r"""The filtering method's low-pass :math:`v \mapsto v^{\mathrm{low},\delta}` on fixed inputs.

    Parameters
    ----------
    x : array_like, shape (n, d) (or (n, ...), flattened)
        The inputs :math:`x_i`.
    chunk : int, optional
        Rows per block; default keeps a block of ``chunk x n`` numbers at
        about 4 million (32 MB in float64). The memory is ``O(chunk n)``,
        never ``O(n^2)``.
    neighbours : int, optional
        Keep only the ``K`` nearest neighbours of each point (found once, in
        one chunked pass); then :meth:`apply` costs ``O(n K)`` and the
        omitted weight is bounded by :meth:`truncation_bound`. Default: all.
    dtype : {"float64", "float32"}
        Arithmetic of the distance matmul and the weights (the results are
        returned in float64). float32 is about twice as fast; its distances
        carry a relative rounding of about ``1e-7 |x|^2``.
    threads : int, optional
        torch intra-op threads during the passes (default: torch's setting).

    Notes
    -----
    The squared distances come from
    :math:`|x_i - \bar x|^2 + |x_j - \bar x|^2 - 2 (x_i - \bar x)\cdot(x_j - \bar x)`
    (centred to reduce cancellation), clamped at 0, with the diagonal set
    to exactly 0. Every pass computes each block of distances once and
    reuses it for every ``delta`` and every column of ``v``, so filtering
    the outputs of all recorded epochs at once costs one pass.

    With ``neighbours=K`` let :math:`S_i` be the kept weight sum of row
    :math:`i` and :math:`r_i` the squared distance to its nearest omitted
    point. The omitted weight is
    :math:`T_i \le \bar T_i = (n - K) e^{-r_i/(2\delta)}`, and since both the
    kept and the omitted averages lie in ``[min v, max v]``,

    .. math::

        |v^{\mathrm{low}}_{K,i} - v^{\mathrm{low}}_i|
        = \frac{T_i}{S_i + T_i}\Bigl|\tfrac{B_i}{T_i} - \tfrac{A_i}{S_i}\Bigr|
        \le (\max v - \min v)\, \frac{\bar T_i}{S_i + \bar T_i}.
    """

    def __init__(self, x, *, chunk=None, neighbours=None, dtype="float64", threads=None):
        import torch

        self.x = _as_points(x)
        self.n, self.d = self.x.shape
        if dtype not in DTYPES:
            raise _err(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
        self.dtype = dtype
        if chunk is None:
            chunk = max(1, min(self.n, 4_000_000 // self.n))
        if isinstance(chunk, bool) or not isinstance(chunk, int | np.integer) or chunk < 1:
            raise _err(f"chunk must be an integer >= 1, got {chunk!r}")
        self.chunk = int(chunk)
        if neighbours is not None and (
            isinstance(neighbours, bool)
            or not isinstance(neighbours, int | np.integer)
            or not 1 <= neighbours <= self.n
        ):
            raise _err(f"neighbours must be an integer in 1..n = {self.n}, got {neighbours!r}")
        self.neighbours = None if neighbours is None or neighbours == self.n else int(neighbours)
        self.threads = threads
        self._t = getattr(torch, dtype)
        xc = self.x - self.x.mean(axis=0)
        self._x = torch.tensor(xc, dtype=self._t)
        self._sq = (self._x * self._x).sum(1)
        self.setup_seconds = 0.0
        if self.neighbours is not None:
            t0 = time.perf_counter()
            self._knn()
            self.setup_seconds = time.perf_counter() - t0

    # -- the passes ------------------------------------------------------------------
    def _threads(self):
        return _torch_threads(self.threads)

    def _blocks(self):
        """Yield ``(start, stop, d2)`` with ``d2`` the squared distances of rows start:stop."""
        import torch

        for start in range(0, self.n, self.chunk):
            stop = min(start + self.chunk, self.n)
            d2 = torch.addmm(
                self._sq[start:stop, None] + self._sq[None, :],
                self._x[start:stop],
                self._x.T,
                alpha=-2.0,
            )
            d2.clamp_(min=0.0)
            rows = torch.arange(stop - start)
            d2[rows, rows + start] = 0.0
            yield start, stop, d2

    def _knn(self) -> None:
        import torch

        k = self.neighbours
        idx = torch.empty(self.n, k, dtype=torch.int64)
        dist = torch.empty(self.n, k, dtype=self._t)
        nxt = torch.empty(self.n, dtype=self._t)
        with self._threads():
            for start, stop, d2 in self._blocks():
                val, ind = torch.topk(d2, k + 1, dim=1, largest=False, sorted=True)
                idx[start:stop] = ind[:, :k]
                dist[start:stop] = val[:, :k]
                nxt[start:stop] = val[:, k]
        self._idx, self._dist, self._next = idx, dist, nxt

    def apply(self, v, deltas) -> np.ndarray:
        r"""The low-frequency parts :math:`v^{\mathrm{low},\delta}` for each ``delta``.

        Parameters
        ----------
        v : array_like, shape (n,) or (n, m)
            Values at the inputs (one column per output, or many stacked).
        deltas : float or sequence of float
            Filter widths :math:`\delta > 0` (in the squared units of ``x``).

        Returns
        -------
        ndarray, shape (len(deltas), n) or (len(deltas), n, m), float64
        """
        import torch

        values, vector = _as_values(v, self.n)
        deltas = _as_deltas(deltas)
        m = values.shape[1]
        out = np.empty((len(deltas), self.n, m))
        with self._threads():
            vt = torch.tensor(values, dtype=self._t)
            ones = torch.ones(self.n, 1, dtype=self._t)
            if self.neighbours is None:
                vv = torch.cat([vt, ones], dim=1)
                for start, stop, d2 in self._blocks():
                    w = torch.empty_like(d2)
                    for i, delta in enumerate(deltas):
                        torch.mul(d2, -0.5 / delta, out=w).exp_()
                        s = w @ vv
                        out[i, start:stop] = (s[:, :m] / s[:, m:]).double().numpy()
            else:
                for start in range(0, self.n, self.chunk):
                    stop = min(start + self.chunk, self.n)
                    gathered = vt[self._idx[start:stop]]  # (rows, K, m)
                    for i, delta in enumerate(deltas):
                        w = torch.exp(self._dist[start:stop] * (-0.5 / delta))
                        s = torch.einsum("rk,rkm->rm", w, gathered)
                        out[i, start:stop] = (s / w.sum(1, keepdim=True)).double().numpy()
        return out[..., 0] if vector else out

    def truncation_bound(self, v, deltas) -> np.ndarray:
        r"""Bound on ``max_i |apply(v) - exact|`` per delta and column (0 when nothing is cut).

        Returns
        -------
        ndarray, shape (len(deltas),) or (len(deltas), m)
        """
        import torch

        values, vector = _as_values(v, self.n)
        deltas = _as_deltas(deltas)
        spread = values.max(axis=0) - values.min(axis=0)
        if self.neighbours is None:
            bound = np.zeros((len(deltas), values.shape[1]))
        else:
            omitted = self.n - self.neighbours
            rows = []
            for delta in deltas:
                s = torch.exp(self._dist * (-0.5 / delta)).sum(1).double().numpy()
                t = omitted * np.exp(-self._next.double().numpy() / (2 * delta))
                rows.append(float(np.max(t / (s + t))))
            bound = np.asarray(rows)[:, None] * spread[None, :]
        return bound[:, 0] if vector else bound


def low_pass(x, v, deltas, **options) -> np.ndarray:
    """:meth:`GaussianFilter.apply` in one call: ``GaussianFilter(x, **options).apply(v, deltas)``.

    >>> x = np.random.default_rng(0).normal(size=(50, 3))
    >>> y = x[:, 0]
    >>> bool(np.allclose(low_pass(x, y, 1e-6), y))  # delta -> 0: y_low -> y
    True
    >>> float(np.ptp(low_pass(x, y, 1e6)))  < 1e-4  # delta -> inf: the mean everywhere
    True
    """
    return GaussianFilter(x, **options).apply(v, deltas)


def relative_errors(y_low, h_low, y, h) -> tuple[float, float]:
    r""":math:`(e_\mathrm{low}, e_\mathrm{high})` of outputs ``h`` against targets ``y``.

    ``y_low``, ``h_low`` are the low parts (same shape as ``y``, ``h``); the
    high parts are ``y - y_low`` and ``h - h_low``. A zero denominator gives
    ``nan``.

    >>> relative_errors(np.ones(3), np.zeros(3), np.ones(3) * 2, np.ones(3) * 2)
    (1.0, 1.0)
    """
    y_low, h_low, y, h = (np.asarray(a, dtype=np.float64) for a in (y_low, h_low, y, h))

    def norm(a):  # not np.linalg.norm: its BLAS dot wakes threads, ms a call on a busy machine
        return np.sqrt(np.sum(a * a))

    with np.errstate(invalid="ignore", divide="ignore"):
        e_low = norm(y_low - h_low) / norm(y_low)
        e_high = norm((y - y_low) - (h - h_low)) / norm(y - y_low)
    return float(e_low), float(e_high)


def filter_errors(filt: GaussianFilter, y, outputs, deltas) -> tuple[np.ndarray, np.ndarray]:
    r"""``e_low`` and ``e_high`` for a sequence of outputs (e.g. one per epoch), in one pass.

    Parameters
    ----------
    filt : GaussianFilter
        Built on the inputs.
    y : array_like, shape (n,) or (n, m)
        Targets.
    outputs : array_like, shape (E, n) or (E, n, m)
        The network's outputs at ``E`` recorded times.
    deltas : sequence of float

    Returns
    -------
    e_low, e_high : ndarray, shape (E, len(deltas))
    """
    y2, _ = _as_values(y, filt.n, "y")
    outs = np.asarray(outputs, dtype=np.float64)
    outs = outs.reshape(outs.shape[0], filt.n, -1)
    if outs.shape[2] != y2.shape[1]:
        raise _err(f"outputs have {outs.shape[2]} columns but y has {y2.shape[1]}")
    m, count = y2.shape[1], outs.shape[0]
    stacked = np.concatenate([y2, outs.transpose(1, 0, 2).reshape(filt.n, count * m)], axis=1)
    deltas = _as_deltas(deltas)
    low = filt.apply(stacked, deltas)  # (D, n, (E + 1) m)
    e_low = np.empty((count, len(deltas)))
    e_high = np.empty_like(e_low)
    for i in range(len(deltas)):
        y_low = low[i, :, :m]
        for e in range(count):
            h_low = low[i, :, m * (e + 1) : m * (e + 2)]
            e_low[e, i], e_high[e, i] = relative_errors(y_low, h_low, y2, outs[e])
    return e_low, e_high


def default_deltas(x, count: int = 7, *, sample: int = 500, seed: int = 0) -> np.ndarray:
    r"""Filter widths spread over the data's scale: geometric between ``q/8`` and ``q``.

    ``q`` is the median squared distance from a point to its nearest
    neighbour, over up to ``sample`` points (seeded), times 2: at
    :math:`\delta = q` a typical neighbour weighs :math:`e^{-1/4}`, so the
    filter averages over many points; at ``q/8`` a point mostly keeps its
    own value.
    """
    x = _as_points(x)
    x = x - x.mean(axis=0)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(x), size=min(sample, len(x)), replace=False)
    sq = (x * x).sum(axis=1)
    nearest = np.empty(len(pick))
    for start in range(0, len(pick), 64):  # blocks of 64 x n distances
        rows = pick[start : start + 64]
        d2 = np.maximum(sq[rows, None] + sq[None, :] - 2 * x[rows] @ x.T, 0.0)
        d2[np.arange(len(rows)), rows] = np.inf
        nearest[start : start + len(rows)] = d2.min(axis=1)
    q = 2 * float(np.median(nearest))
    if not q > 0:
        raise _err("the inputs have duplicates at most points: no distance scale for delta")
    return q * np.geomspace(1 / 8, 1, count)


# -- projection method -----------------------------------------------------------------
def principal_direction(x) -> np.ndarray:
    """The unit first principal direction of the centred inputs (sign: largest entry > 0).

    >>> x = np.array([[0.0, 0.0], [2.0, 0.1], [4.0, -0.1]])
    >>> principal_direction(x).round(3).tolist()
    [1.0, 0.0]
    """
    x = _as_points(x)
    _, _, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    p = vt[0]
    return p if p[np.argmax(np.abs(p))] > 0 else -p


def projection_transform(x, v, k, direction=None) -> np.ndarray:
    r"""The transform along p, :math:`\frac1n \sum_i v_i e^{-\mathrm{i} 2\pi k\, p\cdot x_i}`.

    Parameters
    ----------
    x : array_like, shape (n, d)
    v : array_like, shape (n,), (n, m) or (E, n, m)
        Values; a leading axis of ``E`` recorded outputs is transformed at once.
    k : array_like, shape (K,)
        Frequencies (cycles per unit of :math:`p\cdot x`).
    direction : array_like, shape (d,), optional
        Normalised to unit length; default :func:`principal_direction`.

    Returns
    -------
    complex ndarray, shape (K,), (K, m) or (E, K, m)

    >>> x = np.linspace(0, 1, 8, endpoint=False)[:, None]
    >>> np.round(abs(projection_transform(x, np.cos(2 * np.pi * 2 * x[:, 0]), [1, 2])), 6)
    array([0. , 0.5])
    """
    x = _as_points(x)
    p = principal_direction(x) if direction is None else np.asarray(direction, dtype=np.float64)
    if p.shape != (x.shape[1],) or not np.all(np.isfinite(p)) or not np.linalg.norm(p) > 0:
        raise _err(f"direction must be a non-zero finite vector of length {x.shape[1]}")
    t = x @ (p / np.linalg.norm(p))
    k = np.asarray(k, dtype=np.float64).ravel()
    basis = np.exp(-2j * np.pi * k[:, None] * t[None, :]) / len(t)  # (K, n)
    v = np.asarray(v, dtype=np.float64)
    if v.shape[-2 if v.ndim == 3 else 0] != len(t):
        raise _err(f"v must have {len(t)} rows (one per point), got shape {v.shape}")
    return basis @ v


def projection_peaks(amplitude, m: int = 4, floor: float = 0.05) -> np.ndarray:
    """Indices of the ``m`` largest local maxima of ``amplitude`` above ``floor * max``, sorted.

    >>> projection_peaks([0, 3, 1, 5, 2, 0.1, 0.2], m=2).tolist()
    [1, 3]
    """
    a = np.asarray(amplitude, dtype=np.float64)
    left = np.concatenate([[-np.inf], a[:-1]])
    right = np.concatenate([a[1:], [-np.inf]])
    is_peak = (a >= left) & (a >= right) & (a > floor * a.max())
    index = np.flatnonzero(is_peak)
    return np.sort(index[np.argsort(-a[index], kind="stable")[:m]])


def projection_errors(y_hat, h_hat) -> np.ndarray:
    r"""``|h_hat - y_hat| / |y_hat|`` per frequency (norms over the output axis, complex).

    ``y_hat`` of shape (K, m) or (K,); ``h_hat`` the same or with a leading
    axis of records. Returns shape (K,) or (E, K).
    """
    y_hat = np.asarray(y_hat)
    h_hat = np.asarray(h_hat)
    if y_hat.ndim == 1:
        y_hat, h_hat = y_hat[:, None], h_hat[..., None]
    return np.linalg.norm(h_hat - y_hat, axis=-1) / np.linalg.norm(y_hat, axis=-1)


# -- parity ----------------------------------------------------------------------------
def parity_cube(d: int) -> tuple[np.ndarray, np.ndarray]:
    """All ``2^d`` points of ``{-1, 1}^d`` (rows) and the parity ``prod x_j`` at each.

    >>> x, y = parity_cube(2)
    >>> x.tolist(), y.tolist()
    ([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]], [1.0, -1.0, -1.0, 1.0])
    """
    if isinstance(d, bool) or not isinstance(d, int | np.integer) or not 1 <= d <= 20:
        raise _err(f"parity dimension d must be an integer in 1..20, got {d!r}")
    bits = (np.arange(2**d)[:, None] >> np.arange(d - 1, -1, -1)[None, :]) & 1
    x = 2.0 * bits - 1.0
    return x, np.prod(x, axis=1)


def parity_transform(k) -> np.ndarray:
    r"""Exact transform of the parity over the cube: :math:`(-\mathrm{i})^d \prod_j \sin k_j`.

    :math:`2^{-d} \sum_{x \in \{-1,1\}^d} \prod_j x_j\, e^{-\mathrm{i} k\cdot x}`
    factorises into :math:`\prod_j \tfrac12 (e^{-\mathrm{i} k_j} - e^{\mathrm{i} k_j})`.

    Parameters
    ----------
    k : array_like, shape (..., d)

    >>> x, y = parity_cube(3)
    >>> k = np.array([0.3, 1.1, 2.0])
    >>> bool(np.isclose(empirical_transform(x, y, k), parity_transform(k)))
    True
    """
    k = np.asarray(k, dtype=np.float64)
    return (-1j) ** k.shape[-1] * np.prod(np.sin(k), axis=-1)


def empirical_transform(x, v, k) -> np.ndarray:
    r""":math:`\frac1n \sum_i v_i e^{-\mathrm{i} k\cdot x_i}` at wave vectors ``k`` (..., d)."""
    x = _as_points(x)
    k = np.asarray(k, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    return np.exp(-1j * (k @ x.T)) @ v / len(x)


@dataclass(frozen=True)
class ParityResult:
    """The parity experiment: a network fitted to a subset of ``{-1, 1}^d``.

    Attributes
    ----------
    d, n_train : int
    train_accuracy, test_accuracy : float
        Fraction of points where ``sign(h) == prod x_j``; the test set is the
        rest of the cube.
    kappa : ndarray
        Diagonal frequencies :math:`\\kappa`, wave vector :math:`(\\kappa, ..., \\kappa)`.
    target_spectrum, output_spectrum : ndarray
        :math:`|\\hat f|` (exact, :math:`|\\sin\\kappa|^d`) and the trained
        network's :math:`|\\hat h|` over the whole cube, along the diagonal.
    train_loss : ndarray
        Mean squared error on the training points per epoch.
    """

    d: int
    n_train: int
    train_accuracy: float
    test_accuracy: float
    kappa: np.ndarray
    target_spectrum: np.ndarray
    output_spectrum: np.ndarray
    train_loss: np.ndarray


def parity_experiment(
    d: int = 10,
    n_train: int = 200,
    *,
    widths=(200, 200),
    epochs: int = 200,
    lr: float = 1e-3,
    seed: int = 0,
    threads: int | None = 1,
) -> ParityResult:
    """Fit a tanh MLP to the parity on ``n_train`` random points of the cube, test on the rest.

    Full-batch Adam on the mean squared error against ``prod x_j``; seeded
    (points and initial weights), repeatable on the CPU.
    """
    import torch

    x, y = parity_cube(d)
    if isinstance(n_train, bool) or not isinstance(n_train, int) or not 1 <= n_train < len(x):
        raise _err(f"n_train must be an integer in 1..{len(x) - 1}, got {n_train!r}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    train, test = order[:n_train], order[n_train:]
    with _torch_threads(threads):
        torch.manual_seed(seed)
        net = _mlp(d, 1, widths, "tanh")
        xt = torch.tensor(x, dtype=torch.float32)
        yt = torch.tensor(y, dtype=torch.float32)
        adam = torch.optim.Adam(net.parameters(), lr=lr)
        losses = []
        for _ in range(epochs):
            adam.zero_grad(set_to_none=True)
            loss = ((net(xt[train])[:, 0] - yt[train]) ** 2).mean()
            loss.backward()
            adam.step()
            losses.append(float(loss.detach()))
        with torch.no_grad():
            h = net(xt)[:, 0].double().numpy()
    kappa = np.linspace(0, np.pi, 65)
    diag = np.repeat(kappa[:, None], d, axis=1)
    return ParityResult(
        d=d,
        n_train=n_train,
        train_accuracy=float(np.mean(np.sign(h[train]) == y[train])),
        test_accuracy=float(np.mean(np.sign(h[test]) == y[test])),
        kappa=kappa,
        target_spectrum=np.abs(parity_transform(diag)),
        output_spectrum=np.abs(empirical_transform(x, h, diag)),
        train_loss=np.asarray(losses),
    )


# -- models and training ---------------------------------------------------------------
def _mlp(d_in: int, d_out: int, widths, activation: str = "tanh"):
    import torch

    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[activation]
    layers, previous = [], d_in
    for w in widths:
        layers += [torch.nn.Linear(previous, w), act()]
        previous = w
    layers.append(torch.nn.Linear(previous, d_out))
    return torch.nn.Sequential(*layers)


def make_model(kind: str, input_shape: tuple[int, ...], d_out: int, *, widths=(200, 100)):
    """A small network: ``mlp`` (tanh, ``widths``) on flattened inputs, or ``cnn``.

    The CNN takes images of shape ``(H, W)`` or ``(C, H, W)``: two 3x3
    convolutions (16, 32 channels, ReLU), a 2x2 max-pool, a ReLU layer of 64
    units and the linear output.
    """
    import torch

    if kind == "mlp":
        return torch.nn.Sequential(
            torch.nn.Flatten(), _mlp(int(np.prod(input_shape)), d_out, widths, "tanh")
        )
    if kind != "cnn":
        raise _err(f"model must be one of {', '.join(MODELS)}; got {kind!r}")
    if len(input_shape) == 2:
        input_shape = (1, *input_shape)
    if len(input_shape) != 3 or min(input_shape[1:]) < 2:
        raise _err(
            f"model cnn needs images of shape (H, W) or (C, H, W) with H, W >= 2;"
            f" got inputs of shape {input_shape}"
        )
    c, h, w = input_shape
    return torch.nn.Sequential(
        torch.nn.Unflatten(1, (c, h, w)),
        torch.nn.Conv2d(c, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(32 * (h // 2) * (w // 2), 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, d_out),
    )


@dataclass(frozen=True)
class DataFitResult:
    """The record of :func:`track`: both diagnostics at every epoch.

    Attributes
    ----------
    epochs : ndarray of int, shape (E,)
        Recorded epochs (0 is the initialisation).
    deltas : ndarray, shape (D,)
    e_low, e_high : ndarray, shape (E, D)
        Filtering-method errors.
    k : ndarray, shape (K,)
        Projection frequencies; ``peaks`` indexes the tracked ones.
    direction : ndarray, shape (d,)
    target_transform : complex ndarray, shape (K, m)
    peaks : ndarray of int
    projection_error : ndarray, shape (E, len(peaks))
    loss, accuracy : ndarray, shape (E,)
        Training loss and (classification) training accuracy (nan for regression).
    classes : int
        Number of classes (0: regression).
    seconds : dict
        ``train`` (optimiser steps only), ``filter``, ``projection``.
    """

    epochs: np.ndarray
    deltas: np.ndarray
    e_low: np.ndarray
    e_high: np.ndarray
    k: np.ndarray
    direction: np.ndarray
    target_transform: np.ndarray
    peaks: np.ndarray
    projection_error: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    classes: int
    seconds: dict = field(default_factory=dict)

    def crossing(self, threshold: float, which: str = "low", delta_index: int = 0) -> int:
        """First recorded epoch with ``e_low`` (or ``e_high``) below ``threshold``; -1 if never."""
        e = (self.e_low if which == "low" else self.e_high)[:, delta_index]
        below = np.flatnonzero(e < threshold)
        return int(self.epochs[below[0]]) if below.size else -1

    def to_json(self) -> dict:
        """Plain lists, for ``json.dump``."""
        return {
            "epochs": self.epochs.tolist(),
            "deltas": self.deltas.tolist(),
            "e_low": self.e_low.tolist(),
            "e_high": self.e_high.tolist(),
            "projection": {
                "direction": self.direction.tolist(),
                "k": self.k.tolist(),
                "target_amplitude": np.linalg.norm(self.target_transform, axis=-1).tolist(),
                "peaks": self.k[self.peaks].tolist(),
                "error": self.projection_error.tolist(),
            },
            "loss": self.loss.tolist(),
            "accuracy": [None if math.isnan(a) else a for a in self.accuracy.tolist()],
            "classes": self.classes,
            "seconds": dict(self.seconds),
        }


def _targets(y) -> tuple[np.ndarray, int]:
    """One-hot targets for integer labels (classes), float targets as (n, m) (0 classes)."""
    y = np.asarray(y)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        if y.min() < 0:
            raise _err("integer labels y must be >= 0 (class indices)")
        classes = int(y.max()) + 1
        if classes < 2 or classes > 1000:
            raise _err(f"integer labels y must name 2..1000 classes, got {classes}")
        return np.eye(classes)[y], classes
    if not np.issubdtype(y.dtype, np.number) or y.dtype == object:
        raise _err(f"y must be integer class labels or real targets, got dtype {y.dtype}")
    y = y.astype(np.float64)
    if not np.all(np.isfinite(y)):
        raise _err("y has non-finite values (nan or inf)")
    return y.reshape(len(y), -1), 0


def track(
    x,
    y,
    *,
    model: str = "mlp",
    epochs: int = 20,
    batch: int = 64,
    lr: float = 1e-3,
    loss: str = "mse",
    widths=(200, 100),
    deltas=None,
    k=None,
    peaks: int = 4,
    direction=None,
    neighbours: int | None = None,
    seed: int = 0,
    threads: int | None = 1,
    on_epoch=None,
) -> DataFitResult:
    r"""Train a network on ``(x, y)`` and record the filtering and projection diagnostics.

    Parameters
    ----------
    x : array_like, shape (n, ...)
        Inputs; ``model="cnn"`` needs images ``(n, H, W)`` or ``(n, C, H, W)``.
    y : array_like, shape (n,) or (n, m)
        Integer class labels (one-hot targets, a classifier) or real targets
        (a regressor).
    model : {"mlp", "cnn"}
    epochs, batch, lr : int, int, float
        Adam with shuffled mini-batches (seeded).
    loss : {"mse", "ce"}
        Mean squared error of the outputs against the (one-hot) targets, or
        for a classifier cross-entropy; with ``ce`` the diagnostics use the
        softmax probabilities as :math:`h`.
    deltas : sequence of float, optional
        Filter widths (default :func:`default_deltas`).
    k : array_like, optional
        Projection frequencies (default 201 points on
        :math:`[0, 2/\sigma]`, :math:`\sigma` the spread of :math:`p\cdot x`).
    peaks : int
        How many peaks of :math:`|\hat y|` to track.
    direction : array_like, optional
        Projection direction (default: first principal direction).
    neighbours : int, optional
        Nearest-neighbour truncation of the filter (default: exact).
    seed : int
    threads : int or None
    on_epoch : callable, optional
        ``on_epoch(epoch, loss)`` after each epoch (progress).

    Returns
    -------
    DataFitResult
        The outputs of every epoch are filtered in one pass after training.
    """
    import torch

    xa = np.asarray(x)
    flat = _as_points(xa)
    targets, classes = _targets(y)
    if len(targets) != len(flat):
        raise _err(f"x has {len(flat)} samples but y has {len(targets)}; give one y per x")
    if loss not in LOSSES:
        raise _err(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
    if loss == "ce" and not classes:
        raise _err("loss 'ce' needs integer class labels y")
    for name, value in (("epochs", epochs), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _err(f"{name} must be an integer >= 1, got {value!r}")
    if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
        raise _err(f"lr must be a finite number > 0, got {lr!r}")
    deltas = default_deltas(flat) if deltas is None else _as_deltas(deltas)
    p = principal_direction(flat) if direction is None else np.asarray(direction, float)
    if k is None:
        spread = float(np.std(flat @ (p / np.linalg.norm(p))))
        k = np.linspace(0.0, 2.0 / max(spread, 1e-300), 201)
    k = np.asarray(k, dtype=np.float64)
    y_hat = projection_transform(flat, targets, k, p)
    tracked = projection_peaks(np.linalg.norm(y_hat, axis=-1), peaks)

    n = len(flat)
    shape = xa.shape[1:] if xa.ndim > 1 else (1,)
    m = targets.shape[1]
    outputs, losses, accuracy = [], [], []
    train_seconds = 0.0
    with _torch_threads(threads):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        net = make_model(model, shape, m, widths=widths)
        xt = torch.tensor(flat, dtype=torch.float32)
        yt = torch.tensor(targets, dtype=torch.float32)
        labels = yt.argmax(1) if classes else None
        adam = torch.optim.Adam(net.parameters(), lr=lr)

        def objective(out, rows):
            if loss == "ce":
                return torch.nn.functional.cross_entropy(out, labels[rows])
            return ((out - yt[rows]) ** 2).sum(1).mean()

        def record():
            with torch.no_grad():
                out = net(xt)
                losses.append(float(objective(out, slice(None))))
                h = torch.softmax(out, 1) if loss == "ce" else out
                outputs.append(h.double().numpy())
                accuracy.append(
                    float((out.argmax(1) == labels).double().mean()) if classes else np.nan
                )

        record()
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            net.train()
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, batch):
                rows = order[start : start + batch]
                adam.zero_grad(set_to_none=True)
                objective(net(xt[rows]), rows).backward()
                adam.step()
            train_seconds += time.perf_counter() - t0
            record()
            if on_epoch is not None:
                on_epoch(epoch, losses[-1])
    t0 = time.perf_counter()
    filt = GaussianFilter(flat, neighbours=neighbours, threads=threads)
    e_low, e_high = filter_errors(filt, targets, np.stack(outputs), deltas)
    t_filter = time.perf_counter() - t0
    t0 = time.perf_counter()
    h_hat = projection_transform(flat, np.stack(outputs), k[tracked], p)
    proj = projection_errors(y_hat[tracked], h_hat)
    t_proj = time.perf_counter() - t0
    return DataFitResult(
        epochs=np.arange(epochs + 1),
        deltas=deltas,
        e_low=e_low,
        e_high=e_high,
        k=k,
        direction=p / np.linalg.norm(p),
        target_transform=y_hat,
        peaks=tracked,
        projection_error=proj,
        loss=np.asarray(losses),
        accuracy=np.asarray(accuracy),
        classes=classes,
        seconds={"train": train_seconds, "filter": t_filter, "projection": t_proj},
    )


# -- the one-hidden-layer theorem ------------------------------------------------------
@dataclass(frozen=True)
class GradientSpectrum:
    r"""The loss gradient split over the residual's frequencies (:func:`gradient_spectrum`).

    Attributes
    ----------
    k : ndarray of int, shape (K,)
        DFT indices ``0..n//2``.
    frequency : ndarray, shape (K,)
        Angular frequencies :math:`\xi_k = 2\pi k / (n h)` (``h`` the grid step),
        the variable of :math:`\hat f(\xi) = \int f(x) e^{-\mathrm{i}\xi x} dx`.
    gradient : ndarray, shape (K,)
        :math:`\|g_k\|`, the norm over all parameters of band ``k``'s gradient.
    residual : ndarray, shape (K,)
        :math:`\sqrt{c_k / n}\, |\hat r_k|`, the residual's amplitude in band
        ``k`` (its squares sum to the loss).
    total : ndarray, shape (P,)
        :math:`\sum_k g_k`, equal to the autograd gradient of the loss.
    """

    k: np.ndarray
    frequency: np.ndarray
    gradient: np.ndarray
    residual: np.ndarray
    total: np.ndarray

    def slope(self, fmin: float = 0.0, fmax: float | None = None, floor: float = 1e-10) -> float:
        r"""Least-squares slope :math:`s` of :math:`\log\|g_k\| \approx c + s\, \xi_k`.

        Over the bands with ``fmin <= frequency <= fmax`` whose gradient is
        above ``floor`` times the largest (below it lies float64 rounding);
        ``nan`` if fewer than 3 remain. For a one-hidden-layer tanh network
        with small weights, :func:`theorem_slope` predicts it.
        """
        g = self.gradient
        keep = (self.frequency >= fmin) & (g > floor * g.max())
        if fmax is not None:
            keep &= self.frequency <= fmax
        if keep.sum() < 3:
            return float("nan")
        return float(np.polyfit(self.frequency[keep], np.log(g[keep]), 1)[0])


def theorem_slope(model) -> float:
    r"""The predicted decay rate :math:`-\pi / (2 \max_j |w_j|)` of a one-hidden-layer tanh net.

    :math:`\widehat{\tanh}(\xi) \propto 1/\sinh(\pi\xi/2)`, so the
    neuron :math:`\tanh(w_j x + b_j)` and its parameter derivatives carry
    :math:`e^{-\pi|\xi|/(2|w_j|)}` at large :math:`\xi`: the neuron with the
    largest input weight decays slowest and sets the asymptotic slope of
    :math:`\log\|g(\xi)\|`. ``model`` is a ``Sequential`` whose first layer
    is ``Linear(1, width)`` (as :func:`one_hidden_layer` builds).
    """
    first = next(m for m in model.modules() if hasattr(m, "weight"))
    return float(-np.pi / (2 * first.weight.detach().abs().max().item()))


def gradient_spectrum(model, x, y, weights=None) -> GradientSpectrum:
    r"""The loss gradient contributed by each frequency of the residual, on a 1D grid.

    For samples :math:`x_j` on an equispaced grid, weights :math:`\rho_j`
    (default :math:`1/n`), the residual :math:`r_j = h(x_j) - y_j` and the
    loss :math:`L = \sum_j \rho_j r_j^2`, write
    :math:`\tilde r_j = \sqrt{\rho_j} r_j`,
    :math:`\tilde J_j = \sqrt{\rho_j}\, \partial h(x_j)/\partial\theta` and
    their DFTs :math:`\hat r_k`, :math:`\hat J_k`. By Parseval
    :math:`\nabla L = 2 \tilde J^\top \tilde r = \sum_k g_k` with

    .. math::

        g_k = \frac{2 c_k}{n} \operatorname{Re}\bigl(\overline{\hat r_k}\, \hat J_k\bigr),
        \qquad c_k = 1 \text{ at } k = 0 \text{ and } n/2,\ 2 \text{ otherwise}
        \ (k = 0..\lfloor n/2 \rfloor),

    the gradient of the part :math:`c_k |\hat r_k|^2 / n` of the loss that
    sits at frequency ``k``. For a one-hidden-layer network
    :math:`h = \sum_j a_j \tanh(w_j x + b_j)` the transform of
    :math:`\partial h / \partial\theta` carries the factor
    :math:`e^{-\pi |\xi| / (2 |w_j|)}` of :math:`\hat{\tanh}`, so with small
    :math:`|w_j|` the gradient decays exponentially in the frequency (the
    paper's explanation of the F-Principle). The DFT treats the grid as
    periodic: weights that vanish towards both ends (a data density, e.g. a
    Gaussian) avoid the :math:`1/k` leakage of a jump between the ends.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a tensor of shape (n, 1) to (n, 1) or (n,).
    x, y : array_like, shape (n,)
        Equispaced grid (checked) and targets.
    weights : array_like, shape (n,), optional
        :math:`\rho_j >= 0`; default uniform :math:`1/n`.

    Returns
    -------
    GradientSpectrum
    """
    import torch
    from torch.func import functional_call, jacfwd, jacrev

    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    n = len(x)
    if n < 4 or y.shape != x.shape or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise _err(f"x and y must be finite arrays of the same length >= 4, got {n} and {y.size}")
    step = np.diff(x)
    if not (step[0] > 0 and np.allclose(step, step[0], rtol=1e-9, atol=0)):
        raise _err("x must be an increasing equispaced grid (the DFT needs one)")
    rho = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=np.float64)
    if rho.shape != (n,) or not np.all(np.isfinite(rho)) or np.any(rho < 0):
        raise _err(f"weights must be {n} finite numbers >= 0")
    params = {name: p.detach() for name, p in model.named_parameters()}
    dtype = next(iter(params.values())).dtype
    xt = torch.tensor(x, dtype=dtype)[:, None]

    def forward(p):
        return functional_call(model, p, (xt,)).reshape(-1)

    with torch.no_grad():
        h = forward(params).double().numpy()
    count = sum(p.numel() for p in params.values())
    jac = (jacfwd if count < n else jacrev)(forward)(params)  # the cheaper mode
    jmat = torch.cat([jac[name].reshape(n, -1) for name in params], dim=1).double().numpy()
    s = np.sqrt(rho)
    r_hat = np.fft.rfft(s * (h - y))
    j_hat = np.fft.rfft(s[:, None] * jmat, axis=0)
    c = np.full(len(r_hat), 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    g = (2 * c / n)[:, None] * np.real(np.conj(r_hat)[:, None] * j_hat)
    k = np.arange(len(r_hat))
    return GradientSpectrum(
        k=k,
        frequency=2 * np.pi * k / (n * step[0]),
        gradient=np.linalg.norm(g, axis=1),
        residual=np.sqrt(c / n) * np.abs(r_hat),
        total=g.sum(axis=0),
    )


def one_hidden_layer(width: int = 50, init_scale: float = 1.0, *, seed: int = 0):
    r"""A float64 one-hidden-layer tanh network :math:`\sum_j a_j \tanh(w_j x + b_j)`.

    Weights :math:`w, b, a` drawn i.i.d. normal with standard deviation
    ``init_scale`` (seeded): the theorem's small-weight regime is a small
    ``init_scale``.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(1, width, dtype=torch.float64),
        torch.nn.Tanh(),
        torch.nn.Linear(width, 1, bias=False, dtype=torch.float64),
    )
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(init_scale * torch.randn(p.shape, generator=generator, dtype=torch.float64))
    return net
