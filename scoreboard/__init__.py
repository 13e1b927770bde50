"""What a run is worth and what it leaves: timeline store, scoring, postmortem (see issue #6)."""
