import os

# The concurrency tests run numba's parallel kernels on more threads than this machine
# has cores (tests/test_concurrency.py), so that blocks with a halo on both sides run at
# once. numba fixes its thread pool's size when it starts: reserve enough threads here,
# before anything imports numba, and keep the default of one thread per core for every
# other test (the `threads` fixture raises it where wanted).
CONCURRENCY_THREADS = 4
_CORES = os.cpu_count() or 1
os.environ.setdefault("NUMBA_NUM_THREADS", str(max(CONCURRENCY_THREADS, _CORES)))

import time  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

numba.set_num_threads(min(_CORES, numba.config.NUMBA_NUM_THREADS))


@pytest.fixture
def rng():
    """A seeded generator, so every random test is repeatable."""
    return np.random.default_rng(20261127)


@pytest.fixture
def threads():
    """``CONCURRENCY_THREADS`` numba threads for the test (oversubscribed on small machines).

    Solvers read the thread count when they first see an operator, so build the
    problems inside the test.
    """
    if numba.config.NUMBA_NUM_THREADS < CONCURRENCY_THREADS:  # set outside, before pytest
        pytest.fail(
            f"the concurrency tests need NUMBA_NUM_THREADS >= {CONCURRENCY_THREADS},"
            f" got {numba.config.NUMBA_NUM_THREADS} (unset it, or raise it)"
        )
    before = numba.get_num_threads()
    numba.set_num_threads(CONCURRENCY_THREADS)
    yield CONCURRENCY_THREADS
    numba.set_num_threads(before)


#: How far the clock jumps on a ``slow_first_call``: far beyond any real run's time,
#: so "the jump is off the clock" is asserted without timing anything real.
CLOCK_JUMP = 1000.0


@pytest.fixture
def slow_first_call(monkeypatch):
    """``make(real) -> (wrapped, calls)``: ``real`` whose first call takes
    :data:`CLOCK_JUMP` seconds, as numba compiling a kernel in a fresh process would
    take about one; ``calls`` counts the calls.

    The time is not slept: ``time.perf_counter`` (every solver clock) jumps ahead,
    so a test asserts ``seconds < CLOCK_JUMP`` whatever the machine's load.
    """
    real_clock = time.perf_counter
    offset = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: real_clock() + offset[0])

    def make(real):
        calls = []

        def wrapped(*args, **kwargs):
            if not calls:
                offset[0] += CLOCK_JUMP
            calls.append(1)
            return real(*args, **kwargs)

        return wrapped, calls

    return make
