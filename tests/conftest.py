import time

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded generator, so every random test is repeatable."""
    return np.random.default_rng(20261127)


@pytest.fixture
def slow_first_call():
    """``make(real, seconds=0.5) -> (wrapped, calls)``: ``real`` whose first call sleeps,
    as numba compiling a kernel in a fresh process would; ``calls`` counts the calls."""

    def make(real, seconds=0.5):
        calls = []

        def wrapped(*args, **kwargs):
            if not calls:
                time.sleep(seconds)
            calls.append(1)
            return real(*args, **kwargs)

        return wrapped, calls

    return make
