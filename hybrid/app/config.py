"""Run settings from a TOML file (``fpsolve COMMAND --config FILE.toml``), and value parsing.

The file holds the same keys as the command's flags, without the leading
dashes (``max-seconds`` or ``max_seconds``); problem parameters and method
options go in the tables ``[param]`` and ``[option]`` (in ``compare``,
``[option.METHOD]`` sets an option for one method only). Flags given on the
command line win over the file. Example::

    problem = "paper1d"
    n = 1023
    method = "dst-pcg"
    rtol = 1e-10
    out = "out/paper1d"
    plot = true

    [param]        # problem parameters (paper1d has none; e.g. contrast = 10)

    [option]
    reference = "mean"
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any


def parse_value(text: str) -> Any:
    """A command-line value: ``None``, a bool, an int, a float, a tuple or the string itself.

    A comma-separated list becomes a tuple of such values (``widths=64,64``).
    Raises ``ValueError`` for non-finite numbers (``nan``, ``inf``).

    Examples
    --------
    >>> [parse_value(s) for s in ["none", "True", "3", "1e-3", "cg", "64,64"]]
    [None, True, 3, 0.001, 'cg', (64, 64)]
    """
    if "," in text:
        return tuple(parse_value(item) for item in text.split(",") if item.strip())
    s = text.strip()
    low = s.lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(s)
    except ValueError:
        pass
    try:
        value = float(s)
    except ValueError:
        return s
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {text!r}")
    return value


def split_pair(text: str, flag: str) -> tuple[str, str]:
    """``"key=value"`` -> ``("key", "value")``; ``ValueError`` naming ``flag`` otherwise."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{flag} expects key=value, got {text!r}")
    return key.strip(), value.strip()


def read_toml(path: Path, what: str, error: type[ValueError] = ValueError) -> dict[str, Any]:
    """The TOML table in ``path``; a missing, unreadable or malformed file raises ``error``
    with one line that starts with ``what`` (e.g. ``"config file"``)."""
    try:
        text = path.read_bytes().decode()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"cannot read {what} {path}: {err}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise error(f"{what} {path} is not valid TOML: {err}") from None


def load(path: str | Path, accepted: dict[str, str], command: str) -> dict[str, Any]:
    """Read a TOML config; keys normalised to ``snake_case`` and checked.

    Parameters
    ----------
    path : str or Path
    accepted : dict
        Accepted key -> short description (for the error message).
    command : str
        The subcommand, for messages.

    Raises
    ------
    ValueError
        Missing or unreadable file, malformed TOML, unknown key.
    """
    path = Path(path)
    data = read_toml(path, "config file")
    out = {}
    for key, value in data.items():
        norm = key.replace("-", "_")
        if norm not in accepted:
            raise ValueError(
                f"config file {path}: unknown key {key!r} for 'fpsolve {command}';"
                f" accepted keys: {', '.join(sorted(accepted))}"
            )
        out[norm] = value
    return out
