r"""Pretrained neural operators ``(a, r) -> e ~ A_a^{-1} r``: networks, files, shipped weights.

Two architectures (choose with ``--arch`` of ``fpsolve train-operator``):

``deeponet`` (the HINTS anchor)
    Branch: an MLP on ``[log a, r]`` at the ``m`` sensor points (``m^d``
    in ``d`` dimensions) to ``p`` numbers ``b_k``; trunk: an MLP on the
    coordinates to ``p`` functions ``t_k(x)``; output
    ``e(x) = sum_k b_k t_k(x) + b_0``. Its input is tied to the sensor
    grid: on any other grid the residual is restricted to it and the output
    prolonged back (:class:`hybrid.hints.HintsCycle`).
``fno`` (transfers across grids)
    A Fourier neural operator: channels ``[log a, r, x]`` lifted to
    ``width``, ``layers`` blocks ``v <- gelu(W v + F^{-1}(R F v))`` with
    ``R`` acting on the lowest ``modes`` Fourier modes per axis, projected
    to one channel. Being a map between functions it runs on any grid; it
    is used on the same restricted grid as the DeepONet by default.

The residual is scaled to unit root-mean-square before the network and the
output scaled back (``A^{-1}`` is linear), so one model serves every
residual size; the network predicts ``e / out_scale`` with ``out_scale``
fixed from the training labels.

Files: a model is one ``torch.save`` dictionary of tensors, numbers and
strings (``weights_only`` loading). The shipped models live in
``hybrid/weights/`` with ``manifest.json`` listing each file's family,
SHA-256 and the exact command that reproduced it; they are loaded from the
package and never downloaded. Every way a file can be wrong (missing,
truncated or corrupt, checksum mismatch, another dimension or family) is
one ``ValueError`` naming the file and what would be right.

torch is imported only inside functions here.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from hybrid import operator_families as families
from solvers.files import write_atomic

FORMAT = "fpsolve-operator/1"
ARCHS = ("deeponet", "fno")
#: Default hyper-parameters per architecture and dimension.
DEFAULTS = {
    ("deeponet", 1): {"width": 128, "latent": 64, "depth": 3},
    ("deeponet", 2): {"width": 160, "latent": 128, "depth": 3},
    ("fno", 1): {"width": 32, "modes": 16, "layers": 4},
    ("fno", 2): {"width": 20, "modes": 10, "layers": 4},
}


def weights_dir() -> Path:
    """The folder of the shipped weights inside the installed package."""
    return Path(str(resources.files("hybrid") / "weights"))


def manifest() -> dict:
    """The shipped models: family -> ``{"file", "sha256", "command", ...}``."""
    path = weights_dir() / "manifest.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- networks -------------------------------------------------------------------------
def build_network(arch: str, dim: int, sensors: int, config: dict):
    """The torch module of ``arch`` (float32) with hyper-parameters ``config``."""
    import torch
    from torch import nn

    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {', '.join(ARCHS)}; got {arch!r}")

    class MLP(nn.Sequential):
        def __init__(self, sizes, act=nn.GELU):
            layers = []
            for i in range(len(sizes) - 1):
                layers.append(nn.Linear(sizes[i], sizes[i + 1]))
                if i < len(sizes) - 2:
                    layers.append(act())
            super().__init__(*layers)

    class DeepONet(nn.Module):
        def __init__(self, width, latent, depth):
            super().__init__()
            m = sensors**dim
            self.branch = MLP([2 * m] + [width] * depth + [latent])
            self.trunk = MLP([dim] + [width // 2] * 2 + [latent], act=nn.Tanh)
            self.bias = nn.Parameter(torch.zeros(()))
            axis = torch.arange(1, sensors + 1, dtype=torch.float32) / (sensors + 1)
            coords = torch.stack(torch.meshgrid(*[axis] * dim, indexing="ij"), -1)
            self.register_buffer("coords", coords.reshape(-1, dim), persistent=False)

        def forward(self, coef, r):
            batch = coef.shape[0]
            b = self.branch(torch.cat([coef.reshape(batch, -1), r.reshape(batch, -1)], 1))
            t = self.trunk(self.coords)  # (m^d, latent)
            return (b @ t.T + self.bias).reshape(coef.shape)

    class SpectralConv(nn.Module):
        def __init__(self, width, modes):
            super().__init__()
            self.modes = modes
            scale = 1.0 / (width * width)
            shape = (width, width) + (modes,) * dim
            self.wr = nn.Parameter(scale * torch.randn(*shape))
            self.wi = nn.Parameter(scale * torch.randn(*shape))

        def forward(self, v):
            spatial = tuple(range(-dim, 0))
            vh = torch.fft.rfftn(v, dim=spatial)
            out = torch.zeros_like(vh)
            k = self.modes
            w = torch.complex(self.wr, self.wi)
            if dim == 1:
                kk = min(k, vh.shape[-1])
                out[..., :kk] = torch.einsum("bix,iox->box", vh[..., :kk], w[..., :kk])
            else:
                kx, ky = min(k, vh.shape[-2] // 2), min(k, vh.shape[-1])
                for rows, wrows in ((slice(0, kx), slice(0, kx)), (slice(-kx, None), slice(0, kx))):
                    out[..., rows, :ky] = torch.einsum(
                        "bixy,ioxy->boxy", vh[..., rows, :ky], w[..., wrows, :ky]
                    )
            return torch.fft.irfftn(out, s=v.shape[-dim:], dim=spatial)

    class FNO(nn.Module):
        def __init__(self, width, modes, layers):
            super().__init__()
            conv = nn.Conv1d if dim == 1 else nn.Conv2d
            self.lift = conv(2 + dim, width, 1)
            self.spectral = nn.ModuleList(SpectralConv(width, modes) for _ in range(layers))
            self.local = nn.ModuleList(conv(width, width, 1) for _ in range(layers))
            self.proj = nn.Sequential(conv(width, 64, 1), nn.GELU(), conv(64, 1, 1))

        def forward(self, coef, r):
            shape = coef.shape[1:]
            axes = [
                torch.arange(1, n + 1, dtype=coef.dtype, device=coef.device) / (n + 1)
                for n in shape
            ]
            grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), 0)
            grid = grid.unsqueeze(0).expand(coef.shape[0], *grid.shape)
            v = self.lift(torch.cat([coef.unsqueeze(1), r.unsqueeze(1), grid], 1))
            last = len(self.spectral) - 1
            for i, (s, w) in enumerate(zip(self.spectral, self.local, strict=True)):
                v = s(v) + w(v)
                if i < last:
                    v = torch.nn.functional.gelu(v)
            return self.proj(v).squeeze(1)

    return (DeepONet if arch == "deeponet" else FNO)(**config)


@dataclass
class NeuralOperator:
    """A trained operator with what is needed to apply it (see the module docstring).

    ``correction(op, r)`` returns ``e ~ A^{-1} r`` on ``op``'s grid (the
    sensor grid for a DeepONet), as float64.
    """

    family: str
    dim: int
    arch: str
    config: dict
    sensors: int
    out_scale: float
    net: object
    meta: dict = field(default_factory=dict)
    path: str = ""

    @property
    def transfers(self) -> bool:
        """Whether the network itself runs on grids other than its sensor grid."""
        return self.arch == "fno"

    def predict(self, coef: np.ndarray, r: np.ndarray) -> np.ndarray:
        """The network on a batch: ``coef``, ``r`` of shape ``(B, *grid)`` -> ``(B, *grid)``."""
        import torch

        p = next(self.net.parameters())
        with torch.no_grad():
            c = torch.as_tensor(coef, dtype=torch.float32, device=p.device)
            rr = torch.as_tensor(r, dtype=torch.float32, device=p.device)
            out = self.net(c, rr).double().cpu().numpy()
        return out * self.out_scale

    def correction(self, op, r: np.ndarray) -> np.ndarray:
        r"""``e ~ A^{-1} r`` for the operator ``op`` (on the network's grid).

        The residual is scaled to unit RMS and back; a grid spacing other
        than the family's unit box scales ``A^{-1}`` by ``(h / h_0)^2``.
        """
        rms = math.sqrt(float(np.mean(r * r)))
        if rms == 0.0 or not math.isfinite(rms):
            return np.zeros_like(r)
        coef = families.family(self.family).coefficient_input(op)
        # A^{-1} on a box of side L is L^2 times that on the unit box
        length2 = float(
            np.mean([(hd * (n + 1)) ** 2 for hd, n in zip(op.h, op.shape, strict=True)])
        )
        e = self.predict(coef[None], (r / rms)[None])[0]
        return e * (rms * length2)

    def check_problem(self, problem) -> None:
        """``ValueError`` when this model cannot serve ``problem`` (dimension, family)."""
        fam = families.family(self.family)
        if problem.dim != self.dim:
            raise ValueError(
                f"weights {self.path or '(in memory)'} hold a {self.dim}D operator (family"
                f" {self.family}), but problem {problem.name!r} is {problem.dim}D; use the"
                f" {problem.dim}D model (omit weights= for the shipped one) or train one with"
                " fpsolve train-operator"
            )
        definite = getattr(problem, "definite", True)
        if fam.definite != definite:
            kind = "indefinite" if not definite else "definite"
            raise ValueError(
                f"weights {self.path or '(in memory)'} hold an operator for family {self.family},"
                f" which cannot serve the {kind} problem {problem.name!r}; train one for its"
                " family with fpsolve train-operator"
            )


# -- files ----------------------------------------------------------------------------
def save_operator(path, model: NeuralOperator) -> None:
    """Write ``model`` to ``path`` atomically (a ``weights_only``-loadable dictionary)."""
    import torch

    state = {k: v.detach().cpu().contiguous() for k, v in model.net.state_dict().items()}
    payload = {
        "format": FORMAT,
        "family": model.family,
        "dim": model.dim,
        "arch": model.arch,
        "config": json.dumps(model.config),
        "sensors": model.sensors,
        "out_scale": float(model.out_scale),
        "meta": json.dumps(model.meta),
        "state_dict": state,
    }
    write_atomic(path, lambda f: torch.save(payload, f))


def load_operator(path, *, sha256_expected: str | None = None, device: str = "cpu"):
    """Load a model file; every kind of bad file is one ``ValueError`` naming it.

    Parameters
    ----------
    path : str or Path
    sha256_expected : str, optional
        The file's SHA-256 must equal it (the manifest's, for shipped files).
    device : str
        Where the network runs (``"cpu"`` or ``"cuda"``).
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"weights file {str(path)!r} does not exist; give an existing file made by"
            " fpsolve train-operator, or omit weights= for the shipped model"
        )
    if sha256_expected is not None:
        have = sha256(path)
        if have != sha256_expected:
            raise ValueError(
                f"weights file {str(path)!r} has SHA-256 {have[:16]}..., but its manifest"
                f" expects {sha256_expected[:16]}...: the file is damaged or was replaced;"
                " reinstall fpsolve or rebuild it with the manifest's command"
            )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"weights file {str(path)!r} is truncated or corrupt (torch could not read it:"
            f" {str(err).splitlines()[0][:120]}); rebuild it with fpsolve train-operator"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(
            f"weights file {str(path)!r} is not an fpsolve operator (format {FORMAT}); give a"
            " file written by fpsolve train-operator"
        )
    try:
        config = json.loads(payload["config"])
        net = build_network(payload["arch"], int(payload["dim"]), int(payload["sensors"]), config)
        net.load_state_dict(payload["state_dict"])
    except Exception as err:
        raise ValueError(
            f"weights file {str(path)!r} does not hold a consistent {payload.get('arch')}"
            f" network ({str(err).splitlines()[0][:160]}); rebuild it with fpsolve"
            " train-operator"
        ) from None
    net.eval()
    net.to(device)
    return NeuralOperator(
        family=str(payload["family"]),
        dim=int(payload["dim"]),
        arch=str(payload["arch"]),
        config=config,
        sensors=int(payload["sensors"]),
        out_scale=float(payload["out_scale"]),
        net=net,
        meta=json.loads(payload.get("meta", "{}")),
        path=str(path),
    )


