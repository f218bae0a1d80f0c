"""Capture sessions and the captures layout (images plus JSON-lines manifest)."""
