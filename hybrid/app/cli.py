"""The ``fpsolve`` command line (also ``python -m hybrid``).

Commands: ``problems``, ``methods``, ``solve``, ``compare``, ``demo``,
``plot``, ``sweep`` (:mod:`hybrid.app.sweep_cmd`); ``fpsolve COMMAND --help`` shows each
one's flags and examples.

Conventions:

* every bad input prints one line ``fpsolve: error: ...`` and exits 2, with
  nothing written: all inputs (problem, parameters, methods, options, common
  settings, the output folder) are checked before anything runs, and files
  are written only after the runs end;
* a run that ends without converging exits 0 and says so;
* Ctrl-C stops the current method, writes what was recorded with
  ``"interrupted": true`` and exits 130 (see :mod:`hybrid.app.compare` for what a
  partial result holds);
* ``--config FILE.toml`` holds the same keys as the flags; flags win;
* every key (:data:`KEYS`), problem parameter and method option is declared
  in the one option schema (:mod:`problems.parameters`), which converts the
  flags' and the file's values and writes the help texts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import hybrid
import problems
from hybrid.app import config as cfg
from hybrid.app import fprinciple_cmd, sweep_cmd, train_operator
from hybrid.app.compare import Interrupted, compare, convergence_order, residual_order, table
from hybrid.app.console import Console, run_record
from hybrid.app.flags import flag_type
from hybrid.app.results import load_dir, write_compare, write_result
from problems.parameters import (
    Parameter,
    Parameters,
    anything,
    boolean,
    choice,
    integer,
    named,
    sequence,
    text,
)
from solvers.files import VERSION
from solvers.registry import SETTINGS, make_settings

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
FORMATS = ("png", "pdf", "svg")


class UsageError(Exception):
    """Bad input: reported as one line ``fpsolve: error: ...``, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block
        raise UsageError(f"{message} (see '{self.prog} --help')")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


# -- keys: every flag and config key, in the one option schema ----------------------
def _arg(param: Parameter):
    """An argparse ``type`` from a :class:`~problems.parameters.Parameter`."""
    return flag_type(param, param.name)


def _grid_size(value):
    """``63``, ``"63"``, ``"63x31"``, ``"63,31"`` or ``[63, 31]`` -> int or tuple."""
    if isinstance(value, str):
        value = value.replace("x", ",")
    sizes = _SIZES(value)
    return sizes[0] if len(sizes) == 1 else sizes


_SIZES = sequence(integer(), what="N, or NXxNY in 2D (integers)")
_grid_size = named(_grid_size, _SIZES.accepts)


_ERROR_CHOICES = {"auto": "auto", "on": True, "off": False, True: True, False: False}


def _errors(value):
    """``auto``, ``on`` or ``off`` (a config file may also say true or false)."""
    if (isinstance(value, str) and value in _ERROR_CHOICES) or isinstance(value, bool):
        return _ERROR_CHOICES[value]
    raise ValueError(f"must be one of auto, on, off; got {value!r}")


_errors = named(_errors, "one of auto, on, off")


