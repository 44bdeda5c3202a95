r"""Neural multilevel hybrids: ``neural-twolevel``, ``neural-pcg`` and :class:`HybridSolver`.

The design, and why (measurements in README.md):

* A network is trained briefly (:mod:`hybrid.neural_basis`) with the
  discrete energy on a small sample grid. By the Frequency Principle it
  learns the solution's low frequencies first; its prediction, evaluated on
  the coarsest grid and interpolated up, is the starting iterate
  (``initial="dnn"``), and its hidden features, ``A``-orthonormalised, are
  the coarse space.
* A learned space of a few dozen functions spans only the lowest
  frequencies, and the smoother only the upper half: on a single fine grid
  (``levels=1``, the two-level scheme) the band between them
  converges slowly, and more slowly on finer grids. So the learned space
  serves the *coarsest* grid of a hierarchy (:mod:`solvers.multigrid`) on
  which every band of frequencies is high somewhere and is smoothed there.
* ``neural-twolevel`` iterates the cycle; the correction that comes from the
  coarse grids is scaled by its energy-optimal step, so each cycle is a
  Galerkin projection and never increases the error's energy norm. When a
  cycle's residual reduction is worse than ``enrich_above``, the cycle's
  correction, restricted to the coarsest grid, is added to the learned
  space (``enrich``).
* ``neural-pcg`` uses the symmetric cycle (forward sweeps before, backward
  after; no step scaling, no enrichment, so it is a fixed SPD operator) as
  the preconditioner of conjugate gradients.

One iteration is one cycle (``neural-twolevel``) or one CG step
(``neural-pcg``); results report ``sweeps`` (fine-grid smoothing sweeps),
``dnn_steps`` (training steps) and the time split.
"""

from __future__ import annotations

import time

import numpy as np

from hybrid.neural_basis import a_orthonormalize, import_torch, train_basis
from problems import Grid
from problems.parameters import (
    Parameter,
    Parameters,
    boolean,
    choice,
    integer,
    number,
    optional,
)
from solvers import krylov
from solvers.driver import finish, stop_message
from solvers.multigrid import Multigrid, batch
from solvers.multigrid.cycle import gauss_seidel as _smooth
from solvers.multigrid.solver import OPTIONS as MG_OPTIONS
from solvers.multigrid.solver import driver as stationary_driver
from solvers.multigrid.solver import stationary
from solvers.reference import require_definite
from solvers.registry import make_settings, method

COARSE_KINDS = ("neural", "direct")
#: Cycles of ``neural-twolevel`` when ``maxiter`` is not given (that of ``multigrid``).
MAXITER = 500
INITIAL_KINDS = ("dnn", "zero")

OPTIONS = Parameters(
    MG_OPTIONS.without("smoother", "precision"),  # the cycle the network plugs into
    Parameter(
        "coarse",
        "neural",
        choice(*COARSE_KINDS),
        "'neural' (default: learned Galerkin space plus smoothing) or 'direct'"
        " (Cholesky of the coarsest operator; an ablation without the network)",
    ),
    Parameter(
        "coarse_sweeps",
        4,
        integer(low=1),
        "smoothing sweeps around the learned correction on the coarsest grid",
    ),
    Parameter(
        "width",
        32,
        integer(low=1),
        "hidden units per layer of the network (the basis has width + 1)",
    ),
    Parameter("depth", 2, integer(low=1), "hidden layers"),
    Parameter("train_steps", 50, integer(low=1), "Adam steps of training"),
    Parameter("lr", 1e-2, number(low=0, strict_low=True), "Adam learning rate"),
    Parameter(
        "sample",
        None,
        optional(integer(low=1)),
        "training grid points per axis (default None: the coarsest grid)",
    ),
    Parameter(
        "initial",
        "dnn",
        choice(*INITIAL_KINDS),
        "'dnn' (default: start from the network's prediction) or 'zero'",
    ),
)
TWOLEVEL_OPTIONS = Parameters(
    OPTIONS,
    Parameter("enrich", True, boolean(), "add slow correction directions to the learned space"),
    Parameter(
        "enrich_above",
        0.5,
        number(low=0),
        "residual reduction per cycle above which a cycle enriches",
    ),
)


