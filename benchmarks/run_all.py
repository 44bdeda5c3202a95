"""Run every benchmark script and rewrite the README's results section from their JSON.

Each ``benchmarks/NAME.py`` (except this file and names starting with ``_``)
is run in its own process, with ``--quick`` when given here; each prints its
table and saves ``benchmarks/results/NAME.json``. Afterwards the README's
section between the markers ``<!-- bench:begin -->`` and ``<!-- bench:end -->``
is rewritten from those files (``make bench``); with ``--quick`` (``make
bench-quick``, a smoke run) the tables are only printed, because quick sizes
are not measurements.

JSON the renderer understands (it is tolerant; anything else is shown as a
compact value):

* ``{"rows": [{...flat...}, ...]}``: the main table, one row per dict, the
  union of keys as columns, in first-seen order;
* other top-level lists of flat dicts: one more table each, titled by key;
* a dict of scalars (``{"ratios": {"a_vs_b": 2.1}}``): a two-column table;
* a dict of flat dicts (``{"rates": {"jacobi": {"median": 1.0}}}``): rows named
  by the outer keys;
* deeper nesting: flattened into rows with dotted column names
  (``first_run.total``), lists of scalars joined;
* ``title``, ``notes``, ``date``, ``meta`` / ``machine``: shown above the tables;
* keys starting with ``_``: raw data the script keeps for itself (e.g. to redraw
  a figure), not shown.

Usage: ``python benchmarks/run_all.py [--quick] [--only a,b] [--no-run]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
README = ROOT / "README.md"
BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
HEADING = "## Benchmark results"
SCALARS = (str, int, float, bool, type(None))
META_KEYS = ("title", "notes", "date", "meta", "machine", "benchmark", "quick")


def scripts(only: list[str] | None = None) -> list[Path]:
    """The benchmark scripts, sorted by name (optionally only the named ones)."""
    found = sorted(
        p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name[0] == "_"
    )
    if only:
        names = {p.stem for p in found}
        unknown = sorted(set(only) - names)
        if unknown:
            raise SystemExit(
                f"run_all: unknown benchmark {', '.join(unknown)}; have: {', '.join(sorted(names))}"
            )
        found = [p for p in found if p.stem in only]
    return found


def run(script: Path, quick: bool, timeout: float | None) -> tuple[int, float]:
    """Run one script (its output streams through); return (exit status, seconds)."""
    cmd = [sys.executable, str(script), *(["--quick"] if quick else [])]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    print(f"\n=== {script.name} {'--quick' if quick else ''}".rstrip(), flush=True)
    t0 = time.perf_counter()
    try:
        rc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        print(f"run_all: {script.name} exceeded {timeout} s", flush=True)
        rc = 124
    return rc, time.perf_counter() - t0


# -- rendering ------------------------------------------------------------------------
def _cell(value) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        if 1e-3 <= abs(value) < 1e5:
            return f"{value:.3g}"
        return f"{value:.2e}"
    if isinstance(value, str):
        return value.replace("|", "\\|").replace("\n", " ")
    text = json.dumps(value, separators=(",", ":"))
    return (text[:60] + "...") if len(text) > 63 else text.replace("|", "\\|")


def _is_flat(d) -> bool:
    return isinstance(d, dict) and all(isinstance(v, SCALARS) for v in d.values())


#: Flattened rows wider than this are split into one table per outer key.
MAX_COLUMNS = 24


def flatten(value, prefix: str = "") -> dict:
    """A nested dict as one flat row: dotted keys, lists of scalars joined.

    >>> flatten({"setup": 0.2, "first_run": {"total": 3.8, "its": 8}, "runs": [1, 2]})
    {'setup': 0.2, 'first_run.total': 3.8, 'first_run.its': 8, 'runs': '1, 2'}
    """
    out = {}
    for key, v in value.items():
        name = f"{prefix}{key}"
        if isinstance(v, dict):
            out.update(flatten(v, name + "."))
        elif isinstance(v, list) and all(isinstance(x, SCALARS) for x in v):
            out[name] = ", ".join(_cell(x) for x in v)
        else:
            out[name] = v
    return out


def _nested(heading: str, value) -> str | None:
    """Tables for a nested dict or a list of nested dicts; None for anything else."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return heading + table([flatten(v) for v in value])
    if isinstance(value, list) and all(isinstance(v, SCALARS) for v in value):
        return heading + ", ".join(_cell(v) for v in value)
    if not isinstance(value, dict) or not value:
        return None
    parts = []
    rows = [{"": k, **flatten(v)} for k, v in value.items() if isinstance(v, dict)]
    if rows and max(len(r) for r in rows) > MAX_COLUMNS:  # too wide: one table per entry
        for k, v in value.items():
            if isinstance(v, dict):
                parts.append(_nested(f"*{k}*\n\n", v))
    elif rows:
        parts.append(table(rows))
    rest = flatten({k: v for k, v in value.items() if not isinstance(v, dict)})
    if rest:
        parts.append(table([{"": k, "value": v} for k, v in rest.items()]))
    return heading + "\n\n".join(parts)


