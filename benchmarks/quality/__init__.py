"""Recommendation-quality experiments: the results table, baselines and ablations."""
