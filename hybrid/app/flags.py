"""Command-line flags typed by the option schema's converters."""

from __future__ import annotations

import argparse

from problems.parameters import Converter, accepts


def flag_type(convert: Converter, name: str | None = None):
    """An argparse ``type`` from a converter of :mod:`problems.parameters` (or a
    :class:`~problems.parameters.Parameter`, whose name its errors start with:
    ``name`` strips it, as argparse names the flag already).

    Examples
    --------
    >>> from problems.parameters import integer
    >>> parse = flag_type(integer(low=1))
    >>> parse("3")
    3
    >>> parse("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be an integer >= 1, got '0'
    """

    def parse(text):
        try:
            return convert(text)
        except ValueError as err:
            message = str(err)
            if name is not None:
                message = message.removeprefix(name + " ")
            raise argparse.ArgumentTypeError(message) from None

    parse.__name__ = name or accepts(convert)
    return parse
