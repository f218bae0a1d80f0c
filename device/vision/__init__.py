"""Seeing the brick: detection and the preprocessing contract shared with the trainer."""
