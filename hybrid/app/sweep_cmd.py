"""``fpsolve sweep STUDY.toml --out DIR``: run a parameter study (see :mod:`hybrid.app.study`).

Exit status: 0 when every cell ran (converged, or stopped on its budget and
says so); 1 when some cells failed (each one's error is in
``DIR/cells/<id>/error.json`` and in ``summary.csv``; rerunning retries
them); 2 for bad input (a malformed study file, a bad flag, dask missing for
``--scheduler``), with one line ``fpsolve: error: ...`` and nothing run; 130
after Ctrl-C (the finished cells are kept; rerunning completes the rest).
"""

from __future__ import annotations

import argparse
import sys

from hybrid.app.flags import flag_type
from problems.parameters import integer

HELP = "run a parameter study: problems x sizes x methods x options x seeds"

EPILOG = """examples:
  fpsolve sweep benchmarks/studies/scaling.toml --out out/scaling
  fpsolve sweep study.toml --out out/s --workers 4
  fpsolve sweep study.toml --out out/s --scheduler local --workers 2   # a Dask LocalCluster
  fpsolve sweep study.toml --out out/s --scheduler tcp://10.0.0.5:8786 # a running cluster
  fpsolve plot out/s                   # redraw the study's figures from summary.csv

study file (TOML; every combination of the lists is one cell):
  name = "demo"
  seeds = [0, 1]
  rtol = 1e-8                # the per-cell budget: rtol, maxiter, max_seconds, record_every
  max_seconds = 20
  [[problem]]
  name = "varcoef2d"
  n = [127, 255]             # N (N x N in 2D), "NXxNY" or [NX, NY]
  sweep = { contrast = [3, 19] }          # param = { ... } fixes parameters
  [[method]]
  name = "sor"
  sweep = { omega = [1.9, 1.95] }         # option = { ... } fixes options
  max_seconds = 60           # a method may override the budget

files: DIR/cells/<cell-id>/result.json and result.npz (one hybrid.solve each;
<cell-id> hashes the cell's definition), DIR/summary.csv (one row per cell),
DIR/study.json, and the figures scaling.png and band_error.png.
Rerunning skips complete cells (--force reruns them); failed cells run again.

exit status: 0 every cell ran (a cell that stopped on its budget is not a
failure); 1 some cells failed (see their error.json); 2 bad input; 130 Ctrl-C."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``sweep`` to the ``fpsolve`` subcommands."""
    p = subparsers.add_parser(
        "sweep",
        help=HELP,
        description=HELP[0].upper() + HELP[1:] + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("study", metavar="STUDY.toml", help="the study file")
    p.add_argument("--out", required=True, metavar="DIR", help="the study folder")
    p.add_argument(
        "--workers",
        type=flag_type(integer(low=1)),
        metavar="K",
        help="local worker processes (default: the cores); with --scheduler local,"
        " the LocalCluster's workers",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask distributed scheduler at ADDRESS, or 'local' for a LocalCluster"
        " (needs the [dask] extra)",
    )
    p.add_argument("--force", action="store_true", help="rerun complete cells too")
    p.add_argument("--no-plot", dest="plot", action="store_false", help="no figures")
    p.add_argument(
        "--format", choices=("png", "pdf", "svg"), default="png", help="figure format (png)"
    )
    p.add_argument("--quiet", action="store_true", help="no line per cell")
    return p


def run(args, argv=None) -> int:
    """Run ``fpsolve sweep``; returns the exit status (bad input raises ``ValueError``)."""
    from hybrid.app import study as st
    from hybrid.app.cli import check_out

    study = st.load_study(args.study)
    out = check_out(args.out)
    if args.scheduler:
        st._distributed()  # a missing dask is bad input, found before anything runs
    if study.unknown_methods:
        print(
            f"warning: unknown method {', '.join(map(repr, study.unknown_methods))}:"
            " its cells will fail (see 'fpsolve methods')",
            file=sys.stderr,
        )
    say = (lambda line: None) if args.quiet else (lambda line: print(line, flush=True))
    result = st.run_study(
        study,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        force=args.force,
        say=say,
        argv=argv,
    )
    counts = result.counts
    print(
        f"{len(study.cells)} cell{'s' if len(study.cells) != 1 else ''}: "
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        + f" ({len(result.ran)} run now, {len(result.skipped)} already complete);"
        f" {result.wall_seconds:.1f} s"
    )
    written = [out / st.SUMMARY_CSV, out / st.STUDY_JSON]
    if args.plot:
        from hybrid.app import study_figures

        written += study_figures.draw_all(out, out, args.format)
    print("wrote " + ", ".join(str(w) for w in written))
    if result.failed:
        print(
            f"{len(result.failed)} cell(s) failed; their errors are in summary.csv and"
            f" {out}/cells/<id>/error.json (rerun to retry them)",
            file=sys.stderr,
        )
    return result.exit_code
