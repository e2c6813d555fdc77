"""A generated portfolio of any size for benchmarks: ``flask bench-data``."""
