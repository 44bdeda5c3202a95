r"""A coarse space learned by a small network: its hidden features as a Galerkin basis.

Training. A tanh network ``N_theta`` with ``depth`` hidden layers of ``width``
units represents ``u_theta(x) = d(x) N_theta(x)`` (``d`` vanishes on the
boundary, :meth:`problems.Problem.distance`). It is trained for ``steps`` Adam
steps on the *discrete energy* of the problem rediscretised on a coarse
``sample`` grid,

.. math:: E(\theta) = \tfrac12 u_\theta^T A_s u_\theta - f_s^T u_\theta,

whose minimiser is the discrete solution and which weighs the error in mode
``k`` by about ``k^2`` (not ``k^4`` like a squared residual), so the network
learns the solution's low frequencies first (the Frequency Principle).

Basis. On any grid the functions ``d(x) h_j(x)``, ``h_j`` the last hidden
layer's units, plus ``d(x)`` itself (the output layer's bias), span the
network's output and similar smooth functions. They are made
``A``-orthonormal (:func:`a_orthonormalize`), so the Galerkin correction
``u += Q (Q^T A Q)^{-1} Q^T r`` is simply ``u += Q Q^T r``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from problems import Grid, Problem
from problems.parameters import Parameter, Parameters, integer, number
from solvers.registry import SETTINGS

#: The training options of :func:`train_basis`.
TRAINING = Parameters(
    Parameter("width", 64, integer(low=1), "hidden units per layer"),
    Parameter("depth", 2, integer(low=1), "hidden layers"),
    Parameter("sample", 63, integer(low=3), "training grid points per axis"),
    Parameter("steps", 300, integer(low=1), "Adam steps"),
    Parameter("lr", 1e-2, number(low=0, strict_low=True), "Adam learning rate"),
)


def resample(problem, shape) -> Problem:
    """The same continuous problem discretised on a grid of ``shape`` over the same box."""
    grid = Grid(tuple(shape), problem.grid.lower, problem.grid.upper)
    return Problem(
        problem.name,
        grid,
        problem.source,
        a=problem.a,
        c=problem.c,
        boundary=problem.boundary,
        params=problem.params,
    )


@dataclass
class NeuralBasis:
    """A trained network whose hidden layer spans the coarse space."""

    net: object
    problem: Problem
    seconds: float
    steps: int
    energy: list

    def features(self, grid: Grid) -> np.ndarray:
        """``d(x) [h_1(x), ..., h_m(x), 1]`` at ``grid``'s interior points, shape ``(N, m + 1)``."""
        import torch  # lazy: importing hybrid must not load torch

        coords = grid.mesh()
        points = np.stack([c.ravel() for c in coords], axis=1)
        with torch.no_grad():
            hidden = self.net.body(torch.as_tensor(points, dtype=torch.float64)).numpy()
        d = self.problem.distance(*coords).reshape(-1, 1)
        return np.hstack([hidden * d, d])

    def predict(self, grid: Grid) -> np.ndarray:
        """The network's solution ``d(x) N(x) + lift(x)`` on ``grid``, shape ``grid.shape``."""
        import torch  # lazy: importing hybrid must not load torch

        coords = grid.mesh()
        points = np.stack([c.ravel() for c in coords], axis=1)
        with torch.no_grad():
            out = self.net(torch.as_tensor(points, dtype=torch.float64)).numpy().reshape(grid.shape)
        return out * self.problem.distance(*coords) + self.problem.lift(*coords)


def import_torch():
    """Import torch and what its first optimiser imports lazily (``torch._dynamo``).

    About 3 s once per process: a cost of starting torch, not of training,
    so callers run it before their clocks start.
    """
    import torch  # lazy: importing hybrid must not load torch
    import torch._dynamo

    return torch


