"""Real test machines for octopus' own tests and benchmarks (needs root on Linux)."""
