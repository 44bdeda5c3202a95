r"""Losses of the DNN solver and the ansatz that turns a network into grid values.

This private module imports torch at module level; :mod:`solvers.dnn`
imports it only inside functions.

Ansatz (``bc``):

* ``"hard"``: :math:`u_\theta(x) = N_\theta(x)\, d(x) + G(x)` with ``d``
  :meth:`Problem.distance` (zero on the boundary) and ``G``
  :meth:`Problem.lift` (equal to the boundary data there), so the boundary
  condition holds exactly;
* ``"penalty"``: :math:`u_\theta = N_\theta` and the loss gains
  :math:`\beta \,\mathrm{mean}_{\partial}(u_\theta - g)^2` over the boundary
  nodes of the training grid.

Losses (``loss``), all on a *training grid* (the problem's own grid, or a
coarser or finer ``sample`` of the same box):

* ``"discrete"``: :math:`\|A u_\theta - f\|_2^2 / \|f\|_2^2` with the
  problem's own operator re-built on the training grid (the square of the
  relative residual; on the problem's grid its minimiser is ``p.reference()``).
  Weighs the error in sine mode ``k`` by :math:`\lambda_k^2 \sim k^4`.
* ``"discrete-energy"``: :math:`\prod_d h_d\,(\tfrac12 u^T A u - f^T u)`,
  the discrete energy; weighs mode ``k`` by :math:`\lambda_k \sim k^2`.
* ``"ritz"``: the continuous energy
  :math:`\int \tfrac12 a |\nabla u|^2 + \tfrac12 c u^2 - f u \, dx` by the
  trapezoid rule on the training grid *with* its boundary nodes (second
  order), gradients by autograd.
* ``"pinn"``: :math:`\mathrm{mean}(-a \Delta u - \nabla a \cdot \nabla u + c u - f)^2 /
  \mathrm{mean}(f^2)` at the interior nodes, derivatives by autograd.

Fixed data the network does not change are prepared once in NumPy: ``a``,
``c`` and ``f`` at the points (:meth:`Problem.evaluate`), and by central
differences ``grad a`` (only when ``a`` varies) and the lift's gradient and
Laplacian.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from problems.grid import Grid
from problems.problem import Problem

#: Points evaluated at once when the network is only evaluated (no training).
CHUNK = 1 << 16


def stack(*coords) -> np.ndarray:
    """Coordinate arrays (broadcast, C order) -> points of shape ``(npoints, dim)``."""
    arrays = np.broadcast_arrays(*(np.asarray(c, dtype=np.float64) for c in coords))
    return np.stack([a.ravel() for a in arrays], axis=-1)


def points_of(dim: int, coords) -> np.ndarray:
    """Accept ``(points,)`` of shape ``(npoints, dim)`` or ``dim`` coordinate arrays."""
    if len(coords) == 1 and np.ndim(coords[0]) == 2 and np.shape(coords[0])[1] == dim:
        pts = np.asarray(coords[0], dtype=np.float64)
    elif len(coords) == dim:
        pts = stack(*coords)
    else:
        raise ValueError(
            f"give {dim} coordinate array(s) or one array of points of shape (npoints, {dim})"
        )
    if not np.all(np.isfinite(pts)):
        raise ValueError("coordinates must be finite")
    return pts


def torch_distance(x: torch.Tensor, lower, upper) -> torch.Tensor:
    r""":meth:`Problem.distance` in torch (differentiable).

    .. math:: d(x) = \prod_d \frac{(x_d - l_d)(u_d - x_d)}{((u_d - l_d)/2)^2}
    """
    out = torch.ones_like(x[:, 0])
    for d, (lo, hi) in enumerate(zip(lower, upper, strict=True)):
        out = out * (x[:, d] - lo) * (hi - x[:, d]) / ((hi - lo) / 2) ** 2
    return out


def fd_gradient(fun: Callable, pts: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """Central-difference gradient of ``fun(*coords)`` at ``pts``, shape ``(npoints, dim)``."""
    out = np.empty_like(pts)
    for d in range(pts.shape[1]):
        step = np.zeros(pts.shape[1])
        step[d] = eps[d]
        out[:, d] = (fun(*(pts + step).T) - fun(*(pts - step).T)) / (2 * eps[d])
    return out


def fd_laplacian(fun: Callable, pts: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """Central-difference Laplacian of ``fun(*coords)`` at ``pts``, shape ``(npoints,)``."""
    centre = fun(*pts.T)
    out = np.zeros(len(pts))
    for d in range(pts.shape[1]):
        step = np.zeros(pts.shape[1])
        step[d] = eps[d]
        out += (fun(*(pts + step).T) - 2 * centre + fun(*(pts - step).T)) / eps[d] ** 2
    return out


class TorchOperator:
    """The problem's discrete operator ``A`` (see :mod:`problems.operators`) in torch."""

    def __init__(self, problem: Problem, dtype, device):
        op = problem.operator
        self.faces = [torch.as_tensor(f, dtype=dtype, device=device) for f in op.faces]
        self.c = torch.as_tensor(op.c, dtype=dtype, device=device)
        self.inv_h2 = [1.0 / h**2 for h in op.h]

    def apply(self, u: torch.Tensor) -> torch.Tensor:
        """``A u`` for ``u`` of the grid's shape (zero outside the interior)."""
        if u.dim() == 1:
            (ax,) = self.faces
            up = F.pad(u, (1, 1))
            return (ax[:-1] * (u - up[:-2]) - ax[1:] * (up[2:] - u)) * self.inv_h2[0] + self.c * u
        ax, ay = self.faces
        up = F.pad(u, (1, 1, 1, 1))
        west, east = up[:-2, 1:-1], up[2:, 1:-1]
        south, north = up[1:-1, :-2], up[1:-1, 2:]
        return (
            (ax[:-1, :] * (u - west) - ax[1:, :] * (east - u)) * self.inv_h2[0]
            + (ay[:, :-1] * (u - south) - ay[:, 1:] * (north - u)) * self.inv_h2[1]
            + self.c * u
        )


