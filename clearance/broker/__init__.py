"""The broker's workspace: cases needing a person, corrections, retries, cancels."""
