"""Checkpoints of the DNN solver: weights, optimiser state and history in one file.

A checkpoint is a ``torch.save`` dictionary of tensors, numbers, strings and
lists only, so it loads with ``torch.load(..., weights_only=True)``. It is
written atomically (temporary file in the same folder, then rename). A run
resumes from it only when the problem and the architecture match; otherwise
a ``ValueError`` names what differs.
"""

from __future__ import annotations

import torch

from solvers.files import write_atomic

FORMAT = 1


def identity(problem, options) -> dict:
    """What a checkpoint must match to be resumed."""
    arch = options.architecture()
    return {
        "problem": problem.name,
        "shape": list(problem.shape),
        "params": repr(sorted(problem.params.items())),
        **{k: (list(v) if isinstance(v, tuple) else v) for k, v in arch.items()},
    }


def save(path: str, payload: dict) -> None:
    write_atomic(path, lambda f: torch.save({"format": FORMAT, **payload}, f))


def load(path: str, problem, options) -> dict:
    """Load ``path`` and check that it belongs to this problem and architecture."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a corrupt or foreign file
        raise ValueError(
            f"checkpoint {path!r} could not be read as a dnn checkpoint: {err}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"checkpoint {path!r} is not a dnn checkpoint (format {FORMAT})")
    want = identity(problem, options)
    have = payload.get("identity", {})
    differ = sorted(k for k in want if have.get(k) != want[k])
    if differ:
        detail = "; ".join(f"{k}: checkpoint {have.get(k)!r}, this run {want[k]!r}" for k in differ)
        raise ValueError(
            f"checkpoint {path!r} belongs to a different run ({detail}); use another path"
        )
    return payload
