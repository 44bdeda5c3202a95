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
network is trained (:class:`TrainedNetwork` and :data:`DEFAULT_MAXITER` live
in the torch-free :mod:`solvers._dnn_result`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from problems.parameters import (
    Parameter,
    Parameters,
    choice,
    function,
    integer,
    number,
    optional,
    path,
    sequence,
)
from solvers._dnn_result import DEFAULT_MAXITER, TrainedNetwork  # noqa: F401 (public here)
from solvers.registry import Settings, make_settings, method
from solvers.result import SolveResult

LOSSES = ("discrete", "discrete-energy", "ritz", "pinn")
#: The losses whose minimiser is the solution only for a symmetric positive definite ``A``.
ENERGY_LOSSES = ("discrete-energy", "ritz")
BCS = ("hard", "penalty")
ACTIVATIONS = ("tanh", "relu", "sin", "gelu")
FEATURES = (None, "fourier", "mscale")
OPTIMIZERS = ("adam", "lbfgs", "adam+lbfgs")
SCHEDULES = ("cosine", "exponential", "constant")
DTYPES = ("float32", "float64")

_POSITIVE = number(low=0, strict_low=True)

#: The options of method ``dnn``, in the one option schema.
OPTIONS = Parameters(
    Parameter(
        "loss",
        "discrete",
        choice(*LOSSES),
        "'discrete' (default: ||A u - f||^2/||f||^2), 'discrete-energy', 'ritz' or 'pinn'",
    ),
    Parameter(
        "bc",
        "hard",
        choice(*BCS),
        "'hard' (default: u = N d + lift) or 'penalty' (loss + beta * boundary misfit^2)",
    ),
    Parameter("beta", 100.0, _POSITIVE, "penalty weight for bc='penalty' (> 0)"),
    Parameter(
        "widths",
        (64, 64),
        sequence(integer(low=1), what="a sequence of integers >= 1 (each width)"),
        "hidden layer widths",
    ),
    Parameter(
        "activation", "tanh", choice(*ACTIVATIONS), "'tanh' (default), 'relu', 'sin' or 'gelu'"
    ),
    Parameter(
        "init_scale",
        1.0,
        _POSITIVE,
        "factor on the initial weights (> 0; < 1 is small initialisation)",
    ),
    Parameter(
        "features",
        None,
        choice(*FEATURES),
        "None (default), 'fourier' (random Fourier features) or 'mscale' (MscaleDNN)",
    ),
    Parameter(
        "feature_scale", 2.0, _POSITIVE, "Fourier feature sigma / largest MscaleDNN scale (> 0)"
    ),
    Parameter(
        "optimizer", "adam", choice(*OPTIMIZERS), "'adam' (default), 'lbfgs' or 'adam+lbfgs'"
    ),
    Parameter("lr", 3e-3, _POSITIVE, "Adam learning rate (> 0)"),
    Parameter(
        "schedule",
        "cosine",
        choice(*SCHEDULES),
        "'cosine' (default, to lr/100), 'exponential' (to lr/100) or 'constant'",
    ),
    Parameter(
        "adam_steps",
        None,
        optional(integer(low=0)),
        "Adam steps before L-BFGS for optimizer='adam+lbfgs' (default None: maxiter // 2)",
    ),
    Parameter("dtype", "float32", choice(*DTYPES), "'float32' (default) or 'float64'"),
    Parameter(
        "sample",
        None,
        optional(sequence(integer(low=3), what="an integer >= 3 per axis")),
        "None (train on the grid, default) or training points per axis (int or (mx, my))",
    ),
    Parameter(
        "checkpoint",
        None,
        optional(path()),
        "path: resume from it when it exists, save weights/optimiser/history to it",
    ),
    Parameter(
        "callback",
        None,
        optional(function()),
        "callable(step, u, seconds) -> bool at each record; True stops training",
    ),
    Parameter(
        "threads",
        1,
        optional(integer(low=1)),
        "torch intra-op threads while training (None keeps torch's setting)",
    ),
)
#: Deprecated: the options' doc lines (name -> doc); use :data:`OPTIONS`.
OPTION_DOCS = OPTIONS.docs()


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


def make_options(problem, **options) -> DNNOptions:
    """Check the ``dnn`` options (:data:`OPTIONS`) for ``problem``; raise ``ValueError``
    naming the bad one. ``problem=None`` skips the checks that need one (``sample``).

    >>> import problems
    >>> make_options(problems.get("paper1d", n=31), sample=15).sample
    (15,)
    """
    o = OPTIONS.resolve(options, "method 'dnn'")
    if o["loss"] in ENERGY_LOSSES and not getattr(problem, "definite", True):
        raise ValueError(
            f"method 'dnn': loss={o['loss']!r} needs a symmetric positive definite operator (its"
            f" minimiser is the solution only then), but {problem.name} is indefinite"
            " (c < 0 somewhere); use loss='discrete' or 'pinn' (least squares), or the methods"
            " 'mg-gmres', 'sl-gmres', 'gmres', 'minres' or 'direct'"
        )
    if o["features"] == "fourier" and o["widths"][0] < 2:
        raise ValueError("method 'dnn': features='fourier' needs widths[0] >= 2")
    sample = o["sample"]
    if sample is not None and problem is not None:
        if len(sample) == 1:
            sample = sample * problem.dim  # one size for every axis
        if len(sample) != problem.dim:
            raise ValueError(
                f"method 'dnn': sample needs {problem.dim} size(s) for {problem.name}, got"
                f" {options['sample']!r}"
            )
    o["sample"] = sample
    checkpoint = o["checkpoint"]
    if checkpoint is not None and not Path(checkpoint).parent.is_dir():
        raise ValueError(f"method 'dnn': the folder of checkpoint {checkpoint!r} does not exist")
    return DNNOptions(**o)


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
    # lazy: the training module imports torch, which only a DNN run needs
    from solvers._dnn_train import train

    return train(problem, settings, options)


@method(
    "a neural network trained on the problem's loss (discrete residual by default)",
    OPTIONS,
    spd=lambda o: f"dnn (loss={o['loss']!r})" if o["loss"] in ENERGY_LOSSES else None,
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
        stop_reason=net.stop_reason,
        interrupted=net.stop_reason == "interrupted",
    )
