"""Benchmarks of django-model-triggers against a plain model and the usual alternatives.

Run them with ``make bench`` (or ``.venv/bin/python benchmarks/run.py --help``).
"""
