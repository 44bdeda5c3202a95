"""The one place that holds numba's options (py-pde ``backends/numba/utils.py``).

Every kernel in fpsolve is compiled through :func:`jit`, so caching, fastmath
and parallel settings are decided here and nowhere else.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


@contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block ends, then raise ``KeyboardInterrupt``.

    A ``KeyboardInterrupt`` that lands inside numba's compiler or cache loader
    leaves half-built llvmlite objects behind: numba then raises
    ``RuntimeError: no compiled object yet`` and llvmlite prints tracebacks
    from its finalisers at exit. Compilation takes at most a few seconds, so
    the interrupt waits for it. Outside the main thread, or where SIGINT has
    a handler other than Python's default, the block runs unchanged.

    Examples
    --------
    >>> import os, signal
    >>> try:
    ...     with deferred_interrupt():
    ...         os.kill(os.getpid(), signal.SIGINT)
    ...         finished = True
    ... except KeyboardInterrupt:
    ...     print("interrupted after the block:", finished)
    interrupted after the block: True
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    pending: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if pending:
        raise KeyboardInterrupt


def warm_up(task: Callable[[], object]) -> float:
    """Run ``task`` once so its kernels are compiled (or loaded from the disk cache).

    Solvers call this before their clock starts: the first numba call in a
    process sets up numba's target context (~0.3 s) and each kernel is loaded
    from the cache (ms) or compiled (~1 s), one-time costs that are not the
    method's. Ctrl-C is held meanwhile (:func:`deferred_interrupt`).

    Returns
    -------
    float
        Seconds the warm-up took, for callers that must take it off a clock
        that is already running.
    """
    t0 = time.perf_counter()
    with deferred_interrupt():
        task()
    return time.perf_counter() - t0