def shipped_operator(family_name: str, device: str = "cpu") -> NeuralOperator:
    """The shipped model of ``family_name``, checked against the manifest's SHA-256."""
    entry = manifest().get(family_name)
    if entry is None:
        have = ", ".join(sorted(manifest())) or "none"
        raise ValueError(
            f"no shipped operator for family {family_name!r} (shipped: {have}); train one"
            " with fpsolve train-operator and pass weights=FILE"
        )
    return load_operator(
        weights_dir() / entry["file"], sha256_expected=entry["sha256"], device=device
    )


_CACHE: dict = {}


def operator_for(problem, weights=None, device: str = "cpu") -> NeuralOperator:
    """The model for ``problem``: ``weights`` (a file) or the shipped one of its family.

    Loaded models are cached per (file, modification time, device).
    """
    if weights is None:
        fam = families.default_family(problem)
        entry = manifest().get(fam.name)
        key = ("shipped", fam.name, entry and entry.get("sha256"), device)
        if key not in _CACHE:
            _CACHE[key] = shipped_operator(fam.name, device)
    else:
        p = Path(weights)
        stamp = p.stat().st_mtime_ns if p.is_file() else None
        key = (str(p.resolve()), stamp, device)
        if key not in _CACHE or stamp is None:
            _CACHE[key] = load_operator(p, device=device)
    model = _CACHE[key]
    model.check_problem(problem)
    return model
