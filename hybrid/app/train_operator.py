"""``fpsolve train-operator``: train a neural operator offline on a problem family.

Bad input (unknown family or architecture, non-positive counts, an
unwritable ``--out``, a checkpoint from other settings) is one line
``fpsolve: error: ...`` and exit status 2; nothing is written before the
arguments are checked, and the model file is written atomically at the end.
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path

from hybrid.app.flags import flag_type
from problems.parameters import integer

HELP = "train a neural operator (for 'hints') offline on a problem family"
EXAMPLES = """examples:
  fpsolve train-operator --family poisson1d-varcoef --samples 20000 --epochs 60 --out op1d.pt
  fpsolve train-operator --family poisson2d-randcoef --samples 4000 --epochs 40 \\
      --arch fno --out op2d.pt --device cuda
  fpsolve solve --problem varcoef1d --n 1023 --method hints --option weights=op1d.pt

A checkpoint FILE.ckpt is written after every epoch; --resume continues from it
(with the same settings) and ends with the same weights as an uninterrupted run."""


_positive_int = flag_type(integer(low=1))


def add_parser(sub, formatter_class) -> argparse.ArgumentParser:
    """Add the ``train-operator`` sub-command to ``sub`` (the CLI's subparsers)."""
    from hybrid import operator_families as families
    from hybrid.operators import ARCHS

    p = sub.add_parser(
        "train-operator",
        help=HELP,
        description=HELP[0].upper() + HELP[1:] + ".",
        epilog=EXAMPLES,
        formatter_class=formatter_class,
    )
    p.add_argument(
        "--family",
        required=True,
        help=f"the problem family: {', '.join(families.names())}",
    )
    p.add_argument("--samples", type=_positive_int, required=True, help="training samples")
    p.add_argument("--epochs", type=_positive_int, required=True, help="passes over them")
    p.add_argument("--out", required=True, help="the model file to write (.pt)")
    p.add_argument("--arch", default="deeponet", help=f"{' or '.join(ARCHS)} (default deeponet)")
    p.add_argument("--seed", type=int, default=0, help="seeds the samples and the network")
    p.add_argument("--batch", type=_positive_int, default=128, help="batch size (default 128)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--resume", action="store_true", help="continue from FILE.ckpt")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run(args, argv) -> int:
    from hybrid import operator_families as families
    from hybrid.operator_training import train
    from hybrid.operators import ARCHS

    families.family(args.family)  # ValueError naming the valid ones
    if args.arch not in ARCHS:
        raise ValueError(f"--arch must be one of {', '.join(ARCHS)}; got {args.arch!r}")
    if args.device not in ("cpu", "cuda", "auto"):
        raise ValueError(f"--device must be one of cpu, cuda, auto; got {args.device!r}")
    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out {args.out!r} is a folder; give a file name such as model.pt")
    if not out.parent.exists():
        raise ValueError(f"--out {args.out!r}: folder {str(out.parent)!r} does not exist")
    try:
        probe = out.parent / f".{out.name}.probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"--out {args.out!r} is not writable ({err.strerror})") from None
    t0 = time.perf_counter()
    model = train(
        args.family,
        samples=args.samples,
        epochs=args.epochs,
        out=out,
        arch=args.arch,
        seed=args.seed,
        batch=args.batch,
        lr=args.lr,
        device=args.device,
        resume=args.resume,
        progress=not args.quiet,
        command=shlex.join(a for a in argv if a != "--resume"),
    )
    m = model.meta
    print(
        f"wrote {out}: {args.family} {args.arch}, {args.samples} samples x {args.epochs} epochs,"
        f" {time.perf_counter() - t0:.0f} s; validation relative error"
        f" {m['validation_relative_error']:.3g}"
    )
    return 0
