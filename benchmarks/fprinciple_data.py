"""F-Principle on data: the filter's speed at MNIST size, and when digits' e_low and e_high cross.

Measures, in one run:

* ``filter``: wall seconds (and CPU seconds of all threads, which a loaded
  machine inflates less) of one :meth:`GaussianFilter.apply` on ``n = 10,000``
  random inputs of dimension 784 (MNIST's size; the cost depends on ``n``
  and ``d`` only) with 10 output columns, exact (float64 and float32, one
  delta and seven), and with a 64-nearest-neighbour truncation (its one-off
  set-up, then per evaluation, and its error bound); medians over rounds;
* ``crossings``: on scikit-learn's digits (a tanh MLP and a small CNN, MSE
  on one-hot targets, Adam, batch 64), the first epoch at which ``e_low``
  and ``e_high`` (at the middle filter width) fall below 0.5, 0.3 and 0.2,
  medians over seeds (-1: not within the epochs run).

Run: ``.venv/bin/python benchmarks/fprinciple_data.py`` (a few minutes) or
``--quick`` (small sizes; a smoke test, not a measurement). Needs
scikit-learn (``pip install -e .[data]``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solvers.fprinciple_data import GaussianFilter, track

RESULTS = Path(__file__).resolve().parent / "results" / "fprinciple_data.json"
THRESHOLDS = (0.5, 0.3, 0.2)


def time_filter(n: int, d: int, rounds: int, threads: int | None) -> list[dict]:
    rng = np.random.default_rng(0)
    x = rng.random((n, d))
    v = np.eye(10)[rng.integers(0, 10, n)]
    scale = d / 6  # the mean squared distance of two uniform points in [0, 1]^d
    one, seven = [scale / 4], list(scale * np.geomspace(1 / 16, 1, 7))
    rows = []
    for label, options, deltas in (
        ("exact float64, 1 delta", {"dtype": "float64"}, one),
        ("exact float64, 7 deltas", {"dtype": "float64"}, seven),
        ("exact float32, 1 delta", {"dtype": "float32"}, one),
        ("exact float32, 7 deltas", {"dtype": "float32"}, seven),
    ):
        f = GaussianFilter(x, threads=threads, **options)
        times, cpu = [], []
        for _ in range(rounds):
            t0, c0 = time.perf_counter(), time.process_time()
            f.apply(v, deltas)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        rows.append(
            {
                "variant": label,
                "n": n,
                "d": d,
                "seconds": statistics.median(times),
                "cpu_seconds": statistics.median(cpu),
            }
        )
    setups, times, cpu = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        f = GaussianFilter(x, neighbours=64, threads=threads)
        setups.append(time.perf_counter() - t0)
        t0, c0 = time.perf_counter(), time.process_time()
        f.apply(v, seven)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    bound = f.truncation_bound(v, seven).max(axis=1)
    rows.append(
        {
            "variant": "64 neighbours, 7 deltas",
            "n": n,
            "d": d,
            "seconds": statistics.median(times),
            "cpu_seconds": statistics.median(cpu),
            "setup_seconds": statistics.median(setups),
            "bound_smallest_delta": float(bound[0]),
            "bound_largest_delta": float(bound[-1]),
        }
    )
    return rows


def crossings(seeds: int, epochs: int, threads: int | None) -> list[dict]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x, y = digits.data / 16.0, digits.target
    rows = []
    for model in ("mlp", "cnn"):
        found = {f"{w}<{t}": [] for t in THRESHOLDS for w in ("e_low", "e_high")}
        first_below = []
        for seed in range(seeds):
            xs = x if model == "mlp" else x.reshape(-1, 8, 8)
            r = track(xs, y, model=model, epochs=epochs, seed=seed, threads=1)
            mid = len(r.deltas) // 2
            for t in THRESHOLDS:
                found[f"e_low<{t}"].append(r.crossing(t, "low", mid))
                found[f"e_high<{t}"].append(r.crossing(t, "high", mid))
            above = np.flatnonzero(r.e_low[:, mid] >= r.e_high[:, mid])
            first_below.append(int(above[-1]) + 1 if above.size else 0)
        row = {"model": model, "seeds": seeds, "epochs": epochs, "delta": float(r.deltas[mid])}
        for key, values in found.items():
            never = [v for v in values if v < 0]
            row[key] = (
                -1
                if len(never) * 2 > len(values)
                else statistics.median([v if v >= 0 else epochs + 1 for v in values])
            )
        row["e_low<e_high from epoch"] = statistics.median(first_below)
        rows.append(row)
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    threads = None  # torch's default: every core
    if args.quick:
        timing = time_filter(1000, 784, 1, threads)
        cross = crossings(1, 5, threads)
    else:
        timing = time_filter(10_000, 784, 3, threads)
        cross = crossings(5, 100, threads)
    import torch

    result = {
        "title": "Filtering-method speed at n = 10,000, d = 784, and digits' e_low / e_high"
        " threshold epochs (medians over seeds)",
        "notes": "Crossing epochs at the middle filter width; a median of -1: not reached"
        " in most seeds. 'e_low<e_high from epoch': first epoch from which e_low < e_high.",
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, cpus: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f},"
        f" torch: {torch.__version__}, threads: {torch.get_num_threads()}",
        "quick": args.quick,
        "rows": timing,
        "crossings": cross,
    }
    for row in timing:
        print(row)
    for row in cross:
        print(row)
    out = args.out or (RESULTS.with_name("fprinciple_data-quick.json") if args.quick else RESULTS)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
