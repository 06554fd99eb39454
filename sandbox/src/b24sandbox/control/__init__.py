"""The sandbox control API under `/_sandbox/`, used by tests, benchmarks and the demo."""
