r"""The F-Principle paper's 1D fitting experiment: which frequencies a network learns first.

A network :math:`h_\theta` is fitted to samples of a function ``y`` on an
interval by gradient descent on the mean squared error (Adam). At each
recorded step the relative error at the target's spectral peaks is

.. math::

    \Delta_F(k) = \frac{|\mathcal{F}[h]_k - \mathcal{F}[y]_k|}{|\mathcal{F}[y]_k|},

with :math:`\mathcal{F}` the discrete Fourier transform over the ``npoints``
equispaced samples :math:`x_j = a + (b - a) j / N`, ``j = 0..N-1`` (so on
:math:`[-\pi, \pi]`, ``k`` is the angular frequency of :math:`\sin kx`). The
difference is complex: a peak with the right magnitude but the wrong phase
still counts as an error. The paper's target is
:math:`y = \sin x + \sin 3x + \sin 5x` on :math:`[-\pi, \pi]`; the low
peak converges first (Xu, Zhang, Luo, Xiao and Ma, 2019).

``torch`` is imported only inside :func:`fit`.

Examples
--------
>>> x = np.linspace(-np.pi, np.pi, 64, endpoint=False)
>>> dft_peaks(np.sin(x) + np.sin(3 * x) + np.sin(5 * x)).tolist()
[1, 3, 5]
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter

from problems.parameters import Parameter, Parameters, choice, integer, number
from solvers.dnn import make_options


def paper_target(x: np.ndarray) -> np.ndarray:
    """The paper's target ``sin x + sin 3x + sin 5x``."""
    return np.sin(x) + np.sin(3 * x) + np.sin(5 * x)


def dft_peaks(y: np.ndarray, m: int = 8, floor: float = 1e-3) -> np.ndarray:
    """Frequencies ``k >= 0`` of the ``m`` largest local maxima of ``|F[y]_k|``, sorted.

    Local maxima over ``k = 0..N//2`` (at least as large as both
    neighbours), larger than ``floor`` times the largest magnitude, so that
    rounding noise of an exact sum of modes is not a peak.
    """
    mag = np.abs(np.fft.rfft(np.asarray(y, dtype=np.float64)))
    if mag.max() == 0:
        raise ValueError("the target is zero at every sample: it has no spectral peak to track")
    is_peak = (mag >= maximum_filter(mag, size=3, mode="constant", cval=0.0)) & (
        mag > floor * mag.max()
    )
    index = np.flatnonzero(is_peak)
    chosen = index[np.argsort(-mag[index], kind="stable")[:m]]
    return np.sort(chosen)


def peak_errors(h: np.ndarray, y: np.ndarray, frequencies) -> np.ndarray:
    r"""``|F[h]_k - F[y]_k| / |F[y]_k|`` at ``frequencies`` (complex difference).

    >>> x = np.linspace(-np.pi, np.pi, 32, endpoint=False)
    >>> float(np.round(peak_errors(np.sin(x + 0.5), np.sin(x), [1])[0], 6))  # phase only
    0.494808
    """
    k = np.asarray(frequencies, dtype=int)
    fh = np.fft.rfft(np.asarray(h, dtype=np.float64))[k]
    fy = np.fft.rfft(np.asarray(y, dtype=np.float64))[k]
    return np.abs(fh - fy) / np.abs(fy)


@dataclass(frozen=True)
class FitResult:
    """The record of a fitting run.

    Attributes
    ----------
    x, target : ndarray, shape (npoints,)
        Sample points and target values.
    frequencies : ndarray of int, shape (m,)
        The tracked peaks ``k``, sorted.
    steps : ndarray of int, shape (s,)
        Recorded optimiser steps (0 is the initialisation).
    errors : ndarray, shape (s, m)
        :math:`\\Delta_F(k)` at each recorded step and peak.
    loss : ndarray, shape (s,)
        Mean squared error at each recorded step.
    seconds : float
        Training time (recording excluded).
    """

    x: np.ndarray
    target: np.ndarray
    frequencies: np.ndarray
    steps: np.ndarray
    errors: np.ndarray
    loss: np.ndarray
    seconds: float

    def converged_at(self, threshold: float = 0.1) -> np.ndarray:
        """First recorded step at which each peak's error is below ``threshold``; -1 if never."""
        below = self.errors < threshold
        first = np.argmax(below, axis=0)
        return np.where(below.any(axis=0), self.steps[first], -1)


_POSITIVE = number(low=0, strict_low=True)
#: The numeric options of :func:`fit` (the network's come from method ``dnn``'s schema).
FIT_OPTIONS = Parameters(
    Parameter("npoints", 201, integer(low=8), "sample points of the target"),
    Parameter("steps", 1000, integer(low=1), "optimiser steps"),
    Parameter("record_every", 1, integer(low=1), "cadence of records"),
    Parameter("peaks", 8, integer(low=1), "largest local maxima of |F[y]| to track"),
    Parameter("lr", 3e-3, _POSITIVE, "Adam learning rate"),
    Parameter("init_scale", 1.0, _POSITIVE, "factor on the initial weights"),
    Parameter("dtype", "float32", choice("float32", "float64"), "torch dtype"),
)


