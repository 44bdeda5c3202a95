"""Mutation check: does the suite fail when the code is wrong?

Applies small, plausible source mutations one at a time to a temporary copy of the
repository, runs the tests relevant to each, and reports the mutations that no test
noticed (the *survivors*). Run it before each release (not in CI; it takes minutes,
most of them numba compiling the mutated modules)::

    .venv/bin/python tests/mutation.py                 # every mutation
    .venv/bin/python tests/mutation.py --list          # names only
    .venv/bin/python tests/mutation.py jacobi-halo bands-min

First a control run: the unmutated copy must pass the same tests (else a flaky or
red suite would "kill" every mutation). Exit status: 0 when every mutation was
killed, 1 when some survived, 2 when the control fails or a mutation no longer
applies (its ``old`` text is not in the file exactly once: update the list when
the code moves). A new kernel gets its mutations here.

Not collected by pytest (the name does not start with ``test_``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    what: str


RELAX = ("tests/test_concurrency.py", "tests/test_contracts.py", "tests/test_relaxation.py")
SPECTRUM = ("tests/test_contracts.py", "tests/test_spectrum.py")
TRANSFER = (
    "tests/test_concurrency.py",
    "tests/test_contracts.py",
    "tests/test_hybrid_multilevel.py",
    "tests/test_multigrid.py",
    "tests/test_multigrid_cycle.py",
)
KERNELS = "solvers/_relaxation_kernels.py"
TRANSFER_KERNELS = "solvers/multigrid/_transfer_kernels.py"

MUTATIONS = [
    # -- the audit's table (issue 16) ------------------------------------------------
    Mutation(
        "jacobi-halo",
        KERNELS,
        "            down = work[3 + 4 * (b + 1)]",
        "            down = u[i + 1]",
        RELAX,
        "parallel 2D Jacobi reads the next block's new first row (halo lost)",
    ),
    Mutation(
        "residual-2d-drops-c",
        KERNELS,
        "        d = 2.0 * wx + 2.0 * wy + c[0, 0]",
        "        d = 2.0 * wx + 2.0 * wy",
        RELAX,
        "constant-coefficient 2D residual without the shift c",
    ),
    Mutation(
        "residual-1d-drops-c",
        KERNELS,
        "            au = (2.0 * w + c[0]) * uc - w * (left + right)",
        "            au = (2.0 * w) * uc - w * (left + right)",
        RELAX,
        "constant-coefficient 1D residual without the shift c",
    ),
    Mutation(
        "band-edges-open",
        "problems/spectrum.py",
        '"low": k <= n / 3, "mid": (k > n / 3) & (k <= 2 * n / 3)',
        '"low": k < n / 3, "mid": (k >= n / 3) & (k < 2 * n / 3)',
        SPECTRUM,
        "band edges <= changed to <",
    ),
    Mutation(
        "bands-min",
        "problems/spectrum.py",
        "    n = max(p.shape)",
        "    n = min(p.shape)",
        SPECTRUM,
        "2D bands in thirds of min(shape) instead of max(shape)",
    ),
    Mutation(
        "radial-ky-not-squared",
        "problems/spectrum.py",
        "np.sqrt(ks[0][:, None] ** 2 + ks[1][None, :] ** 2)",
        "np.sqrt(ks[0][:, None] ** 2 + ks[1][None, :])",
        SPECTRUM,
        "radial |k| with ky not squared",
    ),
    Mutation(
        "linear-prolong-overwrites",
        TRANSFER_KERNELS,
        "            out[i, jj] += scale * s",
        "            out[i, jj] = scale * s",
        TRANSFER,
        "non-nested 2D prolong_add overwrites instead of adding",
    ),
    Mutation(
        "switch-gs-rate-not-squared",
        "hybrid/dnn_relax.py",
        "            rho = rho**2",
        "            rho = rho",
        ("tests/test_hybrid_dnn_relax.py",),
        "the auto switch's Gauss-Seidel rate not squared",
    ),
    Mutation(
        "cadence-sparse-default",
        "solvers/recording.py",
        "DEFAULT_RATIO = 1.07",
        "DEFAULT_RATIO = 1.5",
        ("tests/test_reference_solvers.py",),
        "default cadence without maxiter: about 34 records instead of about 200",
    ),
    Mutation(
        "cadence-sparse-fitted",
        "solvers/recording.py",
        "DEFAULT_POINTS = 200",
        "DEFAULT_POINTS = 34",
        ("tests/test_reference_solvers.py",),
        "default cadence fitted to maxiter: about 34 records instead of about 200",
    ),
    # -- the other parallel kernels ----------------------------------------------------
    Mutation(
        "jacobi-halo-off-by-one",
        KERNELS,
        "                _copy_row(work[4 + 4 * b], u[(b + 1) * nx // nb - 1])",
        "                _copy_row(work[4 + 4 * b], u[(b + 1) * nx // nb - 2])",
        RELAX,
        "parallel Jacobi saves the wrong row as a block's lower halo",
    ),
    Mutation(
        "red-black-block-edge",
        KERNELS,
        "                if stop - 1 > start:",
        "                if stop - 1 > start and b == 0:",
        RELAX,
        "parallel red-black forgets the black points of later blocks' last rows",
    ),
    Mutation(
        "red-black-block-start-race",
        KERNELS,
        "                for i in range(start, min(start + 2, stop)):",
        "                for i in range(start + 1, min(start + 2, stop)):",
        RELAX,
        "parallel red-black skips the red points of each block's first row",
    ),
    Mutation(
        "wavefront-stages-overlap",
        KERNELS,
        "if lag >= 0 and lag % 2 == 0 and lag // 2 < sweeps:",
        "if lag >= 0 and lag < sweeps:",
        RELAX,
        "wavefront Gauss-Seidel runs neighbouring tiles of consecutive sweeps at once",
    ),
    Mutation(
        "pcg-direction",
        "solvers/krylov.py",
        "            d[i] = z[i] + beta * d[i]",
        "            d[i] = z[i] + beta * z[i]",
        ("tests/test_concurrency.py", "tests/test_krylov.py"),
        "PCG's fused direction update uses z for d",
    ),
    Mutation(
        "pcg-update-norm",
        "solvers/krylov.py",
        "            s += ri * ri",
        "            s += ri",
        ("tests/test_concurrency.py", "tests/test_krylov.py"),
        "PCG's fused update returns a wrong ||r||^2",
    ),
    Mutation(
        "apply-2d-east-edge",
        "problems/operators.py",
        "                east = u[i + 1, j] if i < nx - 1 else 0.0",
        "                east = u[i + 1, j] if i < nx - 2 else 0.0",
        ("tests/test_concurrency.py", "tests/test_contracts.py", "tests/test_problems.py"),
        "2D operator apply drops the coupling to the last row",
    ),
    Mutation(
        "restrict-2d-weight",
        TRANSFER_KERNELS,
        "+ 2.0 * (r[a, t] + r[c, t] + r[b, s] + r[b, v])",
        "+ 2.0 * (r[a, t] + r[c, t] + r[b, s] + r[b, s])",
        TRANSFER,
        "nested 2D full weighting with a wrong neighbour",
    ),
    Mutation(
        "prolong-2d-overwrites",
        TRANSFER_KERNELS,
        "        urow[2 * J + 1] += cur",
        "        urow[2 * J + 1] = cur",
        TRANSFER,
        "nested 2D prolong_add overwrites instead of adding",
    ),
    Mutation(
        "residual-restrict-shared-rows",
        TRANSFER_KERNELS,
        "    ra = work[1 + 4 * b]",
        "    ra = work[1]",
        TRANSFER,
        "fused residual + restriction: every block writes block 0's row buffer (a race)",
    ),
    Mutation(
        "spectrum-not-orthonormal",
        "problems/spectrum.py",
        '    return scipy.fft.dstn(v, type=1, norm="ortho")',
        '    return scipy.fft.dstn(v, type=1, norm="backward")',
        SPECTRUM,
        "sine coefficients without the orthonormal scaling (Parseval lost)",
    ),
]

#: Left out of the copy: environments, caches of tools, results.
SKIP = {".git", ".venv", ".pytest_cache", ".ruff_cache", ".hypothesis", "out", "fpsolve-demo"}


def copy_repo(dest: Path) -> None:
    """The working tree without environments; ``copy2`` keeps modification times, so
    numba's on-disk cache stays valid for every module the mutation does not touch."""

    def ignore(folder, names):
        return [n for n in names if n in SKIP or n.endswith(".egg-info")]

    shutil.copytree(ROOT, dest, ignore=ignore, copy_function=shutil.copy2, dirs_exist_ok=True)


