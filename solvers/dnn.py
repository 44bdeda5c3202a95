r"""The DNN solver: a network trained so that its values on the grid solve the problem.

The network :math:`N_\theta : \mathbb{R}^d \to \mathbb{R}` is mesh-free; its
*grid values* at the problem's interior points (boundary lift included) are
the method's iterate, so its error is measured against ``p.reference()``
exactly like relaxation's, one record per optimiser step at the
:class:`~solvers.recording.Recorder`'s cadence.

Options of method ``dnn`` (all validated, see :class:`DNNOptions`):

=================  ===========================================================
``loss``           ``"discrete"`` (default), ``"discrete-energy"``, ``"ritz"``,
                   ``"pinn"`` (see :mod:`solvers._dnn_losses`)
``bc``             ``"hard"`` (default: :math:`u = N d + G`) or ``"penalty"``
``beta``           penalty weight (default 100)
``widths``         hidden widths (default ``(64, 64)``)
``activation``     ``"tanh"`` (default), ``"relu"``, ``"sin"``, ``"gelu"``
``init_scale``     multiplies the initial weights (default 1; < 1 is "small")
``features``       ``None`` (default), ``"fourier"`` or ``"mscale"``
``feature_scale``  Fourier ``sigma`` / largest MscaleDNN scale (default 2)
``optimizer``      ``"adam"`` (default), ``"lbfgs"``, ``"adam+lbfgs"``
``lr``             Adam's learning rate (default 3e-3)
``schedule``       ``"cosine"`` (default, to ``lr/100`` at the end of Adam),
                   ``"exponential"`` (same end value) or ``"constant"``
``adam_steps``     Adam steps before L-BFGS in ``"adam+lbfgs"`` (default half)
``dtype``          ``"float32"`` (default) or ``"float64"``
``sample``         ``None`` (train on the grid) or points per axis of a
                   training grid on the same box (an int, or ``(mx, my)``)
``checkpoint``     a path: resume from it if it exists; saved at the end,
                   every 60 s and on Ctrl-C
``callback``       ``callback(step, u, seconds) -> bool`` at each record;
                   ``True`` stops training
``threads``        torch intra-op threads while training (default 1;
                   ``None`` keeps torch's setting)
=================  ===========================================================

The defaults were chosen by measurement on ``paper1d`` (n = 1023, two
shared CPU cores, medians of 3 seeds; ``benchmarks/dnn.py``, table in
``README.md``): the ``discrete`` loss reached a relative error of ``1e-2`` in
173 steps (0.52 s) and ``1e-3`` in 252 (0.69 s); the energies needed 609
steps to ``1e-2`` and did not reach ``1e-3`` in 2000, and ``pinn`` needs
as few steps as ``discrete`` but each costs 3x (second derivatives by
autograd). The 1-64-64-1 tanh net in float32 (float64 took 1.6x longer to
``1e-2``) with Adam at ``3e-3`` and a cosine schedule ends
near ``5e-5`` after the default :data:`DEFAULT_MAXITER` (2000) steps;
``maxiter`` counts optimiser steps. The default ``rtol`` of ``solve``
(``1e-8`` on the relative residual) is out of a network's reach, so a
default run uses all of them. One intra-op thread (``threads=1``) because
on this shared two-core machine torch's default of two threads ran 19x to
48x slower under load from other processes. In 2D the defaults suit smooth
solutions but not strong high modes (README, ``rows_2d`` of the benchmark).

Penalty boundary conditions were measured too (``paper1d``, n = 255, 1000
steps): with ``ritz`` the error was 5e-2 at ``beta = 100`` against 0.16 at 1
and 0.98 at 1e4; with the ``discrete`` loss it stayed at 0.99 for every
``beta`` (the boundary rows of ``A``, scaled by ``1/h^2``, dominate the
residual of a net that does not vanish there), so use ``bc="hard"`` with the
grid losses.

The F-Principle depends on the loss and the input layer: with the plain net
every loss fits the lowest peak of ``paper1d`` first, and the lag before the
highest peak converges grows as the loss weighs high modes less
(``discrete`` ~ ``k^4``, the energies ~ ``k^2``, fitting ``u`` ~ ``1``);
random Fourier features (``features="fourier"``, 1.8x faster to ``1e-2``)
all but remove the ordering. ``tests/test_dnn.py`` checks all three.

``torch`` is imported only inside functions here; the private modules
``solvers._dnn_*`` that import it at module level are imported only when a
network is trained.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from solvers.registry import Settings, make_settings, method
from solvers.result import History, SolveResult

LOSSES = ("discrete", "discrete-energy", "ritz", "pinn")
BCS = ("hard", "penalty")
ACTIVATIONS = ("tanh", "relu", "sin", "gelu")
FEATURES = (None, "fourier", "mscale")
OPTIMIZERS = ("adam", "lbfgs", "adam+lbfgs")
SCHEDULES = ("cosine", "exponential", "constant")
DTYPES = ("float32", "float64")

#: Optimiser steps when ``maxiter`` is not given.
DEFAULT_MAXITER = 2000

OPTION_DOCS = {
    "loss": "'discrete' (default: ||A u - f||^2/||f||^2), 'discrete-energy', 'ritz' or 'pinn'",
    "bc": "'hard' (default: u = N d + lift) or 'penalty' (loss + beta * boundary misfit^2)",
    "beta": "penalty weight for bc='penalty' (> 0, default 100)",
    "widths": "hidden layer widths (default (64, 64))",
    "activation": "'tanh' (default), 'relu', 'sin' or 'gelu'",
    "init_scale": "factor on the initial weights (> 0, default 1; < 1 is small initialisation)",
    "features": "None (default), 'fourier' (random Fourier features) or 'mscale' (MscaleDNN)",
    "feature_scale": "Fourier feature sigma / largest MscaleDNN scale (> 0, default 2)",
    "optimizer": "'adam' (default), 'lbfgs' or 'adam+lbfgs'",
    "lr": "Adam learning rate (> 0, default 3e-3)",
    "schedule": "'cosine' (default, to lr/100), 'exponential' (to lr/100) or 'constant'",
    "adam_steps": "Adam steps before L-BFGS for optimizer='adam+lbfgs' (default maxiter // 2)",
    "dtype": "'float32' (default) or 'float64'",
    "sample": "None (train on the grid, default) or training points per axis (int or (mx, my))",
    "checkpoint": "path: resume from it when it exists, save weights/optimiser/history to it",
    "callback": "callable(step, u, seconds) -> bool at each record; True stops training",
    "threads": "torch intra-op threads while training (default 1; None keeps torch's setting)",
}


@dataclass(frozen=True)
class DNNOptions:
    """The validated options of the DNN solver (module docstring)."""

    loss: str = "discrete"
    bc: str = "hard"
    beta: float = 100.0
    widths: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    init_scale: float = 1.0
    features: str | None = None
    feature_scale: float = 2.0
    optimizer: str = "adam"
    lr: float = 3e-3
    schedule: str = "cosine"
    adam_steps: int | None = None
    dtype: str = "float32"
    sample: tuple[int, ...] | None = None
    checkpoint: str | None = None
    callback: Callable[[int, np.ndarray, float], bool] | None = field(default=None, compare=False)
    threads: int | None = 1

    def public(self) -> dict[str, Any]:
        """The options as recorded in a result (the callback by name only)."""
        out = {k: v for k, v in asdict(self).items() if k != "callback"}
        out["callback"] = None if self.callback is None else getattr(self.callback, "__name__", "?")
        return out

    def architecture(self) -> dict[str, Any]:
        """What must match for a checkpoint to be resumed."""
        keys = ("loss", "bc", "widths", "activation", "features", "feature_scale", "dtype")
        return {k: getattr(self, k) for k in keys} | {"optimizer": self.optimizer}


def _choice(name, value, allowed):
    if value not in allowed:
        shown = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"method 'dnn': {name} must be one of {shown}; got {value!r}")
    return value


def _positive(name, value):
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"method 'dnn': {name} must be a number > 0, got {value!r}") from None
    if isinstance(value, bool) or not (math.isfinite(out) and out > 0):
        raise ValueError(f"method 'dnn': {name} must be a finite number > 0, got {value!r}")
    return out


def _int_at_least(name, value, low):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"method 'dnn': {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def make_options(problem, **options) -> DNNOptions:
    """Check the ``dnn`` options for ``problem``; raise ``ValueError`` naming the bad one.

    >>> import problems
    >>> make_options(problems.get("paper1d", n=31), sample=15).sample
    (15,)
    """
    unknown = sorted(set(options) - set(OPTION_DOCS))
    if unknown:
        raise ValueError(
            f"unknown option {', '.join(map(repr, unknown))} for method 'dnn';"
            f" valid options: {', '.join(sorted(OPTION_DOCS))}"
        )
    o = DNNOptions(**options)
    _choice("loss", o.loss, LOSSES)
    _choice("bc", o.bc, BCS)
    _choice("activation", o.activation, ACTIVATIONS)
    _choice("features", o.features, FEATURES)
    _choice("optimizer", o.optimizer, OPTIMIZERS)
    _choice("schedule", o.schedule, SCHEDULES)
    _choice("dtype", o.dtype, DTYPES)
    widths = o.widths
    if isinstance(widths, int | np.integer):
        widths = (widths,)
    try:
        widths = tuple(widths)
    except TypeError:
        raise ValueError(
            f"method 'dnn': widths must be a sequence of integers >= 1, got {o.widths!r}"
        ) from None
    if not widths:
        raise ValueError("method 'dnn': widths needs at least one hidden layer, got ()")
    widths = tuple(_int_at_least("each width", w, 1) for w in widths)
    if o.features == "fourier" and widths[0] < 2:
        raise ValueError("method 'dnn': features='fourier' needs widths[0] >= 2")
    sample = o.sample
    if sample is not None:
        sample = (sample,) * problem.dim if isinstance(sample, int | np.integer) else sample
        try:
            sample = tuple(sample)
        except TypeError:
            raise ValueError(
                f"method 'dnn': sample must be None or an integer >= 3 per axis, got {o.sample!r}"
            ) from None
        if len(sample) != problem.dim:
            raise ValueError(
                f"method 'dnn': sample needs {problem.dim} size(s) for {problem.name}, got"
                f" {o.sample!r}"
            )
        sample = tuple(_int_at_least("sample", m, 3) for m in sample)
    adam_steps = o.adam_steps
    if adam_steps is not None:
        adam_steps = _int_at_least("adam_steps", adam_steps, 0)
    if o.callback is not None and not callable(o.callback):
        raise ValueError(
            f"method 'dnn': callback must be None or callable(step, u, seconds) -> bool,"
            f" got {o.callback!r}"
        )
    threads = o.threads
    if threads is not None:
        threads = _int_at_least("threads", threads, 1)
    checkpoint = o.checkpoint
    if checkpoint is not None:
        if not isinstance(checkpoint, str | os.PathLike):
            raise ValueError(f"method 'dnn': checkpoint must be a path, got {checkpoint!r}")
        checkpoint = os.fspath(checkpoint)
        if not Path(checkpoint).parent.is_dir():
            raise ValueError(
                f"method 'dnn': the folder of checkpoint {checkpoint!r} does not exist"
            )
    return DNNOptions(
        loss=o.loss,
        bc=o.bc,
        beta=_positive("beta", o.beta),
        widths=widths,
        activation=o.activation,
        init_scale=_positive("init_scale", o.init_scale),
        features=o.features,
        feature_scale=_positive("feature_scale", o.feature_scale),
        optimizer=o.optimizer,
        lr=_positive("lr", o.lr),
        schedule=o.schedule,
        adam_steps=adam_steps,
        dtype=o.dtype,
        sample=sample,
        checkpoint=checkpoint,
        callback=o.callback,
        threads=threads,
    )


@dataclass
class TrainedNetwork:
    """A trained network and the record of its training.

    Attributes
    ----------
    problem : Problem
    options : DNNOptions
    settings : Settings
    network : torch.nn.Module
        ``network(x)`` for points ``x`` of shape ``(npoints, dim)`` is
        :math:`N_\\theta`; the solution is :meth:`values` (BCs applied).
    history : History
        Per-frequency history, one record per recorded optimiser step.
    steps : int
        Optimiser steps taken in all (a resumed run counts its earlier ones).
    seconds : float
        Training seconds (recording excluded; a resumed run continues the clock).
    converged : bool
        Reached ``rtol`` on the relative residual of the grid values.
    message : str
        Why training stopped.
    loss : ndarray
        The loss at each optimiser step of this run.
    info : dict
        Counters (see :func:`train_network`).
    """

    problem: Any
    options: DNNOptions
    settings: Settings
    network: Any
    history: History
    steps: int
    seconds: float
    converged: bool
    message: str
    loss: np.ndarray
    info: dict[str, Any]
    ansatz: Any = field(repr=False, default=None)

    def values(self, *coords) -> np.ndarray:
        """The solution :math:`u_\\theta` (boundary conditions applied) at any points.

        ``coords``: ``dim`` coordinate arrays (broadcast together; the result
        has their shape) or one array of points of shape ``(npoints, dim)``
        (the result has shape ``(npoints,)``).
        """
        from solvers._dnn_losses import points_of

        pts = points_of(self.problem.dim, coords)
        out = self.ansatz.values(pts)
        if len(coords) == self.problem.dim and not (len(coords) == 1 and np.ndim(coords[0]) == 2):
            return out.reshape(np.broadcast_shapes(*(np.shape(c) for c in coords)))
        return out

    def grid_values(self) -> np.ndarray:
        """:meth:`values` at the problem's interior grid points, shape ``problem.shape``."""
        return self.values(*self.problem.x)

    def hidden_features(self, *coords) -> np.ndarray:
        """Last hidden layer's activations at points, shape ``(npoints, width)``.

        ``coords`` as in :meth:`values` (coordinate arrays are flattened in C
        order). These are the network's learned basis functions *before* the
        output layer and before the boundary factor: multiply by
        ``problem.distance(...)`` for functions that vanish on the boundary.
        """
        from solvers._dnn_losses import points_of

        return self.ansatz.hidden(points_of(self.problem.dim, coords))


