"""What a drill is and how a run proceeds: definitions, the run lifecycle, the CLI."""
