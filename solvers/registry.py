"""Method registries and the one ``solve`` signature every method shares.

A method is a function ``run(problem, settings, **options) -> SolveResult``
registered under a kebab-case name with the options it accepts. ``solve``
validates the common arguments once (:class:`Settings`) and rejects unknown
methods and options with the list of valid ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from problems._numba import warm_up
from solvers.recording import track_errors, tracking


@dataclass(frozen=True)
class Settings:
    """The validated common arguments of ``solve`` (see ``DESIGN.md``)."""

    x0: np.ndarray | None
    rtol: float
    maxiter: int | None
    max_seconds: float | None
    record_every: int | None
    seed: int
    device: str
    progress: bool
    errors: bool = False  # resolved: track errors against u_ref (see solvers.recording)

    def replace(self, **changes) -> Settings:
        values = {k: getattr(self, k) for k in self.__dataclass_fields__}
        values.update(changes)
        return Settings(**values)


DEVICES = ("auto", "cpu", "cuda")


def make_settings(
    problem,
    *,
    x0=None,
    rtol=1e-8,
    maxiter=None,
    max_seconds=None,
    record_every=None,
    seed=0,
    device="auto",
    progress=False,
    errors="auto",
) -> Settings:
    """Check the common arguments; raise ``ValueError`` naming the bad one."""
    if x0 is not None:
        x0 = np.asarray(x0, dtype=np.float64)
        if x0.shape != tuple(problem.shape):
            raise ValueError(f"x0 must have the problem's shape {problem.shape}, got {x0.shape}")
        if not np.all(np.isfinite(x0)):
            raise ValueError("x0 must be finite (it contains nan or inf)")
        x0 = np.ascontiguousarray(x0)
    try:
        rtol = float(rtol)
    except (TypeError, ValueError):
        raise ValueError(f"rtol must be a number >= 0, got {rtol!r}") from None
    if not (math.isfinite(rtol) and rtol >= 0):
        raise ValueError(f"rtol must be a finite number >= 0 (0 runs maxiter steps), got {rtol}")
    if maxiter is not None:
        if isinstance(maxiter, bool) or int(maxiter) != maxiter or maxiter < 1:
            raise ValueError(f"maxiter must be None or an integer >= 1, got {maxiter!r}")
        maxiter = int(maxiter)
    if max_seconds is not None:
        max_seconds = float(max_seconds)
        if not (math.isfinite(max_seconds) and max_seconds > 0):
            raise ValueError(f"max_seconds must be None or a finite number > 0, got {max_seconds}")
    if rtol == 0 and maxiter is None and max_seconds is None:
        raise ValueError("rtol=0 runs until maxiter or max_seconds: give one of them")
    if record_every is not None:
        if isinstance(record_every, bool) or int(record_every) != record_every or record_every < 0:
            raise ValueError(f"record_every must be None or an integer >= 0, got {record_every!r}")
        record_every = int(record_every)
    if isinstance(seed, bool) or int(seed) != seed:
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {device!r}")
    if not (errors is True or errors is False or errors == "auto"):
        raise ValueError(f"errors must be 'auto', True or False; got {errors!r}")
    return Settings(
        x0,
        rtol,
        maxiter,
        max_seconds,
        record_every,
        int(seed),
        device,
        bool(progress),
        track_errors(problem, errors),
    )


@dataclass(frozen=True)
class Method:
    """A method: its ``run(problem, settings, **options)``, a one-line summary and the
    options it accepts (name -> doc). Its ``name`` is given by the method table."""

    name: str
    run: Callable[..., Any]
    summary: str
    options: dict[str, str]

    def __call__(self, problem, settings, **options):
        return self.run(problem, settings, **options)


def method(summary: str, options: dict[str, str] | None = None):
    """Decorator: make ``run`` a :class:`Method` (named later, by a method table)."""

    def wrap(run) -> Method:
        return Method("", run, summary, dict(options or {}))

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
            self._methods[name] = Method(name, m.run, m.summary, dict(m.options))

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
        unknown = sorted(set(options) - set(m.options))
        if unknown:
            valid = ", ".join(sorted(m.options)) or "none"
            raise ValueError(
                f"unknown option {', '.join(map(repr, unknown))} for method {method!r};"
                f" valid options: {valid}"
            )
        return m

    def solve(self, problem, method: str, **kwargs):
        common = {k: kwargs.pop(k) for k in list(kwargs) if k in Settings.__dataclass_fields__}
        m = self.check_options(method, kwargs)
        settings = make_settings(problem, **common)
        # Every method and every record applies the operator: compile (or load) that
        # kernel now, before any clock starts and with Ctrl-C held off the compiler.
        warm_up(lambda: problem.apply(np.zeros(problem.shape)))
        with tracking(settings.errors):  # every recorder of this run follows the decision
            return m.run(problem, settings, **kwargs)
