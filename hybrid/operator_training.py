r"""Offline training of a neural operator on a family (``fpsolve train-operator``).

The data set is drawn on the fly from the family
(:meth:`hybrid.operator_families.Family.sample`, exact labels from a direct
sparse solve) with ``numpy.random.default_rng(seed)``, so the same command
draws the same samples. The loss is the mean squared relative error

.. math:: L = \frac1B \sum_b \frac{\|N(a_b, r_b) - e_b\|^2}{\|e_b\|^2},

which weighs a sample's error in the norm of the solution (low frequencies
dominate it: exactly the band the relaxation cannot reach). Adam with a
cosine learning-rate schedule; each epoch visits the samples in an order
drawn from a generator seeded by ``(seed, epoch)``.

A checkpoint (weights, optimiser and schedule state, losses) is written
atomically after every epoch; resuming from it reproduces, on the CPU, the
weights of an uninterrupted run bit for bit (the samples are re-drawn from
the seed, the epoch order depends only on the epoch).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from hybrid import operator_families as families
from hybrid.operators import ARCHS, DEFAULTS, NeuralOperator, build_network, save_operator
from solvers.files import write_atomic

CHECKPOINT_FORMAT = "fpsolve-operator-checkpoint/1"
#: Samples drawn per batch of the data generator.
CHUNK = 256
VALIDATION = 256


def draw(fam, samples: int, seed: int):
    """``(coef, rhs, label)`` arrays of ``samples`` draws, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    parts = []
    left = samples
    while left > 0:
        s = fam.sample(rng, min(CHUNK, left))
        parts.append((s.coefficient, s.rhs, s.label))
        left -= len(s.rhs)
    return tuple(np.concatenate([p[i] for p in parts]).astype(np.float32) for i in range(3))


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but torch sees no CUDA device; use cpu")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be one of auto, cpu, cuda; got {device!r}")
    return device


def relative_error(model: NeuralOperator, coef, rhs, label) -> float:
    """Mean relative L2 error of ``model`` on a batch of samples."""
    pred = model.predict(coef, rhs)
    axes = tuple(range(1, label.ndim))
    return float(
        np.mean(np.sqrt(np.sum((pred - label) ** 2, axes) / np.sum(label.astype(float) ** 2, axes)))
    )


