"""Helpers shared by several test layers and benches, imported as `tests.support` (the repo
root is on pytest's pythonpath; bench scripts add it themselves)."""
