"""Benchmarks: ``make bench`` (``python -m bench``) measures Kleline beside its references in one run."""