def train(
    family: str,
    *,
    samples: int,
    epochs: int,
    out,
    arch: str = "deeponet",
    seed: int = 0,
    batch: int = 128,
    lr: float = 1e-3,
    device: str = "cpu",
    checkpoint=None,
    resume: bool = False,
    progress: bool = True,
    threads: int | None = 1,
    command: str = "",
    stop_after: int | None = None,
    **config,
) -> NeuralOperator | None:
    """Train an operator for ``family`` and write it to ``out``; return it.

    ``config`` overrides the architecture's defaults (:data:`hybrid.operators.DEFAULTS`).
    ``checkpoint`` (default ``out + ".ckpt"``) is written after every epoch;
    ``resume=True`` continues from it (it must come from the same settings).
    ``stop_after=k`` stops after epoch ``k`` as an interruption would (the
    checkpoint is written, ``out`` is not) and returns ``None``.
    """
    import torch
    from tqdm import tqdm

    fam = families.family(family)
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {', '.join(ARCHS)}; got {arch!r}")
    for name, v in (("samples", samples), ("epochs", epochs), ("batch", batch)):
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a number > 0, got {lr!r}")
    cfg = {**DEFAULTS[(arch, fam.dim)], **config}
    device = resolve_device(device)
    if threads is not None and device == "cpu":
        torch.set_num_threads(int(threads))
    out = Path(out)
    checkpoint = Path(checkpoint) if checkpoint is not None else out.with_name(out.name + ".ckpt")
    identity = {
        "family": family,
        "arch": arch,
        "config": cfg,
        "samples": int(samples),
        "epochs": int(epochs),
        "seed": int(seed),
        "batch": int(batch),
        "lr": float(lr),
    }

    t0 = time.perf_counter()
    coef, rhs, label = draw(fam, samples, seed)
    vcoef, vrhs, vlabel = draw(fam, VALIDATION, seed + 7919)  # unseen samples
    seconds_data = time.perf_counter() - t0

    torch.manual_seed(seed)
    net = build_network(arch, fam.dim, fam.sensors, cfg).to(device)
    out_scale = float(np.sqrt(np.mean(label.astype(float) ** 2)))
    steps_per_epoch = math.ceil(samples / batch)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    start_epoch, losses, seconds_before = 0, [], 0.0
    if resume:
        if not checkpoint.is_file():
            raise ValueError(f"--resume: no checkpoint {str(checkpoint)!r} to resume from")
        try:
            ck = torch.load(checkpoint, map_location="cpu", weights_only=True)
        except Exception:
            raise ValueError(
                f"checkpoint {str(checkpoint)!r} is truncated or corrupt; delete it and start"
                " again without --resume"
            ) from None
        if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{str(checkpoint)!r} is not a train-operator checkpoint")
        have = json.loads(ck["identity"])
        differ = sorted(k for k in identity if have.get(k) != identity[k])
        if differ:
            detail = "; ".join(
                f"{k}: checkpoint {have.get(k)!r}, now {identity[k]!r}" for k in differ
            )
            raise ValueError(f"checkpoint {str(checkpoint)!r} is from other settings ({detail})")
        net.load_state_dict(ck["net"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        start_epoch, losses = int(ck["epoch"]), list(ck["losses"])
        out_scale, seconds_before = float(ck["out_scale"]), float(ck["seconds"])

    X = torch.as_tensor(coef, device=device)
    R = torch.as_tensor(rhs, device=device)
    Y = torch.as_tensor(label / out_scale, device=device)
    axes = tuple(range(1, Y.ndim))
    t_train = time.perf_counter()
    bar = tqdm(
        range(start_epoch, epochs),
        initial=start_epoch,
        total=epochs,
        desc=f"train-operator {family} ({arch})",
        unit="epoch",
        disable=not progress,
    )
    for epoch in bar:
        net.train()
        gen = torch.Generator().manual_seed(seed * 100003 + epoch)
        order = torch.randperm(samples, generator=gen).to(device)
        total = 0.0
        for start in range(0, samples, batch):
            idx = order[start : start + batch]
            y = Y[idx]
            pred = net(X[idx], R[idx])
            loss = torch.mean(torch.sum((pred - y) ** 2, axes) / torch.sum(y**2, axes))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        losses.append(total / samples)
        bar.set_postfix(loss=f"{losses[-1]:.2e}")
        seconds = seconds_before + time.perf_counter() - t_train
        payload = {
            "format": CHECKPOINT_FORMAT,
            "identity": json.dumps(identity),
            "epoch": epoch + 1,
            "net": {k: v.detach().cpu() for k, v in net.state_dict().items()},
            "opt": opt.state_dict(),
            "sched": sched.state_dict(),
            "losses": losses,
            "out_scale": out_scale,
            "seconds": seconds,
        }
        write_atomic(checkpoint, lambda f, payload=payload: torch.save(payload, f))
        if stop_after is not None and epoch + 1 >= stop_after:
            bar.close()
            return None
    bar.close()
    net.eval()
    model = NeuralOperator(
        family=family,
        dim=fam.dim,
        arch=arch,
        config=cfg,
        sensors=fam.sensors,
        out_scale=out_scale,
        net=net,
    )
    seconds = seconds_before + time.perf_counter() - t_train
    model.meta = {
        **identity,
        "seconds_train": round(seconds, 1),
        "seconds_data": round(seconds_data, 1),
        "device": device,
        "final_loss": losses[-1] if losses else None,
        "validation_relative_error": relative_error(model, vcoef, vrhs, vlabel),
        "command": command,
    }
    save_operator(out, model)
    return model
