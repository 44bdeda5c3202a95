r"""Neural hybrids for indefinite Helmholtz problems: ``neural-fgmres`` and its ablations.

Why a low-frequency solver is essential here: damped Jacobi multiplies sine
mode ``j`` by ``1 - omega (mu_j - k^2) / d``, so every mode with ``mu_j < k^2``
*grows*; relaxation alone diverges, and a multigrid hierarchy helps only
down to grids that still resolve the waves (``k H`` below about 1).

The design (chosen by the measurements in the README, ``benchmarks/helmholtz.py``):

* A hierarchy of grids truncated at the coarsest grid with
  ``k_max H <= kh_max`` (:func:`solvers.indefinite.resolving_levels`); every
  grid but the coarsest smooths with Gauss-Seidel (the V-cycle of
  :mod:`solvers.multigrid`).
* On the coarsest grid the low band that smoothing amplifies is carried by a
  **learned space**: a small network with Fourier features
  (``sin, cos(w . x)``, ``|w|`` up to ``1.5 k_max``, fixed random
  frequencies) and one tanh layer is trained for ``train_steps`` Adam steps
  on the coarsest grid's discrete least-squares loss
  ``||A_c u - f_c||^2 / ||f_c||^2`` (the energy is unbounded below when
  ``A`` is indefinite); its hidden features times the boundary distance,
  orthonormalised, are the columns of ``Q``. The coarsest solve is
  multiplicative: ``coarse_sweeps`` forward Gauss-Seidel sweeps, the Galerkin
  correction ``e += Q (Q^T A_c Q)^{-1} Q^T (r - A_c e)`` (``Q^T A_c Q`` is small,
  indefinite, LU-factorised), and the backward sweeps.
* The cycle preconditions flexible GMRES (:func:`solvers.indefinite.fgmres`),
  which repairs what the learned space misses (near-resonant modes).
* A run that cuts the residual less than 10x within ``slow_window`` (60)
  steps hands over to ``mg-gmres``'s V-cycle
  (:func:`solvers.indefinite.continue_with_mg_gmres`, event
  ``fallback:mg-gmres``, ``info["handover_iteration"]``), so the method
  converges wherever ``mg-gmres`` does; the message says when, and how far
  the network's training got. ``slow_window=0`` keeps the learned cycle to the end.

Ablations (option ``coarse``), measured in the same benchmark run:

* ``"direct"``: an LU of the coarsest operator instead of the learned space
  (the classical counterpart; with the default ``kh_max`` this is ``mg-gmres``);
* ``"smooth"``: the coarsest grid is only smoothed (no low-frequency solver).

What the learned space misses (``benchmarks/helmholtz_deflation.py``): the
error a cycle truncated at ``k H <= 2`` leaves is the ring of near-resonant
modes ``mu ~ k^2``, which that grid's phase error mis-corrects. A fine-grid
Galerkin deflation by the 129 sine modes nearest ``k^2`` takes FGMRES from 46
iterations to 8 at 255^2 (k = 40.3). The same deflation by the network's
features (:meth:`LearnedSpace.features` on the fine grid) takes 347-445: this
network does not learn the ring. Trained for the ring itself (``loss="ring"``)
it does at k = 20.3 (7 iterations; 6 with the exact modes) but not at
k = 40.3 (2.4x the ideal loss; worse than no deflation). A dense fine-grid
space would not pay at 1023^2 anyway (1 GB and about 30 s of set-up for 129
vectors, where the ring holds about ``0.05 k^2`` modes).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import scipy.linalg as sla

from hybrid.neural_basis import import_torch
from problems import Grid
from problems.parameters import Parameter, Parameters, choice, integer, number
from solvers.indefinite import MG_OPTIONS, SparseLU, resolving_multigrid, run_krylov
from solvers.multigrid.cycle import gauss_seidel as _smooth
from solvers.registry import method

COARSE_KINDS = ("neural", "direct", "smooth")

#: The options of ``neural-fgmres``.
OPTIONS = Parameters(
    MG_OPTIONS,  # restart, kh_max, sweeps: those of mg-gmres, with a coarser coarsest grid
    replace(MG_OPTIONS["kh_max"], default=2.0),
    Parameter(
        "coarse",
        "neural",
        choice(*COARSE_KINDS),
        "'neural' (learned Galerkin space plus smoothing on the coarsest grid),"
        " 'direct' (LU there: the classical counterpart) or 'smooth' (smoothing only)",
    ),
    Parameter(
        "coarse_sweeps",
        0,
        integer(low=0),
        "Gauss-Seidel sweeps around the learned correction (0: on grids with k H near 2 (2D)"
        " or 1.4 (1D) the diagonal of A nearly vanishes and Gauss-Seidel explodes)",
    ),
    Parameter(
        "width", 128, integer(low=1), "hidden units (the learned space has width + 1 functions)"
    ),
    Parameter("fourier", 64, integer(low=1), "Fourier-feature pairs of the network's input layer"),
    Parameter("train_steps", 100, integer(low=1), "Adam steps of training"),
    Parameter("lr", 1e-2, number(low=0, strict_low=True), "Adam learning rate"),
    Parameter(
        "slow_window",
        60,
        integer(low=0),
        "FGMRES steps in which the residual must fall 10x; otherwise mg-gmres's V-cycle"
        " preconditions the rest (0: never)",
    ),
)


def _boundary_distance(grid: Grid) -> np.ndarray:
    """``prod_d (x_d - lo_d)(hi_d - x_d) / ((hi_d - lo_d)/2)^2`` at the grid points (flat):
    1 at the centre, 0 on the boundary, so every feature times it is zero there."""
    d = np.ones(grid.size)
    for c, lo, hi in zip(grid.mesh(), grid.lower, grid.upper, strict=True):
        d = d * ((c - lo) * (hi - c) / ((hi - lo) / 2) ** 2).ravel()
    return d


def _points(grid: Grid):
    """The grid's points as a float64 tensor of shape ``(size, dim)``."""
    import torch

    return torch.as_tensor(np.stack([c.ravel() for c in grid.mesh()], 1), dtype=torch.float64)


