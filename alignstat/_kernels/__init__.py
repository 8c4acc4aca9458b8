"""Numba kernels and their pure-NumPy twins.

Nothing here validates input: callers in :mod:`alignstat` pass contiguous
float64/int64 arrays of consistent shapes.  Every kernel ``foo`` has a twin
``foo_numpy`` that is both the fallback and the test oracle.
"""
