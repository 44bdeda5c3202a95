r"""Relaxation methods: Jacobi, Gauss-Seidel, red-black, SOR, in 1D and 2D.

For ``A u = f`` split as ``A = D - L - U`` (diagonal, strictly lower and
upper parts in C order of the grid), one sweep of each method is

.. math::

    \text{(weighted) Jacobi:} \quad & u \leftarrow u + \omega D^{-1} (f - A u) \\
    \text{Gauss-Seidel, SOR:} \quad & (D - \omega L)\, u^{new}
        = \omega f + ((1 - \omega) D + \omega U)\, u

and red-black Gauss-Seidel (SOR) is the latter with the points ordered red
(``i + j`` even, 0-based) before black. ``omega = 1`` for plain Jacobi and
Gauss-Seidel; a backward sweep swaps ``L`` and ``U``; a symmetric sweep is a
forward then a backward one and counts as one iteration.

For constant coefficients the sine mode ``v_k`` is an eigenvector of ``A``
with eigenvalue ``lambda_k``, and weighted Jacobi multiplies its error by
``1 - omega lambda_k / d`` (``d`` the constant diagonal): the high
frequencies fall fast, the lowest by only ``cos(pi / (n + 1))`` per sweep
(``omega = 1``).

Two entries:

* ``solvers.solve(p, "jacobi" | "weighted-jacobi" | "gauss-seidel" |
  "symmetric-gauss-seidel" | "red-black" | "sor", ...)``: iterate to ``rtol``
  with a per-frequency history (:class:`~solvers.recording.Recorder`).
* :func:`relax`: exactly ``sweeps`` sweeps in place, no history, for
  hybrids and multilevel smoothers (also :func:`residual`, :func:`residual_norm`).

How ``solve`` runs: the residual ``||f - A u||`` (one fused pass, about the
cost of a sweep) is checked after ``clip(it // 8, 1, m)`` further sweeps, so
the checks cost at most ~1/8 of the work early and a few percent later, and a
run stops at most one interval after reaching ``rtol``. A residual above
``1e6`` times the initial one, or not finite, stops the run as diverged
(``converged=False``, the message says so). At the default cadence
(``record_every=None``) records follow the recorder's geometric schedule but
wait while measuring them (a DST and band sums each) would take more than
10% of the solver's own time, so the history never costs more than that;
an explicit ``record_every=k`` is honoured exactly.

The numba kernels live in :mod:`solvers._relaxation_kernels`; this module
validates and dispatches. Per operator it keeps a small *plan* (whether the
coefficients are constant, scratch rows), built on first use and cached
while the operator lives.

Examples
--------
>>> import numpy as np, problems, solvers
>>> p = problems.get("paper1d", n=31)
>>> r = solvers.solve(p, "sor", rtol=1e-8)
>>> r.converged, r.iterations < 5 * 31
(True, True)
>>> u = np.zeros(p.shape)
>>> _ = solvers.relax(p, u, "red-black", 3)
>>> bool(p.relative_residual(u) < 1)
True
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numba
import numpy as np
from tqdm import tqdm

from problems._numba import PARALLEL_THRESHOLD, warm_up
from problems.operators import Operator
from problems.parameters import Parameter, Parameters, choice, integer, number, optional
from problems.problem import Problem
from solvers import _relaxation_kernels as _k
from solvers.driver import DIVERGENCE_FACTOR, Driver
from solvers.registry import method

METHODS = (
    "jacobi",
    "weighted-jacobi",
    "gauss-seidel",
    "symmetric-gauss-seidel",
    "red-black",
    "sor",
)
#: What :func:`relax` accepts besides :data:`METHODS`: smoothers for multigrid cycles.
SMOOTHERS = (*METHODS, "l1-jacobi", "chebyshev")
SWEEPS = ("forward", "backward", "symmetric")
#: The Chebyshev smoother damps the eigenvalues of ``D^{-1} A`` in
#: ``[CHEBYSHEV_LOWER * upper, upper]``: in 2D, for the Laplacian, exactly the modes
#: the coarse grid cannot represent (``D^{-1} A >= 1/2`` on them, ``upper ~ 2``).
CHEBYSHEV_LOWER = 0.25
#: Lanczos steps behind the Chebyshev smoother's upper bound, and its safety factor.
LANCZOS_STEPS = 10
LANCZOS_SAFETY = 1.1

#: The residual is checked after ``clip(iteration // CHECK_DIVISOR, 1, m)`` more sweeps,
#: ``m = max(MAX_CHECK_INTERVAL, CHECK_WORK // N)`` for ``N`` unknowns: a check costs
#: about one sweep (plus some microseconds of Python on small grids), so checks add
#: at most ~1/8 early and a few percent late, and a run stops at most one interval
#: (<= 1/8 of its sweeps) after reaching ``rtol``.
CHECK_DIVISOR = 8
MAX_CHECK_INTERVAL = 64
CHECK_WORK = 2**20
#: Parallel lexicographic Gauss-Seidel (a wavefront of tiles, about ``nbands + 2 sweeps``
#: parallel stages per call): only on grids of at least this many points, strips at
#: least this wide, ``8 x threads`` bands; smaller grids run it serially.
WAVEFRONT_MIN_SIZE = 2**18
WAVEFRONT_MIN_WIDTH = 64
WAVEFRONT_BANDS_PER_STRIP = 8


# -- per-operator plans ----------------------------------------------------------
class _Plan:
    """What the kernels need from an :class:`~problems.Operator`, prepared once.

    ``dtype`` is float64 (every public entry) or float32 (the mixed-precision
    multigrid cycle; :meth:`cast`).
    """

    __slots__ = (
        "_base",
        "_bounds",
        "_cast",
        "_chebyshev",
        "_chebyshev2",
        "_dinv",
        "_jacobi_work",
        "_l1_dinv",
        "_residual",
        "_zeros",
        "ax",
        "ay",
        "c",
        "dim",
        "dtype",
        "ihx2",
        "ihy2",
        "nthreads",
        "op",
        "parallel",
        "shape",
        "variable",
        "wavefront",
    )

    def __init__(self, op: Operator, dtype=np.float64, base: _Plan | None = None):
        self.op = weakref.ref(op)
        self.dtype = dtype = np.dtype(dtype)
        self.shape = tuple(op.shape)
        self.dim = len(self.shape)
        if base is None:  # float64 views of the operator's arrays where they already are
            faces = [np.ascontiguousarray(f, dtype=dtype) for f in op.faces]
            c = np.ascontiguousarray(op.c, dtype=dtype)
            self.variable = not (
                all(_constant(f) for f in faces)
                and _constant(c)
                and (self.dim == 1 or faces[0].flat[0] == faces[1].flat[0])
            )
        else:  # a cast: one pass per array, nothing recomputed
            faces = [base.ax.astype(dtype)] + ([base.ay.astype(dtype)] if self.dim == 2 else [])
            c = base.c.astype(dtype)
            self.variable = base.variable
        self.ax = _readonly(faces[0])
        self.ay = _readonly(faces[1]) if self.dim == 2 else self.ax
        self.c = _readonly(c)
        self._dinv = None  # built on first use (a float64 plan under a float32 cycle never is)
        self.ihx2 = 1.0 / op.h[0] ** 2
        self.ihy2 = 1.0 / op.h[1] ** 2 if self.dim == 2 else 0.0
        size = math.prod(self.shape)
        self.nthreads = numba.get_num_threads()
        self.parallel = self.dim == 2 and size >= PARALLEL_THRESHOLD and self.nthreads > 1
        ny = self.shape[-1]
        self._zeros = np.zeros(ny, dtype=dtype)
        # Lexicographic Gauss-Seidel in parallel: a wavefront of (band, strip) tiles,
        # one strip per thread, about 8 bands per strip (see gauss_seidel_2d_parallel).
        self.wavefront = None
        if (
            self.parallel
            and size >= WAVEFRONT_MIN_SIZE
            and ny >= WAVEFRONT_MIN_WIDTH * self.nthreads
        ):
            bands = WAVEFRONT_BANDS_PER_STRIP * self.nthreads
            self.wavefront = (self.nthreads, max(4, -(-self.shape[0] // bands)))
        self._jacobi_work = None
        self._residual = None
        self._l1_dinv = None
        self._bounds = None
        self._chebyshev = None
        self._chebyshev2 = None
        self._cast = {}
        self._base = base  # the float64 plan a cast plan was made from (shares its bounds)

    @property
    def dinv(self) -> np.ndarray:
        """``1 / diagonal``: per point for variable coefficients, one number otherwise."""
        if self._dinv is None:
            op = self.op()
            if op is None:
                raise RuntimeError("the operator of this plan no longer exists")
            diagonal = op.diagonal()
            if self.variable:  # one pass, no float64 temporary for a float32 plan
                dinv = np.divide(1.0, diagonal, out=np.empty(self.shape, self.dtype))
            else:
                dinv = np.full((1,) * self.dim, 1.0 / diagonal.flat[0], dtype=self.dtype)
            self._dinv = _readonly(dinv)
        return self._dinv

    def cast(self, dtype) -> _Plan:
        """This plan with its arrays in ``dtype`` (itself for its own dtype; cached)."""
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if dtype not in self._cast:
            op = self.op()
            if op is None:
                raise RuntimeError("the operator of this plan no longer exists")
            self._cast[dtype] = _Plan(op, dtype, base=self)
        return self._cast[dtype]

    def jacobi_work(self) -> np.ndarray:
        if self._jacobi_work is None:
            nb = self.blocks()
            self._jacobi_work = np.zeros((1 + 4 * nb, self.shape[1]), dtype=self.dtype)
        return self._jacobi_work

    def residual_buffer(self) -> np.ndarray:
        if self._residual is None:
            self._residual = np.zeros(self.shape, dtype=self.dtype)
        return self._residual

    def l1_scale(self) -> np.ndarray:
        """``a_ii / (a_ii + sum_{j != i} |a_ij|)`` at every point (l1-Jacobi's weights)."""
        if self._l1_dinv is None:
            op = self.op()
            scale = op.diagonal() / l1_diagonal(op)
            self._l1_dinv = _readonly(np.ascontiguousarray(scale, dtype=self.dtype))
        return self._l1_dinv

    def chebyshev_bounds(self) -> tuple[float, float]:
        """``(lower, upper)``: the interval of ``D^{-1} A`` the Chebyshev smoother damps."""
        if self._bounds is None:
            if self._base is not None:  # the same operator: one estimate for every precision
                self._bounds = self._base.chebyshev_bounds()
            else:
                upper = eigenvalue_bound(self.op())
                self._bounds = (upper * CHEBYSHEV_LOWER, upper)
        return self._bounds

    def chebyshev_scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """A second iterate and the kernels' row buffers (``1 + nb`` rows, row 0 zero;
        red-black uses the latter too)."""
        if self._chebyshev is None:
            nb = self.blocks()
            work = np.zeros((1 + nb, self.shape[-1]), dtype=self.dtype)
            self._chebyshev = (np.zeros(self.shape, dtype=self.dtype), work)
        return self._chebyshev

    def chebyshev2_scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """The one-pass degree-2 Chebyshev kernel's rows (``(nb, 8, ny)``: three of the
        intermediate iterate, a row buffer, four halo rows per block) and a writable
        row of zeros."""
        if self._chebyshev2 is None:
            ny = self.shape[-1]
            self._chebyshev2 = (
                np.zeros((self.blocks(), 8, ny), dtype=self.dtype),
                np.zeros(ny, dtype=self.dtype),
            )
        return self._chebyshev2

    def blocks(self) -> int:
        return min(self.nthreads, self.shape[0]) if self.parallel else 1


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _plan(op: Operator) -> _Plan:
    plan = _PLANS.get(op)
    if plan is None:
        plan = _PLANS[op] = _Plan(op)
    return plan


def l1_diagonal(op: Operator, diagonal: np.ndarray | None = None) -> np.ndarray:
    r"""The l1 row sums ``a_ii + sum_{j != i} |a_ij|`` of ``A``, shape ``op.shape``.

    l1-Jacobi, ``u <- u + D_{l1}^{-1} (f - A u)``, converges for every SPD ``A``
    (``D_{l1} - A/2`` is SPD); for the 5-point Laplacian it is Jacobi with
    ``omega = 1/2`` in the interior.

    Examples
    --------
    >>> import problems
    >>> op = problems.get("modes2d", n=3).operator
    >>> (l1_diagonal(op) * op.h[0] ** 2).tolist()[1]  # interior 8, edge rows fewer
    [7.0, 8.0, 7.0]
    """
    d = op.diagonal() if diagonal is None else diagonal
    if op.dim == 1:
        (ax,) = op.faces
        off = ax.copy()
        off[0] = off[-1] = 0.0  # no neighbour beyond the boundary
        return d + (off[:-1] + off[1:]) / op.h[0] ** 2
    ax, ay = op.faces
    ax, ay = ax.copy(), ay.copy()
    ax[0] = ax[-1] = 0.0
    ay[:, 0] = ay[:, -1] = 0.0
    hx, hy = op.h
    return d + (ax[:-1] + ax[1:]) / hx**2 + (ay[:, :-1] + ay[:, 1:]) / hy**2


def eigenvalue_bound(op: Operator, steps: int = LANCZOS_STEPS, seed: int = 0) -> float:
    r"""An upper bound of the spectrum of ``D^{-1} A`` for the Chebyshev smoother.

    ``steps`` Lanczos steps on ``D^{-1/2} A D^{-1/2}`` (same spectrum) give a
    largest Ritz value ``theta <= lambda_max``, which approaches it from below;
    the bound is ``min(1.1 theta, g)`` with ``g = max_i D_{l1,ii} / a_ii`` the
    Gershgorin bound (``<= 2`` for these operators), which no eigenvalue exceeds.
    When the Rayleigh quotient ``rho`` of the checkerboard vector (a lower bound of
    ``lambda_max``) already has ``1.1 rho >= g``, the bound is ``g`` at once. Either
    way ``lambda_max <= bound <= 1.1 lambda_max``.

    Examples
    --------
    >>> import problems
    >>> 1.9 < eigenvalue_bound(problems.get("modes2d", n=31).operator) <= 2.0
    True
    """
    d = op.diagonal()
    if np.any(d <= 0):
        raise ValueError("the Chebyshev smoother needs a positive diagonal (an SPD operator)")
    if op.dim == 1:
        gershgorin = _k.gershgorin_ratio_1d(op.faces[0], op.c, 1.0 / op.h[0] ** 2)
    else:
        ax, ay = op.faces
        ihx2, ihy2 = 1.0 / op.h[0] ** 2, 1.0 / op.h[1] ** 2
        gershgorin = _k.gershgorin_ratio_2d(ax, ay, op.c, ihx2, ihy2)
        # A lower bound of lambda_max in one pass: the Rayleigh quotient of the
        # checkerboard vector, these operators' highest mode. Where 1.1 times it reaches
        # g, g is returned (an upper bound within 10% of lambda_max, what the Lanczos
        # estimate guarantees) without the Lanczos steps (about a second at 4095^2).
        checkerboard = _k.checkerboard_quotient_2d(ax, ay, d, ihx2, ihy2)
        if LANCZOS_SAFETY * checkerboard >= gershgorin:
            return gershgorin
    s = 1.0 / np.sqrt(d)
    v = np.random.default_rng(seed).standard_normal(op.shape)
    v /= np.linalg.norm(v)
    # four grid-sized buffers, rotated, and every update in place: at 4095^2 a fresh
    # array per operation cost more (allocation, first-touch page faults) than the
    # arithmetic
    v_old, w, tmp = np.zeros(op.shape), np.empty(op.shape), np.empty(op.shape)
    alphas, betas, beta = [], [], 0.0
    for _ in range(min(steps, v.size)):
        np.multiply(s, v, out=tmp)
        op.apply(tmp, out=w)
        w *= s
        alpha = float(np.vdot(v, w))
        w -= np.multiply(v, alpha, out=tmp)
        w -= np.multiply(v_old, beta, out=tmp)
        alphas.append(alpha)
        beta = float(np.linalg.norm(w))
        if beta <= 1e-12 * abs(alpha):
            break
        betas.append(beta)
        w /= beta
        v_old, v, w = v, w, v_old
    k = len(alphas)
    T = np.diag(alphas) + np.diag(betas[: k - 1], 1) + np.diag(betas[: k - 1], -1)
    theta = float(np.linalg.eigvalsh(T)[-1])
    return min(LANCZOS_SAFETY * theta, gershgorin)


def chebyshev_coefficients(lower: float, upper: float, degree: int) -> list[tuple[float, float]]:
    r"""``(c1, c2)`` of each step ``x <- x + c1 (x - x_old) + c2 D^{-1} (f - A x)``.

    The error after ``degree`` steps is ``p(D^{-1} A) e`` with ``p`` the Chebyshev
    polynomial scaled to ``[lower, upper]``, ``p(0) = 1`` (Saad, *Iterative
    methods*, Alg. 12.1): with ``theta = (upper + lower) / 2``,
    ``delta = (upper - lower) / 2``, ``sigma = theta / delta``, ``rho_0 = 1 / sigma``
    and ``rho_m = 1 / (2 sigma - rho_{m-1})``, step 0 is ``(0, 1 / theta)`` and
    step ``m >= 1`` is ``(rho_m rho_{m-1}, 2 rho_m / delta)``.

    >>> chebyshev_coefficients(0.5, 2.0, 2)
    [(0.0, 0.8), (0.21951219512195122, 0.975609756097561)]
    """
    theta, delta = 0.5 * (upper + lower), 0.5 * (upper - lower)
    sigma = theta / delta
    rho = 1.0 / sigma
    steps = [(0.0, 1.0 / theta)]
    for _ in range(1, degree):
        new = 1.0 / (2.0 * sigma - rho)
        steps.append((new * rho, 2.0 * new / delta))
        rho = new
    return steps


# -- options -------------------------------------------------------------------
#: The relaxation weight: ``None`` (the method's default, :func:`default_omega`) or in (0, 2).
OMEGA = Parameter(
    "omega",
    None,
    optional(number(low=0, high=2, open=True)),
    "relaxation weight in (0, 2)",
)
#: ``sweeps`` of :func:`relax`.
SWEEPS_COUNT = Parameter("sweeps", 1, integer(low=0), "sweeps to do (a symmetric one counts once)")
SWEEP = Parameter(
    "sweep",
    "forward",
    choice(*SWEEPS),
    "'forward' (default), 'backward' or 'symmetric' (forward then backward)",
)


@dataclass(frozen=True)
class _Spec:
    kernel: str  # "jacobi", "gauss-seidel" or "red-black"
    options: Parameters  # the options the method accepts
    sweep: str = "forward"  # fixed sweep when "sweep" is not an option


def _omega(doc: str) -> Parameter:
    return Parameter(OMEGA.name, OMEGA.default, OMEGA.convert, f"{OMEGA.doc}; default {doc}")


_SPECS = {
    "jacobi": _Spec("jacobi", Parameters()),
    "weighted-jacobi": _Spec("jacobi", Parameters(_omega("2/3 in 1D, 4/5 in 2D"))),
    "gauss-seidel": _Spec("gauss-seidel", Parameters(SWEEP)),
    "symmetric-gauss-seidel": _Spec("gauss-seidel", Parameters(), "symmetric"),
    "red-black": _Spec(
        "red-black",
        Parameters(
            _omega("1"),
            Parameter(
                SWEEP.name,
                SWEEP.default,
                SWEEP.convert,
                "'forward' (default: red first), 'backward' (black first) or 'symmetric'"
                " (forward then backward)",
            ),
        ),
    ),
    "sor": _Spec(
        "gauss-seidel",
        Parameters(
            _omega("the optimal omega of the constant-coefficient model problem"),
            Parameter(SWEEP.name, SWEEP.default, SWEEP.convert, SWEEP.doc + " (symmetric = SSOR)"),
        ),
    ),
    "l1-jacobi": _Spec("l1-jacobi", Parameters()),
    "chebyshev": _Spec("chebyshev", Parameters()),
}


def optimal_omega(op: Operator | Problem) -> float:
    r"""The optimal SOR weight of the constant-coefficient model problem on this grid.

    .. math::

        \omega^* = \frac{2}{1 + \sqrt{1 - \rho_J^2}}, \qquad
        \rho_J = \frac{\sum_d \cos(\pi / (n_d + 1)) / h_d^2}{\sum_d 1 / h_d^2}

    (``rho_J``: the spectral radius of Jacobi for ``-Laplace``; in 1D
    ``cos(pi / (n + 1))``). For variable coefficients or a shift ``c > 0`` it
    is a good, not optimal, choice.

    Examples
    --------
    >>> import problems
    >>> round(optimal_omega(problems.get("paper1d", n=31)), 6)  # 2 / (1 + sin(pi / 32))
    1.821465
    """
    op = op.operator if isinstance(op, Problem) else op
    weights = [1.0 / h**2 for h in op.h]
    rho = sum(w * math.cos(math.pi / (n + 1)) for w, n in zip(weights, op.shape, strict=True))
    rho /= sum(weights)
    return 2.0 / (1.0 + math.sqrt(max(0.0, 1.0 - rho * rho)))


def default_omega(method: str, op: Operator | Problem) -> float:
    """``omega`` a method uses when none is given (2/3 in 1D and 4/5 in 2D for
    weighted Jacobi, :func:`optimal_omega` for SOR, 1 otherwise)."""
    op = op.operator if isinstance(op, Problem) else op
    if method == "weighted-jacobi":
        return 2.0 / 3.0 if op.dim == 1 else 0.8
    if method == "sor":
        return optimal_omega(op)
    return 1.0


def _resolve(method: str, op: Operator, options: dict) -> tuple[_Spec, float, str]:
    """Validate ``method`` and its options; return ``(spec, omega, sweep)``."""
    spec = _SPECS.get(method)
    if spec is None:
        raise ValueError(
            f"unknown relaxation method {method!r}; choose one of: {', '.join(SMOOTHERS)}"
        )
    values = spec.options.resolve(options, f"method {method!r}")
    omega = values.get("omega")
    omega = default_omega(method, op) if omega is None else omega
    return spec, omega, values.get("sweep", spec.sweep)


# -- the kernels, dispatched -----------------------------------------------------
def _two_iterate(plan: _Plan, u, rhs, steps, scale=None, zero=False) -> None:
    """Steps ``x <- x + c1 (x - x_old) + c2 s D^{-1} (f - A x)`` for ``(c1, c2)`` in ``steps``
    (Chebyshev; l1-Jacobi with ``s = scale``), alternating ``u`` and a scratch iterate;
    ``zero``: from ``u = 0``, whatever ``u`` holds."""
    scaled = scale is not None
    if plan.dim == 2 and len(steps) == 2 and not scaled and steps[0][0] == 0.0:
        # degree 2 in one pass over the grid: the same numbers, half the memory traffic
        # (and from zero, u is neither read nor filled)
        _chebyshev2(plan, u, rhs, steps, zero)
        return
    if zero:
        u.fill(0.0)
    other, work = plan.chebyshev_scratch()
    scale = plan.dinv if scale is None else scale
    x, xo = u, other
    for m, (c1, c2) in enumerate(steps):
        flags = (plan.variable, scaled, m == 0 or c1 == 0.0)
        if plan.dim == 1:
            _k.chebyshev_1d(xo, x, rhs, plan.ax, plan.dinv, scale, plan.ihx2, c1, c2, flags)
        else:
            kern = _k.chebyshev_2d_parallel if plan.parallel else _k.chebyshev_2d
            args = (plan.ax, plan.ay, plan.dinv, scale, plan.ihx2, plan.ihy2)
            kern(xo, x, rhs, *args, c1, c2, flags, work)
        x, xo = xo, x
    if x is not u:
        np.copyto(u, x)


def _chebyshev2(plan: _Plan, u, rhs, steps, zero: bool) -> None:
    """The two steps of a degree-2 Chebyshev polynomial in one pass (2D); ``zero``:
    from ``u = 0``, whatever ``u`` holds, without reading it."""
    work, zeros = plan.chebyshev2_scratch()
    (_, a0), (c1, c2) = steps
    kern = _k.chebyshev2_2d_parallel if plan.parallel else _k.chebyshev2_2d
    args = (plan.ax, plan.ay, plan.dinv, plan.ihx2, plan.ihy2)
    kern(u, rhs, *args, a0, c1, c2, plan.variable, work, zeros, zero)


def _sweep(
    plan: _Plan, kernel: str, u, rhs, omega: float, sweep: str, sweeps: int, zero: bool = False
) -> None:
    """Run ``sweeps`` sweeps of ``kernel`` on ``u`` in place (arguments already checked).

    ``chebyshev``: one polynomial of degree ``sweeps``; ``l1-jacobi``: Jacobi with the
    l1 diagonal (weight ``omega``); ``red-black``: ``sweep="backward"`` runs black first.
    ``zero``: from ``u = 0``, whatever ``u`` holds (a multigrid cycle's pre-smoothing;
    Chebyshev of degree 2 in 2D then reads neither ``u`` nor a fill of it).
    """
    if zero and (kernel != "chebyshev" or sweeps <= 0):
        u.fill(0.0)
        zero = False
    if sweeps <= 0:
        return
    if kernel == "chebyshev":
        bounds = plan.chebyshev_bounds()
        _two_iterate(plan, u, rhs, chebyshev_coefficients(*bounds, sweeps), zero=zero)
        return
    if kernel == "l1-jacobi":
        _two_iterate(plan, u, rhs, [(0.0, omega)] * sweeps, plan.l1_scale())
        return
    var = plan.variable
    if kernel == "red-black" and sweep == "symmetric":
        for _ in range(sweeps):
            _sweep(plan, kernel, u, rhs, omega, "forward", 1)
            _sweep(plan, kernel, u, rhs, omega, "backward", 1)
        return
    parity = int(sweep == "backward")
    if plan.dim == 1:
        ax, ih2 = plan.ax, plan.ihx2
        if kernel == "jacobi":
            _k.jacobi_1d(u, rhs, ax, plan.dinv, ih2, omega, var, sweeps)
        elif kernel == "red-black":
            _k.red_black_1d(u, rhs, ax, plan.dinv, ih2, omega, var, sweeps, parity)
        elif sweep == "symmetric":
            for _ in range(sweeps):
                _k.gauss_seidel_1d(u, rhs, ax, plan.dinv, ih2, omega, var, 1, True)
                _k.gauss_seidel_1d(u, rhs, ax, plan.dinv, ih2, omega, var, 1, False)
        else:
            _k.gauss_seidel_1d(u, rhs, ax, plan.dinv, ih2, omega, var, sweeps, sweep == "forward")
        return
    args = (u, rhs, plan.ax, plan.ay, plan.dinv, plan.ihx2, plan.ihy2, omega, var)
    if kernel == "jacobi":
        kern = _k.jacobi_2d_parallel if plan.parallel else _k.jacobi_2d
        kern(*args, sweeps, plan.jacobi_work())
    elif kernel == "red-black":
        kern = _k.red_black_2d_parallel if plan.parallel else _k.red_black_2d
        kern(*args, sweeps, plan.chebyshev_scratch()[1], parity)
    elif plan.wavefront:
        strips, rows = plan.wavefront
        kern = _k.gauss_seidel_2d_parallel
        if sweep == "symmetric":
            for _ in range(sweeps):
                kern(*args, 1, True, plan._zeros, strips, rows)
                kern(*args, 1, False, plan._zeros, strips, rows)
        else:
            kern(*args, sweeps, sweep == "forward", plan._zeros, strips, rows)
    elif sweep == "symmetric":
        for _ in range(sweeps):
            _k.gauss_seidel_2d(*args, 1, True, plan._zeros)
            _k.gauss_seidel_2d(*args, 1, False, plan._zeros)
    else:
        _k.gauss_seidel_2d(*args, sweeps, sweep == "forward", plan._zeros)


def _residual(plan: _Plan, u, rhs, out, store: bool) -> float:
    """``||rhs - A u||_2^2``, writing ``rhs - A u`` into ``out`` when ``store``."""
    u = _readonly(u)
    if plan.dim == 1:
        return _k.residual_1d(u, rhs, plan.ax, plan.c, plan.ihx2, plan.variable, out, store)
    kern = _k.residual_2d_parallel if plan.parallel else _k.residual_2d
    return kern(
        u,
        rhs,
        plan.ax,
        plan.ay,
        plan.c,
        plan.ihx2,
        plan.ihy2,
        plan.variable,
        out,
        store,
        plan._zeros,
    )


def _operator_and_rhs(p, rhs) -> tuple[Operator, np.ndarray]:
    if isinstance(p, Problem):
        op = p.operator
        if rhs is None:
            return op, p.f
    elif isinstance(p, Operator):
        op = p
        if rhs is None:
            raise ValueError("relaxing an Operator needs rhs= (the right-hand side f of A u = f)")
    else:
        raise ValueError(
            f"expected a problems.Problem or problems.Operator, got {type(p).__name__}"
        )
    if not (
        type(rhs) is np.ndarray
        and rhs.dtype == np.float64
        and rhs.flags.c_contiguous
        and rhs.shape == op.c.shape
    ):
        rhs = np.asarray(rhs, dtype=np.float64)
        if rhs.shape != op.c.shape:
            raise ValueError(f"rhs must have the operator's shape {op.c.shape}, got {rhs.shape}")
        rhs = np.ascontiguousarray(rhs)
    return op, _readonly(rhs)


def _constant(a: np.ndarray) -> bool:
    """Whether every entry of ``a`` (C-contiguous) is the same number."""
    return bool(_k.all_equal(a.ravel()))


def _readonly(a: np.ndarray) -> np.ndarray:
    """``a`` as a read-only array: numba compiles a kernel once per argument type, and
    read-only and writeable arrays are different types (``p.f`` is read-only)."""
    if not a.flags.writeable:
        return a
    view = a.view()
    view.flags.writeable = False
    return view


def _check_u(u, shape) -> None:
    if not (
        type(u) is np.ndarray
        and u.dtype == np.float64
        and u.flags.c_contiguous
        and u.flags.writeable
        and u.shape == shape
    ):
        shape_, dtype_ = getattr(u, "shape", "?"), getattr(u, "dtype", "?")
        got = f"{type(u).__name__} of shape {shape_}, dtype {dtype_}" + (
            ""
            if getattr(getattr(u, "flags", None), "c_contiguous", False)
            else ", not C-contiguous"
        )
        raise ValueError(
            f"u must be a writeable C-contiguous float64 array of shape {shape} (it is updated"
            f" in place), got {got}"
        )


def relax(p, u: np.ndarray, method: str, sweeps: int, *, rhs=None, **options) -> np.ndarray:
    r"""Do exactly ``sweeps`` sweeps of ``method`` on ``u``, in place; return ``u``.

    The smoother entry for hybrids and multilevel cycles: no history, no
    stopping test, no allocation per call once the operator has been seen.

    Parameters
    ----------
    p : problems.Problem or problems.Operator
        The system ``A u = rhs``. With an ``Operator`` (e.g. a coarse-grid
        operator built as ``problems.Operator(faces, c, h)``) ``rhs`` is required.
    u : ndarray
        C-contiguous float64 of the operator's shape; overwritten.
    method : str
        One of ``jacobi``, ``weighted-jacobi``, ``gauss-seidel``,
        ``symmetric-gauss-seidel``, ``red-black``, ``sor``.
    sweeps : int
        Number of sweeps (``>= 0``; a symmetric sweep is forward + backward).
    rhs : ndarray, optional
        Right-hand side; default ``p.f``. Use it to smooth a residual
        equation ``A e = r``.
    **options
        ``omega`` (weighted-jacobi, red-black, sor; in (0, 2)) and ``sweep``
        (``"forward"``, ``"backward"``, ``"symmetric"``; gauss-seidel, sor).

    Returns
    -------
    ndarray
        ``u`` itself.

    Raises
    ------
    ValueError
        Unknown method or option, ``omega`` outside (0, 2), a bad ``sweep``,
        ``sweeps < 0``, or ``u``/``rhs`` of the wrong shape, dtype or layout.

    Examples
    --------
    >>> import numpy as np, problems, solvers
    >>> p = problems.get("modes2d", n=15)
    >>> e = np.zeros(p.shape)
    >>> r = p.residual(np.zeros(p.shape))
    >>> _ = solvers.relax(p.operator, e, "weighted-jacobi", 2, rhs=r, omega=0.8)
    >>> bool(np.linalg.norm(r - p.apply(e)) < np.linalg.norm(r))
    True
    """
    op, rhs = _operator_and_rhs(p, rhs)
    plan = _PLANS.get(op) or _plan(op)
    _check_u(u, plan.shape)
    if type(sweeps) is not int or sweeps < 0:  # the fast path skips the schema
        sweeps = SWEEPS_COUNT(sweeps)
    spec, omega, sweep = _resolve(method, op, options)
    _sweep(plan, spec.kernel, u, rhs, omega, sweep, sweeps)
    return u


def residual(p, u: np.ndarray, *, rhs=None, out: np.ndarray | None = None) -> np.ndarray:
    """``rhs - A u`` by one fused numba pass (``rhs`` defaults to ``p.f``).

    ``p`` is a Problem or an Operator (then ``rhs`` is required); ``out``
    (C-contiguous float64 of the shape) avoids the allocation.

    Examples
    --------
    >>> import numpy as np, problems
    >>> p = problems.get("varcoef2d", n=9)
    >>> u = np.linspace(0, 1, 81).reshape(9, 9)
    >>> bool(np.allclose(residual(p, u), p.residual(u)))
    True
    """
    op, rhs = _operator_and_rhs(p, rhs)
    plan = _plan(op)
    u = np.ascontiguousarray(u, dtype=np.float64)
    if u.shape != plan.shape:
        raise ValueError(f"u must have the operator's shape {plan.shape}, got {u.shape}")
    if out is None:
        out = np.empty(plan.shape)
    else:
        _check_u(out, plan.shape)
    _residual(plan, u, rhs, out, True)
    return out


def residual_norm(p, u: np.ndarray, *, rhs=None) -> float:
    """``||rhs - A u||_2`` without storing the residual (one read of ``u`` and ``rhs``)."""
    op, rhs = _operator_and_rhs(p, rhs)
    plan = _plan(op)
    u = np.ascontiguousarray(u, dtype=np.float64)
    if u.shape != plan.shape:
        raise ValueError(f"u must have the operator's shape {plan.shape}, got {u.shape}")
    return math.sqrt(_residual(plan, u, rhs, plan.residual_buffer(), False))


# -- solve: the driver runs the sweeps ---------------------------------------------
def _run(method: str, problem, settings, options: dict):
    op = problem.operator
    plan = _plan(op)
    spec, omega, sweep = _resolve(method, op, options)
    used = {name: (omega if name == "omega" else sweep) for name in spec.options.names()}
    u = np.zeros(problem.shape) if settings.x0 is None else np.array(settings.x0, dtype=np.float64)
    f = _readonly(np.ascontiguousarray(problem.f, dtype=np.float64))
    r = plan.residual_buffer()
    drv = Driver(
        problem,
        settings,
        method=method,
        divergence=DIVERGENCE_FACTOR,
        unit="sweeps",
        what=f"{method} with omega={omega:g}",
    )
    bar = _progress(settings, method)
    f_norm = drv.f_norm
    max_interval = max(MAX_CHECK_INTERVAL, CHECK_WORK // problem.size)
    # compile (or load) the sweep and residual kernels before anything is timed or shown
    warm_up(
        lambda: (
            _sweep(plan, spec.kernel, u.copy(), f, omega, sweep, 1),
            _residual(plan, u, f, r, False),
        )
    )

    def step(it, target):
        _sweep(plan, spec.kernel, u, f, omega, sweep, target - it)
        if bar is not None:
            bar.update(target - it)
        return target

    def measure(it, record):
        # one fused pass: the norm, and the residual itself when a record is due
        return math.sqrt(_residual(plan, u, f, r, record)) / f_norm, r

    rel0, _ = measure(0, True)
    drv.record(0, u, r)
    drv.recorder.restart_clock()
    it = drv.run(
        u,
        step,
        measure,
        rel=rel0,
        record_start=False,
        interval=lambda it: min(max(it // CHECK_DIVISOR, 1), max_interval),
    )
    if bar is not None:
        bar.close()
    info = {
        "sweeps": it,
        "omega": omega,
        "residual_checks": drv.measurements,
        "record_seconds": drv.recorder.overhead,  # measuring the history, before the final record
    }
    return drv.result(u, used, info=info)


def _progress(settings, method):
    if not settings.progress:
        return None
    return tqdm(total=settings.maxiter, desc=method, unit="sweep")


def _relaxation_method(name: str, summary: str):
    def run(problem, settings, **opts):
        return _run(name, problem, settings, opts)

    run.__name__ = run.__qualname__ = name.replace("-", "_")
    run.__doc__ = f"Run ``{name}`` to ``settings.rtol``: {summary}."
    return method(summary, _SPECS[name].options)(run)


jacobi = _relaxation_method("jacobi", "Jacobi relaxation, u += D^-1 (f - A u)")
weighted_jacobi = _relaxation_method("weighted-jacobi", "damped Jacobi, u += omega D^-1 (f - A u)")
gauss_seidel = _relaxation_method("gauss-seidel", "lexicographic Gauss-Seidel")
symmetric_gauss_seidel = _relaxation_method(
    "symmetric-gauss-seidel", "Gauss-Seidel, a forward then a backward sweep"
)
red_black = _relaxation_method(
    "red-black",
    "Gauss-Seidel in red-black (checkerboard) order; omega != 1 gives red-black SOR",
)
sor = _relaxation_method("sor", "successive over-relaxation (lexicographic)")

__all__ = ["METHODS", "default_omega", "optimal_omega", "relax", "residual", "residual_norm"]
