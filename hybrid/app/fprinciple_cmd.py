r"""``fpsolve fprinciple``: the F-Principle paper's diagnostics on a data set.

Trains a classifier (integer labels) or a regressor (real targets) on
scikit-learn's bundled 8x8 digits or on the user's ``FILE.npz`` (arrays ``x``
and ``y``) while recording both diagnostics of
:mod:`solvers.fprinciple_data`, then writes to ``--out``:

``fprinciple.json``
    settings, the filter widths, ``e_low`` and ``e_high`` per epoch and
    width, the projection direction, frequencies, peaks and per-peak errors,
    loss and accuracy per epoch, the first epochs below 0.5/0.3/0.2, timings;
``fprinciple_errors.png``
    ``e_low`` and ``e_high`` against the epoch at the middle width (solid),
    the other widths faint: the paper's filtering-method figure;
``fprinciple_heatmap.png``
    ``e_low`` and ``e_high`` over width x epoch, one shared colour scale;
``fprinciple_projection.png``
    the target's :math:`|\hat y(k)|` along the first principal direction
    with the tracked peaks, and each peak's relative error against the epoch.

Files are written atomically, only after training ends; bad input (a missing
or malformed file, a missing ``x`` or ``y``, mismatched shapes, non-finite
values, a CNN without images, no scikit-learn for ``digits``) is one line
``fpsolve: error: ...`` and exit status 2, with nothing written.
"""

from __future__ import annotations

import argparse
import time
import zipfile
from pathlib import Path

import numpy as np

from hybrid.app.flags import flag_type
from problems.parameters import integer, number

HELP = "F-Principle diagnostics (filtering, projection) while training on digits or FILE.npz"
EXAMPLES = """examples:
  fpsolve fprinciple --data digits --model mlp --epochs 30 --out out/fp
  fpsolve fprinciple --data digits --model cnn --epochs 20 --out out/fp-cnn
  fpsolve fprinciple --data mnist.npz --model cnn --epochs 10 --neighbours 64 --out out/mnist
  (FILE.npz holds x: (n, d), (n, H, W) or (n, C, H, W) and y: (n,) integer labels,
   or (n,) / (n, m) real targets)
"""
THRESHOLDS = (0.5, 0.3, 0.2)


_positive_int = flag_type(integer(low=1))
_positive_float = flag_type(number(low=0, strict_low=True))


def _deltas(text: str) -> list[float]:
    return [_positive_float(t) for t in text.split(",")]


def add_parser(sub, formatter_class=argparse.RawDescriptionHelpFormatter):
    """Add the ``fprinciple`` command to ``sub`` (an argparse subparsers object)."""
    p = sub.add_parser(
        "fprinciple",
        help=HELP,
        description=HELP + ".",
        epilog=EXAMPLES,
        formatter_class=formatter_class,
    )
    p.add_argument("--data", required=True, help="'digits' (needs scikit-learn) or FILE.npz")
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp", help="default mlp")
    p.add_argument("--epochs", type=_positive_int, default=30, help="default 30")
    p.add_argument("--out", required=True, help="folder for fprinciple.json and the figures")
    p.add_argument("--lr", type=_positive_float, default=1e-3, help="Adam's rate (1e-3)")
    p.add_argument("--batch", type=_positive_int, default=64, help="mini-batch size (64)")
    p.add_argument(
        "--loss",
        choices=("mse", "ce"),
        default="mse",
        help="mse on (one-hot) targets (default), or ce: cross-entropy, h = softmax",
    )
    p.add_argument(
        "--deltas",
        type=_deltas,
        default=None,
        help="filter widths, comma-separated (default: 7 spread over the data's scale)",
    )
    p.add_argument(
        "--neighbours",
        type=_positive_int,
        default=None,
        help="keep the K nearest neighbours in the filter (default: exact; for large n)",
    )
    p.add_argument("--peaks", type=_positive_int, default=4, help="projection peaks (4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=("png", "pdf", "svg"), default="png")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    return p


# -- data ------------------------------------------------------------------------------
def load_data(spec: str, model: str) -> tuple[np.ndarray, np.ndarray, str]:
    """``(x, y, description)`` for ``--data``; ``x`` has images' shape for ``cnn``."""
    if spec == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise ValueError(
                "--data digits needs scikit-learn (pip install 'fpsolve[data]'),"
                " or give --data FILE.npz"
            ) from None
        d = load_digits()
        x = d.images / 16.0 if model == "cnn" else d.data / 16.0
        return x, d.target.astype(np.int64), "scikit-learn digits (8x8, pixels / 16)"
    path = Path(spec)
    if path.suffix != ".npz":
        raise ValueError(f"--data must be 'digits' or a FILE.npz, got {spec!r}")
    if not path.is_file():
        raise ValueError(f"--data {spec}: no such file")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("x", "y") if k not in f.files]
            if missing:
                raise ValueError(
                    f"--data {spec} has no array {' or '.join(map(repr, missing))}"
                    f" (it holds {', '.join(f.files) or 'nothing'}); give arrays x and y"
                )
            x, y = f["x"], f["y"]
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f"--data {spec} is not a readable .npz file ({err})") from None
    except ValueError as err:
        if "has no array" in str(err):
            raise
        raise ValueError(f"--data {spec}: cannot read its arrays ({err})") from None
    for name, a in (("x", x), ("y", y)):
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool) or a.ndim == 0:
            raise ValueError(f"--data {spec}: {name} must be a numeric array, got {a.dtype}")
    if x.ndim < 2:
        raise ValueError(f"--data {spec}: x must have shape (n, d) or images, got {x.shape}")
    if y.ndim > 2:
        raise ValueError(f"--data {spec}: y must have shape (n,) or (n, m), got {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"--data {spec}: x has {len(x)} samples but y has {len(y)}")
    if len(x) < 10:
        raise ValueError(f"--data {spec}: needs at least 10 samples, got {len(x)}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"--data {spec}: x has non-finite values (nan or inf)")
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y)):
        raise ValueError(f"--data {spec}: y has non-finite values (nan or inf)")
    if model == "cnn" and x.ndim not in (3, 4):
        raise ValueError(
            f"--data {spec}: --model cnn needs images x of shape (n, H, W) or (n, C, H, W),"
            f" got {x.shape}; use --model mlp for flat inputs"
        )
    if y.dtype == bool:
        y = y.astype(np.int64)
    return x, y, f"{spec} (x {x.shape}, y {y.shape} {y.dtype})"


