"""Files: the one atomic writer, the one JSON conversion, and the package version.

Every file fpsolve writes (result files, figures, checkpoints, the README's
benchmark section) goes through :func:`write_atomic`: the bytes go to a
temporary file in the target's folder, which is then renamed over the
target, so a reader never sees a half-written file and an interrupted write
leaves the old file (or none) in place.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_json_atomic(d / "x.json", {"a": np.float64(1.5), "b": (1, float("nan"))})
>>> (d / "x.json").read_text().split()
['{', '"a":', '1.5,', '"b":', '[', '1,', 'null', ']', '}']
>>> oct((d / "x.json").stat().st_mode & 0o777) == oct(0o666 & ~_umask())
True
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import numpy as np


def package_version() -> str:
    """The installed distribution's version (``pyproject.toml``), ``"unknown"`` if not installed."""
    try:
        return metadata.version("fpsolve")
    except metadata.PackageNotFoundError:
        return "unknown"


VERSION = package_version()


def write_atomic(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    ``write`` receives a binary file object. Its own temporary name keeps
    the original suffix at the end (``.name.XXXX.suffix``) for writers that
    look at it (matplotlib, torch).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 is for secrets; results are not
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def jsonable(value):
    """``value`` with numpy scalars and arrays as Python numbers and lists, tuples as lists,
    keys as strings, non-finite floats as ``None`` (JSON has no NaN) and anything
    else as its ``str``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def write_json_atomic(path: str | os.PathLike, data) -> None:
    """Write ``jsonable(data)`` as indented JSON, atomically."""
    text = json.dumps(jsonable(data), indent=1).encode()
    write_atomic(path, lambda f: f.write(text))


def write_npz_atomic(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to a compressed ``.npz``, atomically."""
    write_atomic(path, lambda f: np.savez_compressed(f, **arrays))
