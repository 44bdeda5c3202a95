r"""HINTS: relaxation with a pretrained neural operator in the loop (``hints``, ``hints-krylov``).

The cycle (Zhang et al., *Nature Machine Intelligence* 2024), for ``A u = f``:

1. ``n_r`` relaxation sweeps (lexicographic Gauss-Seidel, or damped Jacobi);
2. the operator step: with ``r = f - A u``, restricted by full weighting to
   the operator's sensor grid (:mod:`solvers.multigrid` transfers; exact zero
   boundary values throughout),

   .. math:: d = P\, s\, N\!\left(a_c, \frac{R r}{s}\right), \qquad s = \mathrm{rms}(R r),

   and ``u <- u + alpha d`` with the energy-optimal step
   ``alpha = d^T r / d^T A d`` (SPD: the energy norm of the error never
   grows) or the minimal-residual step ``alpha = (A d)^T r / |A d|^2``
   (indefinite).

``levels=1`` is the anchor's single-grid scheme. ``levels="auto"`` puts the
same steps on a grid hierarchy down to the sensor grid (as the anchor's 3D
runs do): V(``sweeps``, ``sweeps``) cycles whose coarsest solve is
``n_r / 2`` sweeps, the operator step and ``n_r / 2`` backward sweeps. For an
indefinite (Helmholtz) problem the coarsest solve is the operator step alone:
on the 31-point grid ``k h`` reaches 1 at ``k = 32``, where a Gauss-Seidel
sweep multiplies the band below ``k^2`` by up to 2 (measured: with sweeps
there the V-cycle diverges from ``k0 = 16``, without them it converges).

The classical ablation of the network is ``coarse="direct"``: the same
cycle with the operator step's ``N`` replaced by an exact sparse LU solve of
the operator on the same sensor grid (:class:`ExactCoarseSolve`);
``operator=False`` drops the step altogether.

Stagnation (false fixed points, Wu, van Beek, Dolean, Heinlein 2026: the
network's update vanishes while the residual does not): each operator step
measures, on the sensor grid, the fraction of the error the best multiple
of the network's output ``e_c`` leaves,
``min_t |r_c - t A_c e_c|_W / |r_c|_W`` with ``W`` the inverse Laplacian
(diagonal in the sine basis: the error's energy up to the coefficient's
contrast; the plain residual norm would weigh the high frequencies the
sweeps handle). ``patience`` (3) steps in a row above ``stall_ratio`` (0.9)
mark a ``stall`` event in the history and the method falls
back (``fallback``):
``krylov`` continues with conjugate gradients preconditioned by the
symmetric relaxation alone (flexible GMRES for indefinite problems),
``relaxation`` drops the operator and keeps sweeping, ``none`` carries on.
On an indefinite problem the stationary cycle can also *diverge* with an
operator that is not accurate enough (relaxation amplifies the band below
``k^2``): ``patience`` cycles in a row that raise the residual (or one that raises it
tenfold) mark a
``diverging`` event and ``hints`` continues by flexible GMRES preconditioned
by the same cycle, operator included (unless ``fallback="none"``).

On an indefinite problem a flexible GMRES preconditioned by the HINTS cycle
(the continuation above, or ``hints-krylov``) must also cut the residual 10x
(:data:`solvers.indefinite.SLOW_FACTOR`) within ``slow_window`` (60) steps. Measured in 2D, a
31^2 operator grid cannot carry waves with ``k H`` near 1 even with an exact
solve there, and FGMRES then crawls for thousands of steps. When it is that
slow, a ``fallback:mg-gmres`` event is marked and flexible GMRES continues from
the current iterate preconditioned by ``mg-gmres``'s V-cycle (coarsest grid
with ``k H <= 0.5``, LU there; :func:`solvers.indefinite.continue_with_mg_gmres`).
Its fine-grid sweeps count in ``sweeps``, and the message says when it took over.
``slow_window=0`` keeps the HINTS cycle to the end (the ablations use this).

``hints-krylov`` uses one cycle from zero (``n_r/2`` forward sweeps, the
operator step, ``n_r/2`` backward sweeps; or the V-cycle) as the
preconditioner of *flexible* CG (Notay's FCG(1): the network makes the
preconditioner nonlinear, so plain CG's theory does not hold) for SPD
problems, flexible GMRES for indefinite ones. A stalled operator is dropped
from the preconditioner.

Counting: for ``hints`` with ``levels=1`` one iteration is one sweep or one
operator step (as the anchor counts); with ``levels="auto"`` one V-cycle;
for ``hints-krylov`` one Krylov step. ``info`` reports ``sweeps`` (fine-grid
sweeps), ``operator_steps``, the time in the network and the events.

The loops are :class:`solvers.driver.Driver`'s: the methods supply the cycle
or the Krylov step and its measurement; budgets, the stopping tests, the
history and the stop reason are the driver's. A Krylov fallback ends the
stationary run (reason ``callback``) and continues under a second driver on
the same history, budget and clock, whose stop reason the result reports.

Examples
--------
>>> import problems, hybrid
>>> p = problems.get("varcoef1d", n=31)
>>> r = hybrid.solve(p, "hints", rtol=1e-10)
>>> r.converged, r.info["operator_steps"] > 0
(True, True)
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from hybrid.operators import operator_for
from problems.parameters import (
    Parameter,
    Parameters,
    boolean,
    choice,
    either,
    integer,
    number,
    optional,
    path,
)
from solvers.driver import Driver
from solvers.indefinite import MG_OPTIONS, SLOW_FACTOR, continue_with_mg_gmres
from solvers.multigrid import Multigrid
from solvers.multigrid.hierarchy import build_levels, resample_operator
from solvers.multigrid.transfer import transfer
from solvers.registry import method
from solvers.relaxation import relax

SMOOTHERS = ("gauss-seidel", "jacobi")
FALLBACKS = ("krylov", "relaxation", "none")
COARSE = ("network", "direct")
#: Krylov steps without a 10% lower residual that count as stagnation (CG with a
#: relaxation-only preconditioner plateaus for dozens of steps at high contrast).
STAGNATION_WINDOW = 200
#: The slow run, as the hand-over message names it.
SLOW_WHAT = "the HINTS-preconditioned flexible GMRES"
#: Fine-grid sweeps per step of the resolving fallback (mg-gmres's V-cycle).
FALLBACK_SWEEPS = 2 * MG_OPTIONS["sweeps"].default
#: Iterations when ``maxiter`` is not given.
MAXITER = {"hints": 10**7, "hints-krylov": 2000}

OPTIONS = Parameters(
    Parameter(
        "weights",
        None,
        optional(path()),
        "a model file from fpsolve train-operator (None: the shipped model of the problem's"
        " family)",
    ),
    Parameter("n_r", 25, integer(low=0), "relaxation sweeps between operator steps"),
    Parameter(
        "smoother", "gauss-seidel", choice(*SMOOTHERS), "'gauss-seidel' or 'jacobi' (damped, omega)"
    ),
    Parameter("omega", 2 / 3, number(0, 2, open=True), "damping of the Jacobi smoother"),
    Parameter(
        "levels",
        1,
        either(choice("auto"), integer(low=1)),
        "1 (the anchor's single grid) or 'auto' (a grid hierarchy down to the operator's grid,"
        " the operator as its coarsest solve)",
    ),
    Parameter(
        "grid",
        None,
        optional(integer(low=3)),
        "points per axis of the grid the operator runs on (None: its sensor grid, 31; others"
        " need an fno model)",
    ),
    Parameter(
        "sweeps",
        2,
        integer(low=1),
        "with levels='auto': sweeps before and after each coarse correction",
    ),
    Parameter(
        "operator", True, boolean(), "use the network (False is the ablation: relaxation alone)"
    ),
    Parameter(
        "coarse",
        "network",
        choice(*COARSE),
        "what the operator step applies on its grid: 'network' (the pretrained operator) or"
        " 'direct' (the classical ablation: a sparse LU solve of the same grid's operator)",
    ),
    Parameter(
        "stall_ratio",
        0.9,
        number(0, 1, strict_low=True),
        "an operator step that leaves more than this fraction of the error on its own grid (best"
        " multiple of its output, inverse-Laplacian norm) counts as stalled",
    ),
    Parameter("patience", 3, integer(low=1), "stalled operator steps in a row before the fallback"),
    Parameter(
        "fallback", "krylov", choice(*FALLBACKS), "after a stall: 'krylov', 'relaxation' or 'none'"
    ),
    Parameter(
        "slow_window",
        60,
        integer(low=0),
        "indefinite problems: flexible-GMRES steps with the HINTS cycle in which the residual"
        " must fall 10x; otherwise mg-gmres's resolving V-cycle preconditions the rest (0: never)",
    ),
)


def _int_option(name, value, low=1) -> int:
    return Parameter(name, convert=integer(low=low))(value)


def _removable(r: np.ndarray, ae: np.ndarray) -> float:
    r"""``min_t |r - t ae|_W / |r|_W`` with ``W`` the inverse of the constant-coefficient
    Laplacian (diagonal in the sine basis): the fraction of the error's energy (up to the
    coefficient's contrast) that the step along ``e`` leaves.

    >>> r = np.sin(np.pi * np.arange(1, 8) / 8)
    >>> round(_removable(r, 2 * r), 12), round(_removable(r, np.zeros(7)), 12)
    (0.0, 1.0)
    """
    import scipy.fft

    k = np.meshgrid(*(np.arange(1, n + 1) / (n + 1) for n in r.shape), indexing="ij")
    w = 1.0 / sum(np.sin(0.5 * np.pi * kk) ** 2 for kk in k)
    rh = scipy.fft.dstn(r, type=1, norm="ortho")
    ah = scipy.fft.dstn(ae, type=1, norm="ortho")
    rr, aa, ar = (float(np.sum(w * x * y)) for x, y in ((rh, rh), (ah, ah), (ah, rh)))
    if rr <= 0 or aa <= 0:
        return 1.0
    return math.sqrt(max(1.0 - ar * ar / (aa * rr), 0.0))


class ExactCoarseSolve:
    """The classical counterpart of the network (``coarse="direct"``): ``e = A_c^{-1} r`` by a
    sparse LU of the operator the network would see (the sensor grid's, 31 points per axis),
    factored on first use and kept. It has the attributes of a
    :class:`~hybrid.operators.NeuralOperator` that :class:`HintsCycle` reads.

    >>> from problems.operators import Operator
    >>> op = Operator((np.ones(4),), np.zeros(3), (0.25,))
    >>> e = ExactCoarseSolve().correction(op, np.ones(3))
    >>> bool(np.allclose(op.apply(e), 1.0))
    True
    """

    arch = "direct"
    family = None
    path = None
    transfers = False

    def __init__(self, sensors: int = 31):
        self.sensors = sensors
        self._lu = {}

    def correction(self, op, r: np.ndarray) -> np.ndarray:
        from problems.problem import sparse_lu

        key = id(op)
        if key not in self._lu:
            self._lu[key] = (op, sparse_lu(op.matrix()))
        return self._lu[key][1].solve(r.reshape(-1)).reshape(r.shape)


class HintsCycle:
    """The HINTS cycle on one operator (module docstring), set up once.

    Parameters
    ----------
    op : problems.Operator
        The fine-grid operator.
    model : hybrid.operators.NeuralOperator or None
        ``None`` (or ``use_operator=False``) gives relaxation alone.
    n_r, smoother, omega, levels, sweeps
        As the method options.
    definite : bool
        Energy-optimal (True) or minimal-residual (False) step lengths.
    """

    def __init__(
        self,
        op,
        model,
        *,
        n_r=25,
        smoother="gauss-seidel",
        omega=2 / 3,
        levels=1,
        sweeps=2,
        grid=None,
        definite=True,
        use_operator=True,
    ):
        if smoother not in SMOOTHERS:
            raise ValueError(f"smoother must be one of {', '.join(SMOOTHERS)}; got {smoother!r}")
        if levels not in (1, "1", "auto"):
            raise ValueError(f"levels must be 1 or 'auto'; got {levels!r}")
        omega = float(omega)
        if not 0 < omega < 2:
            raise ValueError(f"omega must lie in (0, 2), got {omega}")
        self.op = op
        self.model = model if use_operator else None
        self.n_r = _int_option("n_r", n_r, low=0 if not definite and grid is not None else 1)
        self.smoother, self.omega = smoother, omega
        self.definite = definite
        self.levels = 1 if levels in (1, "1") else "auto"
        self.operator_steps = 0
        self.operator_seconds = 0.0
        self.last_ratio = 0.0
        m = model.sensors if model is not None else 31
        if grid is not None:
            grid = _int_option("grid", grid, low=3)
            if model is not None and grid != m and not model.transfers:
                raise ValueError(
                    f"grid={grid}: a {model.arch} runs only on its {m}-point sensor grid;"
                    " another grid needs a model that transfers (--arch fno)"
                )
            m = grid
        # the chain of grids from op down to the sensor grid (restriction of the residual)
        chain = build_levels(op, coarsest=m)
        sensor = (m,) * op.dim
        if chain[-1].shape != sensor:
            chain.append(resample_operator(chain[-1], sensor))
        self.chain = chain
        self.transfers = [transfer(a.shape, b.shape) for a, b in itertools.pairwise(chain)]
        self.mg = None
        if self.levels == "auto":
            # HINTS is a Gauss-Seidel scheme: pinned, whatever mg-pcg's default smoother
            self.mg = Multigrid(
                op,
                coarsest=m,
                sweeps=_int_option("sweeps", sweeps),
                coarse_solve=np.zeros_like,
                smoother="gauss-seidel",
                precision="float64",
            )
            self.coarse = HintsCycle(
                self.mg.levels[-1],
                model,
                n_r=self.n_r if definite or len(self.mg.levels) == 1 else 0,
                smoother=smoother,
                omega=omega,
                grid=m,
                definite=definite,
                use_operator=use_operator,
            )
            self.mg.set_coarse_solve(self.coarse.precondition)
            self.sweeps = self.mg.sweeps

    # -- pieces -------------------------------------------------------------------
    def relax(self, u, f, sweeps, direction="forward"):
        if sweeps <= 0:
            return
        if self.smoother == "jacobi":
            relax(self.op, u, "weighted-jacobi", sweeps, rhs=f, omega=self.omega)
        else:
            relax(self.op, u, "gauss-seidel", sweeps, rhs=f, sweep=direction)

    @property
    def operator_steps_total(self) -> int:
        return self.operator_steps + (self.coarse.operator_steps if self.mg is not None else 0)

    @property
    def operator_seconds_total(self) -> float:
        return self.operator_seconds + (self.coarse.operator_seconds if self.mg is not None else 0)

    def direction(self, r: np.ndarray) -> np.ndarray:
        """``d = P s N(a_c, R r / s)``: the operator's correction for residual ``r``."""
        t0 = time.perf_counter()
        v = r
        for t in self.transfers:
            v = t.restrict(v)
        op_c = self.chain[-1]
        e = self.model.correction(op_c, v)
        # how much of the error the network's step can remove: the best multiple of its
        # output measured in the A^{-1}-like norm of the residual (the inverse Laplacian
        # by DST on the sensor grid): near 1 means a stalled (or useless) network
        self.last_ratio = _removable(v, op_c.apply(e))
        for t in reversed(self.transfers):
            e = t.prolong(e)
        self.operator_steps += 1
        self.operator_seconds += time.perf_counter() - t0
        return e

    def operator_step(self, u, f, r):
        """``u += alpha d`` with the optimal step; returns ``(new residual, decrease)``.

        The decrease is that of the energy functional, ``(d^T r)^2 / (2 d^T A d)``
        (SPD), or of ``|r|^2``, ``((A d)^T r)^2 / |A d|^2`` (indefinite): computed
        from the step itself, free of the cancellation in differences of
        ``E(u)`` near convergence.
        """
        d = self.direction(r)
        Ad = self.op.apply(d)
        if self.definite:
            dad = float(np.vdot(d, Ad))
            dr = float(np.vdot(d, r))
            alpha = dr / dad if dad > 0 else 0.0
            gain = 0.5 * alpha * dr
        else:
            aa = float(np.vdot(Ad, Ad))
            adr = float(np.vdot(Ad, r))
            alpha = adr / aa if aa > 0 else 0.0
            gain = alpha * adr
        if alpha != 0.0 and math.isfinite(alpha):
            u += alpha * d
            r = r - alpha * Ad
        else:
            gain = 0.0
        return r, gain

    # -- the stationary cycle and the preconditioner ---------------------------------
    def cycle(self, u, f):
        """One cycle in place; returns the residual ``f - A u`` after it."""
        if self.mg is not None:
            u[...] = self.mg.cycle(f, u)
            self.last_ratio = self.coarse.last_ratio
            return f - self.op.apply(u)
        if self.model is None:
            self.relax(u, f, self.n_r)
            return f - self.op.apply(u)
        self.relax(u, f, self.n_r)
        r1 = f - self.op.apply(u)
        r2, _ = self.operator_step(u, f, r1)
        return r2

    def precondition(self, r: np.ndarray) -> np.ndarray:
        """One cycle from zero on ``A e = r``: forward sweeps, operator step, backward sweeps."""
        if self.mg is not None:
            out = self.mg.precondition(r)
            self.last_ratio = self.coarse.last_ratio
            return out
        e = np.zeros_like(r)
        before = (self.n_r + 1) // 2
        self.relax(e, r, before, "forward")
        if self.model is not None:
            self.operator_step(e, r, r - self.op.apply(e))
        self.relax(e, r, self.n_r - before, "backward")
        return e

    @property
    def sweeps_per_cycle(self) -> int:
        return 2 * self.sweeps if self.mg is not None else self.n_r

    def drop_operator(self) -> None:
        """Continue without the network (after a stall)."""
        self.model = None
        if self.mg is not None:
            self.coarse.model = None


# -- Krylov (steps and measurements; the driver runs the loop) ------------------------
def _continue_with_mg_gmres(slow: Driver, u):
    """The hand-over of a too slow HINTS-preconditioned FGMRES
    (:func:`solvers.indefinite.continue_with_mg_gmres`); returns its driver, the
    message part and the fine-grid sweeps its steps took."""
    switch = slow.iterations
    drv, note = continue_with_mg_gmres(slow, u, SLOW_WHAT, switch + MAXITER["hints-krylov"])
    return drv, note, FALLBACK_SWEEPS * (drv.iterations - switch)


def krylov_driver(
    problem, settings, name, recorder=None, *, definite=True, default_maxiter=None, slow_window=0
):
    """The :class:`~solvers.driver.Driver` of a flexible Krylov run: no growth test,
    stagnation after :data:`STAGNATION_WINDOW` steps for FCG (``definite``), none for FGMRES;
    FGMRES with ``slow_window > 0``: paced (``SLOW_FACTOR`` within ``slow_window`` steps, or
    the driver stops with ``slow`` set)."""
    return Driver(
        problem,
        settings,
        method=name,
        recorder=recorder,
        default_maxiter=default_maxiter,
        divergence=None,
        stagnation=STAGNATION_WINDOW if definite else None,
        pace=(slow_window, SLOW_FACTOR) if slow_window and not definite else None,
    )


def flexible_cg(driver, u, precondition, *, iteration=0, record_start=True, on_step=None):
    r"""Flexible CG (Notay's FCG(1)) from ``u`` (updated in place) under ``driver``.

    .. math::
        \alpha = \frac{d^T r}{d^T A d}, \quad u \mathrel{+}= \alpha d, \quad
        r \mathrel{-}= \alpha A d, \quad z = B(r), \quad
        d \leftarrow z - \frac{z^T A d}{d^T A d} d

    ``B`` may change from step to step. Iterations are counted from ``iteration``
    (the history's axis continues); ``on_step(it)`` runs after each step. The
    driver holds the outcome; ``d^T A d <= 0`` stops the run as ``breakdown``.
    Convergence is confirmed on the true residual (and FCG restarted from it if
    the two disagree).
    """
    problem = driver.problem
    f, f_norm, rtol = problem.f, driver.f_norm, driver.rtol
    s = {}

    def restart(r):
        s["r"] = r
        s["d"] = precondition(r).copy()

    def step(it, target):
        d, r = s["d"], s["r"]
        Ad = problem.apply(d)
        dad = float(np.vdot(d, Ad))
        if dad <= 0:
            driver.stop("breakdown", it, "d^T A d <= 0 (operator not SPD)")
            return it
        alpha = float(np.vdot(d, r)) / dad
        u[...] += alpha * d
        r -= alpha * Ad
        if on_step is not None:
            on_step(it + 1)
        z = precondition(r)
        s["d"] = z - (float(np.vdot(z, Ad)) / dad) * d
        return it + 1

    def measure(it, record):
        rel = float(np.linalg.norm(s["r"])) / f_norm
        if rel <= rtol:  # the recursive residual may drift: confirm on the true one
            r_true = f - problem.apply(u)
            rel = float(np.linalg.norm(r_true)) / f_norm
            if rel > rtol:
                restart(r_true)
            return rel, r_true
        return rel, s["r"]

    restart(f - problem.apply(u))
    driver.run(u, step, measure, iteration=iteration, record_start=record_start)
    return u


def flexible_gmres(
    driver, u, precondition, *, iteration=0, restart=30, record_start=True, on_step=None
):
    """Restarted flexible GMRES (right preconditioning, ``B`` may vary) from ``u``
    (updated in place) under ``driver``; as :func:`flexible_cg`.

    One driver iteration is one Arnoldi step; the residual is measured (and
    convergence tested) on the true residual at the end of each cycle of
    ``restart`` steps (or earlier, when the least-squares residual reaches
    ``rtol`` or the space is invariant); within a cycle only the budget is tested.
    """
    problem = driver.problem
    f, f_norm, rtol = problem.f, driver.f_norm, driver.rtol
    s = {"open": False}

    def correction():
        return sum(yk * zk for yk, zk in zip(s["y"], s["Z"], strict=False))

    def close():
        if s["Z"]:
            u[...] = s["x"] + correction()
        s["open"] = False

    def step(it, target):
        if not s["open"]:
            r = s["r"]
            beta = float(np.linalg.norm(r))
            H = np.zeros((restart + 1, restart))
            s.update(open=True, x=u.copy(), beta=beta, V=[r / beta], Z=[], H=H, y=np.zeros(0), j=0)
        j, V, Z, H, beta = s["j"], s["V"], s["Z"], s["H"], s["beta"]
        Z.append(precondition(V[j]))
        w = problem.apply(Z[j])
        for i in range(j + 1):
            H[i, j] = float(np.vdot(V[i], w))
            w = w - H[i, j] * V[i]
        H[j + 1, j] = float(np.linalg.norm(w))
        e1 = np.zeros(j + 2)
        e1[0] = beta
        y = np.linalg.lstsq(H[: j + 2, : j + 1], e1, rcond=None)[0]
        res = float(np.linalg.norm(H[: j + 2, : j + 1] @ y - e1)) / f_norm
        s["y"], s["j"] = y, j + 1
        if on_step is not None:
            on_step(it + 1)
        if res <= rtol or H[j + 1, j] <= 1e-14 * beta or j + 1 == restart:
            close()
        else:
            V.append(w / H[j + 1, j])
        return it + 1

    def measure(it, record):
        if not s["open"]:
            s["r"] = f - problem.apply(u)
            return float(np.linalg.norm(s["r"])) / f_norm, s["r"]
        if record:  # within a cycle: the iterate so far, for the history
            u[...] = s["x"] + correction()
        return None, None

    driver.run(u, step, measure, iteration=iteration, record_start=record_start)
    if s["open"]:  # stopped within a cycle (budget, interruption)
        close()
    return u


def fgmres(problem, settings, recorder, u, precondition, iteration=0, maxiter=None, restart=30):
    """:func:`flexible_gmres` under a driver on ``recorder`` (no growth or stagnation test,
    at most ``maxiter`` steps unless ``settings.maxiter`` says otherwise), outside a method;
    returns ``(u, converged, iterations, message)``."""
    drv = krylov_driver(
        problem, settings, "fgmres", recorder, definite=False, default_maxiter=maxiter
    )
    flexible_gmres(drv, u, precondition, iteration=iteration, restart=restart, record_start=False)
    return u, drv.reason == "converged", drv.iterations, drv.message


# -- the methods ------------------------------------------------------------------------
def _setup(problem, settings, options):
    import torch

    # converted and filled in by the method's schema (OPTIONS) before the method runs
    weights = options.pop("weights", None)
    use_operator = options.pop("operator", True)
    coarse = options.pop("coarse", "network")
    stall_ratio = options.pop("stall_ratio", 0.9)
    patience = options.pop("patience", 3)
    fallback = options.pop("fallback", "krylov")
    device = "cuda" if settings.device == "cuda" else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but torch sees no CUDA device; use cpu")
    if device == "cpu":
        torch.set_num_threads(1)  # small networks: one thread is fastest on a shared machine
    if not use_operator:
        model = None
    elif coarse == "direct":
        model = ExactCoarseSolve()  # factored inside the timed run, on first use
    else:
        model = operator_for(problem, weights, device)
    t0 = time.perf_counter()
    hc = HintsCycle(
        problem.operator,
        model,
        definite=getattr(problem, "definite", True),
        use_operator=use_operator,
        **options,
    )
    if model is not None and coarse == "network":  # the network's first call off the clock
        t1 = time.perf_counter()
        hc.precondition(np.ones(problem.shape))
        for c in (hc, getattr(hc, "coarse", None)):
            if c is not None:
                c.operator_steps, c.operator_seconds = 0, 0.0
        t0 += time.perf_counter() - t1
    setup = time.perf_counter() - t0
    return hc, setup, stall_ratio, patience, fallback, model


def _info(hc, model, sweeps, setup, events, stalled):
    return {
        "sweeps": int(sweeps),
        "dnn_steps": 0,  # no training at solve time
        "operator_steps": int(hc.operator_steps_total),
        "seconds_operator": hc.operator_seconds_total,
        "setup_seconds": setup,
        "family": model.family if model is not None else None,
        "arch": model.arch if model is not None else None,
        "weights": model.path if model is not None else None,
        "levels": 1 if hc.mg is None else len(hc.mg.levels),
        "stalled": bool(stalled),
        "events": events,
    }


@method("HINTS: relaxation sweeps with a pretrained neural operator step every n_r", OPTIONS)
def hints(problem, settings, **options):
    recorded = dict(options)
    slow_window = options.pop("slow_window", 60)
    hc, setup, stall_ratio, patience, fallback, model = _setup(problem, settings, options)
    # the stationary cycle: divergence (residual 1e6 times its start), no stagnation test
    drv = Driver(problem, settings, method="hints", default_maxiter=MAXITER["hints"])
    rec = drv.recorder
    u = np.zeros(problem.shape) if settings.x0 is None else settings.x0.copy()
    drv.record(0, u)
    rec.restart_clock(setup)
    f, f_norm, rtol = problem.f, drv.f_norm, drv.rtol
    s = {
        # levels=1: an iteration is a sweep or an operator step; levels='auto': a V-cycle
        "per_cycle": 1 if hc.mg is not None else hc.sweeps_per_cycle + (hc.model is not None),
        "sweeps": 0,
        "low": 0,
        "grows": 0,
        "r": None,
        "res": None,
        "stalled": False,
        "diverging": False,
        "handover": None,  # the Krylov method that continues after a fallback
    }
    notes = []

    def step(it, target):
        """One cycle (``per_cycle`` iterations: it may pass ``target``), then the checks
        for divergence of the cycle and for a stalled operator (which may hand over)."""
        with_op = hc.model is not None
        before = s["res"]
        u_before = None if hc.definite else u.copy()
        r = hc.cycle(u, f)
        s["sweeps"] += hc.sweeps_per_cycle
        it += s["per_cycle"]
        res = float(np.linalg.norm(r)) / f_norm
        s["r"], s["res"] = r, res
        converged = res <= rtol
        # indefinite: relaxation amplifies the band below k^2, so a stationary cycle whose
        # operator is not accurate enough diverges while each step still looks useful
        s["grows"] = s["grows"] + 1 if not hc.definite and res > before else 0
        blowup = not hc.definite and res > 10 * before
        if with_op and not converged and fallback != "none" and (s["grows"] >= patience or blowup):
            s["diverging"] = True
            u[...] = u_before  # from the last iterate, not the one the cycle just raised
            rec.mark("diverging", it)
            rec.mark("fallback:krylov", it)
            how = "tenfold" if blowup else f"{patience} times in a row"
            notes.append(
                f"the stationary cycle raised the residual {how} (at iteration {it});"
                " continued by flexible GMRES with the same cycle"
            )
            s["handover"] = flexible_gmres
            drv.stop("callback", it, "the stationary cycle diverges; flexible GMRES continues")
            return it
        if with_op and not converged:
            s["low"] = s["low"] + 1 if hc.last_ratio > stall_ratio else 0
            if s["low"] >= patience:
                s["stalled"] = True
                rec.mark("stall", it)
                notes.append(
                    f"the operator stalled at iteration {it} (its steps left over"
                    f" {stall_ratio:.0%} of the restricted residual {patience} times in a row);"
                    f" fallback: {fallback}"
                )
                if fallback == "relaxation":
                    hc.drop_operator()
                    s["per_cycle"] = hc.sweeps_per_cycle if hc.mg is None else 1
                elif fallback == "krylov":
                    hc.drop_operator()
                    rec.mark("fallback:krylov", it)
                    s["handover"] = flexible_cg if hc.definite else flexible_gmres
                    drv.stop("callback", it, "the operator stalled; Krylov continues")
                    return it
                s["low"] = -(10**9) if fallback == "none" else 0
        return it

    def measure(it, record):
        if s["r"] is None:  # the starting iterate
            s["r"] = problem.residual(u)
            s["res"] = float(np.linalg.norm(s["r"])) / f_norm
        return s["res"], s["r"]

    it = drv.run(u, step, measure, record_start=False)
    if s["handover"] is not None and drv.reason == "callback":
        # continue from u by flexible Krylov with the cycle as preconditioner (the same
        # history, budget and clock; the stop reason is the continuation's). Without a
        # maxiter the continuation gets hints-krylov's budget, not the sweeps': a cycle
        # that Krylov cannot rescue must not run for hours (10^7 iterations)
        drv = krylov_driver(
            problem,
            settings,
            "hints",
            rec,
            definite=s["handover"] is flexible_cg,
            default_maxiter=it + MAXITER["hints-krylov"],
            slow_window=slow_window,
        )

        def count(_it):
            s["sweeps"] += hc.sweeps_per_cycle

        s["handover"](drv, u, hc.precondition, iteration=it, on_step=count)
        if drv.slow:
            drv, note, sweeps = _continue_with_mg_gmres(drv, u)
            notes.append(note)
            s["sweeps"] += sweeps
    drv.message = "; ".join(m for m in (drv.message, *notes) if m)
    info = _info(hc, model, s["sweeps"], setup, list(rec.events), s["stalled"])
    return drv.result(u, recorded, info={**info, "diverging": s["diverging"]})


@method(
    "flexible CG (SPD) or flexible GMRES preconditioned by the HINTS cycle",
    OPTIONS.without("fallback"),
)
def hints_krylov(problem, settings, **options):
    recorded = dict(options)
    options.setdefault("fallback", "relaxation")
    slow_window = options.pop("slow_window", 60)
    hc, setup, stall_ratio, patience, _, model = _setup(problem, settings, options)
    drv = krylov_driver(
        problem,
        settings,
        "hints-krylov",
        definite=hc.definite,
        default_maxiter=MAXITER["hints-krylov"],
        slow_window=slow_window,
    )
    rec = drv.recorder
    u = np.zeros(problem.shape) if settings.x0 is None else settings.x0.copy()
    drv.record(0, u)
    rec.restart_clock(setup)
    state = {"low": 0, "stalled": False, "applications": 0}

    def precondition(r):
        with_op = hc.model is not None
        z = hc.precondition(r)
        state["applications"] += 1
        if with_op:
            state["low"] = state["low"] + 1 if hc.last_ratio > stall_ratio else 0
            if state["low"] >= patience:
                state["stalled"] = True
                rec.mark("stall", state["applications"])
                hc.drop_operator()
        return z

    solver = flexible_cg if hc.definite else flexible_gmres
    solver(drv, u, precondition, record_start=False)
    notes = []
    if state["stalled"]:
        notes.append("the operator stalled; the preconditioner continued without it")
    sweeps = state["applications"] * hc.sweeps_per_cycle
    if drv.slow:
        drv, note, fallback_sweeps = _continue_with_mg_gmres(drv, u)
        notes.append(note)
        sweeps += fallback_sweeps
    drv.message = "; ".join(m for m in (drv.message, *notes) if m)
    info = _info(hc, model, sweeps, setup, list(rec.events), state["stalled"])
    return drv.result(u, recorded, info=info)
