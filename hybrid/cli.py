"""The ``fpsolve`` command line (minimal; extended by the CLI issue)."""

from __future__ import annotations

import argparse
import sys

import hybrid
import problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fpsolve", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("problems", help="list the problem catalogue")
    sub.add_parser("methods", help="list the methods")
    s = sub.add_parser("solve", help="solve one problem with one method")
    s.add_argument("--problem", required=True)
    s.add_argument("--n", type=int)
    s.add_argument("--method", required=True)
    s.add_argument("--rtol", type=float, default=1e-8)
    s.add_argument("--maxiter", type=int)
    sub.add_parser("demo", help="the main job")
    args = parser.parse_args(argv)
    try:
        if args.command == "problems":
            for name in problems.names():
                print(problems.describe(name))
        elif args.command == "methods":
            print("\n".join(hybrid.methods()))
        elif args.command == "solve":
            p = problems.get(args.problem, n=args.n)
            r = hybrid.solve(p, args.method, rtol=args.rtol, maxiter=args.maxiter)
            print(r.summary())
        elif args.command == "demo":
            for name in problems.names():
                print(problems.describe(name))
            p = problems.get("random2d")
            print(hybrid.solve(p, "dst-pcg").summary())
    except ValueError as err:
        print(f"fpsolve: error: {err}", file=sys.stderr)
        return 2
    return 0
