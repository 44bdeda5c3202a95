"""The one-hidden-layer theorem, measured: the loss gradient decays as exp(-pi xi / 2 max|w|).

For h(x) = sum_j a_j tanh(w_j x + b_j) with weights drawn N(0, s^2), the
gradient of the mean squared error is split over the residual's frequencies
xi with :func:`solvers.fprinciple_data.gradient_spectrum` (data: a Gaussian
density of width 20 on a 2048-point grid of [-200, 200], white-noise targets,
so the residual's spectrum is flat and the decay is the network's). For each
width and initial scale ``s`` it fits the slope of log ||g(xi)|| against xi
and compares it with the theorem's rate -pi / (2 max_j |w_j|); the slope
flattens as the weights grow (the theorem needs small weights). Prints the
table and saves a two-panel PNG.

Run: ``python examples/fprinciple_gradient_spectrum.py [--quick] [--out FILE.png]``
(``--quick``: one width, three scales).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solvers.fprinciple_data import gradient_spectrum, one_hidden_layer, theorem_slope


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one width, three scales")
    parser.add_argument("--out", type=Path, default=Path("fprinciple_gradient_spectrum.png"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    widths = (20,) if args.quick else (20, 100)
    scales = (0.05, 0.2, 1.0) if args.quick else (0.05, 0.1, 0.2, 0.5, 1.0)

    x = np.linspace(-200.0, 200.0, 2048, endpoint=False)
    rho = np.exp(-(x**2) / (2 * 20.0**2))
    rho /= rho.sum()
    y = np.random.default_rng(args.seed).normal(size=x.size)

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    print("width  scale  max|w|  fitted slope  theorem -pi/(2 max|w|)")
    rows = []
    for wi, width in enumerate(widths):
        for si, scale in enumerate(scales):
            net = one_hidden_layer(width, scale, seed=args.seed)
            g = gradient_spectrum(net, x, y, rho)
            slope, theory = g.slope(fmin=0.5), theorem_slope(net)
            rows.append((width, scale, slope, theory))
            print(
                f"{width:5d}  {scale:5.2f}  {-np.pi / (2 * theory):6.3f}"
                f"  {slope:12.2f}  {theory:10.2f}"
            )
            keep = g.gradient > 1e-10 * g.gradient.max()
            colour = f"C{si}"
            style = "-" if wi == 0 else ":"
            left.semilogy(
                g.frequency[keep],
                g.gradient[keep],
                style,
                color=colour,
                lw=1,
                label=f"width {width}, s = {scale:g}",
            )
            fit = keep & (g.frequency >= 0.5)
            line = np.polyfit(g.frequency[fit], np.log(g.gradient[fit]), 1)
            left.semilogy(
                g.frequency[fit],
                np.exp(np.polyval(line, g.frequency[fit])),
                "--",
                color="k",
                lw=0.6,
            )
    left.set_xlabel(r"frequency $\xi$")
    left.set_ylabel(r"$\|\partial L_\xi / \partial\theta\|$")
    left.set_title(
        "gradient per frequency of the residual (dashed: fitted exponentials)", fontsize=9
    )
    left.legend(fontsize=7, ncol=2)
    rows = np.array(rows)
    for wi, width in enumerate(widths):
        sel = rows[:, 0] == width
        right.plot(rows[sel, 3], rows[sel, 2], "o-" if wi == 0 else "s:", label=f"width {width}")
    lim = [rows[:, 2:].min() * 1.1, 0]
    right.plot(lim, lim, color="grey", lw=0.8, label="fitted = theorem")
    right.set_xlabel(r"theorem: $-\pi / (2 \max_j |w_j|)$")
    right.set_ylabel("fitted slope of log gradient")
    right.set_title(
        "fitted decay rate against the theorem (smaller weights: faster decay)", fontsize=9
    )
    right.legend(fontsize=8)
    fig.savefig(args.out, dpi=100)
    print(f"figure saved to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