class LearnedSpace:
    r"""A network trained on a grid's operator; its features span ``Q``.

    Parameters
    ----------
    op : problems.Operator
        The operator of the training grid (any sign of ``c``).
    rhs : ndarray or None
        The right-hand side on that grid (the fine ``f`` restricted); unused by
        ``loss="ring"``.
    lower, upper : tuple of float
        The box.
    width, fourier, steps, lr, seed
        Hidden units, Fourier-feature pairs, Adam steps and rate, torch seed.
    loss : {"residual", "ring"}
        ``"residual"`` (``neural-fgmres``): the network's output ``u`` fits
        ``||A u - f||^2 / ||f||^2``. ``"ring"``: the features themselves, QR-
        orthonormalised to ``Q``, minimise :math:`\|A Q\|_F^2 / (k^4 m)`, whose
        minimum over ``m``-dimensional spaces is spanned by the ``m`` eigenvectors
        with ``mu`` nearest ``k^2`` (the near-resonant ring); the Fourier
        frequencies are trained too. ``benchmarks/helmholtz_deflation.py``
        measures both as fine-grid deflation spaces.
    """

    def __init__(self, op, rhs, lower, upper, *, width, fourier, steps, lr, seed, loss="residual"):
        import torch

        t0 = time.perf_counter()
        torch.manual_seed(seed)
        grid = Grid(op.shape, lower, upper)
        x = _points(grid)
        d = _boundary_distance(grid)
        k = math.sqrt(max(-float(op.c.min()), 1.0))
        dim = len(op.shape)
        # random frequencies, uniform in a ball of radius 1.5 k: the band the smoother amplifies
        # (mu < k^2) and the near-resonant ring, with margin
        gen = torch.Generator().manual_seed(seed)
        direction = torch.randn(fourier, dim, generator=gen, dtype=torch.float64)
        direction /= direction.norm(dim=1, keepdim=True)
        radius = 1.5 * k * torch.rand(fourier, 1, generator=gen, dtype=torch.float64) ** (1 / dim)
        if loss not in ("residual", "ring"):
            raise ValueError(f"loss must be 'residual' or 'ring'; got {loss!r}")
        ring = loss == "ring"
        self.freq = (direction * radius).requires_grad_(ring)
        self.layer = torch.nn.Linear(2 * fourier, width).double()
        self.head = torch.nn.Linear(width, 1).double()
        A = op.matrix().tocoo()
        A_t = torch.sparse_coo_tensor(
            np.vstack([A.row, A.col]), A.data, size=A.shape, check_invariants=True
        ).coalesce()
        d_t = torch.as_tensor(d, dtype=torch.float64)
        if ring:
            params = [*self.layer.parameters(), self.freq]
        else:
            params = [*self.layer.parameters(), *self.head.parameters()]
            f = torch.as_tensor(np.ascontiguousarray(rhs).ravel(), dtype=torch.float64)
            f2 = float(f @ f) or 1.0
        opt = torch.optim.Adam(params, lr=lr)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        self.loss = []
        try:
            for _ in range(steps):
                opt.zero_grad()
                if ring:
                    Q, _ = torch.linalg.qr(self._basis(x, d_t))
                    AQ = torch.sparse.mm(A_t, Q)
                    value = (AQ * AQ).sum() / (k**4 * Q.shape[1])
                else:
                    u = d_t * self.head(self._hidden(x)).squeeze(-1)
                    r = torch.sparse.mm(A_t, u[:, None]).squeeze(-1) - f
                    value = (r @ r) / f2
                value.backward()
                opt.step()
                self.loss.append(value.item())
            phi = self.features(grid)
        finally:
            torch.set_num_threads(threads)
        # orthonormal columns (SVD), dropping near-dependent directions (tanh features of
        # nearby units are nearly parallel; keeping them made the Galerkin matrix useless)
        U, sv, _ = np.linalg.svd(phi, full_matrices=False)
        self.Q = np.ascontiguousarray(U[:, sv > 1e-6 * sv[0]])
        self.seconds = time.perf_counter() - t0
        self.steps = steps

    def features(self, grid: Grid) -> np.ndarray:
        """The space's functions on any grid of the same box: the hidden features times
        the boundary distance, and the distance itself, one column each (not
        orthonormalised). The network is a continuous function, so the space it
        learned on the coarsest grid can be evaluated on the fine one."""
        import torch

        d = torch.as_tensor(_boundary_distance(grid), dtype=torch.float64)
        with torch.no_grad():
            return self._basis(_points(grid), d).numpy()

    def _basis(self, x, d):
        """The features times the distance ``d``, and ``d`` itself (torch, differentiable)."""
        import torch

        return torch.cat([self._hidden(x) * d[:, None], d[:, None]], dim=1)

    def _hidden(self, x):
        import torch

        z = x @ self.freq.T
        return torch.tanh(self.layer(torch.cat([torch.sin(z), torch.cos(z)], dim=1)))


