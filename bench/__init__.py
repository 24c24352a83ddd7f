"""corehost's benchmarks: startup, loaders, build time, scale and call cost (``bench/run``).

Nothing here is imported by the runtime or the builder; the package exists so
that ``bench/run`` and the smoke test in ``tests/bench`` share one code path.
"""