def training_grid(problem: Problem, sample) -> Grid:
    """The problem's grid, or ``sample`` points per axis on the same box."""
    if sample is None:
        return problem.grid
    return Grid(tuple(sample), problem.grid.lower, problem.grid.upper)


def resampled(problem: Problem, grid: Grid) -> Problem:
    """The same PDE and data discretised on ``grid``."""
    if grid == problem.grid:
        return problem
    return Problem(
        problem.name, grid, problem.source, a=problem.a, c=problem.c, boundary=problem.boundary
    )


def trapezoid_weights(grid: Grid) -> np.ndarray:
    """Product trapezoid weights on the full grid (boundary included), shape ``n + 2`` per axis."""
    ws = []
    for n, h in zip(grid.shape, grid.h, strict=True):
        w = np.full(n + 2, h)
        w[[0, -1]] = h / 2
        ws.append(w)
    return ws[0] if len(ws) == 1 else np.outer(ws[0], ws[1])


class Ansatz:
    """Network -> solution values at points (hard or penalty boundary conditions)."""

    def __init__(self, problem: Problem, net, bc: str, dtype, device):
        self.problem = problem
        self.net = net
        self.bc = bc
        self.dtype = dtype
        self.device = device
        self.lower = problem.grid.lower
        self.upper = problem.grid.upper

    def tensor(self, values) -> torch.Tensor:
        array = np.array(values, dtype=np.float64)  # a writable copy for torch
        return torch.from_numpy(array).to(device=self.device, dtype=self.dtype)

    def lift(self, pts: np.ndarray) -> torch.Tensor | None:
        """``G`` at ``pts`` (``None`` for homogeneous data or penalty BCs)."""
        if self.bc != "hard" or self.problem.boundary is None:
            return None
        return self.tensor(self.problem.lift(*pts.T))

    def __call__(self, x: torch.Tensor, lift: torch.Tensor | None) -> torch.Tensor:
        """``u`` at points ``x`` (``(npoints, dim)``), ``lift`` from :meth:`lift` of them."""
        out = self.net(x)
        if self.bc == "hard":
            out = out * torch_distance(x, self.lower, self.upper)
            if lift is not None:
                out = out + lift
        return out

    @torch.no_grad()
    def values(self, pts: np.ndarray) -> np.ndarray:
        """``u`` at ``pts`` as float64 NumPy, evaluated in chunks."""
        out = np.empty(len(pts))
        for s in range(0, len(pts), CHUNK):
            chunk = pts[s : s + CHUNK]
            x = self.tensor(chunk)
            out[s : s + CHUNK] = self(x, self.lift(chunk)).double().cpu().numpy()
        return out

    @torch.no_grad()
    def hidden(self, pts: np.ndarray) -> np.ndarray:
        """Last hidden layer at ``pts``, shape ``(npoints, width)``, float64."""
        out = np.empty((len(pts), self.net.width))
        for s in range(0, len(pts), CHUNK):
            x = self.tensor(pts[s : s + CHUNK])
            out[s : s + CHUNK] = self.net.hidden(x).double().cpu().numpy()
        return out