def train_network(problem, settings: Settings | None = None, **kwargs) -> TrainedNetwork:
    """Train the DNN solver's network on ``problem``; the engine of method ``dnn``.

    Parameters
    ----------
    problem : Problem
    settings : Settings, optional
        The common arguments of ``solve``. Without it, the common keyword
        arguments (``rtol``, ``maxiter``, ``max_seconds``, ``record_every``,
        ``seed``, ``device``, ``progress``) are taken from ``kwargs``.
    **kwargs
        The ``dnn`` options (module docstring) and, without ``settings``,
        the common arguments.

    Returns
    -------
    TrainedNetwork
        With ``grid_values()`` (shape ``problem.shape``), ``values(*coords)``,
        ``hidden_features(*coords)`` (shape ``(npoints, width)``), the
        history and ``info``: ``dnn_steps``, ``seconds_training``,
        ``seconds_recording`` (evaluating and measuring the records, excluded
        from ``seconds_training``), ``loss`` and ``loss_iteration`` (the loss
        at the recorded steps), ``final_loss``, ``parameters``, ``device``,
        ``stopped_by``, ``collocation_points``.

    Examples
    --------
    >>> import problems
    >>> p = problems.get("paper1d", n=63)
    >>> net = train_network(p, maxiter=5, rtol=0, record_every=0, widths=(8,))
    >>> net.grid_values().shape, net.hidden_features(*p.x).shape, net.steps
    ((63,), (63, 8), 5)
    """
    common = {k: kwargs.pop(k) for k in list(kwargs) if k in Settings.__dataclass_fields__}
    if settings is None:
        settings = make_settings(problem, **common)
    elif common:
        raise ValueError(f"give the common arguments in settings, not as {sorted(common)}")
    if settings.x0 is not None:
        raise ValueError(
            "method 'dnn' starts from the network's initialisation; x0 is not supported"
            " (pass x0=None)"
        )
    options = make_options(problem, **kwargs)
    from solvers._dnn_train import train

    return train(problem, settings, options)


@method(
    "a neural network trained on the problem's loss (discrete residual by default)",
    OPTION_DOCS,
)
def dnn(problem, settings, **options):
    net = train_network(problem, settings, **options)
    return SolveResult(
        problem=problem,
        method="dnn",
        options=net.options.public(),
        u=net.grid_values(),
        converged=net.converged,
        iterations=net.steps,
        seconds=net.seconds,
        history=net.history,
        message=net.message,
        seed=settings.seed,
        info=net.info,
    )