# -- figures ---------------------------------------------------------------------------
def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def errors_figure(r, title: str):
    """``e_low`` and ``e_high`` against the epoch (middle width solid, the others faint)."""
    fig = _figure(6.4, 4.0)
    ax = fig.add_subplot()
    mid = len(r.deltas) // 2
    for i in range(len(r.deltas)):
        if i == mid:
            continue
        ax.plot(r.epochs, r.e_low[:, i], color="tab:blue", alpha=0.2, lw=0.8)
        ax.plot(r.epochs, r.e_high[:, i], color="tab:red", alpha=0.2, lw=0.8)
    d = r.deltas[mid]
    ax.plot(
        r.epochs, r.e_low[:, mid], color="tab:blue", lw=2, label=rf"$e_{{low}}$, $\delta$={d:.3g}"
    )
    ax.plot(
        r.epochs, r.e_high[:, mid], color="tab:red", lw=2, label=rf"$e_{{high}}$, $\delta$={d:.3g}"
    )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("relative error")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="faint: the other widths", fontsize=8, title_fontsize=8)
    return fig


def heatmap_figure(r, title: str):
    """``e_low`` and ``e_high`` over filter width (rows) x epoch (columns)."""
    from matplotlib.colors import LogNorm

    fig = _figure(7.2, 5.0)
    axes = fig.subplots(2, 1, sharex=True)
    both = np.concatenate([r.e_low.ravel(), r.e_high.ravel()])
    both = both[np.isfinite(both) & (both > 0)]
    norm = LogNorm(vmin=max(both.min(), 1e-3), vmax=max(both.max(), 1.0))
    for ax, e, name in ((axes[0], r.e_low, "e_low"), (axes[1], r.e_high, "e_high")):
        image = ax.imshow(
            e.T,
            aspect="auto",
            origin="lower",
            interpolation="nearest",
            cmap="RdYlBu_r",
            norm=norm,
            extent=(r.epochs[0] - 0.5, r.epochs[-1] + 0.5, -0.5, len(r.deltas) - 0.5),
        )
        ax.set_yticks(range(len(r.deltas)), [f"{d:.3g}" for d in r.deltas])
        ax.set_ylabel(r"filter width $\delta$")
        ax.set_title(f"${name[0]}_{{{name[2:]}}}$", fontsize=10)
    axes[1].set_xlabel("epoch")
    fig.colorbar(image, ax=axes, label="relative error (red: not fitted, blue: fitted)")
    fig.suptitle(title, fontsize=10)
    return fig


