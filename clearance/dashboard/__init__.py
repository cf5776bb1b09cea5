"""The operator's view: counts by state, throughput, rates, metrics."""
