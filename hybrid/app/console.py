"""What the command line prints, and what a result file records about the run."""

from __future__ import annotations

import datetime
import os
import platform
import sys

import numpy as np
import scipy
from tqdm import tqdm

from solvers.files import VERSION, jsonable


class Console:
    """Messages to stdout, per-record lines and progress to stderr (through tqdm)."""

    def __init__(self, quiet: bool, verbose: bool):
        self.quiet = quiet
        self.verbose = verbose and not quiet
        self.progress = (not quiet) and sys.stderr.isatty()
        self.method = ""

    def say(self, text: str = "") -> None:
        print(text, flush=True)

    def note(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)

    def start(self, method: str) -> None:
        self.method = method
        if not self.quiet:
            print(f"running {method} ...", flush=True)

    def record(self, rec: dict | None) -> None:
        if not self.verbose or rec is None:
            return
        if rec["relative_error"] == rec["relative_error"]:  # not NaN: errors tracked
            bands = " ".join(f"{b}={rec['band_error'][b]:.2e}" for b in ("low", "mid", "high"))
            errors = f" err={rec['relative_error']:.3e} {bands}"
        else:
            errors = " err=not tracked"
        line = (
            f"[{self.method}] {rec['phase']:>10} it={rec['iteration']:<8d}"
            f" t={rec['seconds']:9.3f}s res={rec['relative_residual']:.3e}{errors}"
        )
        tqdm.write(line, file=sys.stderr)


def run_record(command: str, argv, settings: dict, started: float, wall: float) -> dict:
    """What a result file records about the run, to reproduce it."""
    return {
        "command": command,
        "argv": list(argv),
        "settings": jsonable(settings),
        "seed": settings.get("seed", 0),
        "version": VERSION,
        "started_utc": datetime.datetime.fromtimestamp(started, datetime.UTC).isoformat(
            timespec="seconds"
        ),
        "wall_seconds": wall,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