def make_loss(problem: Problem, ansatz: Ansatz, loss: str, sample, beta: float):
    """The training loss as a closure ``() -> scalar tensor``; also returns its point count."""
    grid = training_grid(problem, sample)
    t = ansatz.tensor
    if loss in ("discrete", "discrete-energy"):
        train = resampled(problem, grid)
        pts = stack(*grid.mesh())
        x, lift = t(pts), ansatz.lift(pts)
        op = TorchOperator(train, ansatz.dtype, ansatz.device)
        f = t(train.f)
        shape = grid.shape
        if loss == "discrete":
            f2 = float(np.sum(train.f**2)) or 1.0

            def main():
                u = ansatz(x, lift).reshape(shape)
                return ((op.apply(u) - f) ** 2).sum() / f2

        else:
            vol = float(np.prod(grid.h))

            def main():
                u = ansatz(x, lift).reshape(shape)
                return vol * (0.5 * (u * op.apply(u)).sum() - (f * u).sum())

    elif loss == "ritz":
        pts = stack(*grid.boundary_mesh())
        main, x = _ritz(problem, ansatz, pts, t(trapezoid_weights(grid).ravel()))
    else:
        pts = stack(*grid.mesh())
        main, x = _pinn(problem, ansatz, pts, grid)
    if ansatz.bc == "penalty":
        full = stack(*grid.boundary_mesh())
        on_boundary = np.zeros(tuple(n + 2 for n in grid.shape), dtype=bool)
        if grid.dim == 1:
            on_boundary[[0, -1]] = True
        else:
            on_boundary[[0, -1], :] = True
            on_boundary[:, [0, -1]] = True
        xb_np = full[on_boundary.ravel()]
        xb, gb = t(xb_np), t(problem.evaluate("boundary", *xb_np.T))
        inner = main

        def main():
            return inner() + beta * ((ansatz(xb, None) - gb) ** 2).mean()

    return main, len(x)


def _ritz(problem, ansatz, pts, weights):
    t = ansatz.tensor
    coords = pts.T
    a, c, f = (t(problem.evaluate(w, *coords)) for w in ("a", "c", "source"))
    lift = ansatz.lift(pts)
    grad_lift = None
    if lift is not None:
        eps = 1e-6 * (np.asarray(ansatz.upper) - np.asarray(ansatz.lower))
        grad_lift = t(fd_gradient(problem.lift, pts, eps))
    x = t(pts).requires_grad_(True)

    def main():
        u = ansatz(x, lift)
        (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        if grad_lift is not None:
            grad = grad + grad_lift
        density = 0.5 * a * (grad**2).sum(dim=1) + 0.5 * c * u**2 - f * u
        return (weights * density).sum()

    return main, x


def _pinn(problem, ansatz, pts, grid):
    t = ansatz.tensor
    coords = pts.T
    a_np = problem.evaluate("a", *coords)
    a, c, f = t(a_np), t(problem.evaluate("c", *coords)), t(problem.evaluate("source", *coords))
    span = np.asarray(ansatz.upper) - np.asarray(ansatz.lower)
    grad_a = None
    if callable(problem.a):
        grad_a = t(fd_gradient(lambda *xs: problem.evaluate("a", *xs), pts, 1e-6 * span))
    lift = ansatz.lift(pts)
    grad_lift = lap_lift = None
    if lift is not None:
        grad_lift = t(fd_gradient(problem.lift, pts, 1e-6 * span))
        lap_lift = t(fd_laplacian(problem.lift, pts, 1e-4 * span))
    f2 = float(np.mean(problem.evaluate("source", *coords) ** 2)) or 1.0
    x = t(pts).requires_grad_(True)
    dim = grid.dim

    def main():
        u = ansatz(x, lift)
        (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        lap = sum(
            torch.autograd.grad(grad[:, d].sum(), x, create_graph=True)[0][:, d] for d in range(dim)
        )
        if lift is not None:
            grad = grad + grad_lift
            lap = lap + lap_lift
        strong = -a * lap + c * u - f
        if grad_a is not None:
            strong = strong - (grad_a * grad).sum(dim=1)
        return (strong**2).mean() / f2

    return main, x
