"""The ``fpsolve`` application: command line, configuration, comparisons, demo, result
files and figures, built on :mod:`hybrid` and the layers below it."""
