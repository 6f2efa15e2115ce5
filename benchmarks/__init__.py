"""On-demand benchmarks of the tap against the local simulator (not part of the test suite)."""
