"""Benchmarks. Run ``make bench``; figures go to docs/performance.md."""
