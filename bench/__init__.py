"""Benchmarks of crmphase: ``python bench/run.py --size S|L`` (see docs/PERFORMANCE.md)."""
