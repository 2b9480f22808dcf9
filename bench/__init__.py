"""Benchmarks (never run in CI): see bench/README.md and BENCHMARKS.md."""