def train_basis(
    problem, *, width=64, depth=2, sample=63, steps=300, lr=1e-2, seed=0, device="auto"
) -> NeuralBasis:
    """Train the network of the module docstring on ``problem`` resampled to ``sample``.

    Parameters
    ----------
    width, depth : int
        Hidden layer size (the basis has ``width + 1`` functions) and count.
    sample : int
        Interior points per axis of the training grid (at most the problem's).
    steps : int
        Adam steps.
    lr : float
        Adam learning rate.
    seed : int
        Seeds torch, so the basis is repeatable on the CPU.
    device : {"auto", "cpu", "cuda"}
        Where to train; ``"auto"`` takes CUDA when available. Features are
        returned as NumPy arrays either way.
    """
    import torch  # lazy: importing hybrid must not load torch

    o = TRAINING.resolve(
        {"width": width, "depth": depth, "sample": sample, "steps": steps, "lr": lr},
        "train_basis",
    )
    width, depth, sample, steps, lr = (o[k] for k in ("width", "depth", "sample", "steps", "lr"))
    device = SETTINGS["device"](device)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for, but torch finds no CUDA device")
    import_torch()
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    shape = tuple(min(int(sample), n) for n in problem.shape)
    coarse = resample(problem, shape)

    def tensor(a):
        return torch.as_tensor(np.array(a, dtype=np.float64), device=device)

    x = tensor(np.stack([c.ravel() for c in coarse.x], axis=1))
    d = tensor(coarse.distance(*coarse.x).ravel())
    lift = tensor(coarse.lift(*coarse.x).ravel())
    A = coarse.matrix().tocoo()
    A_t = torch.sparse_coo_tensor(
        np.vstack([A.row, A.col]), A.data, size=A.shape, device=device, check_invariants=True
    ).coalesce()
    f = tensor(coarse.f.ravel())
    net = _Net(problem.dim, int(width), int(depth)).double().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    # Scale the energy so its size (and Adam's effective step) does not depend on grid or data.
    scale = float(A.diagonal().mean()) / max(float(torch.dot(f, f)), 1e-300)
    energy = []
    # A network this small runs slower with intra-op threads: 10x slower measured on 2 busy cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(int(steps)):
            opt.zero_grad()
            u = d * net(x).squeeze(-1) + lift
            Au = torch.sparse.mm(A_t, u[:, None]).squeeze(-1)
            loss = scale * (0.5 * torch.dot(u, Au) - torch.dot(f, u))
            loss.backward()
            opt.step()
            energy.append(loss.item())
    finally:
        torch.set_num_threads(threads)
    return NeuralBasis(net.eval().cpu(), problem, time.perf_counter() - t0, int(steps), energy)


def _Net(dim, width, depth):
    import torch  # lazy: importing hybrid must not load torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            layers, fan_in = [], dim
            for _ in range(depth):
                layers += [torch.nn.Linear(fan_in, width), torch.nn.Tanh()]
                fan_in = width
            self.body = torch.nn.Sequential(*layers)
            self.head = torch.nn.Linear(width, 1)

        def forward(self, x):
            return self.head(self.body(x))

    return Net()


def a_orthonormalize(phi: np.ndarray, apply_A, rtol: float = 1e-10) -> np.ndarray:
    r"""An ``A``-orthonormal basis ``Q`` of the span of ``phi``'s columns.

    With ``G = phi^T A phi = V diag(mu) V^T``, ``Q = phi V diag(mu)^{-1/2}``
    over the eigenvalues ``mu > rtol max(mu)`` (dropping near-dependent
    directions), so ``Q^T A Q = I``.

    Parameters
    ----------
    phi : ndarray, shape (N, m)
    apply_A : callable
        ``A @ v`` for a vector of length ``N``.
    """
    # contiguous columns: a strided view would make numba compile another apply kernel
    A_phi = np.column_stack([apply_A(np.ascontiguousarray(phi[:, j])) for j in range(phi.shape[1])])
    G = phi.T @ A_phi
    G = 0.5 * (G + G.T)
    mu, V = np.linalg.eigh(G)
    keep = mu > rtol * mu.max()
    return phi @ (V[:, keep] / np.sqrt(mu[keep]))