class GalerkinCoarseSolve:
    r"""``e = S^* (S e + Q G^{-1} Q^T (r - A S e))`` on the coarsest grid, ``G = Q^T A Q`` (LU)."""

    def __init__(self, op, Q, sweeps):
        self.op, self.Q, self.sweeps = op, Q, sweeps
        AQ = np.column_stack(
            [
                op.apply(np.ascontiguousarray(Q[:, j]).reshape(op.shape)).ravel()
                for j in range(Q.shape[1])
            ]
        )
        self.lu = sla.lu_factor(Q.T @ AQ)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        op = self.op
        e = np.zeros(op.shape)
        if self.sweeps:
            _smooth(op, e, r, self.sweeps, "forward")
        rc = (r - op.apply(e)).ravel()
        e += (self.Q @ sla.lu_solve(self.lu, self.Q.T @ rc)).reshape(op.shape)
        if self.sweeps:
            _smooth(op, e, r, self.sweeps, "backward")
        return e


class SmoothOnly:
    """The coarsest grid only smoothed (the ablation without any low-frequency solver)."""

    def __init__(self, op, sweeps):
        self.op, self.sweeps = op, sweeps

    def __call__(self, r):
        e = np.zeros(self.op.shape)
        _smooth(self.op, e, r, self.sweeps, "forward")
        _smooth(self.op, e, r, self.sweeps, "backward")
        return e


def _restrict_to(mg, f):
    v = f
    for t in mg.transfers:
        v = t.restrict(v)
    return v


@method(
    "flexible GMRES preconditioned by a V-cycle whose coarsest grid (k H <= kh_max) is solved by a"
    " learned Fourier-feature Galerkin space plus smoothing",
    OPTIONS,
)
def neural_fgmres(problem, settings, **options):
    """The method ``neural-fgmres`` (module docstring)."""
    options = OPTIONS.resolve(options, "method 'neural-fgmres'")
    coarse, coarse_sweeps = options["coarse"], options["coarse_sweeps"]
    if coarse == "neural":
        import_torch()  # once per process, off the clock
    t0 = time.perf_counter()
    mg = resolving_multigrid(problem.operator, options["kh_max"], options["sweeps"])
    op = mg.levels[-1]
    info = {**mg.info(), "dnn_steps": 0, "seconds_dnn": 0.0, "basis_size": 0}
    if coarse == "direct":
        mg.set_coarse_solve(SparseLU(op))
    elif coarse == "smooth":
        mg.set_coarse_solve(SmoothOnly(op, coarse_sweeps))
    else:
        space = LearnedSpace(
            op,
            _restrict_to(mg, problem.f),
            problem.grid.lower,
            problem.grid.upper,
            width=options["width"],
            fourier=options["fourier"],
            steps=options["train_steps"],
            lr=options["lr"],
            seed=settings.seed,
        )
        mg.set_coarse_solve(GalerkinCoarseSolve(op, space.Q, coarse_sweeps))
        info.update(
            dnn_steps=space.steps,
            seconds_dnn=space.seconds,
            basis_size=int(space.Q.shape[1]),
            final_loss=space.loss[-1],
        )
    setup = time.perf_counter() - t0 - mg.warm_seconds
    result = run_krylov(
        "neural-fgmres",
        problem,
        settings,
        mg.precondition,
        setup,
        options,
        info,
        slow_window=options["slow_window"],
    )
    result.info["sweeps"] = 2 * options["sweeps"] * result.iterations
    handed_over = "handover_iteration" in result.info
    if coarse == "neural" and (handed_over or not result.converged):  # how well it learned
        result.message += (
            f"; the learned coarse space's training loss ended at {space.loss[-1]:.2g}"
            f" (||A_c u - f_c||^2 / ||f_c||^2 on the {'x'.join(map(str, op.shape))} coarsest"
            " grid; coarse='direct' solves it exactly)"
        )
    return result
