r"""Which fine-grid space repairs a coarse Helmholtz cycle? The learned one against exact modes.

``neural-fgmres`` with ``coarse="direct"`` (a V-cycle truncated at ``k H <= 2``
with an LU there, inside FGMRES) needs 5-10x the iterations of ``mg-gmres``,
whose coarsest grid resolves the waves (``k H <= 0.5``): the coarse grid's
phase error mis-corrects the modes near the resonance ring ``mu ~ k^2``. This
script adds a Galerkin *deflation* on the **fine** grid after each cycle,

.. math:: z \leftarrow z + Q (Q^T A Q)^{-1} Q^T (r - A z),

(``Q`` orthonormal, ``A`` the fine operator, so no coarse-grid dispersion), and
compares four spaces of the same size ``m = width + 1``:

* ``none``: no deflation (the ablation ``coarse="direct"`` itself);
* ``learned``: the network of ``neural-fgmres`` (Fourier features, one tanh
  layer), trained on the coarsest grid as that method trains it, its features
  evaluated on the fine grid (:meth:`hybrid.helmholtz.LearnedSpace.features`);
* ``untrained``: the same network after one Adam step;
* ``ring``: the ``m`` sine modes whose eigenvalues lie nearest ``k^2``, the
  exact eigenvectors of the constant-``k`` fine operator (the classical
  counterpart; it needs constant ``k``);
* ``ring-trained``: the same network trained instead for the ring itself
  (``LearnedSpace(loss="ring")``: its QR-orthonormalised features minimise
  ``||A Q||_F^2``, frequencies trained too, :data:`RING_STEPS` Adam steps on a
  grid of ``(n - 1) / 2`` points per axis, at most 127), evaluated on the fine
  grid. The ideal value of that loss (the ``m`` exact ring modes) is reported
  beside the one reached.

Cells: FGMRES iterations to a relative residual of 1e-8, solver seconds, the
deflation's set-up seconds. Run: ``.venv/bin/python
benchmarks/helmholtz_deflation.py`` (255^2, about a minute; ``--quick``: 63^2,
a smoke run); ``--large`` adds 1023^2 at k = 40.3 (a 1 GB dense ``Q``; several
minutes). Writes ``benchmarks/results/helmholtz_deflation.{json,md}``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg as sla

# This folder holds a file named like the package `hybrid`: keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import problems  # noqa: E402
from hybrid.helmholtz import LearnedSpace, _restrict_to  # noqa: E402
from hybrid.neural_basis import import_torch  # noqa: E402
from solvers.indefinite import mg_gmres_cycle, run_krylov  # noqa: E402
from solvers.registry import make_settings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
RTOL = 1e-8
KH_MAX = 2.0  # neural-fgmres' default coarsest grid
WIDTH = 128  # neural-fgmres' default: m = 129 functions
SPACES = ("none", "learned", "untrained", "ring", "ring-trained")
#: Adam steps (rate 1e-2) of the ring-trained network.
RING_STEPS = 300


def ring_modes(p, m: int) -> np.ndarray:
    """The ``m`` orthonormal sine modes of ``p``'s grid whose eigenvalues lie nearest ``k^2``."""
    n1, n2 = p.shape
    mu = problems.operators.constant_eigenvalues(p.shape, p.grid.h)
    nearest = np.argsort(np.abs(mu - p.wavenumber**2).ravel())[:m]
    rows, cols = np.unravel_index(nearest, mu.shape)
    s1 = np.sqrt(2 / (n1 + 1)) * np.sin(
        np.pi * np.outer(np.arange(1, n1 + 1), np.arange(1, n1 + 1)) / (n1 + 1)
    )
    s2 = np.sqrt(2 / (n2 + 1)) * np.sin(
        np.pi * np.outer(np.arange(1, n2 + 1), np.arange(1, n2 + 1)) / (n2 + 1)
    )
    return np.stack(
        [np.outer(s1[:, i], s2[:, j]).ravel() for i, j in zip(rows, cols, strict=True)], 1
    )


def network(p, op, rhs, steps: int, seed: int, loss: str = "residual"):
    """The network of ``neural-fgmres`` (its width and Fourier features), trained on ``op``
    with ``loss``; returns its features on ``p``'s grid and the training record."""
    learned = LearnedSpace(
        op,
        rhs,
        p.grid.lower,
        p.grid.upper,
        width=WIDTH,
        fourier=64,
        steps=steps,
        lr=1e-2,
        seed=seed,
        loss=loss,
    )
    info = {"train_seconds": learned.seconds, "loss": learned.loss[-1]}
    return learned.features(p.grid), info


