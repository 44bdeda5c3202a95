"""PDE definitions, grids, discrete operators and frequency analysis.

>>> import problems
>>> p = problems.get("paper1d", n=63)
>>> p.name, p.dim, p.shape
('paper1d', 1, (63,))

This package imports no torch.
"""

from problems import spectrum
from problems.arrays import from_arrays, load_arrays
from problems.catalogue import describe, entry, get, names
from problems.grid import Grid
from problems.operators import Operator, constant_eigenvalues
from problems.problem import Problem
from problems.random_fields import RandomField

__all__ = [
    "Grid",
    "Operator",
    "Problem",
    "RandomField",
    "constant_eigenvalues",
    "describe",
    "entry",
    "from_arrays",
    "get",
    "load_arrays",
    "names",
    "spectrum",
]
