"""Batch work on whole datasets: dataset summaries and feature tables (training and evaluation
build on these)."""
