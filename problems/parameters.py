"""One option schema: every problem parameter, method option and command-line key.

A :class:`Parameter` is a name, a default, a converter and one line of
documentation; :class:`Parameters` is an ordered set of them that checks
names, fills in defaults and converts values:

>>> schema = Parameters(
...     Parameter("omega", 1.0, number(low=0, high=2, open=True), "relaxation weight"),
...     Parameter("sweep", "forward", choice("forward", "backward"), "direction"),
... )
>>> schema.resolve({"omega": "1.5"})
{'omega': 1.5, 'sweep': 'forward'}
>>> schema.resolve({"omega": 3}, owner="method 'sor'")
Traceback (most recent call last):
...
ValueError: method 'sor': omega must be a finite number in (0, 2), got 3
>>> schema.resolve({"omga": 1}, owner="method 'sor'")
Traceback (most recent call last):
...
ValueError: unknown option 'omga' for method 'sor'; valid options: omega, sweep

The catalogue's parameters (:mod:`problems.catalogue`), the options of every
method (``Method.options`` in :mod:`solvers.registry`), the common arguments
of ``solve`` and the keys of the command line (flags and ``--config`` files)
are all declared this way; ``fpsolve problems NAME`` and ``fpsolve methods``
print :meth:`Parameters.describe`.

Converters accept the typed value or its text (from the command line or a
TOML file), so ``"1e-3"`` and ``1e-3`` both give ``0.001``; they raise
``ValueError`` with the text ``must be ..., got ...``, which
:class:`Parameter` prefixes with the name.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Converter = Callable[[Any], Any]


class _Missing:
    """The default of an option passed on only when given (the method has its own)."""

    def __repr__(self) -> str:
        return "..."


#: Default of a parameter that is left out unless given (see :meth:`Parameters.from_docs`).
MISSING = _Missing()


def named(convert: Converter, accepts: str) -> Converter:
    """Attach the description used in messages (``must be <accepts>``)."""
    convert.accepts = accepts  # type: ignore[attr-defined]
    convert.__name__ = accepts
    return convert


def accepts(convert: Converter) -> str:
    """What ``convert`` accepts, in words (for help texts)."""
    return getattr(convert, "accepts", getattr(convert, "__name__", "a value"))


def _fail(convert: Converter, value) -> ValueError:
    return ValueError(f"must be {accepts(convert)}, got {value!r}")


def anything() -> Converter:
    """Any value, unchanged."""
    return _ANYTHING


_ANYTHING = named(lambda v: v, "any value")


def number(low=None, high=None, *, open: bool = False, strict_low: bool = False) -> Converter:
    """A finite float, optionally in ``[low, high]`` (``open``: ``(low, high)``;
    ``strict_low``: ``> low``).

    >>> number(low=0, strict_low=True)("2.5")
    2.5
    """
    strict_low = strict_low or open
    if low is not None and high is not None:
        left, right = "(" if strict_low else "[", ")" if open else "]"
        what = f"a finite number in {left}{low:g}, {high:g}{right}"
    elif low is not None:
        what = f"a finite number {'>' if strict_low else '>='} {low:g}"
    else:
        what = "a finite number"

    def convert(v):
        if isinstance(v, bool):
            raise _fail(convert, v)
        try:
            out = float(v.strip() if isinstance(v, str) else v)
        except (TypeError, ValueError):
            raise _fail(convert, v) from None
        ok = math.isfinite(out)
        if ok and low is not None:
            ok = out > low if strict_low else out >= low
        if ok and high is not None:
            ok = out < high if open else out <= high
        if not ok:
            raise _fail(convert, v)
        return out

    return named(convert, what)


def integer(low=None) -> Converter:
    """An int (an integral float or its text is accepted), optionally ``>= low``.

    >>> integer(low=1)("3"), integer()(2.0)
    (3, 2)
    """
    what = "an integer" if low is None else f"an integer >= {low}"

    def convert(v):
        if isinstance(v, bool):
            raise _fail(convert, v)
        try:
            if isinstance(v, str):
                out = int(v.strip())
            elif isinstance(v, int | np.integer):
                out = int(v)
            else:
                out = int(v)
                if out != v:
                    raise ValueError
        except (TypeError, ValueError, OverflowError):
            raise _fail(convert, v) from None
        if low is not None and out < low:
            raise _fail(convert, v)
        return out

    return named(convert, what)


def choice(*options) -> Converter:
    """One of ``options`` (``None`` may be one of them; the text ``"none"`` means it).

    >>> choice(None, "cg")("none") is None
    True
    >>> choice("krylov", "none")("none")
    'none'
    """
    shown = ["None" if o is None else str(o) for o in options]
    what = f"'{shown[0]}'" if len(shown) == 1 else "one of " + ", ".join(shown)

    def convert(v):
        if isinstance(v, str) and v in options:  # an option spelled "none" is itself
            return v
        if v is None or (isinstance(v, str) and v.lower() in ("none", "null")):
            if None in options:
                return None
            raise _fail(convert, v)
        for o in options:
            if o is None:
                continue
            if isinstance(o, bool) or isinstance(v, bool | np.bool_):
                if isinstance(v, bool | np.bool_) and bool(v) is o:
                    return o
                if isinstance(v, str) and v.strip().lower() == str(o).lower():
                    return o
            elif v == o:
                return o
        raise _fail(convert, v)

    return named(convert, what)


def optional(convert: Converter) -> Converter:
    """``None`` (or the text ``"none"``), else ``convert(value)``."""

    def wrapped(v):
        if v is None or (isinstance(v, str) and v.strip().lower() in ("none", "null")):
            return None
        try:
            return convert(v)
        except ValueError:
            raise _fail(wrapped, v) from None

    return named(wrapped, "None or " + accepts(convert))


def either(*converters: Converter) -> Converter:
    """The first of ``converters`` that accepts the value.

    >>> levels = either(choice("auto"), integer(low=1))
    >>> levels("auto"), levels("3")
    ('auto', 3)
    """

    def convert(v):
        for c in converters:
            try:
                return c(v)
            except ValueError:
                pass
        raise _fail(convert, v)

    return named(convert, " or ".join(accepts(c) for c in converters))


def boolean() -> Converter:
    """``True``/``False`` or the text ``true``/``false``."""

    def convert(v):
        if isinstance(v, bool | np.bool_):
            return bool(v)
        if isinstance(v, str) and v.strip().lower() in ("true", "false"):
            return v.strip().lower() == "true"
        raise _fail(convert, v)

    return named(convert, "true or false")


def text() -> Converter:
    """A non-empty string."""

    def convert(v):
        if not isinstance(v, str) or not v:
            raise _fail(convert, v)
        return v

    return named(convert, "a non-empty string")


def path() -> Converter:
    """A path (``str`` or ``os.PathLike``), returned as ``str``."""

    def convert(v):
        if not isinstance(v, str | os.PathLike) or not os.fspath(v):
            raise _fail(convert, v)
        return os.fspath(v)

    return named(convert, "a path")


def function() -> Converter:
    """A callable."""

    def convert(v):
        if not callable(v):
            raise _fail(convert, v)
        return v

    return named(convert, "callable")


def mapping() -> Converter:
    """A dict (``None`` gives an empty one), returned as a new ``dict``."""

    def convert(v):
        if v is None:
            return {}
        if not isinstance(v, Mapping):
            raise _fail(convert, v)
        return dict(v)

    return named(convert, "a dict")


def sequence(item: Converter, *, min_len: int = 1, what: str | None = None) -> Converter:
    """A tuple of ``item`` values from a sequence, a scalar or a comma-separated text.

    >>> sequence(integer(low=1))("64,64"), sequence(number())(0.5)
    ((64, 64), (0.5,))
    """

    def convert(v):
        if isinstance(v, str):
            items = [s for s in v.split(",") if s.strip()]
        elif isinstance(v, int | float | np.number) and not isinstance(v, bool):
            items = [v]
        else:
            try:
                items = list(v)
            except TypeError:
                raise _fail(convert, v) from None
        if len(items) < min_len:
            raise _fail(convert, v)
        try:
            return tuple(item(x) for x in items)
        except ValueError:
            raise _fail(convert, v) from None

    return named(
        convert,
        what
        or f"a comma-separated list of {accepts(item).removeprefix('an ').removeprefix('a ')}s",
    )


@dataclass(frozen=True)
class Parameter:
    """A declared parameter: name, default, converter and one line of documentation.

    Calling it converts a value, or raises ``ValueError`` naming the parameter
    and saying what it accepts. The default is stored as given and converted
    when used (``None`` stays ``None``: "decided by the method", which the
    doc line explains).
    """

    name: str
    default: Any = None
    convert: Converter = _ANYTHING
    doc: str = ""

    def __call__(self, value):
        try:
            return self.convert(value)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{self.name} {err}") from None

    def describe(self, prefix: str = "", width: int = 20) -> str:
        """One help line: ``PREFIXname=DEFAULT  doc``."""
        return f"{prefix}{self.name + '=' + _show(self.default):<{width}} {self.doc}"


def _show(value) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


class Parameters:
    """An ordered set of :class:`Parameter`: check names, fill defaults, convert.

    Read like a ``dict`` of name -> :class:`Parameter` (``in``, iteration over
    the names, ``[name]``, :meth:`values`, :meth:`items`).

    Parameters
    ----------
    *params : Parameter or Parameters
        Later entries replace earlier ones of the same name (so one schema
        can extend another).
    kind : str
        What the entries are called in messages (``"option"``, ``"parameter"``).
    """

    def __init__(self, *params: Parameter | Parameters, kind: str = "option"):
        self.kind = kind
        self._params: dict[str, Parameter] = {}
        for p in params:
            for q in p.values() if isinstance(p, Parameters) else [p]:
                self._params[q.name] = q

    def __iter__(self) -> Iterator[str]:
        """The names, in declaration order (like a ``dict``)."""
        return iter(self._params)

    def values(self) -> list[Parameter]:
        return list(self._params.values())

    def items(self) -> list[tuple[str, Parameter]]:
        return list(self._params.items())

    def __len__(self) -> int:
        return len(self._params)

    def __contains__(self, name) -> bool:
        return name in self._params

    def __getitem__(self, name: str) -> Parameter:
        return self._params[name]

    def __repr__(self) -> str:
        return f"Parameters({', '.join(self._params)})"

    def names(self) -> list[str]:
        return list(self._params)

    @classmethod
    def from_docs(cls, docs: Mapping[str, str], kind: str = "option") -> Parameters:
        """Deprecated: options declared as name -> doc (no converter, no default).

        Their values pass unchanged and only when given (default :data:`MISSING`),
        so the method applies its own defaults and checks; declare a
        :class:`Parameter` instead.
        """
        return cls(*(Parameter(k, MISSING, _ANYTHING, d) for k, d in docs.items()), kind=kind)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.values()}

    def docs(self) -> dict[str, str]:
        """Name -> doc line."""
        return {p.name: p.doc for p in self.values()}

    def without(self, *names: str) -> Parameters:
        return Parameters(*(p for p in self.values() if p.name not in names), kind=self.kind)

    def check_names(self, given: Iterable[str], owner: str = "") -> None:
        """Raise ``ValueError`` listing the valid names if any of ``given`` is unknown."""
        unknown = [k for k in given if k not in self._params]
        if unknown:
            valid = ", ".join(self._params) or "none"
            where = f" for {owner}" if owner else ""
            raise ValueError(
                f"unknown {self.kind} {', '.join(map(repr, sorted(unknown)))}{where};"
                f" valid {self.kind}s: {valid}"
            )

    def resolve(self, given: Mapping[str, Any], owner: str = "") -> dict[str, Any]:
        """Defaults overlaid with ``given``, every value converted (declaration order).

        Raises ``ValueError`` for an unknown name (listing the valid ones) or
        a value its converter refuses (prefixed by ``owner``).
        """
        self.check_names(given, owner)
        out = {}
        for p in self.values():
            if p.default is MISSING and p.name not in given:
                continue
            value = given.get(p.name, p.default)
            if value is None and p.name not in given:
                out[p.name] = None
                continue
            try:
                out[p.name] = p(value)
            except ValueError as err:
                raise ValueError(f"{owner}: {err}" if owner else str(err)) from None
        return out

    def describe(self, prefix: str = "", width: int = 20) -> list[str]:
        """One help line per parameter (see :meth:`Parameter.describe`)."""
        return [p.describe(prefix, width) for p in self.values()]


__all__ = [
    "MISSING",
    "Parameter",
    "Parameters",
    "accepts",
    "anything",
    "boolean",
    "choice",
    "either",
    "function",
    "integer",
    "mapping",
    "named",
    "number",
    "optional",
    "path",
    "sequence",
    "text",
]
