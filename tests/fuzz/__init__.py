"""A seeded, reproducible fuzz suite against the real parts (see conftest.py for the knobs)."""
