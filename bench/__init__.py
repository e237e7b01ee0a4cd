"""Benchmarks: ``.venv/bin/python -m bench.<module>``; ``make bench`` runs them all."""
