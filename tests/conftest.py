import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded generator, so every random test is repeatable."""
    return np.random.default_rng(20261127)
