"""The one place that holds numba's options (py-pde ``backends/numba/utils.py``).

Every kernel in fpsolve is compiled through :func:`jit`, so caching, fastmath
and parallel settings are decided here and nowhere else.
"""

from __future__ import annotations

import os

# Idle OpenMP threads sleep instead of spinning. On a busy machine spinning
# workers steal the cores the other threads need: a parallel 1023^2 operator
# application took 16 ms spinning against 5.8 ms passive (2 loaded cores); on
# an idle one passive costs ~20 us per parallel call. Set before numba (or
# torch) starts OpenMP; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numba

#: Grids with at least this many points use ``prange``; below it the thread
#: start-up costs more than it saves.
PARALLEL_THRESHOLD = 64 * 64


def jit(func=None, *, parallel: bool = False):
    """Compile ``func`` in nopython mode, cached on disk.

    ``fastmath`` stays off: the kernels are checked against scipy.sparse to
    1e-12 and reassociation would break bit-for-bit reproducibility.
    """

    def wrap(f):
        return numba.njit(cache=True, fastmath=False, parallel=parallel, nogil=True)(f)

    return wrap(func) if func is not None else wrap
