"""Benchmarks: every stage of Clearway beside its own floor, measured in the same run."""
