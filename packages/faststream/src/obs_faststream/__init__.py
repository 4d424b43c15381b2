"""obs integration (skeleton)."""
