"""What the monitor sees: sliding-window SLIs, alert rules, and where alerts go."""
