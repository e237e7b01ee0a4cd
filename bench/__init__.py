"""Benchmarks. ``python -m bench`` runs every module here; ``python -m bench.<name>`` runs one.

Each module exposes ``main() -> None``, prints a small table and times nothing in
the test suite: speed claims live here and in the README's "Benchmarks" section.
"""