def projection_figure(r, title: str):
    """``|y_hat(k)|`` along the projection with the peaks, and the peaks' errors over epochs."""
    fig = _figure(6.4, 6.0)
    top, bottom = fig.subplots(2, 1)
    amp = np.linalg.norm(r.target_transform, axis=-1)
    top.plot(r.k, amp, color="k", lw=1)
    for j, i in enumerate(r.peaks):
        top.plot(r.k[i], amp[i], "o", color=f"C{j}")
    top.set_yscale("log")
    top.set_xlabel(r"frequency $k$ along the first principal direction")
    top.set_ylabel(r"$|\hat y(k)|$")
    top.set_title(title, fontsize=10)
    for j, i in enumerate(r.peaks):
        bottom.plot(r.epochs, r.projection_error[:, j], color=f"C{j}", label=f"k = {r.k[i]:.3g}")
    bottom.set_yscale("log")
    bottom.set_xlabel("epoch")
    bottom.set_ylabel(r"$|\hat h(k) - \hat y(k)| / |\hat y(k)|$")
    bottom.grid(True, which="both", alpha=0.3)
    bottom.legend(fontsize=8)
    return fig


def crossings(r) -> dict:
    """First epochs with ``e_low`` / ``e_high`` below each threshold at the middle width."""
    mid = len(r.deltas) // 2
    return {
        f"{which}<{t}": r.crossing(t, which.removeprefix("e_"), mid)
        for t in THRESHOLDS
        for which in ("e_low", "e_high")
    }


# -- the command -----------------------------------------------------------------------
def run(args, argv) -> int:
    """Run ``fpsolve fprinciple``; returns the exit status (bad input raises ValueError)."""
    from hybrid.app.cli import check_out
    from hybrid.app.console import run_record
    from hybrid.app.figures import save
    from solvers.files import jsonable, write_json_atomic
    from solvers.fprinciple_data import track

    out = check_out(args.out)
    x, y, about = load_data(args.data, args.model)
    if args.neighbours is not None and args.neighbours > len(x):
        raise ValueError(
            f"--neighbours must be at most the {len(x)} samples, got {args.neighbours}"
        )
    say = (lambda *a: None) if args.quiet else print
    say(f"fprinciple: {about}, model {args.model}, {args.epochs} epochs")

    def progress(epoch, loss):
        if epoch == args.epochs or epoch % max(1, args.epochs // 10) == 0:
            say(f"  epoch {epoch:4d}  loss {loss:.4g}")

    started = time.time()
    t0 = time.perf_counter()
    r = track(
        x,
        y,
        model=args.model,
        epochs=args.epochs,
        batch=args.batch,
        lr=args.lr,
        loss=args.loss,
        deltas=args.deltas,
        neighbours=args.neighbours,
        peaks=args.peaks,
        seed=args.seed,
        on_epoch=progress,
    )
    wall = time.perf_counter() - t0
    cross = crossings(r)
    mid = len(r.deltas) // 2
    settings = {
        k: getattr(args, k)
        for k in ("data", "model", "epochs", "lr", "batch", "loss", "deltas", "neighbours")
    }
    settings |= {"peaks": args.peaks, "seed": args.seed}
    record = {
        "data": about,
        **r.to_json(),
        "middle_delta": float(r.deltas[mid]),
        "first_epoch_below": cross,
        "run": run_record("fprinciple", argv, settings, started, wall),
    }
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "fprinciple.json"]
    write_json_atomic(written[0], jsonable(record))
    title = f"{Path(args.data).name}, {args.model}, seed {args.seed}"
    for name, draw in (
        ("errors", errors_figure),
        ("heatmap", heatmap_figure),
        ("projection", projection_figure),
    ):
        written.append(save(draw(r, title), out / f"fprinciple_{name}.{args.format}", args.format))
    if r.classes:
        print(f"training accuracy {r.accuracy[-1]:.3f} after {args.epochs} epochs")
    print(
        f"at delta = {r.deltas[mid]:.3g}: e_low {r.e_low[-1, mid]:.3g}, e_high"
        f" {r.e_high[-1, mid]:.3g} at the end; first epoch below "
        + ", ".join(f"{k} {v if v >= 0 else 'never'}" for k, v in cross.items())
    )
    print(
        f"seconds: training {r.seconds['train']:.2f}, filter {r.seconds['filter']:.2f},"
        f" projection {r.seconds['projection']:.2f}"
    )
    print("wrote " + ", ".join(str(w) for w in written))
    return 0
