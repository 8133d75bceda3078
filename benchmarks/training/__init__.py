"""Training-loop throughput benchmarks (issue 19): old vs new loop side by side."""
