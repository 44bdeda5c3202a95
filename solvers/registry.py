"""Method registries and the one ``solve`` signature every method shares.

A method is a function ``run(problem, settings, **options) -> SolveResult``
registered under a kebab-case name with the options it accepts, declared
in the one option schema (:mod:`problems.parameters`). ``solve`` validates
the common arguments once (:class:`Settings`, from :data:`SETTINGS`),
converts the method's options and fills in their defaults, and rejects
unknown methods and options with the list of valid ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from problems._numba import warm_up
from problems.parameters import (
    Parameter,
    Parameters,
    boolean,
    choice,
    integer,
    number,
    optional,
)
from solvers.recording import track_errors, tracking

DEVICES = ("auto", "cpu", "cuda")

#: The common arguments of every ``solve`` (``x0`` and ``observers`` apart), in the
#: one option schema; the command line's flags and config keys are made from it.
SETTINGS = Parameters(
    Parameter(
        "rtol",
        1e-8,
        number(low=0),
        "stop when ||f - A u|| / ||f|| <= RTOL; 0 runs the whole budget",
    ),
    Parameter(
        "maxiter",
        None,
        optional(integer(low=1)),
        "most iterations (sweeps, optimiser steps, cycles)",
    ),
    Parameter("max_seconds", None, optional(number(low=0, strict_low=True)), "most solver seconds"),
    Parameter(
        "record_every",
        None,
        optional(integer(low=0)),
        "history cadence: every K steps (0: first and last only)",
    ),
    Parameter("seed", 0, integer(), "random seed"),
    Parameter("device", "auto", choice(*DEVICES), "torch device for DNN methods"),
    Parameter("progress", False, boolean(), "show a progress bar"),
    Parameter(
        "errors",
        "auto",
        choice("auto", True, False),
        "track errors against u_ref: 'auto' (only where u_ref is cheap), True or False",
    ),
    kind="argument",
)


@dataclass(frozen=True)
class Settings:
    """The validated common arguments of ``solve``.

    ``observers`` are called as ``observer(recorder, iteration, u)`` after
    every history record (the command line prints ``--verbose`` lines and
    keeps the last iterate for Ctrl-C with them); their time counts as
    measurement, not solver time.
    """

    x0: np.ndarray | None
    rtol: float
    maxiter: int | None
    max_seconds: float | None
    record_every: int | None
    seed: int
    device: str
    progress: bool
    errors: bool = False  # resolved: track errors against u_ref (see solvers.recording)
    observers: tuple = ()

    def replace(self, **changes) -> Settings:
        values = {k: getattr(self, k) for k in self.__dataclass_fields__}
        values.update(changes)
        return Settings(**values)


def make_settings(problem, *, x0=None, observers=(), **common) -> Settings:
    """Check the common arguments (:data:`SETTINGS`, ``x0``, ``observers``);
    raise ``ValueError`` naming the bad one."""
    if x0 is not None:
        x0 = np.asarray(x0, dtype=np.float64)
        if x0.shape != tuple(problem.shape):
            raise ValueError(f"x0 must have the problem's shape {problem.shape}, got {x0.shape}")
        if not np.all(np.isfinite(x0)):
            raise ValueError("x0 must be finite (it contains nan or inf)")
        x0 = np.ascontiguousarray(x0)
    values = SETTINGS.resolve(common)
    if values["rtol"] == 0 and values["maxiter"] is None and values["max_seconds"] is None:
        raise ValueError("rtol=0 runs until maxiter or max_seconds: give one of them")
    observers = tuple(observers or ())
    if not all(callable(o) for o in observers):
        raise ValueError("observers must be callables observer(recorder, iteration, u)")
    values["errors"] = track_errors(problem, values["errors"])
    return Settings(x0=x0, observers=observers, **values)


def require_definite(problem, name: str) -> None:
    """Refuse an indefinite problem in a method that needs SPD ``A`` (CG, energy arguments)."""
    if not getattr(problem, "definite", True):
        exact = (
            " ('dst' solves this constant-coefficient one exactly by the sine transform)"
            if getattr(problem, "is_constant_coefficient", False)
            else ""
        )
        raise ValueError(
            f"method {name!r} needs a symmetric positive definite operator, but {problem.name}"
            " is indefinite (c < 0 somewhere, e.g. Helmholtz); use 'mg-gmres', 'sl-gmres',"
            f" 'gmres', 'minres' or 'direct'{exact}"
        )


@dataclass(frozen=True)
class Method:
    """A method: its ``run(problem, settings, **options)``, a one-line summary, the
    options it accepts (:class:`~problems.parameters.Parameters`) and whether it
    needs a symmetric positive definite operator (``spd``: a bool, or a function of
    the resolved options returning the label to refuse under, or None). Its
    ``name`` is given by the method table. :meth:`Registry.solve` converts the
    options, fills in their defaults and checks ``spd`` before ``run`` sees them."""

    name: str
    run: Callable[..., Any]
    summary: str
    options: Parameters
    spd: bool | Callable[[dict], str | None] = False

    def __call__(self, problem, settings, **options):
        return self.run(problem, settings, **options)

    def check_problem(self, problem, options: dict) -> None:
        """Refuse ``problem`` before anything runs if this method (with these resolved
        ``options``) needs SPD and the problem is indefinite."""
        label = (self.spd(options) if callable(self.spd) else self.name) if self.spd else None
        if label is not None:
            require_definite(problem, label)


def method(summary: str, options: Parameters | None = None, *, spd=False):
    """Decorator: make ``run`` a :class:`Method` (named later, by a method table).

    ``spd=True`` marks a method that needs a symmetric positive definite operator
    (CG, energy losses); a function ``spd(options) -> label or None`` makes that
    depend on the options. :meth:`Registry.solve` and ``fpsolve`` refuse an
    indefinite problem for it before anything runs.
    """
    options = options if options is not None else Parameters()
    if isinstance(options, dict):  # deprecated: name -> doc, passed on only when given
        options = Parameters.from_docs(options)
    if not isinstance(options, Parameters):
        raise TypeError("options must be problems.parameters.Parameters (or name -> doc)")

    def wrap(run) -> Method:
        return Method("", run, summary, options, spd)

    return wrap


class Registry:
    """Name -> :class:`Method`, built from a package's method table.

    Parameters
    ----------
    table : dict of str -> Method, or iterable of (name, Method) pairs
        The package's methods under their public names.
    parent : Registry, optional
        The registry below (the hybrids extend the solvers'); a name already
        there is an error, as is a name given twice.

    >>> noop = method("does nothing")(lambda problem, settings: None)
    >>> Registry([("a", noop), ("a", noop)])
    Traceback (most recent call last):
    ...
    ValueError: method name 'a' is given twice
    """

    def __init__(self, table=(), parent: Registry | None = None):
        self.parent = parent
        self._methods: dict[str, Method] = {}
        pairs = table.items() if isinstance(table, dict) else table
        for name, m in pairs:
            if name in self._methods or (parent is not None and name in parent.names()):
                raise ValueError(f"method name {name!r} is given twice")
            self._methods[name] = Method(name, m.run, m.summary, m.options, m.spd)

    def names(self) -> list[str]:
        own = set(self._methods)
        if self.parent is not None:
            own |= set(self.parent.names())
        return sorted(own)

    def get(self, name: str) -> Method:
        if name in self._methods:
            return self._methods[name]
        if self.parent is not None and name in self.parent.names():
            return self.parent.get(name)
        raise ValueError(f"unknown method {name!r}; choose one of: {', '.join(self.names())}")

    def check_options(self, method: str, options) -> Method:
        """The method, after checking that it accepts every name in ``options``."""
        m = self.get(method)
        m.options.check_names(options, f"method {method!r}")
        return m

    def resolve_options(self, method: str, options) -> dict:
        """``options`` converted, with the method's defaults filled in."""
        return self.get(method).options.resolve(options, f"method {method!r}")

    def check(self, problem, method: str, options) -> dict:
        """The resolved ``options``, after refusing what cannot run: unknown or bad
        options, and an indefinite problem for a method that needs SPD."""
        resolved = self.resolve_options(method, options)
        self.get(method).check_problem(problem, resolved)
        return resolved

    def solve(self, problem, method: str, **kwargs):
        common = {k: kwargs.pop(k) for k in list(kwargs) if k in Settings.__dataclass_fields__}
        m = self.get(method)
        options = self.check(problem, method, kwargs)
        settings = make_settings(problem, **common)
        # Every method and every record applies the operator: compile (or load) that
        # kernel now, before any clock starts and with Ctrl-C held off the compiler.
        warm_up(lambda: problem.apply(np.zeros(problem.shape)))
        with tracking(settings.errors):  # every recorder of this run follows the decision
            return m.run(problem, settings, **options)


def solve_function(registry: Registry, package: str):
    """The ``solve`` of a package: its registry's :meth:`Registry.solve` with the
    common arguments spelled out (one signature for :func:`solvers.solve` and
    :func:`hybrid.solve`)."""

    def solve(
        problem,
        method,
        *,
        x0=None,
        rtol=1e-8,
        maxiter=None,
        max_seconds=None,
        record_every=None,
        seed=0,
        device="auto",
        progress=False,
        observers=(),
        errors="auto",
        **method_options,
    ):
        """Solve ``problem`` with ``method`` (one of the package's :func:`methods`).

        Parameters
        ----------
        problem : problems.Problem
        method : str
        x0 : ndarray, optional
            Initial iterate of shape ``problem.shape`` (default zero).
        rtol : float
            Stop when ``||f - A u|| / ||f|| <= rtol``; ``0`` runs ``maxiter`` steps.
        maxiter, max_seconds : optional
            Budget in iterations (sweeps, optimiser steps, cycles) and seconds.
        record_every : int, optional
            History cadence (default: about 200 records; 0: first and last only).
        seed : int
        device : {"auto", "cpu", "cuda"}
        progress : bool
            Show a progress bar.
        observers : sequence of callable
            Each is called as ``observer(recorder, iteration, u)`` after every
            history record (e.g. to print progress or keep the last iterate).
        errors : {"auto", True, False}
            Track the error against ``u_ref = A^{-1} f`` in the history (relative,
            per-mode, band and error spectrum). ``"auto"``: only where ``u_ref``
            is cheap (constant coefficients, at most 2^16 unknowns, or already
            computed); elsewhere the error fields are NaN and no reference is
            computed. The residual history and spectrum are always complete.
        **method_options
            The method's own options (``fpsolve methods``); unknown ones and bad
            values raise ``ValueError``, defaults are filled in, and the result's
            ``options`` records the values used.

        Returns
        -------
        SolveResult
            With ``stop_reason`` one of :data:`solvers.driver.STOP_REASONS`.
        """
        return registry.solve(
            problem,
            method,
            x0=x0,
            rtol=rtol,
            maxiter=maxiter,
            max_seconds=max_seconds,
            record_every=record_every,
            seed=seed,
            device=device,
            progress=progress,
            observers=observers,
            errors=errors,
            **method_options,
        )

    solve.__module__ = package
    solve.__qualname__ = "solve"
    return solve