def apply(m: Mutation, repo: Path) -> None:
    path = repo / m.file
    text = path.read_text()
    if text.count(m.old) != 1:
        raise LookupError(f"{m.name}: {m.old!r} occurs {text.count(m.old)} times in {m.file}")
    path.write_text(text.replace(m.old, m.new))


def run(m: Mutation, repo: Path, timeout: float) -> tuple[str, float, str]:
    """``(verdict, seconds, detail)``: killed (by the first failing test), survived,
    timeout or error (with the output's last lines)."""
    env = {**os.environ, "PYTHONPATH": str(repo), "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *m.tests]
    t0 = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - t0, ""
    seconds = time.perf_counter() - t0
    lines = (done.stdout + done.stderr).strip().splitlines()
    verdict = {0: "SURVIVED", 1: "killed"}.get(done.returncode, f"error (exit {done.returncode})")
    failed = [line.split()[1] for line in lines if line.startswith("FAILED ")]
    if verdict == "killed" and failed:
        return verdict, seconds, f"by {failed[0]}"
    return verdict, seconds, "\n".join(lines[-3:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only these mutations")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per mutation")
    parser.add_argument(
        "--no-control",
        action="store_true",
        help="skip the control run (the unmutated copy must pass the same tests)",
    )
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutation(s): {', '.join(sorted(unknown))}")
    if args.list:
        for m in chosen:
            print(f"{m.name:28} {m.file:34} {m.what}")
        return 0
    with tempfile.TemporaryDirectory(prefix="fpsolve-mutation-") as tmp:
        base = Path(tmp) / "clean"
        copy_repo(base)
        for m in chosen:  # fail early when the list no longer matches the code
            try:
                _check_applies(m, base)
            except LookupError as error:
                print(f"mutation.py: {error}", file=sys.stderr)
                return 2
        if not args.no_control:  # a failure must come from the mutation, not a red suite
            tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
            control = Mutation("(control)", "", "", "", tests, "the unmutated copy")
            verdict, seconds, tail = run(control, base, args.timeout)
            passed = "passed" if verdict == "SURVIVED" else verdict
            print(f"{'(control: no mutation)':28} {passed:9} {seconds:6.1f} s", flush=True)
            if verdict != "SURVIVED":
                print("    " + tail.replace("\n", "\n    "), file=sys.stderr)
                print("mutation.py: the unmutated copy fails its tests", file=sys.stderr)
                return 2
        survivors = []
        for m in chosen:
            repo = Path(tmp) / m.name
            shutil.copytree(base, repo, copy_function=shutil.copy2, symlinks=True)
            apply(m, repo)
            verdict, seconds, tail = run(m, repo, args.timeout)
            print(f"{m.name:28} {verdict:9} {seconds:6.1f} s  {m.what}", flush=True)
            if verdict != "killed":
                survivors.append(m.name)
            if tail:
                print("    " + tail.replace("\n", "\n    "), flush=True)
            shutil.rmtree(repo, ignore_errors=True)
    print(f"{len(chosen) - len(survivors)} of {len(chosen)} mutations killed", end="")
    print(f"; not killed: {', '.join(survivors)}" if survivors else "")
    return 1 if survivors else 0


def _check_applies(m: Mutation, repo: Path) -> None:
    count = (repo / m.file).read_text().count(m.old)
    if count != 1:
        raise LookupError(f"{m.name}: the text to mutate occurs {count} times in {m.file}")


if __name__ == "__main__":
    sys.exit(main())