def _method_list(value):
    items = value.split(",") if isinstance(value, str) else _NAMES(value)
    names = [str(v).strip() for v in items]
    if not names or any(not n for n in names):
        raise ValueError(f"must be a comma-separated list of method names, got {value!r}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"must name each method once; {', '.join(dup)} is given more than once")
    return names


_NAMES = sequence(text(), what="a comma-separated list of method names")
_method_list = named(_method_list, _NAMES.accepts)
_BOOL = boolean()
_TEXT = text()
_PAIRS = anything()  # --param/--option KEY=VALUE: checked by the problem's and method's schema

# The common settings: solve's own schema (solvers.registry.SETTINGS), with the CLI's words.
COMMON = Parameters(
    SETTINGS["rtol"],
    SETTINGS["maxiter"],
    Parameter(
        "max_seconds", None, SETTINGS["max_seconds"].convert, "most solver seconds per method"
    ),
    SETTINGS["record_every"],
    SETTINGS["seed"],
    Parameter(
        "device",
        "auto",
        SETTINGS["device"].convert,
        "torch device for DNN methods: auto, cpu or cuda",
    ),
    Parameter(
        "errors",
        "auto",
        _errors,
        "track the error against the discrete solution: auto (only where it is cheap:"
        " constant coefficients or at most 2^16 unknowns), on (may need a direct solve) or off",
    ),
)
OUTPUT = Parameters(
    Parameter("format", "png", choice(*FORMATS), "figure format: png, pdf or svg"),
    Parameter("quiet", False, _BOOL, "no progress bar or per-record lines"),
    Parameter("verbose", False, _BOOL, "one line per history record"),
)
_PROBLEM = Parameters(
    Parameter("problem", None, _TEXT, "catalogue name (fpsolve problems) or FILE.npz of grid data"),
    Parameter("n", None, _grid_size, "interior points per axis: N, or NXxNY in 2D"),
    Parameter("param", {}, _PAIRS, "problem parameter KEY=VALUE (repeatable)"),
)
#: Every key a flag or a config file can set, per command.
KEYS = {
    "solve": Parameters(
        _PROBLEM,
        Parameter("method", None, _TEXT, "method name (fpsolve methods)"),
        Parameter("option", {}, _PAIRS, "method option KEY=VALUE (repeatable)"),
        COMMON,
        Parameter(
            "out", None, _TEXT, "write result.json, result.npz (and figures) into this folder"
        ),
        Parameter("plot", False, _BOOL, "also draw the figures into --out"),
        OUTPUT,
        kind="key",
    ),
    "compare": Parameters(
        _PROBLEM,
        Parameter("methods", None, _method_list, "comma-separated method names"),
        Parameter("option", {}, _PAIRS, "method option KEY=VALUE or METHOD.KEY=VALUE (repeatable)"),
        COMMON,
        Parameter(
            "errors", True, _errors, "track errors against the discrete solution: on, off or auto"
        ),
        Parameter("out", None, _TEXT, "write compare.json, compare.npz and the figures here"),
        Parameter("plot", True, _BOOL, "draw the figures (--no-plot: results only)"),
        OUTPUT,
        kind="key",
    ),
    "demo": Parameters(
        Parameter("quick", False, _BOOL, "a few seconds instead of about a minute (for CI)"),
        Parameter("out", "fpsolve-demo", _TEXT, "folder for the results and figures"),
        COMMON["seed"],
        Parameter("device", "auto", SETTINGS["device"].convert, "torch device for DNN methods"),
        OUTPUT,
        kind="key",
    ),
}

EXAMPLES = {
    "problems": """examples:
  fpsolve problems             # the catalogue, one line each
  fpsolve problems varcoef2d   # one problem's parameters""",
    "methods": """examples:
  fpsolve methods              # every method with its options
  fpsolve methods dst-pcg      # one method""",
    "solve": """examples:
  fpsolve solve --problem paper1d --method dst-pcg
  fpsolve solve --problem paper1d --n 255 --method jacobi --maxiter 20000 --out out/j --plot
  fpsolve solve --problem varcoef2d --n 127 --param contrast=10 --method amg \\
                --option kind=sa --rtol 1e-10 --out out/amg
  fpsolve solve --config run.toml --rtol 1e-6     # flags win over the file

files (with --out DIR): DIR/result.json (the result file format plus a "run" record:
command line, options, seed, version, wall time), DIR/result.npz (u, u_ref, the
history arrays) and, with --plot, the figures (see fpsolve plot --help).
A run that stops on its budget without converging exits 0 and says so.""",
    "compare": """examples:
  fpsolve compare --problem paper1d --methods direct,dst-pcg,amg --out out/cmp
  fpsolve compare --problem random2d --n 127 --methods dst-pcg,amg \\
                  --option amg.kind=sa --max-seconds 20 --out out/r2

--option KEY=VALUE applies to every listed method that accepts KEY;
--option METHOD.KEY=VALUE to one method. Files: DIR/compare.json (a list of
result dicts, run order), DIR/compare.npz (u_0, u_1, ..., u_ref) and figures.""",
    "demo": """examples:
  fpsolve demo                 # about a minute on two CPU cores
  fpsolve demo --quick         # a few seconds (CI)
  fpsolve demo --out /tmp/demo --format pdf""",
    "plot": """examples:
  fpsolve plot out/cmp                 # redraw the PNGs from out/cmp/compare.json
  fpsolve plot out/j --format svg --out out/j-svg
  fpsolve plot out/study               # a sweep's folder: scaling and band_error from summary.csv

figures: convergence (error and residual vs iterations and seconds),
modal_error (per-frequency error heatmap per method, as in the F-Principle
paper), band_error (low/mid/high thirds of the frequencies vs step),
solution (u and |u - u_ref| vs x, or images in 2D).""",
}


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _add_keys(p: argparse.ArgumentParser, command: str) -> None:
    for param in KEYS[command].values():
        key, default, doc = param.name, param.default, param.doc
        flag = _flag(key)
        if param.convert is _PAIRS:
            p.add_argument(flag, action="append", metavar="KEY=VALUE", help=doc)
        elif param.convert is _BOOL:
            if default is True:
                p.add_argument(f"--no-{key}", dest=key, action="store_const", const=False, help=doc)
            else:
                p.add_argument(flag, action="store_const", const=True, help=doc)
        else:
            value = {True: "on", False: "off"}.get(default, default) if key == "errors" else default
            shown = f" (default: {value})" if default is not None else ""
            p.add_argument(flag, type=_arg(param), help=doc + shown)
    p.add_argument("--config", metavar="FILE.toml", help="read these settings from a TOML file")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fpsolve",
        description="Solve 1D/2D Poisson-type problems with relaxation, DNNs and hybrids, "
        "and measure the error frequency by frequency.",
        epilog="run 'fpsolve COMMAND --help' for a command's flags and examples;\n"
        "'fpsolve demo' is the quickest way in.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"fpsolve {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    helps = {
        "problems": "list the problem catalogue (or one problem's parameters)",
        "methods": "list the methods and their options",
        "solve": "solve one problem with one method",
        "compare": "run several methods on one problem; results and figures",
        "demo": "paper1d: Jacobi vs Gauss-Seidel vs DNN vs a hybrid, in about a minute",
        "plot": "redraw the figures from saved results without re-running",
    }
    subs = {}
    for name, summary in helps.items():
        subs[name] = sub.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog=EXAMPLES[name],
            formatter_class=_Formatter,
        )
    subs["problems"].add_argument("name", nargs="?", help="show this problem's parameters")
    subs["methods"].add_argument("name", nargs="?", help="show this method's options")
    for name in ("solve", "compare", "demo"):
        _add_keys(subs[name], name)
    plot = subs["plot"]
    plot.add_argument(
        "dir",
        metavar="DIR",
        help="a folder with result.json, compare.json or a sweep's summary.csv",
    )
    plot.add_argument(
        "--format",
        type=_arg(OUTPUT["format"]),
        default="png",
        help="figure format: png (default), pdf or svg",
    )
    plot.add_argument("--out", help="write the figures here instead of DIR")
    sweep_cmd.add_parser(sub)
    fprinciple_cmd.add_parser(sub, _Formatter)
    train_operator.add_parser(sub, _Formatter)
    return parser


# -- settings: flags over config over defaults ---------------------------------------
def _pairs(items, flag: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, value = cfg.split_pair(item, flag)
        out[key] = value
    return out


def resolve(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """The command's settings: each flag if given, else the config file's value, else default."""
    keys = KEYS[command]
    file = cfg.load(args.config, keys.docs(), command) if args.config else {}
    out: dict[str, Any] = {}
    for param in keys.values():
        key, default = param.name, param.default
        given = getattr(args, key, None)
        if key == "param":
            values = dict(_table(file.get(key, {}), "param"))
            values.update(_pairs(given, "--param"))
        elif key == "option":
            values = dict(_table(file.get(key, {}), "option"))
            for k, v in _pairs(given, "--option").items():
                try:
                    values[k] = cfg.parse_value(v)
                except ValueError as err:
                    raise ValueError(f"--option {k}: {err}") from None
        elif given is not None:
            values = given
        elif key in file:
            try:
                values = param(file[key])
            except ValueError as err:
                raise ValueError(f"{err} (in {args.config})") from None
        else:
            values = default
        out[key] = values
    out["config"] = args.config
    return out


def _table(value, key: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"config key {key!r} must be a table ([{key}]), got {value!r}")
    flat = {}
    for k, v in value.items():
        if isinstance(v, dict):  # [option.METHOD]
            for kk, vv in v.items():
                flat[f"{k}.{kk}"] = vv
        else:
            flat[k] = v
    for k, v in flat.items():
        if isinstance(v, float) and not np.isfinite(v):
            raise ValueError(f"config [{key}] {k} must be a finite number, got {v!r}")
    return flat


def _problem(s: dict) -> problems.Problem:
    if s["problem"] is None:
        raise ValueError(f"--problem is required; choose one of: {', '.join(problems.names())}")
    name = s["problem"]
    if name.endswith(".npz") or os.sep in name:  # the user's own grid data
        if s["n"] is not None or s["param"]:
            raise ValueError(
                f"--problem {name} is a file: its arrays fix the grid, so --n and --param do"
                " not apply"
            )
        return problems.load_arrays(name)
    return problems.get(name, n=s["n"], **s["param"])


def _common(s: dict) -> dict[str, Any]:
    return {k: s[k] for k in COMMON}


def _check_method_options(name: str, options: dict) -> None:
    hybrid.REGISTRY.check_options(name, options)


def _split_options(methods: list[str], options: dict) -> list[tuple[str, dict]]:
    """``KEY`` goes to every method accepting it, ``METHOD.KEY`` to that method only."""
    plan = {m: {} for m in methods}
    for key, value in options.items():
        method, dot, name = key.rpartition(".")
        if dot and method:
            if method not in plan:
                raise ValueError(
                    f"--option {key}: {method!r} is not among --methods ({', '.join(methods)})"
                )
            _check_method_options(method, {name: value})
            plan[method][name] = value
            continue
        takers = [m for m in methods if key in hybrid.REGISTRY.get(m).options]
        if not takers:
            valid = {m: sorted(hybrid.REGISTRY.get(m).options) for m in methods}
            listing = "; ".join(f"{m}: {', '.join(v) or 'none'}" for m, v in valid.items())
            raise ValueError(f"no listed method accepts option {key!r}; valid options: {listing}")
        for m in takers:
            plan[m].setdefault(key, value)
    return list(plan.items())


def check_out(path: str | os.PathLike) -> Path:
    """Check that ``path`` is, or can be created as, a writable folder (nothing is created)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {path} exists and is not a directory; give a folder path")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"--out {path}: {probe} is not a directory, so it cannot hold {path}")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as err:
        raise ValueError(
            f"--out {path} is not writable (cannot create files in {probe}: {err.strerror})"
        ) from None
    return path


# -- commands ----------------------------------------------------------------------
def cmd_problems(args) -> int:
    if args.name is None:
        for name in problems.names():
            print(problems.describe(name))
        print("\n'fpsolve problems NAME' lists a problem's parameters (--param KEY=VALUE).")
        return 0
    e = problems.entry(args.name)
    print(problems.describe(args.name))
    if not e.params:
        print("  no parameters")
    for line in e.params.describe("  --param ", 20):
        print(line)
    return 0


def _describe_method(name: str) -> str:
    m = hybrid.REGISTRY.get(name)
    return "\n".join([f"{name:<24} {m.summary}", *m.options.describe("    --option ", 28)])


def cmd_methods(args) -> int:
    names = [args.name] if args.name else hybrid.methods()
    for name in names:
        print(_describe_method(name))
    if not args.name:
        print(
            "\ncommon flags for every method: --rtol --maxiter --max-seconds --record-every"
            " --seed --device"
        )
    return 0


def _run(p, plan, s, console) -> tuple[list, bool]:
    """Run the plan; returns (results, interrupted)."""
    try:
        results = compare(
            p,
            plan,
            on_start=console.start,
            on_record=console.record,
            progress=console.progress,
            **_common(s),
        )
        return results, False
    except Interrupted as stop:
        console.say(f"interrupted: {stop.results[-1].method} stopped at its last record")
        return stop.results, True


def _report(results, console, interrupted: bool) -> None:
    for r in results:
        console.say(r.summary())
        if len(r.history) > 1:
            console.note(
                f"  residual bands that fell 10x, in order: {residual_order(r.history) or 'none'}"
            )
        if len(r.history.modes) and len(r.history) > 2:
            console.note(
                f"  modes below 10% error, in order: {convergence_order(r.history) or 'none'}"
            )
    if not interrupted and any(not r.converged for r in results):
        console.note(
            "note: a run that did not converge stopped on its budget (--maxiter,"
            " --max-seconds or the method's own limit); raise it or loosen --rtol"
        )


def cmd_solve(args, argv) -> int:
    s = resolve(args, "solve")
    console = Console(s["quiet"], s["verbose"])
    p = _problem(s)
    if s["method"] is None:
        raise ValueError(f"--method is required; choose one of: {', '.join(hybrid.methods())}")
    hybrid.REGISTRY.check(p, s["method"], s["option"])  # bad values, SPD-only: fail before the run
    make_settings(p, **{k: v for k, v in _common(s).items()})
    if s["plot"] and s["out"] is None:
        raise ValueError("--plot needs --out DIR (the folder for the figures)")
    out = check_out(s["out"]) if s["out"] is not None else None

    started = time.time()
    t0 = time.perf_counter()
    results, interrupted = _run(p, [(s["method"], s["option"])], s, console)
    run = run_record("solve", argv, s, started, time.perf_counter() - t0)
    _report(results, console, interrupted)
    if out is None:
        console.note("(no --out: nothing written)")
    else:
        written = write_result(out, results[-1], run)
        if s["plot"]:
            from hybrid.app import figures  # matplotlib only when drawing

            written += figures.draw_all(load_dir(out), out, s["format"])
        console.say("wrote " + ", ".join(str(w) for w in written))
    return EXIT_INTERRUPTED if interrupted else 0


def cmd_compare(args, argv) -> int:
    s = resolve(args, "compare")
    console = Console(s["quiet"], s["verbose"])
    p = _problem(s)
    if s["methods"] is None:
        raise ValueError(
            f"--methods is required (comma-separated); choose from: {', '.join(hybrid.methods())}"
        )
    for m in s["methods"]:
        hybrid.REGISTRY.get(m)
    plan = _split_options(s["methods"], s["option"])
    for name, options in plan:  # bad values fail before anything runs
        hybrid.REGISTRY.resolve_options(name, options)
    make_settings(p, **_common(s))
    if s["out"] is None:
        raise ValueError("--out DIR is required (the folder for compare.json and the figures)")
    out = check_out(s["out"])

    started = time.time()
    t0 = time.perf_counter()
    results, interrupted = _run(p, plan, s, console)
    run = run_record("compare", argv, s, started, time.perf_counter() - t0)
    console.say(table(results))
    _report(results, console, interrupted)
    written = write_compare(out, results, run)
    if s["plot"]:
        from hybrid.app import figures  # matplotlib only when drawing

        written += figures.draw_all(load_dir(out), out, s["format"])
    console.say("wrote " + ", ".join(str(w) for w in written))
    return EXIT_INTERRUPTED if interrupted else 0


def cmd_demo(args, argv) -> int:
    from hybrid.app import demo  # it draws figures: matplotlib loads only for commands that draw

    s = resolve(args, "demo")
    console = Console(s["quiet"], s["verbose"])
    out = check_out(s["out"])
    return demo.run(
        out,
        quick=s["quick"],
        fmt=s["format"],
        seed=s["seed"],
        device=s["device"],
        console=console,
        argv=argv,
    )


def cmd_plot(args) -> int:
    from hybrid.app import figures, study_figures  # matplotlib loads only for commands that draw

    out = check_out(args.out) if args.out else Path(args.dir)
    if study_figures.is_study(args.dir):  # a `fpsolve sweep` folder
        written = study_figures.draw_all(args.dir, out, args.format)
    else:
        written = figures.draw_all(load_dir(args.dir), out, args.format)
    print("wrote " + ", ".join(str(w) for w in written))
    return 0


def main(argv=None) -> int:
    """Entry point of ``fpsolve``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as done:  # --help, --version
            return int(done.code or 0)
        if args.command is None:
            raise UsageError(
                "choose a command: problems, methods, solve, compare, demo, plot, sweep,"
                " fprinciple, train-operator (see 'fpsolve --help')"
            )
        if args.command == "problems":
            return cmd_problems(args)
        if args.command == "methods":
            return cmd_methods(args)
        if args.command == "plot":
            return cmd_plot(args)
        if args.command == "sweep":
            return sweep_cmd.run(args, ["fpsolve", *argv])
        if args.command == "fprinciple":
            return fprinciple_cmd.run(args, ["fpsolve", *argv])
        if args.command == "train-operator":
            return train_operator.run(args, ["fpsolve", *argv])
        return {"solve": cmd_solve, "compare": cmd_compare, "demo": cmd_demo}[args.command](
            args, ["fpsolve", *argv]
        )
    except (UsageError, ValueError) as err:
        message = " ".join(str(err).split())  # exactly one line
        print(f"fpsolve: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("fpsolve: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