def fit(
    target: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    domain: tuple[float, float] = (-math.pi, math.pi),
    npoints: int = 201,
    widths=(64, 64),
    activation: str = "tanh",
    init_scale: float = 1.0,
    lr: float = 3e-3,
    steps: int = 1000,
    record_every: int = 1,
    peaks: int = 8,
    seed: int = 0,
    dtype: str = "float32",
    threads: int | None = 1,
) -> FitResult:
    """Fit ``target`` with a tanh network and record the errors at its spectral peaks.

    Parameters
    ----------
    target : callable, optional
        Vectorised ``y(x)``; default :func:`paper_target`.
    domain : (a, b)
        The interval, sampled at ``npoints`` equispaced points (``b`` excluded).
    npoints : int
        Samples (>= 8).
    widths, activation, init_scale
        The network (as for method ``dnn``: hidden widths, ``tanh``, ``relu``,
        ``sin`` or ``gelu``, factor on the initial weights).
    lr : float
        Adam's learning rate (constant).
    steps, record_every : int
        Optimiser steps, and the cadence of records (step 0 is always recorded).
    peaks : int
        How many of the largest local maxima of ``|F[y]|`` to track.
    seed : int
        Seeds the initial weights; a run on the CPU is repeatable bit for bit.
    dtype : {"float32", "float64"}
    threads : int or None
        torch intra-op threads during the run (``None`` keeps torch's setting).

    Returns
    -------
    FitResult
    """
    lo, hi = (float(v) for v in domain)
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ValueError(f"fit: domain must be (a, b) with finite a < b, got {domain!r}")
    o = FIT_OPTIONS.resolve(
        {
            "npoints": npoints,
            "steps": steps,
            "record_every": record_every,
            "peaks": peaks,
            "lr": lr,
            "init_scale": init_scale,
            "dtype": dtype,
        },
        "fit",
    )
    npoints, steps, record_every, peaks = o["npoints"], o["steps"], o["record_every"], o["peaks"]
    lr, init_scale, dtype = o["lr"], o["init_scale"], o["dtype"]

    try:  # the network options are those of method 'dnn' (no problem needed without sample)
        opts = make_options(None, widths=widths, activation=activation, threads=threads)
    except ValueError as err:
        raise ValueError(str(err).replace("method 'dnn'", "fit")) from None
    x = lo + (hi - lo) * np.arange(npoints) / npoints
    y = np.asarray((target or paper_target)(x), dtype=np.float64)
    if y.shape != x.shape or not np.all(np.isfinite(y)):
        raise ValueError(
            f"fit: target(x) must return {npoints} finite values for x of shape {x.shape},"
            f" got shape {y.shape}"
        )
    frequencies = dft_peaks(y, peaks)
    return _train(
        x, y, frequencies, (lo, hi), opts, init_scale, lr, steps, record_every, seed, dtype
    )


def _train(x, y, frequencies, box, opts, init_scale, lr, steps, record_every, seed, dtype):
    # lazy: torch (and the private modules that import it) only when a network trains
    import torch

    from solvers._dnn_net import Network
    from solvers._dnn_train import torch_state

    with torch_state(opts.threads):
        tdtype = getattr(torch, dtype)
        generator = torch.Generator().manual_seed(int(seed) % (1 << 63))
        net = Network(
            (box[0],),
            (box[1],),
            opts.widths,
            opts.activation,
            None,
            1.0,
            init_scale,
            generator,
            tdtype,
        )
        xt = torch.tensor(x, dtype=tdtype)[:, None]
        yt = torch.tensor(y, dtype=tdtype)
        adam = torch.optim.Adam(net.parameters(), lr=lr)
        rec_steps, errors, losses = [], [], []
        seconds = 0.0

        def record(step):
            with torch.no_grad():
                h = net(xt)
                loss = float(((h - yt) ** 2).mean())
            rec_steps.append(step)
            errors.append(peak_errors(h.double().numpy(), y, frequencies))
            losses.append(loss)

        record(0)
        for step in range(1, steps + 1):
            t0 = time.perf_counter()
            adam.zero_grad(set_to_none=True)
            loss = ((net(xt) - yt) ** 2).mean()
            loss.backward()
            adam.step()
            seconds += time.perf_counter() - t0
            if step % record_every == 0 or step == steps:
                record(step)
    return FitResult(
        x=x,
        target=y,
        frequencies=frequencies,
        steps=np.asarray(rec_steps, dtype=int),
        errors=np.asarray(errors),
        loss=np.asarray(losses),
        seconds=seconds,
    )


def heatmap(result: FitResult, path=None, *, title: str | None = None, vmax: float = 1.0):
    """The paper's heatmap: relative error at each peak (rows) over steps (columns).

    Matplotlib's object API with the Agg canvas (no pyplot, no global
    backend switch). Saves a PNG to ``path`` when given; returns the
    ``Figure``.
    """
    # lazy: importing solvers must not load matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 2.6 + 0.25 * len(result.frequencies)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    steps = result.steps
    image = ax.imshow(
        result.errors.T,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        cmap="viridis",
        vmin=0.0,
        vmax=vmax,
        extent=(steps[0], steps[-1], -0.5, len(result.frequencies) - 0.5),
    )
    ax.set_yticks(range(len(result.frequencies)), [str(k) for k in result.frequencies])
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("frequency k")
    ax.set_title(title or "relative error at the target's spectral peaks")
    fig.colorbar(image, ax=ax, label=r"$|F[h]_k - F[y]_k| / |F[y]_k|$")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
