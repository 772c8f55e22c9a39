"""Offline evaluation harness for prompt engineers: datasets, metrics, runner, reports, compare."""
