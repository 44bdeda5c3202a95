r"""The network of the DNN solver: a fully connected net on normalised coordinates.

This private module imports torch at module level; :mod:`solvers.dnn` and
:mod:`solvers.fprinciple` import it only inside functions, so
``import solvers`` stays free of torch.

The input ``x`` in the box ``[l, u]`` is first mapped to ``z = 2 (x - l) / (u - l) - 1``
in ``[-1, 1]^d``; then

* ``features=None``: ``z -> sigma(W_1 z + b_1) -> ... -> w^T h + b``;
* ``features="fourier"`` (random Fourier features, Tancik et al. 2020): a
  fixed first map :math:`\gamma(z) = [\sin(\pi B^T z), \cos(\pi B^T z)]`,
  :math:`B_{ij} \sim N(0, s^2)` with ``s = feature_scale``, in front of the MLP;
* ``features="mscale"`` (MscaleDNN, Liu, Cai and Xu 2020): the first layer's
  neuron ``j`` sees the scaled input :math:`\sigma(a_j\, w_j^T z + b_j)`,
  the scales :math:`a_j` cycling through ``1, 2, 4, ...`` up to ``feature_scale``,
  so some neurons start tuned to high frequencies.

Initialisation: PyTorch's default for ``Linear`` (weights and biases uniform
in :math:`\pm 1/\sqrt{\text{fan-in}}`), drawn from a seeded generator and
then multiplied by ``init_scale``; ``init_scale < 1`` is the F-Principle
paper's "small initialisation".
"""

from __future__ import annotations

import itertools
import math

import torch

ACTIVATIONS = ("tanh", "relu", "sin", "gelu")


class Sin(torch.nn.Module):
    """The activation ``sin``."""

    def forward(self, x):
        return torch.sin(x)


def activation(name: str) -> torch.nn.Module:
    return {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sin": Sin, "gelu": torch.nn.GELU}[name]()


def mscale_scales(width: int, largest: float) -> list[float]:
    """Scales ``1, 2, 4, ... <= largest`` cycled over ``width`` neurons.

    >>> mscale_scales(5, 4)
    [1.0, 2.0, 4.0, 1.0, 2.0]
    """
    levels = [2.0**i for i in range(math.floor(math.log2(max(largest, 1.0))) + 1)]
    return [levels[j % len(levels)] for j in range(width)]


class Network(torch.nn.Module):
    """MLP ``R^dim -> R`` with an optional Fourier or multi-scale input layer.

    Parameters
    ----------
    lower, upper : sequence of float
        The box; inputs are normalised to ``[-1, 1]^dim``.
    widths : sequence of int
        Hidden widths.
    activation_name : str
        One of :data:`ACTIVATIONS`.
    features : None, "fourier" or "mscale"
    feature_scale : float
        ``s`` of the Fourier features or the largest MscaleDNN scale.
    init_scale : float
        Multiplies every initial weight and bias.
    generator : torch.Generator
        Source of the initial weights (and of ``B``), for repeatable runs.
    dtype : torch.dtype
    """

    def __init__(
        self,
        lower,
        upper,
        widths,
        activation_name="tanh",
        features=None,
        feature_scale=1.0,
        init_scale=1.0,
        generator=None,
        dtype=torch.float32,
    ):
        super().__init__()
        dim = len(lower)
        lo = torch.tensor(lower, dtype=dtype)
        hi = torch.tensor(upper, dtype=dtype)
        self.register_buffer("centre", (lo + hi) / 2)
        self.register_buffer("halfwidth", (hi - lo) / 2)
        self.features = features
        width_in = dim
        if features == "fourier":
            m = max(1, widths[0] // 2)
            b = torch.randn(dim, m, generator=generator, dtype=dtype) * feature_scale
            self.register_buffer("B", b)
            width_in = 2 * m
        sizes = [width_in, *widths]
        self.linears = torch.nn.ModuleList(
            torch.nn.Linear(a, b, dtype=dtype) for a, b in itertools.pairwise(sizes)
        )
        self.head = torch.nn.Linear(sizes[-1], 1, dtype=dtype)
        if features == "mscale":
            scales = torch.tensor(mscale_scales(widths[0], feature_scale), dtype=dtype)
            self.register_buffer("scales", scales)
        self.act = activation(activation_name)
        with torch.no_grad():
            for layer in [*self.linears, self.head]:
                bound = 1.0 / math.sqrt(layer.in_features)
                for t in (layer.weight, layer.bias):
                    t.uniform_(-bound, bound, generator=generator)
                    t.mul_(init_scale)

    @property
    def width(self) -> int:
        """Width of the last hidden layer (the number of hidden features)."""
        return self.head.in_features

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """``z = (x - centre) / halfwidth``, shape ``(npoints, dim)``."""
        return (x - self.centre) / self.halfwidth

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Last hidden layer's activations at points ``x`` of shape ``(npoints, dim)``."""
        h = self.normalise(x)
        if self.features == "fourier":
            proj = math.pi * (h @ self.B)
            h = torch.cat([torch.sin(proj), torch.cos(proj)], dim=-1)
        for i, layer in enumerate(self.linears):
            if i == 0 and self.features == "mscale":
                pre = (h @ layer.weight.T) * self.scales + layer.bias
            else:
                pre = layer(h)
            h = self.act(pre)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network output at points ``x`` of shape ``(npoints, dim)``; shape ``(npoints,)``."""
        return self.head(self.hidden(x))[:, 0]
