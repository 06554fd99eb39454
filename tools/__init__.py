"""Helpers shared by the scripts outside the packages (benchmarks, demo)."""