class HybridSolver:
    """Train once, then solve many right-hand sides of the same operator.

    Parameters
    ----------
    problem : problems.Problem
        The operator (and the right-hand side the network is trained on).
    levels, coarsest, sweeps, coarse, coarse_sweeps, width, depth, train_steps, lr, sample, initial
        See ``hybrid.neural.OPTIONS`` (also ``fpsolve methods``).
    seed : int
        Seeds the network's initialisation.
    device : {"auto", "cpu", "cuda"}
        Where the network trains.

    Examples
    --------
    >>> import numpy as np, problems
    >>> from hybrid import HybridSolver
    >>> p = problems.get("random2d", n=31)
    >>> hs = HybridSolver(p, train_steps=20)
    >>> r = hs.solve(np.ones(p.shape), rtol=1e-10)
    >>> r.converged, r.relative_residual < 1e-10
    (True, True)
    """

    def __init__(
        self,
        problem,
        *,
        levels="auto",
        coarsest=15,
        sweeps=2,
        coarse="neural",
        coarse_sweeps=4,
        width=32,
        depth=2,
        train_steps=50,
        lr=1e-2,
        sample=None,
        initial="dnn",
        seed=0,
        device="auto",
    ):
        o = OPTIONS.resolve(
            {
                "levels": levels,
                "coarsest": coarsest,
                "sweeps": sweeps,
                "coarse": coarse,
                "coarse_sweeps": coarse_sweeps,
                "width": width,
                "depth": depth,
                "train_steps": train_steps,
                "lr": lr,
                "sample": sample,
                "initial": initial,
            },
            "HybridSolver",
        )
        coarse, initial, sample = o["coarse"], o["initial"], o["sample"]
        #: The options in use (converted, defaults filled in).
        self.options = o
        self.problem = problem
        self.coarse_sweeps = o["coarse_sweeps"]
        self.coarse = coarse
        self.initial = initial
        if coarse == "neural" or initial == "dnn":
            import_torch()  # once per process, off the clock
        t0 = time.perf_counter()
        # the classical hierarchy and cycle (mg-pcg's); the network plugs into its
        # coarsest solve and its first guess
        self.mg = Multigrid(
            problem.operator,
            levels=o["levels"],
            coarsest=o["coarsest"],
            sweeps=o["sweeps"],
            coarse_solve=None if coarse == "direct" else np.zeros_like,
        )
        self.levels, self.cycle, self.sweeps = self.mg.levels, self.mg.cycle, self.mg.sweeps
        coarse_op = self.levels[-1]
        self.basis_net = None
        self.train_seconds = 0.0
        if coarse == "neural" or initial == "dnn":
            if sample is None:
                sample = (
                    max(coarse_op.shape) if len(self.levels) > 1 else min(63, max(problem.shape))
                )
            self.basis_net = train_basis(
                problem,
                width=o["width"],
                depth=o["depth"],
                sample=sample,
                steps=o["train_steps"],
                lr=o["lr"],
                seed=seed,
                device=device,
            )
            self.train_seconds = self.basis_net.seconds
        if coarse == "neural":
            grid = Grid(coarse_op.shape, problem.grid.lower, problem.grid.upper)
            self.Q = a_orthonormalize(self.basis_net.features(grid), self._apply_coarse)
            self.mg.set_coarse_solve(self._coarse_solve)
        else:
            self.Q = None
        self.setup_seconds = time.perf_counter() - t0 - self.mg.warm_seconds
        self.enrichments = 0
        self.note = ""

    # -- the coarsest level ------------------------------------------------------
    def _apply_coarse(self, v):
        op = self.levels[-1]
        return op.apply(v.reshape(op.shape)).ravel()

    def _coarse_solve(self, r: np.ndarray) -> np.ndarray:
        """Symmetric approximate inverse on the coarsest grid."""
        op = self.levels[-1]
        e = np.zeros(op.shape)
        _smooth(op, e, r, self.coarse_sweeps, "forward")
        e += (self.Q @ (self.Q.T @ (r - op.apply(e)).ravel())).reshape(op.shape)
        _smooth(op, e, r, self.coarse_sweeps, "backward")
        return e

    def enrich(self, direction: np.ndarray) -> bool:
        """Add ``direction`` (a fine-grid vector), restricted to the coarsest grid, to ``Q``."""
        if self.Q is None:
            return False
        v = direction
        for t in self.cycle.transfers:
            v = t.restrict(v)
        v = v.ravel()
        Av = self._apply_coarse(v)
        norm_before = np.sqrt(max(float(v @ Av), 0.0))
        v = v - self.Q @ (self.Q.T @ Av)
        Av = self._apply_coarse(v)
        norm = np.sqrt(max(float(v @ Av), 0.0))
        if norm <= 1e-6 * norm_before or norm == 0.0:
            return False
        self.Q = np.column_stack([self.Q, v / norm])
        self.enrichments += 1
        return True

    # -- solving -----------------------------------------------------------------
    def initial_guess(self, problem) -> np.ndarray:
        """The network's prediction (``initial="dnn"``, the problem's own ``f``), else zero.

        The network is evaluated on the coarsest grid, where it was trained, and
        interpolated up the hierarchy: it carries the low frequencies only, and
        evaluating it at every fine point (0.6 s at 1023^2) would cost more than
        the whole solve. The interpolation error is the smoother's to remove.
        """
        if self.initial != "dnn" or problem.f is not self.problem.f:
            return np.zeros(problem.shape)
        coarse = self.levels[-1].shape
        u = self.basis_net.predict(Grid(coarse, problem.grid.lower, problem.grid.upper))
        for t in reversed(self.cycle.transfers):
            u = t.prolong(u)
        return u

    def solve(
        self,
        f=None,
        *,
        method="neural-pcg",
        x0=None,
        rtol=1e-8,
        maxiter=None,
        max_seconds=None,
        record_every=None,
        enrich=True,
        enrich_above=0.5,
        batched=False,
    ):
        """Solve ``A u = f`` (``f`` grid values; default the problem's own) reusing the setup.

        ``method`` is ``"neural-pcg"`` or ``"neural-twolevel"``. The result's
        time axis starts after the setup (``info["setup_seconds"]``). A batch
        ``f`` of shape ``(m, *shape)`` (and ``x0`` of the same shape, if given)
        returns a list of ``m`` results, each the same as its solve alone.

        ``batched=True`` (``neural-pcg`` from zero; the Chebyshev cycle on nested
        2D grids) sweeps the batch in one pass (:mod:`solvers.multigrid.batch`,
        the learned coarsest solve applied column by column); each result then
        records only its first and last iterate, and its ``seconds`` are the
        whole batch's.
        """
        if method not in ("neural-pcg", "neural-twolevel"):
            raise ValueError(f"method must be 'neural-pcg' or 'neural-twolevel'; got {method!r}")
        if batched:
            return self._solve_batched(f, method, x0, rtol, maxiter, max_seconds, record_every)
        if f is not None and np.ndim(f) == self.problem.dim + 1:
            if x0 is not None and np.shape(x0) != np.shape(f):
                raise ValueError(
                    f"x0 must have the batch's shape {np.shape(f)}, got {np.shape(x0)}"
                )
            kwargs = dict(
                method=method,
                rtol=rtol,
                maxiter=maxiter,
                max_seconds=max_seconds,
                record_every=record_every,
                enrich=enrich,
                enrich_above=enrich_above,
            )
            return [
                self.solve(fk, x0=None if x0 is None else x0[k], **kwargs) for k, fk in enumerate(f)
            ]

        problem = self.problem if f is None else self.problem.with_rhs(f)
        settings = make_settings(
            problem,
            x0=x0,
            rtol=rtol,
            maxiter=maxiter,
            max_seconds=max_seconds,
            record_every=record_every,
            errors=False,  # never a hidden reference solve per right-hand side
        )
        checked = TWOLEVEL_OPTIONS.resolve(
            {"enrich": enrich, "enrich_above": enrich_above}, "HybridSolver.solve"
        )
        enrich, enrich_above = checked["enrich"], checked["enrich_above"]
        options = dict(self.options)
        if method == "neural-twolevel":
            options.update(enrich=enrich, enrich_above=enrich_above)
        return self._run(
            problem, settings, method, enrich, enrich_above, offset=0.0, options=options
        )

    def _solve_batched(self, F, method, x0, rtol, maxiter, max_seconds, record_every):
        """:meth:`solve` of a batch in one pass (:func:`solvers.multigrid.batch.pcg`)."""
        if method != "neural-pcg" or x0 is not None or max_seconds is not None:
            raise ValueError(
                "batched=True runs neural-pcg from zero without max_seconds; got"
                f" method={method!r}, x0 {'given' if x0 is not None else 'None'},"
                f" max_seconds={max_seconds!r}"
            )
        F = np.asarray(F, dtype=np.float64)
        if F.ndim != self.problem.dim + 1 or F.shape[1:] != tuple(self.problem.shape):
            raise ValueError(
                f"a batch f must have shape (m, *{tuple(self.problem.shape)}), got {F.shape}"
            )
        runs = []
        for fk in F:
            problem = self.problem.with_rhs(fk)
            settings = make_settings(
                problem, rtol=rtol, maxiter=maxiter, record_every=record_every, errors=False
            )
            drv = krylov.driver(problem, settings, method, phase="multilevel")
            drv.record(0, np.zeros(problem.shape))
            runs.append((problem, settings, drv))
        for _, _, drv in runs:
            drv.recorder.restart_clock()
        U, its, reasons = batch.pcg(self.cycle, F, rtol=rtol, maxiter=maxiter)
        results = []
        for (problem, settings, drv), u, it, why in zip(runs, U, its, reasons, strict=True):
            info = {
                "cycles": it,
                "sweeps": 2 * self.sweeps * it,
                "dnn_steps": self.basis_net.steps if self.basis_net is not None else 0,
                "levels": len(self.levels),
                "coarsest_shape": list(self.levels[-1].shape),
                "basis_size": 0 if self.Q is None else int(self.Q.shape[1]),
                "setup_seconds": self.setup_seconds,
                "batched": len(runs),
            }
            message = stop_message(why, it, "", drv.unit)
            results.append(
                finish(problem, method, self.options, settings, u, recorder=drv.recorder,
                       iterations=it, reason=why, message=message, info=info)
            )  # fmt: skip
        return results

    def _run(self, problem, settings, method, enrich, enrich_above, offset, options):
        """Iterate from the initial guess; ``offset`` puts the setup on the time axis."""
        phase = "dnn" if self.initial == "dnn" else "multilevel"
        if method == "neural-pcg":
            drv = krylov.driver(problem, settings, method, phase=phase)
        else:
            drv = stationary_driver(problem, settings, method, phase=phase, default_maxiter=MAXITER)
        rec = drv.recorder
        rec.restart_clock(offset)  # the initial guess is on the clock
        u = self.initial_guess(problem) if settings.x0 is None else settings.x0.copy()
        drv.record(0, u)
        if self.initial == "dnn":
            rec.mark("switch", 0)
        rec.phase = "multilevel"
        sweeps_per_cycle = 2 * self.sweeps
        if method == "neural-pcg":
            # z in the cycle's own buffer (CG uses it before the next cycle): no copy, and
            # no new array per step
            precondition = self.cycle.precondition_in_place
            u = krylov.pcg(problem, settings, precondition, drv, u, record_start=False)
        else:
            u = self._stationary(drv, u, enrich, enrich_above)
        it = drv.iterations
        info = {
            "cycles": it,
            "sweeps": it * sweeps_per_cycle,
            "dnn_steps": self.basis_net.steps if self.basis_net is not None else 0,
            "levels": len(self.levels),
            "coarsest_shape": list(self.levels[-1].shape),
            "basis_size": 0 if self.Q is None else int(self.Q.shape[1]),
            "enrichments": self.enrichments,
            "seconds_dnn": self.train_seconds if offset else 0.0,
            "setup_seconds": self.setup_seconds,
            "seconds_relaxation": rec.elapsed() - offset,
        }
        if self.note:
            drv.message = "; ".join(m for m in (drv.message, self.note) if m)
        return drv.result(u, options, info=info)

    def _stationary(self, drv, u, enrich, enrich_above):
        before = [None]

        def step(u, f):
            before[0] = u.copy() if enrich else None
            self.step(u, f)

        def after(res_before, res_after):
            # a cycle that reduced the residual too little adds its direction to Q
            if enrich and res_after > enrich_above * res_before:
                self.enrich(u - before[0])

        return stationary(drv, u, step, after=after, record_start=False)

    def step(self, u: np.ndarray, f: np.ndarray) -> np.ndarray:
        """One cycle on ``A u = f`` in place; its coarse correction takes the energy-optimal step.

        With ``delta`` the correction from the coarse grids and ``r`` the
        residual, ``alpha = delta^T r / delta^T A delta`` minimises the
        error's energy along ``delta``; Gauss-Seidel sweeps never increase it
        either, so the cycle is monotone in the energy norm.
        """
        op = self.levels[0]
        _smooth(op, u, f, self.sweeps, "forward")
        r = f - op.apply(u)
        if len(self.levels) == 1:
            delta = self._coarse_solve(r)
        else:
            t = self.cycle.transfers[0]
            delta = t.prolong(self.cycle(t.restrict(r), None, 1))
        d_a_d = float(np.vdot(delta, op.apply(delta)))
        if d_a_d > 0:
            u += (float(np.vdot(delta, r)) / d_a_d) * delta
        _smooth(op, u, f, self.sweeps, "backward")
        return u


@method(
    "multilevel cycles whose coarsest space is a network's features; energy-monotone",
    TWOLEVEL_OPTIONS,
    spd=True,
)
def neural_twolevel(problem, settings, enrich=True, enrich_above=0.5, **options):
    require_definite(problem, "neural-twolevel")
    hs = HybridSolver(problem, seed=settings.seed, device=settings.device, **options)
    recorded = {**hs.options, "enrich": enrich, "enrich_above": enrich_above}
    return hs._run(
        problem,
        settings,
        "neural-twolevel",
        enrich,
        enrich_above,
        offset=hs.setup_seconds,
        options=recorded,
    )


@method("CG preconditioned by the symmetric neural multilevel cycle", OPTIONS, spd=True)
def neural_pcg(problem, settings, **options):
    require_definite(problem, "neural-pcg")
    hs = HybridSolver(problem, seed=settings.seed, device=settings.device, **options)
    return hs._run(
        problem, settings, "neural-pcg", False, 0.5, offset=hs.setup_seconds, options=hs.options
    )
