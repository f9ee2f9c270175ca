"""Benchmarks: `python -m bench.NAME`, each printing one JSON line of figures."""
