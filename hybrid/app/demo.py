"""``fpsolve demo``: the main job on the F-Principle paper's 1D problem, then a full spectrum.

Part 1 runs Jacobi, Gauss-Seidel, the DNN and the best hybrid on ``paper1d``,
each under a time budget, prints a table (iterations, seconds, final relative
error, per-band errors) and the order in which each method brought the
solution's frequencies below 10 % error, and writes ``compare.json`` and the
figures into the output folder.

Part 2 runs weighted Jacobi, the DNN and the hybrid on ``random2d``, whose
residual spans the whole spectrum, and writes its results and figures into
``random2d/`` below the output folder: its ``spectrum`` figure shows the
order at a glance (weighted Jacobi clears the high bins within ten sweeps
while the low ones stay; the DNN the opposite; the hybrid all of them).
Both parts print the order in which each method's residual bands fell 10x.
Errors are tracked (``errors=True``). About a minute on two CPU cores;
``--quick`` takes a few seconds (CI).

Methods that are not registered are skipped with a note, so the demo runs
while the method issues land.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import hybrid
import problems
from hybrid.app import figures
from hybrid.app.compare import Interrupted, compare, convergence_order, residual_order, table
from hybrid.app.console import Console, run_record
from hybrid.app.results import load_dir, write_compare

#: The hybrid to show, best first: the first one registered is used.
HYBRIDS = ("neural-twolevel", "dnn-gauss-seidel")


@dataclass(frozen=True)
class Plan:
    """What the demo runs: problem size, tolerance and each method's budget."""

    n: int
    rtol: float
    seconds: dict[str, float]
    options: dict[str, dict] = field(default_factory=dict)
    maxiter: dict[str, int] = field(default_factory=dict)
    problem: str = "paper1d"
    methods: tuple[str, ...] = ("jacobi", "gauss-seidel", "dnn")


FULL = Plan(
    n=1023,
    rtol=1e-8,
    seconds={"jacobi": 8.0, "gauss-seidel": 8.0, "dnn": 12.0, "hybrid": 10.0},
)
QUICK = Plan(
    n=255,
    rtol=1e-8,
    seconds={"jacobi": 0.5, "gauss-seidel": 0.5, "dnn": 1.5, "hybrid": 1.5},
    maxiter={"dnn": 200},
)
#: Part 2: a residual across the whole spectrum (random2d's f is a random field).
SPECTRUM = Plan(
    n=63,
    rtol=1e-8,
    seconds={"weighted-jacobi": 3.0, "dnn": 8.0, "hybrid": 4.0},
    maxiter={"weighted-jacobi": 20000, "dnn": 400},
    problem="random2d",
    methods=("weighted-jacobi", "dnn"),
)
SPECTRUM_QUICK = Plan(
    n=31,
    rtol=1e-8,
    seconds={"weighted-jacobi": 0.5, "dnn": 1.5, "hybrid": 1.0},
    maxiter={"weighted-jacobi": 2000, "dnn": 100},
    problem="random2d",
    methods=("weighted-jacobi", "dnn"),
)


def methods(log=print, plan: Plan = FULL) -> list[str]:
    """The plan's methods that are registered now, and the best hybrid (a note for each
    one skipped)."""
    available = set(hybrid.methods())
    chosen = []
    for name in plan.methods:
        if name in available:
            chosen.append(name)
        else:
            log(f"note: method {name!r} is not registered yet; skipped")
    best = next((h for h in HYBRIDS if h in available), None)
    if best is None:
        log(f"note: no hybrid registered yet ({' or '.join(HYBRIDS)}); skipped")
    else:
        chosen.append(best)
    if not chosen:
        log("note: none of the demo's methods is registered; showing 'dst-pcg' instead")
        chosen = ["dst-pcg"]
    return chosen


def _key(name: str) -> str:
    """The plan's key for a method: its name, or ``"hybrid"``."""
    return "hybrid" if name in HYBRIDS else name


def _part(plan, out, *, fmt, seed, device, console, argv, started, settings):
    """Run one plan into ``out``; returns (results, interrupted, written paths)."""
    p = problems.get(plan.problem, n=plan.n)
    names = methods(console.note, plan)
    total = sum(plan.seconds.get(_key(m), 10.0) for m in names)
    console.note(
        f"fpsolve demo: {p.name}, n={plan.n}, methods {', '.join(names)};"
        f" budget about {total:.0f} s of solver time"
    )
    t0 = time.perf_counter()
    results, interrupted = [], False
    for name in names:
        key = _key(name)
        try:
            results += compare(
                p,
                [(name, dict(plan.options.get(key, {})))],
                on_start=console.start,
                on_record=console.record,
                rtol=plan.rtol,
                max_seconds=plan.seconds.get(key, 10.0),
                maxiter=plan.maxiter.get(key),
                seed=seed,
                device=device,
                progress=console.progress,
                errors=True,
            )
        except Interrupted as stop:
            results += stop.results
            interrupted = True
            console.say(f"interrupted: {name} stopped at its last record")
            break
    run_info = run_record("demo", argv, settings, started, time.perf_counter() - t0)
    console.say("")
    console.say(table(results))
    console.say("")
    if p.dim == 1:
        console.say("frequencies below 10% error, in the order each method got them there:")
        for r in results:
            console.say(f"  {r.method:<18} {convergence_order(r.history) or 'none yet'}")
    console.say(
        "residual bands (by frequency k) that fell 10x, in the order each method got there:"
    )
    for r in results:
        console.say(f"  {r.method:<18} {residual_order(r.history) or 'none yet'}")
    written = write_compare(out, results, run_info)
    written += figures.draw_all(load_dir(out), out, fmt)
    return results, interrupted, written


def run(out, *, quick=False, fmt="png", seed=0, device="auto", console=None, argv=()) -> int:
    """Run the demo into ``out`` (part 2 into ``out/random2d``); return the exit status
    (0, or 130 on Ctrl-C).

    ``console`` is the CLI's output object (``say``, ``note``, ``start``,
    ``record``, ``progress``); ``None`` prints plainly.
    """
    console = console or Console(quiet=False, verbose=False)
    out = Path(out)
    started = time.time()
    settings = {"quick": quick, "format": fmt, "seed": seed, "device": device, "out": str(out)}
    common = {"fmt": fmt, "seed": seed, "device": device, "console": console, "argv": argv}
    _, interrupted, written = _part(
        QUICK if quick else FULL, out, started=started, settings=settings, **common
    )
    second = out / SPECTRUM.problem
    if not interrupted:
        console.say("")
        _, interrupted, more = _part(
            SPECTRUM_QUICK if quick else SPECTRUM,
            second,
            started=started,
            settings=settings,
            **common,
        )
        written += more
    console.say("")
    console.say(f"results and figures are in {out.resolve()}/:")
    for w in written:
        console.say(f"  {w.relative_to(out)}")
    console.say(
        f"open {second / ('spectrum.' + fmt)} first: one row per method, the residual left in"
        " each frequency bin (columns, low to high k) over the run (rows, upwards);"
        f" then {out / ('modal_error.' + fmt)}: the error at each of paper1d's frequencies."
    )
    return 130 if interrupted else 0
