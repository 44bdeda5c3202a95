"""The one place that holds numba's options (py-pde ``backends/numba/utils.py``).

Every kernel in fpsolve is compiled through :func:`jit`, so caching, fastmath
and parallel settings are decided here and nowhere else.
"""

from __future__ import annotations

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