def table(rows: list[dict], first: str | None = None) -> str:
    """A markdown table of flat dict rows; columns are the union of keys, first seen first.

    Examples
    --------
    >>> print(table([{"method": "jacobi", "seconds": 1.5}, {"method": "sor", "speedup": 12}]))
    | method | seconds | speedup |
    |---|---|---|
    | jacobi | 1.5 | - |
    | sor | - | 12 |
    """
    columns: list[str] = [first] if first else []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def render(name: str, data) -> str:
    """Markdown for one benchmark's JSON (see the module docstring for what is understood)."""
    out = [f"### {name}"]
    if isinstance(data, list):
        data = {"rows": data}
    if not isinstance(data, dict):
        return "\n\n".join([*out, f"`{_cell(data)}`"])
    if isinstance(data.get("title"), str):
        out.append(data["title"])
    about = []
    for key in ("date", "meta", "machine"):
        value = data.get(key)
        if isinstance(value, SCALARS) and value is not None:
            about.append(f"{key}: {_cell(value)}")
        elif _is_flat(value):
            about.append(", ".join(f"{k}: {_cell(v)}" for k, v in value.items()))
    if about:
        out.append("_" + "; ".join(about) + "_")
    if isinstance(data.get("notes"), str):
        out.append(data["notes"])
    keys = ["rows"] if "rows" in data else []
    keys += [k for k in data if k not in keys and k not in META_KEYS and not k.startswith("_")]
    for key in keys:
        value = data[key]
        heading = "" if key == "rows" else f"**{key}**\n\n"
        if isinstance(value, list) and value and all(_is_flat(v) for v in value):
            out.append(heading + table(value))
        elif _is_flat(value) and value:
            out.append(heading + table([{"": k, "value": v} for k, v in value.items()]))
        elif isinstance(value, dict) and value and all(_is_flat(v) for v in value.values()):
            out.append(heading + table([{"": k, **v} for k, v in value.items()]))
        elif isinstance(value, SCALARS):
            out.append(f"{key}: {_cell(value)}")
        elif (nested := _nested(heading, value)) is not None:
            out.append(nested)
        else:
            out.append(f"{heading}`{_cell(value)}`")
    return "\n\n".join(out)


def read_results(quick: bool = False) -> dict[str, object]:
    """``{name: data}`` from ``benchmarks/results/*.json``; quick runs only when ``quick``.

    A file counts as quick when its name ends in ``-quick`` or it says
    ``"quick": true``. Unreadable files are reported in place of a table.
    """
    out: dict[str, object] = {}
    for path in sorted(RESULTS.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            data = {"notes": f"(could not read {path.name}: {err})"}
        is_quick = path.stem.endswith("-quick") or (
            isinstance(data, dict) and data.get("quick") is True
        )
        if is_quick == quick:
            out[path.stem] = data
    return out


def section(results: dict[str, object]) -> str:
    """The README section body (between the markers)."""
    if not results:
        return "_No results yet: run `make bench`._"
    intro = (
        "Written by `benchmarks/run_all.py` (`make bench`) from `benchmarks/results/*.json`;"
        " timings on a shared 2-core machine are noisy: compare ratios measured in one run."
    )
    return "\n\n".join([intro, *(render(n, d) for n, d in results.items())])


def rewrite_readme(text: str, body: str) -> str:
    """Replace the text between the markers (or append the section with them)."""
    block = f"{BEGIN}\n{body}\n{END}"
    if BEGIN in text and END in text and text.index(BEGIN) < text.index(END):
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return head + block + tail
    return text.rstrip("\n") + f"\n\n{HEADING}\n\n{block}\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run; README untouched")
    parser.add_argument("--only", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--no-run", action="store_true", help="only re-render from the JSON")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per script")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    failed = []
    if not args.no_run:
        for script in scripts(only):
            rc, seconds = run(script, args.quick, args.timeout)
            print(f"=== {script.name}: exit {rc} after {seconds:.0f} s", flush=True)
            if rc != 0:
                failed.append(script.name)
    results = read_results(quick=args.quick)
    body = section(results)
    if args.quick:
        print("\n" + body)
        print("\n(--quick: README.md not rewritten; quick sizes are smoke tests)")
    else:
        tmp = README.with_name(f".{README.name}.tmp")
        tmp.write_text(rewrite_readme(README.read_text(), body))
        os.replace(tmp, README)  # atomic: never a half-written README
        print(f"\nrewrote the results section of {README}")
    if failed:
        print(f"run_all: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