def space(p, mg, kind: str, seed: int) -> tuple[np.ndarray, dict]:
    """Columns spanning the deflation space ``kind`` on ``p``'s (fine) grid."""
    if kind == "ring":
        return ring_modes(p, WIDTH + 1), {}
    if kind == "ring-trained":  # on a grid of (n - 1) / 2 points, at most 127
        n = min((p.shape[0] - 1) // 2, 127)
        train = problems.get("helmholtz2d", n=n, k=p.wavenumber, rhs="constant")
        phi, info = network(p, train.operator, None, RING_STEPS, seed, loss="ring")
        mu = problems.operators.constant_eigenvalues(train.shape, train.grid.h).ravel()
        ideal = np.sort((mu - p.wavenumber**2) ** 2)[: WIDTH + 1].mean() / p.wavenumber**4
        return phi, {**info, "train_grid": n, "ideal_loss": float(ideal)}
    steps = 100 if kind == "learned" else 1
    return network(p, mg.levels[-1], _restrict_to(mg, p.f), steps, seed)


def run(p, kind: str, seed: int = 0) -> dict:
    op = p.operator
    t0 = time.perf_counter()
    mg = mg_gmres_cycle(op, KH_MAX, 2)
    info: dict = {"coarsest": "x".join(map(str, mg.levels[-1].shape))}
    precondition = mg.precondition
    if kind != "none":
        phi, extra = space(p, mg, kind, seed)
        info.update(extra)
        Q, _ = np.linalg.qr(phi)
        AQ = np.column_stack(
            [
                op.apply(np.ascontiguousarray(Q[:, j]).reshape(op.shape)).ravel()
                for j in range(Q.shape[1])
            ]
        )
        lu = sla.lu_factor(Q.T @ AQ)
        info["m"] = int(Q.shape[1])

        def precondition(r, cycle=mg.precondition):
            z = cycle(r)
            z += (Q @ sla.lu_solve(lu, Q.T @ (r - op.apply(z)).ravel())).reshape(op.shape)
            return z

    setup = time.perf_counter() - t0 - mg.warm_seconds
    settings = make_settings(p, rtol=RTOL, max_seconds=120, seed=seed)
    r = run_krylov("deflated-fgmres", p, settings, precondition, setup, {"restart": 50}, {})
    return {
        "case": f"helmholtz2d {p.shape[0]}^2 k={p.wavenumber:g}",
        "space": kind,
        "converged": bool(r.converged),
        "iterations": int(r.iterations),
        "seconds": float(r.seconds),
        "setup_seconds": setup,
        **info,
    }


def markdown(rows) -> str:
    cases = list(dict.fromkeys(r["case"] for r in rows))
    lines = [
        "FGMRES iterations / solver seconds (set-up in brackets) to 1e-8; cycle truncated at"
        f" k H <= {KH_MAX} with an LU there, fine-grid deflation by {WIDTH + 1} functions.",
        "",
        "| case | coarsest | " + " | ".join(SPACES) + " |",
        "|" + "---|" * (2 + len(SPACES)),
    ]
    for case in cases:
        by = {r["space"]: r for r in rows if r["case"] == case}
        cells = []
        for s in SPACES:
            r = by[s]
            text = f"{r['iterations']} / {r['seconds']:.2f} s ({r['setup_seconds']:.2f} s)"
            cells.append(text if r["converged"] else f"not converged: {text}")
        lines.append(f"| {case} | {by['none']['coarsest']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--large", action="store_true", help="also 1023^2 at k = 40.3")
    ap.add_argument("--quick", action="store_true", help="63^2 at k = 10.3 only (smoke test)")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    import_torch()
    if args.quick:
        cases = [(63, 10.3)]
    else:
        cases = [(255, 20.3), (255, 40.3)] + ([(1023, 40.3)] if args.large else [])
    rows = []
    for n, k in cases:
        p = problems.get("helmholtz2d", n=n, k=k, rhs="constant")
        for kind in SPACES:
            rows.append(run(p, kind))
            print(rows[-1], flush=True)
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    stem = "helmholtz_deflation-quick" if args.quick else "helmholtz_deflation"
    doc = {"title": __doc__.splitlines()[0], "quick": args.quick, "rows": rows}
    (folder / f"{stem}.json").write_text(json.dumps(doc, indent=1))
    (folder / f"{stem}.md").write_text(markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
