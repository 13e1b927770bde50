"""The simulated audience: an open-model load generator (wrk2 / k6 constant-arrival-rate style)."""
